#!/bin/sh
# tests/gpu/hf_reference_check.sh -- the reference PyTorch model loads t6's Hugging Face
# export and computes what t6 computes (issue 11 item 5). Run on the GPU machine, where
# PyTorch is (never part of make check). From the source tree:
#   sh tests/gpu/hf_reference_check.sh [BUILD_DIR]        (default BUILD_DIR: build-hf)
# Needs: tensorgi/TPA's model files in .carry/ref/ (git-ignored; its model/ folder:
# T6.py, T6_kvonly.py, llama-mha.py, llama-gqa.py, llama-mla.py), copied into $OUT/ref by this script;
# the libraries t6 links that the machine lacks (libconfig, jansson: .devlibs-*/env.sh
# is sourced when there, see doc/cuda.md).
# What it does:
#  1. builds t6 and tests/hf/hf_logits in BUILD_DIR (configure once; extra configure
#     arguments from $T6_CONFIGURE_ARGS, e.g. "--with-cuda --with-cuda-arch=90");
#  2. for each attention type (tpa, tpa_kvonly, mha, mqa, gqa, mla) trains a demo-size model
#     for 30 steps on the built-in corpus (so the weights are not the initial ones),
#     exports it (fp32; tpa also bf16) and runs hf_reference_check.py: the reference
#     loads it strictly, and its fp32 logits match t6's fp32 CPU logits to 1e-4;
#  3. with T6_HF_CKPT=path/to/ckpt_N.h5 (e.g. T6 small) also that checkpoint, and with
#     T6_EVAL_RESULTS=results.h5 (t6's eval of the same checkpoint; T6_EVAL_PRECISION =
#     fp32 for a CPU run, bf16 for a CUDA one; T6_EVAL_LIMIT requests, default 400) the
#     per-request log-likelihoods and the predicted choices against the reference's
#     (T6_EVAL_PER_TASK=K: the first K documents of every task instead, so that all tasks
#     are compared).
# T6_PREBUILT=1: BUILD_DIR already holds t6 and tests/hf/hf_logits (built elsewhere), no build.
# $PYTHON picks the interpreter (default python3). Output: $OUT (default ./hf-check-out): one log and summary_<tag>.json per model, and
# the last line "HF REFERENCE CHECKS: PASS" (exit 0), "... FAIL" (exit 1), or "... DRY-RUN"
# (exit 0) where python3 has no torch: then only the t6 side and the files were checked.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-hf}
OUT=${OUT:-$here/hf-check-out}
REF=${T6_REF_DIR:-$here/.carry/ref}
mkdir -p "$OUT" "$build"
for e in "$here"/.devlibs*/env.sh; do [ -f "$e" ] && . "$e"; done
exec 3>&1
log() { echo "$*" | tee -a "$OUT/hf_reference_check.txt" >&3; }
: >"$OUT/hf_reference_check.txt"

if [ ! -d "$REF" ]; then
    log "FAIL: no reference model files in $REF (copy tensorgi/TPA's model/ folder there)"
    log "HF REFERENCE CHECKS: FAIL"; exit 1
fi
rm -rf "$OUT/ref" && mkdir -p "$OUT/ref" && cp -r "$REF"/. "$OUT/ref/"

if [ -n "${T6_PREBUILT:-}" ]; then
    # binaries built elsewhere (bench/gpu/verify-all.sh): BUILD_DIR holds t6 and tests/hf/hf_logits
    :
elif [ ! -f "$build/Makefile" ]; then
    [ -x "$here/configure" ] || (cd "$here" && autoreconf -fi) >"$OUT/build.log" 2>&1
    # shellcheck disable=SC2086
    (cd "$build" && "$here/configure" ${T6_CONFIGURE_ARGS:---without-cuda}) >>"$OUT/build.log" 2>&1 ||
        { log "FAIL: configure (see $OUT/build.log)"; log "HF REFERENCE CHECKS: FAIL"; exit 1; }
