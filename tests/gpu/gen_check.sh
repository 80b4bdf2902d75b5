#!/bin/sh
# tests/gpu/gen_check.sh BUILD_DIR -- the GPU checks of generation (issue 12), run on the
# GPU machine with binaries built elsewhere (never part of make check: CI has no GPU).
# BUILD_DIR holds t6 and tests/gpu/gen_check of a CUDA build (`make t6 gpu-tests`);
# bench/gpu/verify-all.sh runs this as its step "gencheck". From the source tree:
#   OUT=dir sh tests/gpu/gen_check.sh BUILD_DIR
# Checks (each line PASS/FAIL, logs under $OUT, default ./gencheck-out):
#  a. tests/gpu/gen_check all: CUDA prefill + decode-step logits against the CPU's at the
#     model level for every attention type with a KV cache, fp32 (1e-4) and bf16 (5e-2;
#     why in gen_check.c); CUDA graph replays bitwise equal to op-by-op launches; the
#     prefill one row at a time equal to all rows at once;
#  b. the demo model trained on the CPU (300 steps, input/demo.cfg): greedy tokens, 32
#     per prompt for 11 prompts, from the CUDA backend in fp32 precision (graphs on)
#     identical to the CPU's; bf16 agreement printed as INFO;
#  c. the same generation on CUDA with generate.cuda_graphs = true and false: identical
#     tokens in fp32 and in bf16, and the graph run reports replayed steps.
# Every step has its own time limit (timeout); the last line is "GEN CHECKS: PASS"
# (exit 0) or "GEN CHECKS: FAIL (n of m)" (exit 1).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$here/build-cuda}" && pwd)
OUT=${OUT:-$here/gencheck-out}
mkdir -p "$OUT"
cd "$here"
[ -f .devlibs-rt/env.sh ] && . ./.devlibs-rt/env.sh
npass=0
nfail=0
result() {   # result OK|FAIL text
    if [ "$1" = OK ]; then echo "PASS $2"; npass=$((npass + 1)); else echo "FAIL $2"; nfail=$((nfail + 1)); fi
}

# a. model-level logits
echo "== a. model-level decode logits, CUDA vs CPU ($(date -u +%T))"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-16} timeout "${GENCHECK_A_TIMEOUT:-420}" "$B/tests/gpu/gen_check" all \
    >"$OUT/gen_check.txt" 2>&1
rc=$?
grep -E '^(FAIL|INFO)' "$OUT/gen_check.txt"
summary=$(tail -1 "$OUT/gen_check.txt")
[ $rc -eq 0 ] && result OK "a. gen_check: $summary" || result FAIL "a. gen_check rc=$rc: $summary (log: $OUT/gen_check.txt)"

# b. greedy tokens of a trained checkpoint
echo "== b. greedy tokens of the trained demo model, CUDA fp32 vs CPU ($(date -u +%T))"
run=$OUT/demo
timeout 300 "$B/t6" input/demo.cfg --set output.run_dir="$run" --set backend.device=cpu >"$OUT/demo-train.log" 2>&1
rc=$?
[ $rc -eq 0 ] && result OK "b. demo trained on the CPU ($(grep -c '^step' "$OUT/demo-train.log") log lines)" \
              || result FAIL "b. demo training rc=$rc (log: $OUT/demo-train.log)"
# 8 prompts beyond the deck's 3: counting runs, wraps, words of the demo language
printf '%s\n' "401 402" "450 451 452 453 454 455" "7" "508 509 510" "100 200 300 400" \
    "313 268 116" "5 9 147 386" "420 421 422 423 424 425 426 427" >"$OUT/prompts.txt"
gen() {   # gen TAG DEVICE PRECISION GRAPHS
    timeout 120 "$B/t6" input/demo.cfg --set job=generate --set output.run_dir="$run" \
        --set generate.prompt_file="$OUT/prompts.txt" --set generate.max_new_tokens=32 --set generate.temperature=0 \
        --set generate.batch_size=4 --set backend.device="$2" --set backend.precision="$3" \
        --set generate.cuda_graphs="$4" >"$OUT/gen-$1.txt" 2>"$OUT/gen-$1.err"
    echo $?
}
rc_cpu=$(gen cpu cpu fp32 false)
rc_f32=$(gen cuda-fp32 cuda fp32 true)
ntok=$(grep -v '^==' "$OUT/gen-cpu.txt" | sed 's/.*|//' | wc -w)
if [ "$rc_cpu" -eq 0 ] && [ "$rc_f32" -eq 0 ] && [ "$ntok" -gt 100 ] && cmp -s "$OUT/gen-cpu.txt" "$OUT/gen-cuda-fp32.txt"; then
    result OK "b. greedy tokens CUDA fp32 = CPU fp32 (11 prompts, $ntok generated tokens, up to 32 each)"
else
    result FAIL "b. greedy tokens CUDA fp32 vs CPU (rc cpu $rc_cpu cuda $rc_f32, $ntok tokens): diff $OUT/gen-cpu.txt $OUT/gen-cuda-fp32.txt"
    diff "$OUT/gen-cpu.txt" "$OUT/gen-cuda-fp32.txt" | head -20
fi
rc_b16=$(gen cuda-bf16 cuda bf16 true)
same=$(paste -d '\n' "$OUT/gen-cpu.txt" "$OUT/gen-cuda-bf16.txt" | awk 'NR % 2 { a = $0; next } a == $0 { n++ } END { print n + 0 }')
echo "INFO b. CUDA bf16 (rc $rc_b16): $same of $(wc -l <"$OUT/gen-cpu.txt") output lines identical to the CPU's"

# c. graphs on vs off
echo "== c. CUDA graphs on vs off ($(date -u +%T))"
rc_f32n=$(gen cuda-fp32-nograph cuda fp32 false)
rc_b16n=$(gen cuda-bf16-nograph cuda bf16 false)
for p in fp32 bf16; do
    rep=$(sed -n 's/^generate: \([0-9]*\) decode steps replayed as a CUDA graph$/\1/p' "$OUT/gen-cuda-$p.err")
    nog=$(grep -c 'replayed as a CUDA graph' "$OUT/gen-cuda-$p-nograph.err")
    if [ -s "$OUT/gen-cuda-$p.txt" ] && cmp -s "$OUT/gen-cuda-$p.txt" "$OUT/gen-cuda-$p-nograph.txt" && \
       [ "${rep:-0}" -gt 0 ] && [ "$nog" -eq 0 ]; then
        result OK "c. $p: tokens with CUDA graphs ($rep steps replayed) = without"
    else
        result FAIL "c. $p: graphs on ($rep replays) vs off: diff $OUT/gen-cuda-$p.txt $OUT/gen-cuda-$p-nograph.txt"
    fi
done
grep -H 'generate: decode' "$OUT"/gen-*.err | sed 's|^.*/gen-|INFO |'

if [ $nfail -eq 0 ]; then
    echo "GEN CHECKS: PASS ($npass)"
    exit 0
fi
echo "GEN CHECKS: FAIL ($nfail of $((npass + nfail)))"
exit 1
