#!/bin/sh
# bench/gpu/compare-train.sh -- our training throughput beside the reference PyTorch
# models, in one run on the GPU machine (doc/performance.md "Results"):
#   sh bench/gpu/compare-train.sh GPU_BENCH REF_MODEL_DIR OUT_DIR [MODEL...]
# GPU_BENCH: a built bench/gpu/gpu_bench (make gpu-bench in a --with-cuda build);
# REF_MODEL_DIR: the reference's model/T6.py and model/llama-mha.py (tensorgi/TPA,
# kept out of the repository, e.g. .carry/ref/model); MODEL: t6_small mha_small
# t6_medium mha_medium (default: the two small ones). For each model our gpu_bench
# runs first, then bench/gpu/ref_train_bench.py (torch.compile, bf16 autocast, fused
# AdamW), both in the reference recipe (anchors.md: 20 timed steps after 6 warm-up);
# logs go to OUT_DIR/<model>.ours.log and .ref.log, and the ratio table (tokens/s and
# ours/reference, TPA/MHA time per token within each side) is printed and written
# to OUT_DIR/compare.md. Environment: STEPS, WARMUP (default 20, 6); SIDES (default
# "ours ref": run one side only, e.g. ours for every model first and the reference,
# which compiles for a minute or more per model, after; the table is made from the
# logs in OUT_DIR either way); REF_TIMEOUT (seconds per reference run, default none).
set -u
[ $# -ge 3 ] || { echo "usage: compare-train.sh GPU_BENCH REF_MODEL_DIR OUT_DIR [MODEL...]" >&2; exit 2; }
bench=$1 ref=$2 out=$3
shift 3
[ $# -gt 0 ] || set -- t6_small mha_small
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$bench" ] || { echo "compare-train.sh: $bench: not an executable gpu_bench" >&2; exit 2; }
[ -f "$ref/T6.py" ] || { echo "compare-train.sh: $ref/T6.py: missing (the reference's model files)" >&2; exit 2; }
steps=${STEPS:-20} warmup=${WARMUP:-6}
mkdir -p "$out"
py=${PYTHON:-python3}
sides=${SIDES:-ours ref}
tmo=
[ -n "${REF_TIMEOUT:-}" ] && tmo="timeout $REF_TIMEOUT"
rc=0
for m in "$@"; do
    case $m in *_small) B=24 ;; *) B=20 ;; esac     # the reference recipe's micro-batches
    case " $sides " in *" ours "*)
        "$bench" "$m" "$B" "$steps" "$warmup" > "$out/$m.ours.log" 2>&1 || { echo "gpu_bench $m failed" >&2; rc=1; }
        grep '^RESULT' "$out/$m.ours.log" ;;
    esac
    case " $sides " in *" ref "*)
        # shellcheck disable=SC2086
        PYTHONUNBUFFERED=1 $tmo "$py" "$here/ref_train_bench.py" "$ref" "$m" "$B" "$steps" "$warmup" \
            > "$out/$m.ref.log" 2>&1 ||
            { echo "ref_train_bench $m failed (tail of $out/$m.ref.log):" >&2; tail -5 "$out/$m.ref.log" >&2; rc=1; }
        grep '^RESULT' "$out/$m.ref.log" ;;
    esac
done
# the table: one row per model from the two RESULT lines
field() { [ -f "$1" ] && sed -n "s|.* $2=\([^ ]*\).*|\1|p" "$1" | tail -1; }
{
    echo "| model | B | ours ms/step | ours tokens/s | ref ms/step | ref tokens/s | ours / ref | ours mem GiB (cudaMemGetInfo) | ref peak alloc GiB |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for m in "$@"; do
        o=$out/$m.ours.log r=$out/$m.ref.log
        ot=$(field "$o" tokens/s) rt=$(field "$r" tokens/s)
        ratio=$(awk -v a="${ot:-0}" -v b="${rt:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')
        echo "| $m | $(field "$o" B) | $(field "$o" ms/step) | ${ot:--} | $(field "$r" ms/step) | ${rt:--} | $ratio | $(field "$o" mem_GiB) | $(field "$r" mem_GiB) |"
    done
    # TPA / MHA time per token at each size, on each side
    for s in small medium; do
        for side in ours ref; do
            a=$out/t6_$s.$side.log b=$out/mha_$s.$side.log
            if [ ! -f "$a" ] || [ ! -f "$b" ]; then continue; fi
            awk -v x="$(field "$a" tokens/s)" -v y="$(field "$b" tokens/s)" -v s="$s" -v d="$side" \
                'BEGIN { if (x > 0 && y > 0) printf "TPA / MHA time per token, %s, %s: %.3f\n", s, d, y / x }'
        done
    done
} | tee "$out/compare.md"
exit $rc
