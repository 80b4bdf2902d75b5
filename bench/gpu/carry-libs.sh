#!/bin/sh
# bench/gpu/carry-libs.sh DEST PROGRAM... -- copies into DEST the shared libraries the
# given programs need (their ldd closure) except what the lent GPU machine (Ubuntu 24.04
# with CUDA, Open MPI 4.1 and HDF5 1.10) has: glibc, the compiler runtime, CUDA, Open MPI,
# HDF5 (1.10.10 there, same ABI and soname as Debian's 1.10.8: env.sh turns off HDF5's
# header/library version check) and the system libraries they pull in. Writes DEST/env.sh. Build here
# (Debian 12: libconfig, jansson, PCRE2, libarchive, libcsv, OpenBLAS, HDF5), carry
# DEST and the build folder (git-ignored) to the GPU machine, `. DEST/env.sh` there, and
# run the programs without building (bench/gpu/verify-all.sh does).
# Libraries over CARRY_XZ_MIN bytes (default 1 MiB; 0 = none) travel xz-compressed (OpenBLAS
# with its per-CPU kernels is 36 MB, 4 MB packed: the device call carries 64 MiB in all);
# env.sh unpacks them once per content into ${TMPDIR:-/tmp}/t6-devlibs-<checksum> (xz, or
# Python's lzma where xz is missing) and puts that folder on the loader path too.
# env.sh works when sourced from bash (any folder) and from sh/dash (from the folder that
# holds DEST: dash cannot tell a sourced file's path).
set -eu
dest=${1:?usage: carry-libs.sh DEST PROGRAM...}
shift
xz_min=${CARRY_XZ_MIN:-1048576}
mkdir -p "$dest"
rm -f "$dest"/*.xz
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
    rm -f "$dest/$base"
    if [ "$xz_min" -gt 0 ] && [ "$(stat -L -c %s "$lib")" -gt "$xz_min" ]; then
        xz -9 -T1 -c "$lib" >"$dest/$base.xz"
    else
        cp -L "$lib" "$dest/$base"
    fi
done
name=$(basename "$dest")
{
cat <<'ENV'
# . this file on the GPU machine: the carried libraries first on the loader path
# (written by bench/gpu/carry-libs.sh). bash finds this file's folder wherever it is
# sourced from; sh (dash) has no BASH_SOURCE: there the folder is $PWD/<its name>.
if [ -n "${BASH_VERSION:-}" ]; then
    eval '_d=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)'
else
ENV
printf '    _d=$PWD/%s
' "$name"
cat <<'ENV'
fi
if [ ! -d "$_d" ]; then
    echo "env.sh: cannot tell its folder (source it from bash, or from sh in the folder above it)" >&2
else
    export LD_LIBRARY_PATH="$_d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    # the libraries carried xz-compressed, unpacked once per content (the name is their checksum)
    if ls "$_d"/*.xz >/dev/null 2>&1; then
        _u=${TMPDIR:-/tmp}/t6-devlibs-$(cat "$_d"/*.xz | cksum | cut -d' ' -f1)
        if [ ! -d "$_u" ]; then
            mkdir -p "$_u.part$$"
            for _z in "$_d"/*.xz; do
                _f=$_u.part$$/$(basename "$_z" .xz)
                xz -dc "$_z" >"$_f" 2>/dev/null || python3 -c 'import lzma, shutil, sys
shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$_z" "$_f" ||
                    echo "env.sh: cannot unpack $_z (no xz, no python3 lzma)" >&2
            done
            mv -T "$_u.part$$" "$_u" 2>/dev/null || rm -rf "$_u.part$$"
        fi
        export LD_LIBRARY_PATH="$_u:$LD_LIBRARY_PATH"
        unset _u _z _f
    fi
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 NCCL_NVLS_ENABLE=0 HDF5_DISABLE_VERSION_CHECK=2
unset _d
ENV
} >"$dest/env.sh"
du -sh "$dest" | cut -f1 | sed 's/^/carry-libs: /'