fi
[ -n "${T6_PREBUILT:-}" ] || make -C "$build" -j"$(nproc 2>/dev/null || echo 4)" t6 tests/hf/hf_logits >>"$OUT/build.log" 2>&1 ||
    { log "FAIL: build (see $OUT/build.log)"; tail -20 "$OUT/build.log"; log "HF REFERENCE CHECKS: FAIL"; exit 1; }
T6="$build/t6"; LG="$build/tests/hf/hf_logits"
PY="${PYTHON:-python3} $here/tests/gpu/hf_reference_check.py --ref $OUT/ref --logits-bin $LG --out $OUT"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc 2>/dev/null || echo 4)}; export OMP_NUM_THREADS
work="$OUT/work"; mkdir -p "$work"
fails=0; dry=0

# check TAG HFDIR [extra arguments]: one run of the Python check, its verdict counted
check() {
    _tag=$1; _dir=$2; shift 2
    # shellcheck disable=SC2086
    $PY --hf "$_dir" --tag "$_tag" "$@" >"$work/$_tag.out" 2>&1
    _rc=$?
    grep -E '^(PASS|FAIL|INFO|SKIP) ' "$work/$_tag.out" | sed "s/^/  /" >&3
    _v=$(tail -1 "$work/$_tag.out")
    log "$_tag: $_v"
    case "$_v" in *DRY-RUN*) dry=$((dry + 1)) ;; esac
    [ $_rc -eq 0 ] || { fails=$((fails + 1)); tail -15 "$work/$_tag.out" >&3; }
}

for att in tpa tpa_kvonly mha mqa gqa mla; do
    extra=""
    [ "$att" = gqa ] && extra="--set model.n_kv_head=2"
    # MLA at the demo's width: latents 32/24, rope part 8, values 16 (llama-mla.py's GPTConfig fields)
    [ "$att" = mla ] && extra="--set model.q_lora_rank=32 --set model.kv_lora_rank=24 --set model.qk_rope_head_dim=8 --set model.v_head_dim=16"
    # shellcheck disable=SC2086
    "$T6" "$here/input/demo.cfg" --set model.attention="$att" $extra --set train.max_steps=30 \
        --set train.eval_interval=0 --set output.run_dir="$work/run_$att" >"$work/train_$att.log" 2>&1 ||
        { log "$att: FAIL: training (see $work/train_$att.log)"; fails=$((fails + 1)); continue; }
    ck="$work/run_$att/checkpoints/ckpt_00000030.h5"
    "$T6" --export-hf "$ck" "$work/hf_$att" --vocab none >>"$work/train_$att.log" 2>&1 ||
        { log "$att: FAIL: export"; fails=$((fails + 1)); continue; }
    check "$att" "$work/hf_$att"
done
"$T6" --export-hf "$work/run_tpa/checkpoints/ckpt_00000030.h5" "$work/hf_tpa_bf16" --dtype bf16 --vocab none \
    >/dev/null 2>&1 && check tpa_bf16 "$work/hf_tpa_bf16"

if [ -n "${T6_HF_CKPT:-}" ]; then
    if "$T6" --export-hf "$T6_HF_CKPT" "$work/hf_ckpt" --vocab none >"$work/export_ckpt.log" 2>&1; then
        if [ -n "${T6_EVAL_RESULTS:-}" ]; then
            check ckpt "$work/hf_ckpt" --eval-results "$T6_EVAL_RESULTS" \
                --eval-precision "${T6_EVAL_PRECISION:-fp32}" --eval-limit "${T6_EVAL_LIMIT:-400}" \
                --eval-per-task "${T6_EVAL_PER_TASK:-0}"
        else
            check ckpt "$work/hf_ckpt"
        fi
    else
        log "ckpt: FAIL: export of $T6_HF_CKPT"; cat "$work/export_ckpt.log" >&3; fails=$((fails + 1))
    fi
fi
if [ $fails -eq 0 ] && [ $dry -gt 0 ]; then log "HF REFERENCE CHECKS: DRY-RUN (no torch: nothing compared with the reference)"; exit 0; fi
if [ $fails -eq 0 ]; then log "HF REFERENCE CHECKS: PASS"; exit 0; fi
log "HF REFERENCE CHECKS: FAIL ($fails model(s))"; exit 1
