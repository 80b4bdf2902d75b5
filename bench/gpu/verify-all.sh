#!/bin/bash
# bench/gpu/verify-all.sh [BUILD_DIR] -- the device calls that check and measure the merged
# tree with binaries built on the development machine (bench/gpu/build-dev.sh BUILD_DIR:
# CUDA sm_90, stripped, at their build-tree paths) and carried with the libraries the GPU
# machine lacks (.devlibs-rt) and the reference files and evaluation data (.carry): no
# build there. The steps (the table below; VERIFY_STEPS picks them and their order):
#  gpu_check  tests/gpu/gpu_check all: every CUDA op (decode ops included) and the model
#             of every attention type (MLA included) against the CPU backend, fp32 and bf16;
#  zero1      tests/gpu/zero1.sh: ZeRO-1 on one GPU bitwise equal to plain data parallel
#             (and on two ranks within 1e-3 where two GPUs are visible);
#  gencheck   tests/gpu/gen_check.sh: generation on CUDA against the CPU (decode logits of
#             every attention type, greedy tokens of the trained demo at fp32, CUDA graphs
#             on = off);
#  eval       evaluation speed: T6 small (weights after one step) on the nine tasks,
#             0-shot, bf16 (VERIFY_EVAL_ARGS adds --set arguments);
#  hf         tests/gpu/hf_reference_check.sh: the reference PyTorch models load t6's
#             Hugging Face exports and give t6's logits (six types), and rescore 400 of
#             the eval step's requests (needs the eval step earlier in the same call;
#             VERIFY_EVAL_PER_TASK=K: the first K documents of every task instead);
#  gen        bench/gen/throughput.sh: T6 and MHA, small and medium, prompt 4096, 128 new
#             tokens, batch 1 and 64 with CUDA graphs, batch 1 without;
#  decode     bench/gpu/decode-compare.sh: our decode attention (decode_bench) beside the
#             reference Triton FlashTPA kernel (.carry/ref/flashtpa_decode_triton.py),
#             and the per-layer cost in a CUDA graph of 32 layers (decode_bench graph);
#  mla        bench/gpu/mla-compare.sh: MLA training throughput, ours beside the reference
#             llama-mla.py (.carry/ref/model/);
#  recompute  bench/gpu/recompute.sh: train.recompute's gradients bitwise, its memory and
#             speed at T6 small, the largest micro-batches of T6 large / XL;
#  attnab     the attention forward's tiling, A/B: gpu_bench T6 small with 128 query rows
#             per block (default) and with 64 (T6_ATTN_FWD_ROWS=64), alternated twice;
#  train      T6 and MHA, small and medium: gpu_bench beside the reference PyTorch models
#             through bench/gpu/compare-train.sh where the tree has it, the
#             reference on the models of VERIFY_TRAIN_REF_MODELS with the time left; without
#             that script, our side only (the reference side is noted as not run).
# Each step runs under its own time limit (the table), capped by the time left of
# VERIFY_BUDGET seconds (default 540: 9 minutes, inside the device's 600 s per command); a step whose
# expected duration no longer fits, or whose files are missing, is skipped with a line
# saying why. The plan of calls (which VERIFY_STEPS in which call) is in bench/gpu/README.md.
# Output under $OUT (the device call returns at most 8 files, 2 folders down):
#   steps.txt    one line per step: name, verdict (ok, FAIL, SKIP), exit status, seconds, summary
#   env.txt      date, commit (.carry/commit.txt), GPU
#   tables.txt   the result tables of the measuring steps (also printed at the end)
#   logs.tar.gz  every log of every step (files over 2 MiB, checkpoints, weights and the
#                third-party reference files left out), repacked after each step
# The steps work in $VERIFY_WORK (default a new folder under /tmp). Other environment:
# VERIFY_EVAL_ARGS (more --set arguments for eval, e.g. a CPU fp32 run on a few documents:
# "--set backend.device=cpu --set backend.precision=fp32 --set eval.limit=40") and
# VERIFY_EVAL_PRECISION (bf16, fp32: how strictly hf compares it), VERIFY_RECOMPUTE_BATCHES
# (the micro-batches recompute.sh tries for T6 large / XL), VERIFY_TRAIN_REF_MODELS.
#   bash bench/gpu/verify-all.sh --list-steps | --list-needs | --list-binaries | --plan
# print the table without running anything (bench/gpu/build-dev.sh builds --list-binaries,
# tests/install/device-plan.sh checks --list-needs against the tree).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)

