#!/bin/sh
# bench/gpu/scaling.sh -- weak scaling of data-parallel training over the GPUs of one
# host (issue 14): T6 small and medium through the whole `t6` loop (loader, metrics,
# bucketed gradient reduction) at a fixed micro-batch per GPU, on 1, 2, 4 ... ranks
# (one per GPU, mpirun), each with train.zero = 0 and 1. Per run: the median tokens/s
# of the last steps and the peak memory rank 0 reports; then per model and zero the
# efficiency = tokens/s(N) / (N x tokens/s(1)). Not a test (no verdict): a measurement.
#   sh bench/gpu/scaling.sh [BUILD_DIR]      (default build-dev; needs t6)
#   SCALE_RANKS="1 2 4" SCALE_MODELS="t6_small t6_medium" SCALE_ZERO="0 1" SCALE_STEPS=16
# Ranks above the GPU count are skipped (so on one GPU it measures 1 rank only). Writes
# logs and scaling.txt under $OUT (the device tool's folder) or a temporary folder.
# The corpus is the built-in demo one (no data to carry): throughput does not depend on
# the text. SCALE_DEVICE=cpu SCALE_PRECISION=fp32 SCALE_NGPU=2 SCALE_MODELS=demo tries the
# script itself on a machine without a GPU. NCCL_NVLS_ENABLE=0 as KINDS.md asks for the lent multi-GPU machines.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-dev}
T6=${T6:-$build/t6}
[ -x "$T6" ] || { echo "scaling.sh: $T6 not built" >&2; exit 1; }
work=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/t6-scaling.XXXXXX")}/scaling
mkdir -p "$work"
STEPS=${SCALE_STEPS:-16}
ngpu=${SCALE_NGPU:-$(nvidia-smi -L 2>/dev/null | wc -l)}
export NCCL_NVLS_ENABLE=0
: >"$work/runs.txt"
# batch_key DECK SEQS: one optimizer step of SEQS sequences (one micro-step per rank),
# through whichever of the two exclusive keys the deck uses
batch_key() { if grep -q '^[[:space:]]*global_batch' "$1"; then echo "--set train.global_batch=$2"; else echo "--set train.grad_accum=1"; fi; }
for model in ${SCALE_MODELS:-t6_small t6_medium}; do
    case $model in *_small) mb=24 ;; *) mb=20 ;; esac
    for z in ${SCALE_ZERO:-0 1}; do
        for n in ${SCALE_RANKS:-1 2 4}; do
            if [ "$n" -gt "$ngpu" ]; then echo "skip: $model zero $z on $n ranks ($ngpu GPU(s) visible)"; continue; fi
            name=$model.z$z.r$n
            set -- "$T6" "$here/input/$model.cfg" --set backend.device="${SCALE_DEVICE:-cuda}" --set backend.precision="${SCALE_PRECISION:-bf16}" \
                --set train.micro_batch=$mb $(batch_key "$here/input/$model.cfg" $((mb * n))) --set train.max_steps="$STEPS" \
                --set train.eval_interval=0 --set train.log_interval=1 --set output.checkpoint_interval=0 \
                --set train.zero="$z" --set data.train=builtin:demo-train --set data.val=builtin:demo-val \
                --set output.run_dir="$work/$name"
            if [ "$n" -gt 1 ]; then
                mpirun --allow-run-as-root --bind-to none -np "$n" -x NCCL_NVLS_ENABLE "$@" >"$work/$name.log" 2>&1
            else
                "$@" >"$work/$name.log" 2>&1
            fi || { echo "FAIL: $name (tail of $work/$name.log):"; tail -3 "$work/$name.log"; continue; }
            # the median tokens/s of the second half of the steps (warm-up and autotuning first)
            tps=$(sed -n "s|^step \([0-9]*\)/$STEPS:.* tok/s \([0-9]*\).*|\1 \2|p" "$work/$name.log" |
                awk -v h=$((STEPS / 2)) '$1 > h { print $2 }' | sort -n |
                awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }')
            mem=$(grep -m1 '^memory at the end' "$work/$name.log" | sed 's/^memory at the end: *//; s/ allocated.*//')
            echo "$model $z $n $tps $mem" | tee -a "$work/runs.txt"
        done
    done
done
{
    echo "weak scaling, one rank per GPU, micro-batch per GPU fixed (small 24, medium 20); $(date -u +%F) $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1) x $ngpu"
    echo "| model | zero | ranks | tokens/s (all ranks) | efficiency vs 1 rank | peak memory allocated (rank 0) |"
    echo "|---|---|---|---|---|---|"
    awk '{ key = $1 " " $2; if ($3 == 1) base[key] = $4
           m = ""; for (i = 5; i <= NF; i++) m = m " " $i
           eff = (base[key] > 0) ? sprintf("%.3f", $4 / ($3 * base[key])) : "-"
           printf "| %s | %s | %s | %s | %s |%s |\n", $1, $2, $3, $4, eff, m }' "$work/runs.txt"
} | tee "$work/scaling.txt"
