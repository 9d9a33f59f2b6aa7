#!/bin/busybox sh
# /init of the initrd fetch.sh builds: mount the host's root (virtiofs, read-only) under a tmpfs
# overlay, then hand over to test/kernels/guest-run.sh from that root. Any failure here is reported
# on the status port (ttyS2) so vm.sh can name it, and the VM reboots, which ends qemu (-no-reboot).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
  echo "vm: initrd: $*" >/dev/ttyS0
  echo "initrd: $*" >/dev/ttyS2
  reboot -f
  sleep 10
}

for m in $(cat /lib/modules/load); do
  insmod "/lib/modules/$m" || fail "insmod $m failed"
done
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    sealtrace.run=*) run=${arg#sealtrace.run=} ;;
  esac
done
[ -n "$run" ] || fail "no sealtrace.run= on the kernel command line"

mkdir -p /mnt/host /mnt/rw /newroot
mount -t virtiofs -o ro hostroot /mnt/host || fail "cannot mount the virtiofs root"
mount -t tmpfs -o mode=755 rw /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work /newroot \
  || fail "cannot mount the overlay root"
[ -x "/newroot$run" ] || fail "$run is not executable in the shared root"
umount /proc /sys
umount /dev
exec switch_root /newroot "$run"
