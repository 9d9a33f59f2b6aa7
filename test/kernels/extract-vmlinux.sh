#!/usr/bin/env bash
# Writes the uncompressed vmlinux inside a bzImage to stdout: the method of the kernel's
# scripts/extract-vmlinux (look for each compressor's magic, decompress from there, keep the first
# result that is an ELF file). qemu boots an ELF vmlinux through its PVH note, skipping the
# decompressor, which under TCG costs seconds per boot.
set -euo pipefail
img=${1:?usage: extract-vmlinux.sh BZIMAGE}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
try() { # try MAGIC(printf-escaped) DECOMPRESSOR...
  local magic=$1; shift
  local pos pat
  pat=$(printf "$magic" | tr -d '\000') # an argument cannot hold NUL: match the bytes before it
  for pos in $(LC_ALL=C grep -aboF "$pat" "$img" | cut -d: -f1 | head -n 5); do
    tail -c+$((pos + 1)) "$img" | "$@" >"$tmp" 2>/dev/null || true
    if [ "$(head -c4 "$tmp" | od -An -c | tr -d ' ')" = "177ELF" ]; then cat "$tmp"; exit 0; fi
  done
}
try '\037\213\010' gunzip
try '\3757zXZ\000' unxz
try 'BZh' bunzip2
try '\135\000\000\000' unlzma
try '\002!L\030' lz4 -dc
try '(\265/\375' zstd -dc
echo "extract-vmlinux.sh: no compressed vmlinux found in $img" >&2
exit 1
