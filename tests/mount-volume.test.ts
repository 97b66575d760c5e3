// files/mount-volume.sh, the step before a host's first push that mounts what outlives its VM: run
// for real on a loop device (a 64 MiB file standing in for the Cinder volume), in a private mount
// namespace whose /etc is an overlay (its fstab the VM's); systemctl is a stand-in that logs what it is asked
// (no systemd here). Needs root, as every lab test does.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.join(__dirname, "..", "files", "mount-volume.sh");
const VOLUME_ID = "3f2c9a7e-51d4-4b8e-9c0a-7d6e5f4a3b21";

/**
 * Runs `steps` (bash, $MOUNT the script) in a private mount namespace with the volume's device
 * under by-id/, returns the output. The loop device is detached however the steps end.
 */
function inNamespace(dir: string, steps: string): string {
  const script = String.raw`
set -euo pipefail
mkdir -p "$DIR/etc-upper" "$DIR/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$DIR/etc-upper,workdir=$DIR/etc-work" /etc
[ -f "$DIR/etc-upper/fstab" ] || echo "# the VM's fstab" >/etc/fstab
dev=$(losetup -f --show "$DIR/volume.img")
trap 'umount -R "$DIR/vm" 2>/dev/null || true; losetup -d "$dev"' EXIT
ln -sf "$dev" "$DIR/by-id/virtio-$(printf %.20s "$VOLUME_ID")"
${steps}`;
  const r = spawnSync("unshare", ["--mount", "--propagation", "private", "bash", "-c", script], {
    encoding: "utf8",
    env: { ...process.env, DIR: dir, VOLUME_ID, MOUNT: SCRIPT, MOUNT_VOLUME_DEVICES: path.join(dir, "by-id"), PATH: `${dir}/bin:${process.env.PATH}` },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe("mount-volume.sh", function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mount-volume-"));
    for (const d of ["by-id", "bin", "vm"]) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, "systemd.log"), "");
    // is-active: the services listed in $DIR/active run.
    fs.writeFileSync(path.join(dir, "bin", "systemctl"), String.raw`#!/bin/sh
echo "$*" >>"$DIR/systemd.log"
[ "$1" = is-active ] && { grep -qx "$3" "$DIR/active" 2>/dev/null || exit 3; }
exit 0
`, { mode: 0o755 });
    spawnSync("truncate", ["-s", "64M", path.join(dir, "volume.img")]);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("moves a running MTA's queue onto its new volume, with its daemons stopped meanwhile, and mounts it from fstab", () => {
    const queue = path.join(dir, "vm/var/spool/postfix");
    fs.mkdirSync(path.join(queue, "deferred/A"), { recursive: true });
    fs.writeFileSync(path.join(queue, "deferred/A/4XYZ1234"), "a message acknowledged before the volume existed\n", { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "active"), "unbound\npostfix\n");
    const out = inNamespace(dir, String.raw`
sh -s -- volume "$VOLUME_ID" "$DIR/vm/var/spool/postfix" queue unbound rspamd postfix <"$MOUNT"
mountpoint -q "$DIR/vm/var/spool/postfix" && echo "mounted: yes"
blkid -s LABEL -o value "$dev"
cat "$DIR/vm/var/spool/postfix/deferred/A/4XYZ1234"
stat -c '%a' "$DIR/vm/var/spool/postfix/deferred/A/4XYZ1234"
umount "$DIR/vm/var/spool/postfix"
# The root disk's copy stays underneath, as it was; the volume holds its own.
ls "$DIR/vm/var/spool/postfix/deferred/A"`);
    assert.match(out, /moved the content of .*\/vm\/var\/spool\/postfix onto the volume/);
    assert.match(out, /mounted: yes\nqueue\na message acknowledged before the volume existed\n600\n4XYZ1234\n/);
    // Only what ran was stopped, Postfix first, and started again after the mount, in start order.
    const calls = fs.readFileSync(path.join(dir, "systemd.log"), "utf8").split("\n").filter((l) => !l.startsWith("is-active"));
    assert.deepEqual(calls, ["stop postfix", "stop unbound", "daemon-reload", "start unbound", "start postfix", ""]);
    const fstab = fs.readFileSync(path.join(dir, "etc-upper/fstab"), "utf8");
    assert.match(fstab, /^# the VM's fstab\nUUID=[0-9a-f-]{36} \S+\/vm\/var\/spool\/postfix ext4 defaults,noatime,nofail 0 2\n$/);
  });

  it("on a new VM mounts the volume as it is, without formatting it or stopping anything", () => {
    inNamespace(dir, String.raw`
mkfs.ext4 -q -L queue "$dev"
m=$(mktemp -d) && mount "$dev" "$m" && mkdir -p "$m/deferred/B" && echo kept >"$m/deferred/B/5ABC" && umount "$m"`);
    fs.writeFileSync(path.join(dir, "active"), "postfix\n");
    const out = inNamespace(dir, String.raw`
sh -s -- volume "$VOLUME_ID" "$DIR/vm/var/spool/postfix" queue postfix <"$MOUNT"
cat "$DIR/vm/var/spool/postfix/deferred/B/5ABC"
# Again: nothing changes, one fstab line.
sh -s -- volume "$VOLUME_ID" "$DIR/vm/var/spool/postfix" queue postfix <"$MOUNT"`);
    assert.doesNotMatch(out, /moved/);
    assert.match(out, /kept\n/);
    assert.deepEqual(fs.readFileSync(path.join(dir, "systemd.log"), "utf8").split("\n").filter((l) => /^(stop|start)/.test(l)), []);
    assert.equal(fs.readFileSync(path.join(dir, "etc-upper/fstab"), "utf8").split("\n").filter((l) => l.startsWith("UUID=")).length, 1);
  });
});
