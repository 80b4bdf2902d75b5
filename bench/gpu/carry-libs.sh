#!/bin/sh
# bench/gpu/carry-libs.sh DEST PROGRAM... -- copies into DEST the shared libraries the
# given programs need (their ldd closure) except glibc's, the compiler runtime's, CUDA's
# and Open MPI's, which the lent GPU machine has, and writes DEST/env.sh. Build here
# (Debian 12: libconfig, jansson, PCRE2, libarchive, libcsv, OpenBLAS, HDF5), carry
# DEST and the build folder (git-ignored) to the GPU machine, `. DEST/env.sh` there, and
# run the programs without building (bench/gpu/verify-all.sh does).
set -eu
dest=${1:?usage: carry-libs.sh DEST PROGRAM...}
shift
mkdir -p "$dest"
for p in "$@"; do
    ldd "$p" | awk '/=> \// { print $3 }'
done | sort -u | while read -r lib; do
    base=$(basename "$lib")
    case "$base" in
        libc.so*|libm.so*|libpthread*|libdl.so*|librt.so*|ld-linux*|libgcc_s*|libstdc++*|libgomp*) continue ;;
        libcuda*|libcublas*|libcudart*|libnccl*|libnvidia*|libnvrtc*) continue ;;
        libmpi*|libopen-*|libhwloc*|libevent*|libpmix*|libucp*|libucs*|libuct*|libfabric*|libpsm*|libibverbs*|librdma*) continue ;;
    esac
    cp -L "$lib" "$dest/$base"
done
cat >"$dest/env.sh" <<'ENV'
# . this file (bash) on the GPU machine: the carried libraries first on the loader path
_d=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)
export LD_LIBRARY_PATH="$_d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 NCCL_NVLS_ENABLE=0
unset _d
ENV
du -sh "$dest" | cut -f1 | sed 's/^/carry-libs: /'
