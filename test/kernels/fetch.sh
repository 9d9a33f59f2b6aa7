#!/usr/bin/env bash
# Prepares one Debian cloud kernel for vm.sh and prints the directory holding it:
#   test/kernels/fetch.sh NAME        (NAME from kernels.conf: 5.10, 6.1, 6.12)
# The package is fetched with `apt-get download` through a private apt configuration (its own
# sources list, lists and cache under $SEALTRACE_KERNEL_CACHE): the machine's apt never sees the
# bullseye/trixie suites, so nothing can upgrade the host from them. Everything is cached: a second
# call does no network access. The prepared directory holds:
#   vmlinux        the uncompressed kernel (qemu boots it through its PVH entry: no decompressor under TCG)
#   initrd.cpio    busybox + the modules needed to mount the virtiofs root (test/kernels/initrd-init.sh)
#   lib/modules/<kver>  the package's modules, depmod'ed, bind-mounted on /lib/modules/<kver> in the guest
#   kver           the kernel release string
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${SEALTRACE_KERNEL_CACHE:-/var/cache/sealtrace-kernels}
name=${1:?usage: test/kernels/fetch.sh NAME (one of: $(awk '!/^#/ && NF {printf "%s ", $1}' "$here/kernels.conf"))}

read -r _ suite pkg version < <(awk -v n="$name" '!/^#/ && $1 == n' "$here/kernels.conf") || true
if [ -z "${pkg:-}" ]; then
  echo "fetch.sh: unknown kernel '$name'; known: $(awk '!/^#/ && NF {printf "%s ", $1}' "$here/kernels.conf")" >&2
  exit 2
fi
out="$cache/k/${pkg}_${version}"
if [ -f "$out/ready" ]; then echo "$out"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # two runs preparing kernels at once would race on the apt cache and the output directory
if [ -f "$out/ready" ]; then echo "$out"; exit 0; fi

# --- download through the private apt configuration ----------------------------------------
apt="$cache/apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/prefs.d" "$cache/debs"
key=/usr/share/keyrings/debian-archive-keyring.gpg
{
  for s in bullseye bookworm trixie; do
    echo "deb [signed-by=$key] http://deb.debian.org/debian $s main"
    echo "deb [signed-by=$key] http://deb.debian.org/debian-security $s-security main"
  done
} >"$apt/sources.list"
aptopts=(
  -o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=$apt/parts"
  -o "Dir::Etc::preferences=$apt/prefs" -o "Dir::Etc::preferencesparts=$apt/prefs.d"
  -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Dir::State::status=/dev/null"
  -o "APT::Architecture=amd64" -o "Acquire::Languages=none" -o "APT::Sandbox::User=root"
)
deb="$cache/debs/${pkg}_${version}_amd64.deb"
if [ ! -f "$deb" ]; then
  fresh="$apt/lists/.updated"
  if [ ! -f "$fresh" ] || [ -n "$(find "$fresh" -mmin +60)" ]; then
    echo "fetch.sh: apt-get update (private lists in $apt)" >&2
    apt-get "${aptopts[@]}" update -qq >&2
    touch "$fresh"
  fi
  if ! apt-cache "${aptopts[@]}" show "$pkg=$version" >/dev/null 2>&1; then
    echo "fetch.sh: $pkg $version is no longer in Debian's archive; available: $(apt-cache "${aptopts[@]}" madison "$pkg" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); printf "%s ", $2}')- update test/kernels/kernels.conf" >&2
    exit 1
  fi
  echo "fetch.sh: downloading $pkg $version" >&2
  (cd "$cache/debs" && apt-get "${aptopts[@]}" download -qq "$pkg=$version" >&2)
fi

# --- unpack -----------------------------------------------------------------------------------
tmp="$out.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"; mkdir -p "$tmp/pkg"
dpkg-deb -x "$deb" "$tmp/pkg"
moddir=$(find "$tmp/pkg" -path '*/lib/modules/*' -maxdepth 4 -mindepth 3 -type d -name '[0-9]*' | head -n1)
kver=$(basename "$moddir")
mkdir -p "$tmp/lib/modules"
mv "$moddir" "$tmp/lib/modules/$kver"
depmod -b "$tmp" "$kver"
echo "$kver" >"$tmp/kver"

# --- vmlinux: find the compressed payload in the bzImage (scripts/extract-vmlinux's method) ---
"$here/extract-vmlinux.sh" "$tmp/pkg/boot/vmlinuz-$kver" >"$tmp/vmlinux"

# --- initrd: static busybox, the init script, and the modules the virtiofs root needs ----------
ird="$tmp/initrd"
mkdir -p "$ird/bin" "$ird/lib/modules" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/mnt/host" "$ird/newroot"
cp /bin/busybox "$ird/bin/busybox"
file -L /bin/busybox | grep -q 'statically linked' || { echo "fetch.sh: /bin/busybox is not static: install busybox-static" >&2; exit 1; }
cp "$here/initrd-init.sh" "$ird/init"
chmod 755 "$ird/init"
: >"$ird/lib/modules/load"
# modprobe resolves the dependency order; built-in modules print "builtin" and are skipped.
for m in virtio_pci virtiofs overlay; do
  modprobe -d "$tmp" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}' | while read -r ko; do
    base=$(basename "$ko"); base=${base%.xz}; base=${base%.zst}
    [ -f "$ird/lib/modules/$base" ] && continue
    case "$ko" in
      *.xz) xz -dc "$ko" >"$ird/lib/modules/$base" ;;
      *.zst) zstd -qdc "$ko" >"$ird/lib/modules/$base" ;;
      *) cp "$ko" "$ird/lib/modules/$base" ;;
    esac
    echo "$base" >>"$ird/lib/modules/load"
  done
done
(cd "$ird" && find . | cpio -o -H newc --quiet) >"$tmp/initrd.cpio"
rm -rf "$tmp/pkg" "$ird"
touch "$tmp/ready"
rm -rf "$out"; mv "$tmp" "$out"
trap - EXIT
echo "$out"
