#!/bin/sh
# bench/gpu/run.sh -- the GPU benchmarks of doc/performance.md, on the GPU machine,
# from a build directory configured --with-cuda (default: build-cuda beside this tree):
#   sh bench/gpu/run.sh [BUILD_DIR]
# Builds gpu_bench and runs T6 small (B 24), T6 medium (B 20), MHA small and medium.
set -e
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-cuda}
make -C "$build" -j16 bench/gpu/gpu_bench >/dev/null
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
for m in t6_small t6_medium mha_small mha_medium; do
    "$build/bench/gpu/gpu_bench" "$m"
done
