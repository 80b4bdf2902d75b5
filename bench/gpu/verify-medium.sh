#!/bin/bash
# bench/gpu/verify-medium.sh -- one short call on the lent GPU machine (doc/cuda.md):
# configure build-dev with CUDA for sm_90 (libconfig from .devlibs-config, the t6-prep
# libraries given as dummies: nothing built here links them), build gpu_check and
# gpu_bench, run `gpu_check all` (CUDA vs CPU backend, ops + model parity), then
# gpu_bench for T6 medium, MHA medium and T6 small with 10 timed steps after 4 warm-up
# (the default recipe takes 20 after 6; the median moves little). Logs go to $OUT (the
# device tool's output folder) or ./verify-out; a summary is printed at the end.
# Run from the repository root:  bash bench/gpu/verify-medium.sh
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$here/verify-out}
mkdir -p "$out"
cd "$here" || exit 1
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 ))s] $*" | tee -a "$out/summary.txt"; }
# shellcheck disable=SC1091
[ -f .devlibs-config/env.sh ] && . .devlibs-config/env.sh
git log -1 --format='commit %h %s' 2>/dev/null | tee -a "$out/summary.txt"
if [ ! -x configure ]; then
    stamp "autoreconf"
    autoreconf -fi > "$out/autoreconf.log" 2>&1 || { stamp "autoreconf FAILED"; tail -20 "$out/autoreconf.log"; exit 1; }
fi
mkdir -p build-dev && cd build-dev || exit 1
if [ ! -f Makefile ]; then
    stamp "configure"
    F=-DT6_UNUSED_HERE
    ../configure --with-cuda --with-cuda-arch=90 PCRE2_CFLAGS=$F PCRE2_LIBS=-lm \
        JANSSON_CFLAGS=$F JANSSON_LIBS=-lm SNAPPY_CFLAGS=$F SNAPPY_LIBS=-lm ZSTD_CFLAGS=$F \
        ZSTD_LIBS=-lm ZLIB_CFLAGS=$F ZLIB_LIBS=-lm LIBARCHIVE_CFLAGS=$F LIBARCHIVE_LIBS=-lm \
        > "$out/configure.log" 2>&1 || { stamp "configure FAILED"; tail -30 "$out/configure.log"; exit 1; }
fi
stamp "make -j16 gpu-tests gpu-bench"
make -j16 gpu-tests gpu-bench > "$out/build.log" 2>&1 || { stamp "build FAILED"; grep -E "error" "$out/build.log" | head -20; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$out/summary.txt"
rc=0
stamp "gpu_check all"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-16} ./tests/gpu/gpu_check all > "$out/gpu_check.txt" 2>&1 || rc=1
grep -E "^FAIL" "$out/gpu_check.txt" | head -20 | tee -a "$out/summary.txt"
grep -E "pads|stride|^gpu_check:" "$out/gpu_check.txt" | grep -c "^ok" | sed 's/^/stride\/pad checks ok: /' | tee -a "$out/summary.txt"
tail -1 "$out/gpu_check.txt" | tee -a "$out/summary.txt"
for spec in "t6_medium 20" "mha_medium 20" "t6_small 24"; do
    set -- $spec
    stamp "gpu_bench $1 B=$2 10 timed after 4 warm-up"
    ./bench/gpu/gpu_bench "$1" "$2" 10 4 > "$out/bench-$1.txt" 2>&1 || { rc=1; tail -5 "$out/bench-$1.txt"; }
    grep -E "^RESULT" "$out/bench-$1.txt" | tee -a "$out/summary.txt"
    grep -E "^  (matmul_fwd|matmul_bwd|swiglu_fwd|swiglu_bwd|total)" "$out/bench-$1.txt" | tee -a "$out/summary.txt"
    # the SwiGLU GEMMs (hidden 2730 at stride 2736 for the medium models)
    grep -E "(2730|2736|2048) " "$out/bench-$1.txt" | tee -a "$out/summary.txt"
done
stamp "done (rc $rc)"
exit $rc
