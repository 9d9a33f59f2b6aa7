#!/bin/bash
# PID 1 of the guest vm.sh boots, run from the host's (read-only, overlaid) root: mounts what a
# sealtrace host has, runs the job's command with its output on ttyS1 and its exit code on ttyS2,
# then reboots (qemu runs with -no-reboot, so that ends the VM).
set -u
mount -t proc proc /proc
cmdline=$(cat /proc/cmdline)
job=; kver=
for arg in $cmdline; do
  case "$arg" in
    sealtrace.job=*) job=${arg#sealtrace.job=} ;;
    sealtrace.kver=*) kver=${arg#sealtrace.kver=} ;;
  esac
done
status() { echo "$*" >/dev/ttyS2; }
die() {
  echo "vm: guest: $*" >/dev/ttyS0
  status "guest: $*"
  echo b >/proc/sysrq-trigger
  sleep 10
}

mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# The job (argv, cwd, environment) is read before tmpfs hides the host's /tmp and /run.
[ -n "$job" ] && [ -f "$job/argv" ] || die "job directory '$job' not readable"
mapfile -d '' argv <"$job/argv"
cwd=$(cat "$job/cwd")
envfile=$(cat "$job/env")
moddir=$(cat "$job/modules")
# A checkout under /tmp, /var/tmp or /run (a fresh clone, as the README's try-out makes) stays visible: its
# directory is held aside and bound back over the fresh tmpfs.
keep=""
case "$cwd" in
  /tmp/* | /var/tmp/* | /run/*) keep=/.sealtrace-cwd && mkdir -p "$keep" && mount --bind "$cwd" "$keep" ;;
esac
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
if [ -n "$keep" ]; then
  mkdir -p "$cwd" && mount --bind "$keep" "$cwd" || die "cannot keep $cwd visible over the guest's tmpfs"
fi
mkdir -p /run/netns /run/lock
mkdir -p "/lib/modules/$kver" && mount --bind -o ro "$moddir" "/lib/modules/$kver" || die "cannot bind the kernel's modules"
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
ip link set lo up
hostname sealtrace-vm
# No 8250 line discipline tricks on the output port: raw bytes, no \n -> \r\n.
stty -F /dev/ttyS1 raw -echo
stty -F /dev/ttyS2 raw -echo

eval "$envfile"
cd "$cwd" || die "cannot cd to $cwd"
# Output through a pipe, not the serial tty itself: the command sees what it would under CI (not a tty).
"${argv[@]}" </dev/null 2>&1 | cat >/dev/ttyS1
rc=${PIPESTATUS[0]}
status "exit $rc"
sync
echo b >/proc/sysrq-trigger
sleep 10
