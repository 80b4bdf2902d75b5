#!/bin/sh
# tests/gpu/run.sh -- the CUDA backend against the CPU backend, on a GPU machine (never
# part of make check: CI has no GPU). From the source tree:
#   sh tests/gpu/run.sh [BUILD_DIR]          (default BUILD_DIR: build-cuda)
# Configures BUILD_DIR --with-cuda if it has no Makefile yet (extra configure arguments
# from $T6_CONFIGURE_ARGS, e.g. --with-cuda-arch=90), builds gpu_check and runs the
# per-op checks and the model parity checks; exit 0 only when every check passes.
# On the lent H200 machine (doc/cuda.md): libconfig comes from .devlibs-config, and the
# t6-prep libraries it lacks are not needed for this test (see doc/cuda.md).
set -e
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-cuda}
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
    [ -x "$here/configure" ] || (cd "$here" && autoreconf -fi)
    # shellcheck disable=SC2086
    (cd "$build" && "$here/configure" --with-cuda $T6_CONFIGURE_ARGS)
fi
make -C "$build" -j"$(nproc 2>/dev/null || echo 4)" gpu-tests >/dev/null
OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc 2>/dev/null || echo 4)}; export OMP_NUM_THREADS
exec "$build/tests/gpu/gpu_check" all