# The steps: name, time limit (s), expected duration on one H200 (s; "measured" or
# "estimated" in bench/gpu/README.md), and what the step needs, each as KIND:PATH:
#   bin:P   a program of the build tree, run as BUILD_DIR/P (build-dev.sh builds these)
#   src:P   a file of the source tree
#   opt:P   a file of the source tree the step uses when it is there (does less without)
#   carry:P a file or folder under .carry/ (third-party or data: never committed)
STEP_TABLE='
gpu_check   150  50 bin:tests/gpu/gpu_check
zero1       150  40 src:tests/gpu/zero1.sh bin:t6 bin:tests/train/ckptcmp src:input/demo.cfg
gencheck    300  40 src:tests/gpu/gen_check.sh bin:tests/gpu/gen_check bin:t6 src:input/demo.cfg
eval        240 100 bin:t6 src:input/t6_small.cfg carry:data/eval carry:data/gpt2
hf          150  70 src:tests/gpu/hf_reference_check.sh src:tests/gpu/hf_reference_check.py bin:t6 bin:tests/hf/hf_logits carry:ref/model/T6.py carry:ref/model/T6_kvonly.py carry:ref/model/llama-mha.py carry:ref/model/llama-gqa.py carry:ref/model/llama-mla.py
gen         300  40 src:bench/gen/throughput.sh bin:t6 src:input/t6_small.cfg src:input/mha_small.cfg src:input/t6_medium.cfg src:input/mha_medium.cfg
decode      240 160 src:bench/gpu/decode-compare.sh src:bench/gpu/decode_ref.py bin:bench/gpu/decode_bench carry:ref/flashtpa_decode_triton.py
mla         420 300 src:bench/gpu/mla-compare.sh src:bench/gpu/mla_ref_bench.py bin:bench/gpu/gpu_bench carry:ref/model/llama-mla.py
recompute   480 150 src:bench/gpu/recompute.sh bin:t6 bin:bench/gpu/gpu_bench bin:tests/gpu/gpu_check src:input/t6_small.cfg src:input/t6_large.cfg src:input/t6_xl.cfg
attnab      150  20 bin:bench/gpu/gpu_bench
train       480 180 bin:bench/gpu/gpu_bench opt:bench/gpu/compare-train.sh opt:bench/gpu/ref_train_bench.py carry:ref/model/T6.py carry:ref/model/llama-mha.py
'
# programs build-dev.sh builds besides the steps' (handy on the GPU machine, e.g. for plots)
EXTRA_BINARIES="t6-plot"

table() { echo "$STEP_TABLE" | awk 'NF >= 3'; }
case "${1:-}" in
    --list-steps) table | awk '{ print $1 }'; exit 0 ;;
    --list-needs) table | awk '{ for (i = 4; i <= NF; i++) print $1, $i }'; exit 0 ;;
    --list-binaries)
        { table | awk '{ for (i = 4; i <= NF; i++) if ($i ~ /^bin:/) print substr($i, 5) }'
          for p in $EXTRA_BINARIES; do echo "$p"; done; } | sort -u; exit 0 ;;
    --plan) table | awk '{ printf "%-10s limit %4d s, expected %4d s\n", $1, $2, $3 }'; exit 0 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac

