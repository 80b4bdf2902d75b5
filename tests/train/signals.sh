#!/bin/sh
# signals.sh -- issue #10 item 5: a first SIGINT checkpoints and stops (exit 0,
# "stopped <step>"); a second SIGINT aborts at once (exit 130, "failed <step>:
# aborted by a second SIGINT", the checkpoint being written removed); SIGHUP stops
# like SIGTERM; SIGTERM during a long evaluation stops within a batch, not after the
# evaluation; SIGTERM during generation stops within a token (prompt 1 cut short, the
# later prompts not run); the status never stays "running". Before the fix SIGINT and SIGHUP
# killed t6 at once with "running <step>" left behind. The test-only variables
# T6_TEST_STEP_DELAY_MS, T6_TEST_EVAL_DELAY_MS (per eval batch), T6_TEST_GEN_DELAY_MS
# (per generated token) and T6_TEST_CKPT_DELAY_MS (mid-checkpoint) make the signal land
# where wanted.
. "$(dirname "$0")/common.sh"

# start "VAR=value ..." RUN_DIR MAX_STEPS [--set ...]: t6 in the background with
# those test variables (pid in $pid)
start() {
    _e=$1; _d=$2; _s=$3; shift 3
    # shellcheck disable=SC2086
    env $_e "$T6" "$DEMO" $TINY --set output.run_dir="$_d" --set train.max_steps="$_s" --set train.log_interval=1 "$@" \
        >"$_d.log" 2>&1 &
    pid=$!
}
running_past() { _st=$(status_of "$1"); case "$_st" in "running "*) [ "${_st#running }" -ge "$2" ] ;; *) false ;; esac; }
# stopped_ok WHAT RUN_DIR MAX: status "stopped S" with S < MAX and ckpt_S written
stopped_ok() {
    _st=$(status_of "$2")
    case "$_st" in
        "stopped "*) _s=${_st#stopped }
            [ "$_s" -lt "$3" ] && ok "$1: status '$_st'" || bad "$1: status '$_st': stopped too late"
            [ -f "$(printf '%s/checkpoints/ckpt_%08d.h5' "$2" "$_s")" ] && ok "$1: checkpoint of step $_s" \
                || bad "$1: no checkpoint of step $_s" ;;
        *) bad "$1: status '$_st', want 'stopped <step>'"; sed 's/^/   | /' "$2.log" | tail -5 ;;
    esac
}

# ---- first SIGINT: checkpoint and stop ------------------------------------------------
R="$TMP/int"
start "T6_TEST_STEP_DELAY_MS=150" "$R" 40
wait_for "step 3" running_past "$R" 3
kill -INT $pid
wait $pid
expect_eq "SIGINT: exit 0" "$?" 0
stopped_ok "SIGINT" "$R" 40
expect_grep "SIGINT: the log says how to abort" "press Ctrl-C again to abort" "$R.log"

# ---- SIGHUP: like SIGTERM ----------------------------------------------------------------
R="$TMP/hup"
start "T6_TEST_STEP_DELAY_MS=150" "$R" 40
wait_for "step 3" running_past "$R" 3
kill -HUP $pid
wait $pid
expect_eq "SIGHUP: exit 0" "$?" 0
stopped_ok "SIGHUP" "$R" 40

