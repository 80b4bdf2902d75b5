#!/bin/bash
# bench/gpu/perf-verify.sh -- one device call that checks and measures the training
# kernels (doc/performance.md), over prebuilt binaries:
#   bash bench/gpu/perf-verify.sh BUILD_DIR REF_MODEL_DIR OUT_DIR [BASE_GPU_BENCH]
# BUILD_DIR: a --with-cuda build with `make gpu-tests gpu-bench` done (tests/gpu/gpu_check,
# bench/gpu/gpu_bench); REF_MODEL_DIR: the reference's T6.py and llama-mha.py (see
# compare-train.sh); BASE_GPU_BENCH (optional): a gpu_bench built from an earlier commit,
# run on T6 small right after ours for a before/after in the same call.
# In order, so that what matters most comes back even if the time runs out:
#  1. gpu_check all (every CUDA op against the CPU, the model of every attention type,
#     train.recompute's bitwise gradients, generation's prefill through the inference
#     model: all of them run TPA through the fused projection; 150 s as verify-all.sh);
#  2. our gpu_bench on T6 small and MHA small (20 timed steps after 6);
#  3. T6 small with the old attention forward tiling (T6_ATTN_FWD_ROWS=64), the base
#     binary if given, T6 medium (10 after 4), and T6 small through t6 itself (14
#     steps on the built-in demo corpus; run from the source tree: input/t6_small.cfg);
#  4. the reference (ref_train_bench.py) on T6 small and MHA small with the time left
#     of BUDGET seconds (default 330), and the ratio table (compare.md).
# Logs: OUT_DIR/env.txt, check.txt, extra.txt, cmp/*.log, cmp/compare.md (8 files, the
# most a device call returns). On the lent machine: `source .devlibs-rt/env.sh` first.
set -u
[ $# -ge 3 ] || { echo "usage: perf-verify.sh BUILD_DIR REF_MODEL_DIR OUT_DIR [BASE_GPU_BENCH]" >&2; exit 2; }
B=$1 ref=$2 O=$3 base=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
bench=$B/bench/gpu/gpu_bench
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OMP_NUM_THREADS=${OMP_NUM_THREADS:-16}
BUDGET=${BUDGET:-330}
mkdir -p "$O/cmp"
log() { echo "[t=${SECONDS}s] $*" | tee -a "$O/env.txt"; }
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader;
  python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"; } >>"$O/env.txt" 2>&1
timeout 150 "$B/tests/gpu/gpu_check" all >"$O/check.txt" 2>&1
log "gpu_check all rc=$? $(tail -1 "$O/check.txt")"
grep -E "^FAIL" -A1 "$O/check.txt" | head -20
SIDES=ours sh "$here/compare-train.sh" "$bench" "$ref" "$O/cmp" t6_small mha_small
log "ours small done"
{
    echo "## T6_ATTN_FWD_ROWS=64 gpu_bench t6_small 24 20 6"
    T6_ATTN_FWD_ROWS=64 timeout 25 "$bench" t6_small 24 20 6
    if [ -n "$base" ]; then echo "## base $base t6_small 24 20 6"; timeout 25 "$base" t6_small 24 20 6; fi
    echo "## gpu_bench t6_medium 20 10 4"
    timeout 30 "$bench" t6_medium 20 10 4
    # the same model through t6 itself (data loader, metrics, logging), as
    # performance.md's "Through the whole t6 loop": steps 9-14 are the steady ones
    if [ -x "$B/t6" ] && [ -f input/t6_small.cfg ]; then
        echo "## t6 input/t6_small.cfg on cuda, B 24, 14 steps"
        r=$(mktemp -d)
        timeout 40 "$B/t6" input/t6_small.cfg --set backend.device="cuda" --set train.micro_batch=24 \
            --set train.global_batch=24 --set train.max_steps=14 --set train.eval_interval=0 \
            --set train.log_interval=1 --set output.checkpoint_interval=0 \
            --set data.train=builtin:demo-train --set data.val=builtin:demo-val --set output.run_dir="$r/s"
        rm -rf "$r"
    fi
} >"$O/extra.txt" 2>&1
grep -E "^##|^RESULT|tokens/s" "$O/extra.txt" | tail -20
log "extra done"
for m in t6_small mha_small; do
    l=$((BUDGET - SECONDS))
    [ "$l" -gt 40 ] || { log "no time left for the reference on $m"; break; }
    SIDES=ref REF_TIMEOUT=$((l - 5)) sh "$here/compare-train.sh" "$bench" "$ref" "$O/cmp" "$m" >/dev/null 2>&1
    log "ref $m rc=$?"
done
SIDES=none sh "$here/compare-train.sh" "$bench" "$ref" "$O/cmp" t6_small mha_small
log end
