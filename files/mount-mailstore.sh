#!/bin/sh
# mount-mailstore.sh volume <cinder volume id> <mount point>
# mount-mailstore.sh nfs <export location> <mount point>
# Mounts the maildrop's mail store before the first config push: its own Cinder volume (replicated
# mode; formatted on first use) or the Manila share both maildrops use (shared mode). Idempotent.
set -eu
kind=$1 source=$2 target=$3

case $kind in
volume)
  # Nova exposes the volume as virtio-<first 20 characters of its id>.
  short=$(printf %.20s "$source")
  tries=0
  until dev=$(ls /dev/disk/by-id/*"$short"* 2>/dev/null | head -n 1) && [ -n "$dev" ]; do
    tries=$((tries + 1))
    [ $tries -gt 60 ] && { echo "volume $source is not attached" >&2; exit 1; }
    sleep 2
  done
  blkid "$dev" >/dev/null 2>&1 || mkfs.ext4 -q -L mailstore "$dev"
  line="UUID=$(blkid -s UUID -o value "$dev") $target ext4 defaults,noatime,nofail 0 2"
  ;;
nfs)
  command -v mount.nfs4 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q nfs-common >/dev/null
  # Hard mounts: Dovecot must block, not see I/O errors, while the share fails over (seed 003).
  line="$source $target nfs4 rw,hard,noatime,_netdev 0 0"
  ;;
*)
  echo "unknown kind $kind" >&2; exit 2 ;;
esac

mkdir -p "$target"
# One fstab line for the mount point, replaced when the source changes.
awk -v t="$target" '$2 != t' /etc/fstab > /etc/fstab.mailplatform
echo "$line" >> /etc/fstab.mailplatform
mv /etc/fstab.mailplatform /etc/fstab
systemctl daemon-reload
mountpoint -q "$target" || mount "$target"
echo "mounted $target"