# ---- second SIGINT during the checkpoint write: abort at once ---------------------------
R="$TMP/int2"
start "T6_TEST_STEP_DELAY_MS=150 T6_TEST_CKPT_DELAY_MS=60000" "$R" 40
wait_for "step 3" running_past "$R" 3
kill -INT $pid
tmp_ckpt() { ls -A "$R/checkpoints" 2>/dev/null | grep -q '^\.ckpt_.*\.tmp\.'; }
wait_for "the checkpoint write" tmp_ckpt
st_before=$(status_of "$R")
kill -INT $pid
wait $pid
expect_eq "second SIGINT: exit 130" "$?" 130
s=${st_before#running }
expect_eq "second SIGINT: status" "$(status_of "$R")" "failed $s: aborted by a second SIGINT"
if ls -A "$R/checkpoints" | grep -q '\.tmp\.'; then bad "second SIGINT: temp file left: $(ls -A "$R/checkpoints")"
else ok "second SIGINT: the checkpoint being written was removed"; fi
expect_grep "second SIGINT: said so" "second SIGINT: aborting without a checkpoint" "$R.log"

# ---- SIGTERM during a long evaluation: stops within a batch ------------------------------
# 100 val batches at 300 ms each would take 30 s; the evaluation at step 0 is cut short
R="$TMP/eval"
start "T6_TEST_EVAL_DELAY_MS=300" "$R" 40 --set train.eval_iters=100
in_eval() { grep -qs "tokens/step" "$R.log"; }
wait_for "the first evaluation" in_eval
sleep 1
kill -TERM $pid
wait $pid
expect_eq "SIGTERM in evaluation: exit 0" "$?" 0
n=$(sed -n 's/.*evaluation interrupted by signal after \([0-9]*\) of 100 batches.*/\1/p' "$R.log")
if [ -n "$n" ] && [ "$n" -lt 100 ]; then ok "the evaluation stopped after $n of 100 batches"
else bad "the evaluation was not interrupted (batches: '$n')"; sed 's/^/   | /' "$R.log" | tail -5; fi
grep -q "val loss" "$R.log" && bad "a partial evaluation was reported as a val loss" || ok "no val loss reported for it"
expect_eq "SIGTERM in evaluation: status" "$(status_of "$R")" "stopped 0"
expect_eq "no metrics row of the partial evaluation" "$(rows "$R/metrics.h5" /eval/step)" 0

# ---- SIGTERM during an evaluation job: exits non-zero, no result printed -----------------
T6_TEST_EVAL_DELAY_MS=300 "$T6" "$DEMO" $TINY --set job='"eval"' --set output.run_dir="$TMP/int" \
    --set train.eval_iters=100 >"$TMP/evaljob.log" 2>&1 &
pid=$!
started() { grep -qs "resuming from" "$TMP/evaljob.log"; }
wait_for "the evaluation job" started
sleep 1
kill -TERM $pid
wait $pid; rc=$?
[ "$rc" -ne 0 ] && ok "interrupted evaluation job exits $rc" || bad "interrupted evaluation job exits 0"
grep -q "^eval step" "$TMP/evaljob.log" && bad "an interrupted evaluation printed a result" || ok "no result printed"
expect_grep "the evaluation job says it was interrupted" "evaluation interrupted by signal" "$TMP/evaljob.log"

# ---- SIGTERM during generation: stops within a token, the text so far printed ------------
# 3 prompts x 60 tokens at 100 ms a token would take 18 s; the signal lands in prompt 1
T6_TEST_GEN_DELAY_MS=100 "$T6" "$DEMO" --set job=generate --set output.run_dir="$TMP/int" \
    --set generate.tokenizer=ids --set generate.batch_size=1 --set generate.max_new_tokens=60 \
    --set 'generate.prompts=["1 2", "3 4", "5 6"]' >"$TMP/gen.out" 2>"$TMP/gen.err" &
pid=$!
generating() { grep -qs "^1 2 | [0-9]* [0-9]* [0-9]*" "$TMP/gen.out"; }
wait_for "the first generated tokens" generating
kill -TERM $pid
wait $pid
expect_eq "SIGTERM in generation: exit 143 (cut short; tests/gen/interrupt.sh has more)" "$?" 143
expect_grep "generation: says it was interrupted" "generate: interrupted by SIGTERM after" "$TMP/gen.err"
n=$(sed -n 's/^1 2 | //p' "$TMP/gen.out" | wc -w)
if [ "$n" -gt 0 ] && [ "$n" -lt 60 ]; then ok "generation stopped after $n of 60 tokens of prompt 1"
else bad "generation was not cut short ($n tokens of prompt 1)"; cat "$TMP/gen.out"; fi
grep -q "== prompt 2/3" "$TMP/gen.out" && bad "later prompts ran after the signal" || ok "later prompts not run"
finish
