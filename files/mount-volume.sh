#!/bin/sh
# mount-volume.sh volume <cinder volume id> <mount point> <label> [<service>...]
# mount-volume.sh nfs <export location> <mount point>
# Mounts what of a host outlives its VM (core's hostVolume) before the host's first config push: its
# own Cinder volume (a maildrop's mail store, an MTA's Postfix queue; formatted on first use, with the
# label) or the Manila share both maildrops use (shared mode). Idempotent.
# A host that ran before it had the volume holds its files on the root disk at the mount point (an
# MTA's queue, with mail acknowledged in it): they move onto the new volume, the services named
# stopped meanwhile and started again after.
set -eu
kind=$1 source=$2 target=$3
fresh=

case $kind in
volume)
  label=$4
  shift 4
  # Nova exposes the volume as virtio-<first 20 characters of its id>.
  short=$(printf %.20s "$source")
  tries=0
  until dev=$(ls "${MOUNT_VOLUME_DEVICES:-/dev/disk/by-id}"/*"$short"* 2>/dev/null | head -n 1) && [ -n "$dev" ]; do
    tries=$((tries + 1))
    [ $tries -gt 60 ] && { echo "volume $source is not attached" >&2; exit 1; }
    sleep 2
  done
  blkid "$dev" >/dev/null 2>&1 || { mkfs.ext4 -q -L "$label" "$dev"; fresh=1; }
  line="UUID=$(blkid -s UUID -o value "$dev") $target ext4 defaults,noatime,nofail 0 2"
  ;;
nfs)
  command -v mount.nfs4 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q nfs-common >/dev/null
  # Hard mounts: Dovecot must block, not see I/O errors, while the share fails over (seed 003).
  line="$source $target nfs4 rw,hard,noatime,_netdev 0 0"
  shift 3
  ;;
*)
  echo "unknown kind $kind" >&2; exit 2 ;;
esac

mkdir -p "$target"
if [ -n "$fresh" ] && ! mountpoint -q "$target" && [ -n "$(ls -A "$target")" ]; then
  running=
  for s in "$@"; do systemctl is-active --quiet "$s" && running="$running $s"; done
  # Stopped in reverse start order (Postfix, the last, first: its queue stands still).
  for s in $(echo $running | tr ' ' '\n' | tac); do systemctl stop "$s"; done
  staging=$(mktemp -d)
  mount "$dev" "$staging"
  cp -a "$target/." "$staging/"
  sync
  umount "$staging"
  rmdir "$staging"
  echo "moved the content of $target onto the volume"
fi
# One fstab line for the mount point, replaced when the source changes.
awk -v t="$target" '$2 != t' /etc/fstab > /etc/fstab.mailplatform
echo "$line" >> /etc/fstab.mailplatform
mv /etc/fstab.mailplatform /etc/fstab
systemctl daemon-reload
mountpoint -q "$target" || mount "$target"
for s in ${running:-}; do systemctl start "$s"; done
echo "mounted $target"
