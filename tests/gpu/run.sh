#!/bin/sh
# tests/gpu/run.sh -- the CUDA backend against the CPU backend, on the GPU machine
# (not part of make check). From the source tree:
#   sh tests/gpu/run.sh [BUILD_DIR]
# BUILD_DIR (default build-cuda) must be configured --with-cuda; builds gpu_check
# and runs the per-op checks and the model parity checks. Exit 0 only when all pass.
set -e
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-cuda}
make -C "$build" -j16 gpu-tests >/dev/null
OMP_NUM_THREADS=${OMP_NUM_THREADS:-16}; export OMP_NUM_THREADS
"$build/tests/gpu/gpu_check" all