# BUILD_DIR: default build-dev (as the calls before the step table were made)
B=$(cd "${1:-build-dev}" && pwd) || { echo "verify-all.sh: no build folder '${1:-build-dev}' (bench/gpu/build-dev.sh makes it)" >&2; exit 2; }
OUT=${OUT:-$here/verify-out}
W=${VERIFY_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/t6-verify.XXXXXX")}
BUDGET=${VERIFY_BUDGET:-540}
mkdir -p "$OUT" "$W"
: >"$OUT/steps.txt"
: >"$OUT/tables.txt"
# shellcheck disable=SC1091
[ -f "$here/.devlibs-rt/env.sh" ] && . "$here/.devlibs-rt/env.sh"
cd "$here" || exit 1
{ date -u; cat .carry/commit.txt 2>/dev/null; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"; } >"$OUT/env.txt" 2>&1

# pack: every log so far into $OUT/logs.tar.gz (small text files; after each step, so a
# command stopped at the device's limit still returns what was done)
pack() {
    (cd "$W" && find . -type f -size -2M ! -name '*.h5' ! -name '*.bin' ! -name '*.safetensors' ! -path '*/ref/*' ! -path '*/checkpoints/*' -print0 |
        tar -czf "$OUT/logs.tar.gz.part" --null -T - 2>/dev/null && mv "$OUT/logs.tar.gz.part" "$OUT/logs.tar.gz")
}
# missing STEP: the needs of STEP that are not there (opt: ones never count)
missing() {
    local n kp p
    for kp in $(table | awk -v s="$1" '$1 == s { for (i = 4; i <= NF; i++) print $i }'); do
        p=${kp#*:}
        case $kp in
            bin:*) [ -x "$B/$p" ] || n="${n:-}$B/$p " ;;
            src:*) [ -e "$here/$p" ] || n="${n:-}$p " ;;
            carry:*) [ -e "$here/.carry/$p" ] || n="${n:-}.carry/$p " ;;
        esac
    done
    echo "${n:-}"
}
# table: append a result table to tables.txt under a heading
tables() { { echo "## $1"; cat; echo; } >>"$OUT/tables.txt"; }

# run_step NAME: its needs, the time left, then step_NAME LIMIT DIR; one line in steps.txt
run_step() {
    local name=$1 row lim exp miss left t0 rc verdict
    row=$(table | awk -v s="$name" '$1 == s')
    [ -n "$row" ] || { echo "$name SKIP: no such step (steps: $(table | awk '{ printf "%s ", $1 }'))" | tee -a "$OUT/steps.txt"; return; }
    lim=$(echo "$row" | awk '{ print $2 }'); exp=$(echo "$row" | awk '{ print $3 }')
    miss=$(missing "$name")
    if [ -n "$miss" ]; then
        echo "$name SKIP: missing $miss" | tee -a "$OUT/steps.txt"; return
    fi
    left=$((BUDGET - SECONDS))
    if [ "$left" -lt "$exp" ]; then
        echo "$name SKIP: ${left} s left of VERIFY_BUDGET=$BUDGET, expected ${exp} s" | tee -a "$OUT/steps.txt"; return
    fi
    [ "$lim" -gt "$left" ] && lim=$left
    echo "=== $name (limit $lim s, $(date -u +%T))"
    mkdir -p "$W/$name"
    t0=$SECONDS
    SUMMARY=""
    "step_$name" "$lim" "$W/$name"
    rc=$?
    verdict=ok; [ $rc -eq 0 ] || verdict=FAIL
    echo "$name $verdict rc=$rc $((SECONDS - t0)) s: $SUMMARY" | tee -a "$OUT/steps.txt"
    pack
}

step_gpu_check() {
    OMP_NUM_THREADS=16 timeout "$1" "$B/tests/gpu/gpu_check" all >"$2/gpu_check.txt" 2>&1
    local rc=$?
    SUMMARY=$(tail -1 "$2/gpu_check.txt"); grep -E "^FAIL" "$2/gpu_check.txt" | head -10
    return $rc
}

