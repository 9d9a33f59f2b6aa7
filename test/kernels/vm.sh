#!/usr/bin/env bash
# Boots a Debian cloud kernel under qemu and runs one command in it as root:
#   test/kernels/vm.sh [--timeout SECONDS] [--mem SIZE] [--cpus N] NAME -- COMMAND [ARG...]
# NAME is a kernel from kernels.conf (5.10, 6.1, 6.12). The guest's root is the host's root,
# shared read-only through virtiofs under a tmpfs overlay (writes succeed and vanish with the VM),
# with fresh tmpfs on /tmp, /run, /var/tmp, /dev/shm and proc, sysfs, devtmpfs, tracefs, debugfs,
# bpffs, cgroup2 mounted; the kernel's own modules are on /lib/modules/<kver>. COMMAND runs in the
# current directory with the current environment, stdin from /dev/null; its stdout and stderr
# (merged) are printed here, and vm.sh exits with its exit code. Failures of the VM itself exit 125
# (boot) or 124 (timeout) with one line naming the cause and the console log's tail.
# Accel: KVM when SEALTRACE_VM_ACCEL=kvm, else TCG (this machine kind's /dev/kvm cannot boot them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${SEALTRACE_KERNEL_CACHE:-/var/cache/sealtrace-kernels}
timeout=1800 mem=2G cpus=2
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "vm.sh: unknown option $1" >&2; exit 2 ;;
    *) name=$1; shift ;;
  esac
done
if [ -z "${name:-}" ] || [ $# -eq 0 ]; then
  echo "usage: test/kernels/vm.sh [--timeout SECONDS] [--mem SIZE] [--cpus N] NAME -- COMMAND [ARG...]" >&2
  exit 2
fi
virtiofsd=${SEALTRACE_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
for tool in qemu-system-x86_64 "$virtiofsd"; do
  command -v "$tool" >/dev/null || { echo "vm.sh: $tool not found (apt-get install qemu-system-x86)" >&2; exit 125; }
done

kdir=$("$here/fetch.sh" "$name") || exit 125
kver=$(cat "$kdir/kver")

mkdir -p "$cache/run"
# Job directories of a vm.sh that was SIGKILLed (its trap never ran) are removed by the next one.
for old in "$cache"/run/job.*; do
  [ -f "$old/pid" ] && ! kill -0 "$(cat "$old/pid")" 2>/dev/null && rm -rf "$old"
done
job=$(mktemp -d "$cache/run/job.XXXXXX")
echo $$ >"$job/pid"
qpid= vpid=
cleanup() {
  # Never leave qemu or virtiofsd behind, whatever ended us.
  [ -n "$qpid" ] && kill -KILL "$qpid" 2>/dev/null || true
  [ -n "$vpid" ] && kill -TERM "$vpid" 2>/dev/null || true
  [ -n "$qpid" ] && wait "$qpid" 2>/dev/null || true
  [ -n "$vpid" ] && { sleep 0.2; kill -KILL "$vpid" 2>/dev/null || true; wait "$vpid" 2>/dev/null || true; }
  rm -rf "$job"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

printf '%s\0' "$@" >"$job/argv"
pwd >"$job/cwd"
echo "$kdir/lib/modules/$kver" >"$job/modules"
export -p | grep -v -E '^declare -x (PWD|OLDPWD|SHLVL|_)(=|$)' >"$job/env" || true
: >"$job/status"

# --pdeathsig: even a SIGKILLed vm.sh (no trap runs) takes virtiofsd and qemu with it.
setpriv --pdeathsig KILL "$virtiofsd" --socket-path="$job/vfs.sock" -o source=/ -o cache=always -o sandbox=chroot \
  -o no_posix_lock -o no_flock -o log_level=err --thread-pool-size=4 </dev/null >"$job/virtiofsd.log" 2>&1 &
vpid=$!
for _ in $(seq 100); do [ -S "$job/vfs.sock" ] && break; sleep 0.05; done
[ -S "$job/vfs.sock" ] || { echo "vm.sh: virtiofsd did not start: $(tail -n 3 "$job/virtiofsd.log")" >&2; exit 125; }

accel="tcg,thread=multi" cpu=max
if [ "${SEALTRACE_VM_ACCEL:-tcg}" = kvm ]; then accel=kvm cpu=host; fi
setpriv --pdeathsig KILL qemu-system-x86_64 -nodefaults -no-user-config -nographic -no-reboot \
  -machine q35 -accel "$accel" -cpu "$cpu" -smp "$cpus" -m "$mem" \
  -object "memory-backend-memfd,id=mem,size=$mem,share=on" -numa node,memdev=mem \
  -kernel "$kdir/vmlinux" -initrd "$kdir/initrd.cpio" \
  -append "console=ttyS0 loglevel=4 panic=-1 mitigations=off sealtrace.run=$here/guest-run.sh sealtrace.job=$job sealtrace.kver=$kver" \
  -chardev "file,id=con,path=$job/console.log" -serial chardev:con \
  -chardev stdio,id=out,signal=off -serial chardev:out \
  -chardev "file,id=st,path=$job/status" -serial chardev:st \
  -chardev "socket,id=vfs,path=$job/vfs.sock" -device vhost-user-fs-pci,chardev=vfs,tag=hostroot \
  -device virtio-rng-pci \
  </dev/null 2>"$job/qemu.log" &
qpid=$!

# Wait for qemu, up to the timeout.
deadline=$((SECONDS + timeout))
while kill -0 "$qpid" 2>/dev/null; do
  if [ $SECONDS -ge $deadline ]; then
    echo "vm.sh: $name: timed out after ${timeout}s; console tail:" >&2
    tail -n 20 "$job/console.log" | tr -cd '\11\12\40-\176' >&2
    exit 124
  fi
  sleep 0.2
done
wait "$qpid" && qrc=0 || qrc=$?
qpid=
st=$(tr -cd '\12\40-\176' <"$job/status" | tail -n 1)
case "$st" in
  "exit "*) exit "${st#exit }" ;;
esac
echo "vm.sh: $name ($kver): the VM ended without the command's exit code (${st:-no status}; qemu exit $qrc: $(tr -cd '\12\40-\176' <"$job/qemu.log" | tail -n 2)); console:" >&2
# A kernel oops or panic names its cause at its first lines, not at the tail: from 5 lines before the first
# report (at most 120 lines), else the tail.
first=$(grep -n -m 1 -E 'BUG:|Oops|general protection|invalid opcode|WARNING:|Kernel panic|kernel BUG|Call Trace:' "$job/console.log" | cut -d: -f1 || true)
if [ -n "$first" ]; then
  tail -n "+$((first > 5 ? first - 5 : 1))" "$job/console.log" | head -n 120 | tr -cd '\11\12\40-\176' >&2
else
  tail -n 25 "$job/console.log" | tr -cd '\11\12\40-\176' >&2
fi
[ -n "${SEALTRACE_VM_CONSOLE:-}" ] && cp "$job/console.log" "$SEALTRACE_VM_CONSOLE"
exit 125
