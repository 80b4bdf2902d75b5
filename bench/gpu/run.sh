#!/bin/sh
# bench/gpu/run.sh -- the GPU benchmarks of doc/performance.md, on a GPU machine:
#   sh bench/gpu/run.sh [BUILD_DIR]          (default BUILD_DIR: build-cuda)
# Configures BUILD_DIR --with-cuda if needed (extra arguments from $T6_CONFIGURE_ARGS),
# builds gpu_bench and runs T6 small (B 24), MHA small, T6 medium (B 20) and MHA medium
# in the reference recipe; each prints a RESULT line, the per-op GPU time and the
# per-shape GEMM table.
set -e
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-cuda}
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
    [ -x "$here/configure" ] || (cd "$here" && autoreconf -fi)
    # shellcheck disable=SC2086
    (cd "$build" && "$here/configure" --with-cuda $T6_CONFIGURE_ARGS)
fi
make -C "$build" -j"$(nproc 2>/dev/null || echo 4)" gpu-bench >/dev/null
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
for m in t6_small mha_small t6_medium mha_medium; do
    "$build/bench/gpu/gpu_bench" "$m"
done