step_zero1() {
    OUT="$2" timeout "$1" sh tests/gpu/zero1.sh "$B" >"$2/zero1.txt" 2>&1
    local rc=$?
    SUMMARY="$(grep -E '^(ok|FAIL|note|speed)' "$2/zero1.txt" | tr '\n' ' ')$(tail -1 "$2/zero1.txt")"
    return $rc
}

step_gencheck() {
    OUT="$2" OMP_NUM_THREADS=16 GENCHECK_A_TIMEOUT=$(($1 / 2)) timeout "$1" sh tests/gpu/gen_check.sh "$B" >"$2/gencheck.txt" 2>&1
    local rc=$?
    SUMMARY=$(tail -1 "$2/gencheck.txt"); grep -E '^FAIL' "$2/gencheck.txt"
    return $rc
}

# the evaluation's run and results stay in $W/eval for the hf step
step_eval() {
    local E=$2 rc t0
    timeout 60 "$B/t6" input/t6_small.cfg --set data.train=builtin:demo-train --set data.val=builtin:demo-val \
        --set train.max_steps=1 --set train.eval_interval=0 --set output.checkpoint_interval=1 \
        --set output.run_dir="$E/run" --set train.global_batch=24 >"$E/train.log" 2>&1 ||
        { SUMMARY="training one step failed rc=$? (train.log)"; return 1; }
    t0=$SECONDS
    # shellcheck disable=SC2086
    timeout $(($1 - 60)) "$B/t6" input/t6_small.cfg --set job=eval --set output.run_dir="$E/run" \
        --set data.train=builtin:demo-train --set data.val=[] --set train.eval_interval=0 \
        --set 'eval.tasks=arc_easy,arc_challenge,boolq,hellaswag,openbookqa,piqa,winogrande,mmlu,sciq' \
        --set data.eval_dir="$here/.carry/data/eval" --set data.vocab_dir="$here/.carry/data/gpt2" \
        --set eval.results="$E/results.h5" ${VERIFY_EVAL_ARGS:-} >"$E/eval.txt" 2>"$E/eval.err"
    rc=$?
    SUMMARY="eval of 9 tasks: wall $((SECONDS - t0)) s"
    tail -5 "$E/eval.err"
    tables "eval (T6 small after one step, 0-shot${VERIFY_EVAL_ARGS:+, $VERIFY_EVAL_ARGS})" <"$E/eval.txt"
    return $rc
}

step_hf() {
    local E=$W/eval extra=""
    if [ -f "$E/results.h5" ]; then
        extra="T6_HF_CKPT=$E/run/checkpoints/ckpt_00000001.h5 T6_EVAL_RESULTS=$E/results.h5"
    else
        echo "hf: no eval results in this call (run the eval step first): the exports alone"
    fi
    # shellcheck disable=SC2086
    env T6_PREBUILT=1 OUT="$2" T6_REF_DIR="$here/.carry/ref" $extra \
        T6_EVAL_PRECISION="${VERIFY_EVAL_PRECISION:-bf16}" T6_EVAL_LIMIT=400 \
        T6_EVAL_PER_TASK="${VERIFY_EVAL_PER_TASK:-0}" \
        timeout "$1" sh tests/gpu/hf_reference_check.sh "$B" >"$2/hf_check.txt" 2>&1
    local rc=$?
    SUMMARY=$(tail -1 "$2/hf_check.txt")
    return $rc
}

