#!/bin/sh
# Builds zstd-napi's binding.node inside the Debian 11 build root (glibc 2.31), so the release runs on hosts
# that old: built on the host (glibc 2.36) it needs pthread_create@GLIBC_2.34 and fstat@GLIBC_2.33.
# The flags are those node-gyp uses for zstd-napi's binding.gyp and deps/zstd.gyp, without node-gyp or python.
# Usage (in the chroot): zstd-napi.sh SRC NODE_INCLUDE ADDON_API_INCLUDE OUT
set -eu
src=$1 node_inc=$2 addon_inc=$3 out=$4
obj=$(mktemp -d /tmp/st-rel-zstd.XXXXXX)
trap 'rm -rf "$obj"' EXIT
common="-fvisibility=hidden -fPIC -pthread -m64 -O3 -fno-omit-frame-pointer -fexceptions -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64 -D_LARGEFILE_SOURCE"
zdefs="-DXXH_NAMESPACE=ZSTD_ -DZSTDERRORLIB_VISIBLE= -DZSTDLIB_VISIBLE= -DZSTD_MULTITHREAD -DZSTD_NO_TRACE"
cd "$src"
objs=""
# Sorted, so the link order (and so the bytes of binding.node) never depends on the file system.
for f in $(ls deps/zstd/lib/common/*.c deps/zstd/lib/compress/*.c deps/zstd/lib/decompress/*.c deps/zstd/lib/decompress/*.S | LC_ALL=C sort); do
  o="$obj/$(echo "$f" | tr / _).o"
  gcc $common $zdefs -c "$f" -o "$o"
  objs="$objs $o"
done
for f in $(ls src/*.cc | LC_ALL=C sort); do
  o="$obj/$(echo "$f" | tr / _).o"
  g++ $common -std=gnu++17 -fno-rtti -DNAPI_VERSION=9 -DNODE_ADDON_API_DISABLE_DEPRECATED -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS \
    -DNODE_API_NO_EXTERNAL_BUFFERS_ALLOWED -DBUILDING_NODE_EXTENSION -I"$node_inc" -I"$addon_inc" -Ideps/zstd/lib -c "$f" -o "$o"
  objs="$objs $o"
done
g++ -shared -pthread -m64 -Wl,-z,noexecstack -Wl,-z,relro -Wl,-z,now -Wl,--as-needed -Wl,--no-copy-dt-needed-entries \
  -Wl,-soname=binding.node -o "$out" $objs
