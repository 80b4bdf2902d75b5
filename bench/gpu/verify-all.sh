#!/bin/bash
# bench/gpu/verify-all.sh BUILD_DIR -- one device call that checks and measures the merged
# tree with binaries built on the development machine (CUDA, sm_90) and carried with the
# libraries the GPU machine lacks (bench/gpu/carry-libs.sh): no build there. Writes its
# logs under $OUT:
#  1. tests/gpu/gpu_check all: every CUDA op (decode ops included) and the model of every
#     attention type (MLA included) against the CPU backend, fp32 and bf16;
#  2. evaluation speed: T6 small (weights after one step) on the nine tasks, 0-shot, bf16;
#  3. tests/gpu/hf_reference_check.sh: the reference PyTorch models (tensorgi/TPA, in
#     .carry/ref/model) load t6's Hugging Face exports and give t6's logits (all six types),
#     and rescore 400 of the CUDA evaluation's requests of T6 small;
#  4. gencheck: tests/gpu/gen_check.sh: generation on CUDA against the CPU (model-level
#     decode logits of every attention type, greedy tokens of the trained demo at fp32,
#     CUDA graphs on = off); its logs in $OUT/gencheck;
#  5. generation throughput (bench/gen/throughput.sh): T6 and MHA, small and medium,
#     prompt 4096, 128 new tokens, batch 1 and 64 (CUDA graphs on), and batch 1 with
#     graphs off for the comparison; peak device memory per run; logs in $OUT/gen-logs.
# Every step has its own time limit so one slow step cannot eat the others' time.
set -u
B=$(cd "${1:-build-dev}" && pwd)
here=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$here/verify-out}
mkdir -p "$OUT"
. "$here/.devlibs-rt/env.sh"
cd "$here"
{ date -u; cat .carry/commit.txt 2>/dev/null; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; } >"$OUT/env.txt" 2>&1
step() { echo "=== $* ($(date -u +%T))" | tee -a "$OUT/steps.txt"; }
# VERIFY_STEPS selects steps (default all): gpu_check eval hf gencheck gen. VERIFY_EVAL_ARGS adds
# --set arguments to the evaluation (e.g. a CPU fp32 run on a few documents per task:
# "--set backend.device=cpu --set backend.precision=fp32 --set eval.limit=40"), and
# VERIFY_EVAL_PRECISION (bf16, fp32) says how strictly hf_reference_check.sh compares it.
want() { case " ${VERIFY_STEPS:-gpu_check eval hf gencheck gen} " in *" $1 "*) return 0 ;; esac; return 1; }

if want gpu_check; then
step gpu_check
OMP_NUM_THREADS=16 timeout 150 "$B/tests/gpu/gpu_check" all >"$OUT/gpu_check.txt" 2>&1
echo "gpu_check rc=$? $(tail -1 "$OUT/gpu_check.txt")" | tee -a "$OUT/steps.txt"
fi

E=$OUT/evalrun; mkdir -p "$E"
if want eval; then
step eval T6 small
timeout 60 "$B/t6" input/t6_small.cfg --set data.train=builtin:demo-train --set data.val=builtin:demo-val \
    --set train.max_steps=1 --set train.eval_interval=0 --set output.checkpoint_interval=1 \
    --set output.run_dir="$E/run" --set train.global_batch=24 >"$E/train.log" 2>&1
echo "train-1-step rc=$?" | tee -a "$OUT/steps.txt"
t0=$(date +%s.%N)
timeout 150 "$B/t6" input/t6_small.cfg --set job=eval --set output.run_dir="$E/run" \
    --set data.train=builtin:demo-train --set data.val=[] --set train.eval_interval=0 \
    --set 'eval.tasks=arc_easy,arc_challenge,boolq,hellaswag,openbookqa,piqa,winogrande,mmlu,sciq' \
    --set data.eval_dir="$here/.carry/data/eval" --set data.vocab_dir="$here/.carry/data/gpt2" \
    --set eval.results="$E/results.h5" ${VERIFY_EVAL_ARGS:-} >"$OUT/eval.txt" 2>"$E/eval.err"
rc=$?
echo "eval rc=$rc wall $(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))" "$(date +%s.%N)" "$t0") s" | tee -a "$OUT/steps.txt"
tail -5 "$E/eval.err" >>"$OUT/eval.txt"
fi

if want hf; then
step hf_reference_check
T6_PREBUILT=1 OUT="$OUT/hf" T6_REF_DIR="$here/.carry/ref" T6_HF_CKPT="$E/run/checkpoints/ckpt_00000001.h5" \
    T6_EVAL_RESULTS="$E/results.h5" T6_EVAL_PRECISION=${VERIFY_EVAL_PRECISION:-bf16} T6_EVAL_LIMIT=400 \
    timeout 150 sh tests/gpu/hf_reference_check.sh "$B" >"$OUT/hf_check.txt" 2>&1
echo "hf rc=$? $(tail -1 "$OUT/hf_check.txt")" | tee -a "$OUT/steps.txt"
fi

if want gencheck; then
step gencheck
OUT="$OUT/gencheck" OMP_NUM_THREADS=16 timeout 600 sh tests/gpu/gen_check.sh "$B" >"$OUT/gencheck.txt" 2>&1
echo "gencheck rc=$? $(tail -1 "$OUT/gencheck.txt")" | tee -a "$OUT/steps.txt"
fi

if want gen; then
step generation throughput
for b in 1 64; do
    T6="$B/t6" DEVICE=cuda PROMPT=4096 NEW=128 BATCHES="$b" DECKS="t6_small mha_small t6_medium mha_medium" \
        EXTRA="--set generate.cuda_graphs=true" \
        LOGDIR="$OUT/gen-logs" RUN_TIMEOUT=120 timeout 400 sh bench/gen/throughput.sh >>"$OUT/gen.txt" 2>&1
    echo "gen batch $b rc=$?" | tee -a "$OUT/steps.txt"
done
echo "# batch 1, generate.cuda_graphs = false" >>"$OUT/gen.txt"
T6="$B/t6" DEVICE=cuda PROMPT=4096 NEW=128 BATCHES=1 DECKS="t6_small mha_small" EXTRA="--set generate.cuda_graphs=false" \
    LOGDIR="$OUT/gen-logs/nograph" RUN_TIMEOUT=120 timeout 200 sh bench/gen/throughput.sh >>"$OUT/gen.txt" 2>&1
echo "gen batch 1 no graphs rc=$?" | tee -a "$OUT/steps.txt"
fi
step done
