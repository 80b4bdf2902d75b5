#!/bin/sh
# ckpt-kill.sh -- issue #5 test 4: kill -9 while a checkpoint is being written. The
# test-only variable T6_TEST_CKPT_DELAY_MS makes t6 pause in the middle of the write
# (parameters on disk, moments not yet); the previous checkpoint must still load and
# the run must resume from it to the same result as a run never interrupted.
. "$(dirname "$0")/common.sh"

# reference: 12 steps in one go
tiny "$TMP/straight" 12
expect_eq "straight run exits 0" "$?" 0

# 6 steps -> ckpt_00000006.h5
R="$TMP/killed"
tiny "$R" 6
expect_eq "first part exits 0" "$?" 0
[ -f "$R/checkpoints/ckpt_00000006.h5" ] && ok "checkpoint of step 6 written" || bad "no checkpoint of step 6"

# continue to 12 with the write of the step-12 checkpoint held open, then kill -9
T6_TEST_CKPT_DELAY_MS=60000 "$T6" "$DEMO" $TINY --set output.run_dir="$R" --set train.max_steps=12 \
    >"$R.kill.log" 2>&1 &
pid=$!
tmpfile=
i=0
while [ $i -lt 600 ]; do
    tmpfile=$(ls -a "$R/checkpoints/" 2>/dev/null | grep '^\.ckpt_00000012\.h5\.tmp\.' | head -1)
    [ -n "$tmpfile" ] && [ -s "$R/checkpoints/$tmpfile" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
done
if [ -n "$tmpfile" ]; then
    sleep 0.3
    kill -9 $pid
    ok "killed t6 (pid $pid) while it wrote $tmpfile"
else
    kill -9 $pid 2>/dev/null
    bad "the checkpoint write never started"; tail -5 "$R.kill.log"
fi
wait $pid 2>/dev/null
[ -f "$R/checkpoints/ckpt_00000012.h5" ] && bad "a step-12 checkpoint exists after the kill" || ok "no torn ckpt_00000012.h5"
expect_eq "status after kill -9 still says running" "$(status_of "$R")" "running 12"

# resume: the step-6 checkpoint loads, the leftover temp file is cleaned up
tiny "$R" 12
expect_eq "resume after the kill exits 0" "$?" 0
expect_grep "resumed from step 6" "(step 6)" "$R.log"
expect_grep "the interrupted write is reported" "interrupted" "$R.log"
[ -z "$(ls -A "$R/checkpoints" | grep '\.tmp\.')" ] && ok "temporary file removed" || bad "temporary file left behind"
expect_eq "final status" "$(status_of "$R")" "finished 12"
h5same "parameters equal the uninterrupted run" "$TMP/straight/checkpoints/ckpt_00000012.h5" \
    "$R/checkpoints/ckpt_00000012.h5" /params
h5same "losses equal the uninterrupted run" "$TMP/straight/metrics.h5" "$R/metrics.h5" /train/loss
finish
