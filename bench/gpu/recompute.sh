#!/bin/bash
# bench/gpu/recompute.sh BUILD_DIR -- activation recomputation (train.recompute) on one GPU,
# with binaries built elsewhere (configure --with-cuda --with-cuda-arch=90): BUILD_DIR holds
# t6, bench/gpu/gpu_bench and tests/gpu/gpu_check at their build-tree paths. Sources
# .devlibs-rt/env.sh when it is there (bench/gpu/carry-libs.sh). Logs under $OUT (default
# ./recompute-out), one line per run in $OUT/summary.txt, the table at the end.
#  1. gpu_check recompute: on the CUDA backend, fp32 and bf16, the gradients of "attention"
#     and "block" are bitwise those of "none" for every attention type; peaks ordered.
#  2. T6 small, micro-batch 24 (the reference recipe of doc/performance.md), at none,
#     attention and block: tokens/s and the peak bytes t6 counted (PyTorch's measure).
#  3. T6 large and XL: for each mode, the largest micro-batch among $BATCHES whose `t6 --check`
#     estimate fits in the GPU's memory less $MARGIN_GIB; runs each mode at its largest,
#     then "none" at the largest batch of "block" -- which must run out of memory (the
#     micro-batches that fit only with recomputation).
#  4. T6 small through the whole t6 loop at none and block: the memory lines t6 prints.
# Steps per run: $STEPS timed after $WARMUP (small: 20 after 6, as doc/performance.md).
set -u
B=$(cd "${1:?usage: recompute.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$PWD/recompute-out}
BATCHES=${BATCHES:-"8 12 16 24 32 48 64"}
MARGIN_GIB=${MARGIN_GIB:-6}
STEPS=${STEPS:-6}
WARMUP=${WARMUP:-2}
mkdir -p "$OUT"
# shellcheck disable=SC1091
[ -f "$here/.devlibs-rt/env.sh" ] && . "$here/.devlibs-rt/env.sh"
cd "$here" || exit 1
{ date -u; git rev-parse --short HEAD 2>/dev/null || cat .carry/commit.txt 2>/dev/null
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; } >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
: >"$OUT/summary.txt"

echo "=== gpu_check recompute"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-16} timeout 120 "$B/tests/gpu/gpu_check" recompute >"$OUT/gpu_check.txt" 2>&1
echo "gpu_check recompute rc=$? $(tail -1 "$OUT/gpu_check.txt")" | tee -a "$OUT/summary.txt"
grep -E "^FAIL" "$OUT/gpu_check.txt"

# bench MODEL B MODE STEPS WARMUP: one gpu_bench run; its RESULT line (or the error) to the summary
bench() {
    local log="$OUT/bench-$1-$2-$3.txt"
    echo "=== gpu_bench $1 B=$2 recompute=$3 ($(date -u +%T))"
    timeout 300 "$B/bench/gpu/gpu_bench" "$1" "$2" "$4" "$5" "$3" >"$log" 2>&1
    local rc=$?
    if grep -q '^RESULT' "$log"; then
        grep '^RESULT' "$log" | tee -a "$OUT/summary.txt"
    else
        echo "NORESULT model=$1 B=$2 recompute=$3 rc=$rc: $(grep -m1 -E 'error|failed' "$log")" | tee -a "$OUT/summary.txt"
    fi
}

# the estimate (bytes) of `t6 --check` for DECK at micro-batch MB and mode MODE
estimate() {
    "$B/t6" --check "input/$1.cfg" --set train.micro_batch="$2" --set train.global_batch="$2" 2>/dev/null |
        sed -n "s/^memory estimate bytes, recompute $3: activations [0-9]*, total \([0-9]*\)$/\1/p"
}

for m in none attention block; do bench t6_small 24 "$m" 20 6; done

total_mib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1)
cap=$(( (total_mib / 1024 - MARGIN_GIB) * 1073741824 ))
echo "budget for the estimate: $((cap / 1073741824)) GiB (memory.total ${total_mib} MiB less ${MARGIN_GIB} GiB)" |
    tee -a "$OUT/summary.txt"
for deck in t6_large t6_xl; do
    declare -A best=()
    for m in none attention block; do
        best[$m]=0
        for mb in $BATCHES; do
            e=$(estimate "$deck" "$mb" "$m")
            echo "estimate $deck B=$mb $m: ${e:-?} bytes" >>"$OUT/estimates.txt"
            [ -n "$e" ] && [ "$e" -le "$cap" ] && best[$m]=$mb
        done
        echo "$deck: largest micro-batch within the budget with recompute $m: ${best[$m]}" | tee -a "$OUT/summary.txt"
    done
    for m in none attention block; do
        [ "${best[$m]}" -gt 0 ] && bench "$deck" "${best[$m]}" "$m" "$STEPS" "$WARMUP"
    done
    if [ "${best[block]}" -gt "${best[none]}" ]; then
        echo "expected: out of memory without recomputation" | tee -a "$OUT/summary.txt"
        bench "$deck" "${best[block]}" none "$STEPS" "$WARMUP"
    fi
    unset best
done

# the whole t6 loop (data loader, metrics, checkpoint at the end) at T6 small, micro-batch 24:
# the memory lines t6 prints and its tokens/s over the last steps
for m in none block; do
    echo "=== t6 T6 small recompute=$m ($(date -u +%T))"
    rm -rf "$OUT/t6-$m"
    timeout 240 "$B/t6" input/t6_small.cfg --set backend.device="cuda" --set train.micro_batch=24 \
        --set train.global_batch=24 --set train.max_steps=14 --set train.eval_interval=0 \
        --set train.log_interval=1 --set output.checkpoint_interval=0 --set train.recompute="$m" \
        --set data.train=builtin:demo-train --set data.val=builtin:demo-val \
        --set output.run_dir="$OUT/t6-$m" >"$OUT/t6-$m.log" 2>&1
    echo "t6 recompute=$m rc=$?" | tee -a "$OUT/summary.txt"
    grep -E "^memory|^step 1[0-4]/" "$OUT/t6-$m.log" | tee -a "$OUT/summary.txt"
    rm -rf "$OUT/t6-$m"   # the checkpoint (1.5 GB) does not come back
done

echo "=== summary"
python3 - "$OUT/summary.txt" <<'PY'
import re, sys
rows = []
for line in open(sys.argv[1]):
    if line.startswith("RESULT"):
        kv = dict(re.findall(r"(\S+?)=(\S+)", line))
        rows.append(kv)
    elif line.startswith("NORESULT"):
        kv = dict(re.findall(r"(\S+?)=(\S+)", line.split(":")[0]))
        kv["tokens/s"] = "OOM/failed"
        rows.append(kv)
print("| model | micro-batch | recompute | ms/step | tokens/s | peak GiB (counted) | steady peak GiB | cudaMemGetInfo GiB |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (r.get("model"), r.get("B"), r.get("recompute"),
          r.get("ms/step", "-"), r.get("tokens/s", "-"), r.get("peak_GiB", "-"), r.get("steady_peak_GiB", "-"),
          r.get("mem_GiB", "-")))
PY
