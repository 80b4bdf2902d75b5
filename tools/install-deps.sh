#!/usr/bin/env bash
# install-deps.sh -- installs with apt everything T6-C's build and tests need on
# Debian 12 / Ubuntu 24.04. Idempotent and non-interactive; fetches nothing but apt
# packages. Run as root (or through sudo).
#   tools/install-deps.sh            build + test dependencies (incl. local Slurm for tests)
#   tools/install-deps.sh --minimal  only what building t6 and t6-prep needs
#   tools/install-deps.sh --fuzz     also clang + its runtime for the fuzz targets (fuzz/)
set -euo pipefail

minimal=0 fuzz=0
case "${1:-}" in
    --minimal) minimal=1 ;;
    --fuzz) fuzz=1 ;;
    "") ;;
    *) echo "usage: tools/install-deps.sh [--minimal|--fuzz]" >&2; exit 2 ;;
esac

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps.sh: run as root or install sudo" >&2; exit 1; }
    SUDO=sudo
fi

build_pkgs=(
    build-essential autoconf automake libtool pkg-config make
    libhdf5-dev hdf5-tools libconfig-dev
    libopenmpi-dev openmpi-bin
    libpcre2-dev libjansson-dev libcsv-dev libsnappy-dev libzstd-dev zlib1g-dev libarchive-dev liblzma-dev
    libopenblas-dev
)
test_pkgs=(
    python3 xz-utils bzip2 zstd file
    munge slurm-wlm
    gnuplot-nox
    man-db groff-base environment-modules
)

pkgs=("${build_pkgs[@]}")
[ "$minimal" -eq 1 ] || pkgs+=("${test_pkgs[@]}")
[ "$fuzz" -eq 1 ] && pkgs+=(clang libclang-rt-14-dev)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps.sh: all ${#pkgs[@]} packages already installed"
    exit 0
fi
echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Daemons (munge, slurm) must not start at install time inside containers; the
# tests start their own instances with generated configuration.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    created_policy=1
fi
trap '[ "$created_policy" -eq 1 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps.sh: done"
