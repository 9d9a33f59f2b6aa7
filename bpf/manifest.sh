#!/bin/sh
# Prints, for each .bpf.o, the SHA-256 of its inputs (its .c, every header, the Makefile) and of the
# object itself. With --check, compares against objects.sha256 and fails on any difference.
set -eu
cd "$(dirname "$0")"
gen() {
  for c in *.bpf.c; do
    o="${c%.c}.o"
    inputs=$(cat "$c" *.h Makefile | sha256sum | cut -d' ' -f1)
    obj=$( [ -f "$o" ] && sha256sum "$o" | cut -d' ' -f1 || echo missing)
    echo "$o inputs=$inputs object=$obj"
  done
}
if [ "${1:-}" = "--check" ]; then
  if ! gen | diff -u objects.sha256 - >&2; then
    echo "bpf: committed objects are stale against their sources: run 'make -C bpf' and commit the .bpf.o files" >&2
    exit 1
  fi
else
  gen
fi