step_gen() {
    local rc=0 b lim=$1
    for b in 1 64; do
        T6="$B/t6" DEVICE=cuda PROMPT=4096 NEW=128 BATCHES="$b" DECKS="t6_small mha_small t6_medium mha_medium" \
            EXTRA="--set generate.cuda_graphs=true" LOGDIR="$2/logs-b$b" RUN_TIMEOUT=120 \
            timeout $((lim * 2 / 5)) sh bench/gen/throughput.sh >>"$2/gen.txt" 2>&1 || rc=1
    done
    echo "# batch 1, generate.cuda_graphs = false" >>"$2/gen.txt"
    T6="$B/t6" DEVICE=cuda PROMPT=4096 NEW=128 BATCHES=1 DECKS="t6_small mha_small" EXTRA="--set generate.cuda_graphs=false" \
        LOGDIR="$2/logs-nograph" RUN_TIMEOUT=60 timeout $((lim / 5)) sh bench/gen/throughput.sh >>"$2/gen.txt" 2>&1 || rc=1
    SUMMARY="$(grep -c failed "$2/gen.txt") failed run(s) of $(grep -cE '^(t6|mha)_' "$2/gen.txt")"
    tables "generation throughput (prompt 4096, 128 new tokens, bf16)" <"$2/gen.txt"
    return $rc
}

step_decode() {
    DECODE_BENCH="$B/bench/gpu/decode_bench" DECODE_REF_ARGS="--kernels bn --budget $(($1 * 2 / 3))" \
        timeout "$1" sh bench/gpu/decode-compare.sh "$B" "$2" >"$2/decode.txt" 2>&1
    local rc=$? n r
    # the script's status is tee's: the verdict also wants rows from both sides
    n=$(grep -c '^RESULT' "$2/decode_bench.log" 2>/dev/null); r=$(grep -c '^REF' "$2/decode_ref.log" 2>/dev/null)
    SUMMARY="${n:-0} rows of ours, ${r:-0} of the reference"
    [ -f "$2/decode_compare.txt" ] && tables "decode attention, ours vs the reference Triton FlashTPA" <"$2/decode_compare.txt"
    [ $rc -eq 0 ] && [ "${n:-0}" -gt 0 ] && [ "${r:-0}" -gt 0 ]
}

step_mla() {
    GPU_BENCH="$B/bench/gpu/gpu_bench" MLA_REF="$here/.carry/ref/model/llama-mla.py" MLA_REF_ARGS="" \
        timeout "$1" sh bench/gpu/mla-compare.sh "$B" "$2" >"$2/mla.txt" 2>&1
    local rc=$? n r
    # the script's status is tee's: the verdict also wants both models from both sides
    n=$(grep -c '^RESULT' "$2/mla_bench.log" 2>/dev/null); r=$(grep -c '^REF' "$2/mla_ref.log" 2>/dev/null)
    SUMMARY="${n:-0} of 2 models ours, ${r:-0} of 2 the reference"
    [ -f "$2/mla_compare.txt" ] && tables "MLA training, ours vs the reference llama-mla.py" <"$2/mla_compare.txt"
    [ $rc -eq 0 ] && [ "${n:-0}" -eq 2 ] && [ "${r:-0}" -eq 2 ]
}

step_recompute() {
    OUT="$2" OMP_NUM_THREADS=16 BATCHES="${VERIFY_RECOMPUTE_BATCHES:-16 24 32 48 64}" \
        timeout "$1" bash bench/gpu/recompute.sh "$B" >"$2/recompute.txt" 2>&1
    local rc=$? n
    n=$(grep -c '^RESULT' "$2/summary.txt" 2>/dev/null)
    SUMMARY="$(head -1 "$2/summary.txt" 2>/dev/null); ${n:-0} runs, $(grep -c '^NORESULT' "$2/summary.txt" 2>/dev/null) without a result (out of memory is expected for one)"
    sed -n '/^=== summary/,$p' "$2/recompute.txt" | tables "train.recompute (bench/gpu/recompute.sh)"
    # the script goes on past failures: the verdict is its gpu_check and the three T6 small runs
    [ $rc -eq 0 ] && grep -q '^gpu_check recompute rc=0' "$2/summary.txt" && [ "$(grep -c '^RESULT model=t6_small' "$2/summary.txt")" -ge 3 ]
}

