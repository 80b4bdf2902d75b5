#!/bin/sh
# bench/gpu/carry-libs.sh DEST PROGRAM... -- copies into DEST the shared libraries the
# given programs need (their ldd closure) except what the lent GPU machine (Ubuntu 24.04
# with CUDA, Open MPI 4.1 and HDF5 1.10) has: glibc, the compiler runtime, CUDA, Open MPI,
# HDF5 (1.10.10 there, same ABI and soname as Debian's 1.10.8: env.sh turns off HDF5's
# header/library version check) and the system libraries they pull in. Writes DEST/env.sh. Build here
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
        libhdf5*|libsz*|libaec*|libcurl*|libz.so*|libzstd*|liblzma*|libbz2*|libssl*|libcrypto*|libxml2*|libicu*) continue ;;
        libgnutls*|libnettle*|libhogweed*|libgmp*|libp11*|libtasn1*|libidn2*|libunistring*|libpsl*|libnghttp2*) continue ;;
        librtmp*|libssh*|libldap*|liblber*|libsasl*|libgssapi*|libkrb5*|libk5crypto*|libcom_err*|libkeyutils*) continue ;;
        libresolv*|libbrotli*|libffi*|libudev*|libacl*|liblz4*|libpcre2*) continue ;;
    esac
    cp -L "$lib" "$dest/$base"
done
cat >"$dest/env.sh" <<'ENV'
# . this file (bash) on the GPU machine: the carried libraries first on the loader path
_d=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)
export LD_LIBRARY_PATH="$_d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 NCCL_NVLS_ENABLE=0 HDF5_DISABLE_VERSION_CHECK=2
unset _d
ENV
du -sh "$dest" | cut -f1 | sed 's/^/carry-libs: /'