# ours for every model first (seconds each), then the reference (torch.compile: a minute or
# more per model) on VERIFY_TRAIN_REF_MODELS with the time left, then the table from the logs
step_attnab() {
    local bench=$B/bench/gpu/gpu_bench rows i rc=0 end=$((SECONDS + $1))
    for i in 1 2; do
        for rows in 128 64; do
            [ $((end - SECONDS)) -gt 5 ] || break 2
            echo "## T6_ATTN_FWD_ROWS=$rows round $i"
            T6_ATTN_FWD_ROWS=$rows timeout $((end - SECONDS)) "$bench" t6_small 24 20 6 || rc=1
        done
    done >"$2/attnab.txt" 2>&1
    grep -E '^##|^RESULT' "$2/attnab.txt" | tables "attention forward tiling A/B (T6 small, gpu_bench 24 20 6)"
    SUMMARY="$(grep -c '^RESULT' "$2/attnab.txt") of 4 runs"
    return $rc
}

step_train() {
    local models="t6_small mha_small t6_medium mha_medium" m rc=0 left end=$((SECONDS + $1))
    local bench=$B/bench/gpu/gpu_bench ref=$here/.carry/ref/model
    if [ ! -f bench/gpu/compare-train.sh ]; then
        for m in $models; do
            case $m in *_small) b=24 ;; *) b=20 ;; esac
            left=$((end - SECONDS))
            [ "$left" -gt 0 ] || { echo "no time left for $m"; break; }   # (timeout 0 would be none)
            timeout "$left" "$bench" "$m" "$b" 20 6 >"$2/$m.ours.log" 2>&1 || rc=1
            grep '^RESULT' "$2/$m.ours.log"
        done | tee "$2/ours.txt" | tables "training throughput, ours only (bench/gpu/compare-train.sh not in this tree: the reference side not run)"
        SUMMARY="ours only: $(grep -c '^RESULT' "$2/ours.txt") of 4 models; the reference side needs bench/gpu/compare-train.sh (branch perf)"
        [ "$(grep -c '^RESULT' "$2/ours.txt")" -eq 4 ]
        return
    fi
    # shellcheck disable=SC2086
    SIDES=ours timeout $((end - SECONDS)) sh bench/gpu/compare-train.sh "$bench" "$ref" "$2" $models >"$2/ours.txt" 2>&1 || rc=1
    for m in ${VERIFY_TRAIN_REF_MODELS:-t6_small mha_small t6_medium mha_medium}; do
        left=$((end - SECONDS - 10))
        [ "$left" -gt 60 ] || { echo "no time left for the reference on $m" >>"$2/ref.txt"; break; }
        SIDES=ref REF_TIMEOUT=$left timeout $((left + 5)) sh bench/gpu/compare-train.sh "$bench" "$ref" "$2" "$m" >>"$2/ref.txt" 2>&1 || rc=1
    done
    # shellcheck disable=SC2086
    SIDES=none sh bench/gpu/compare-train.sh "$bench" "$ref" "$2" $models >"$2/table.txt" 2>&1
    tables "training throughput, ours vs the reference PyTorch models (bench/gpu/compare-train.sh)" <"$2/table.txt"
    SUMMARY="$(cat "$2"/*.ours.log 2>/dev/null | grep -c '^RESULT') of ours, $(cat "$2"/*.ref.log 2>/dev/null | grep -c '^RESULT') of the reference"
    return $rc
}

for s in ${VERIFY_STEPS:-$(table | awk '{ printf "%s ", $1 }')}; do
    run_step "$s"
done
echo "done after $SECONDS s (work folder $W)" | tee -a "$OUT/steps.txt"
pack
cat "$OUT/tables.txt"
echo "=== steps"
cat "$OUT/steps.txt"
