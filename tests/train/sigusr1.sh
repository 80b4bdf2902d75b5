#!/bin/sh
# sigusr1.sh -- issue #5 test 5: SIGUSR1 makes t6 write a checkpoint at the next step
# boundary and exit 0 with status "stopped <step>"; resuming continues to the same
# final step and the same result as an uninterrupted run. While the job runs,
# h5dump reads its metrics file (interfaces item 5). T6_TEST_STEP_DELAY_MS (test
# only) slows each step so the signal lands mid-run.
. "$(dirname "$0")/common.sh"
STEPS=30

tiny "$TMP/straight" $STEPS --set train.log_interval=1
expect_eq "straight run exits 0" "$?" 0

R="$TMP/sig"
T6_TEST_STEP_DELAY_MS=150 "$T6" "$DEMO" $TINY --set output.run_dir="$R" --set train.max_steps=$STEPS \
    --set train.log_interval=1 >"$R.log" 2>&1 &
pid=$!
# wait until a running job's metrics hold >= 3 rows, read by h5dump while it runs
n=0; i=0
while [ $i -lt 600 ]; do
    n=$(h5dump -d /train/loss "$R/metrics.h5" 2>/dev/null | sed -n 's/.*DATASPACE *SIMPLE *{ *( *\([0-9]*\) *).*/\1/p')
    [ -n "$n" ] && [ "$n" -ge 3 ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
done
if kill -0 $pid 2>/dev/null && [ -n "$n" ] && [ "$n" -ge 3 ]; then
    ok "h5dump reads /train/loss of the running job ($n rows)"
else
    bad "h5dump could not read the running job's metrics (rows: '$n')"
fi
kill -USR1 $pid
wait $pid
expect_eq "t6 exits 0 after SIGUSR1" "$?" 0
st=$(status_of "$R")
s=${st#stopped }
case "$st" in
    "stopped "*) [ "$s" -lt $STEPS ] && ok "status '$st' (stopped before step $STEPS)" || bad "status '$st': stopped too late" ;;
    *) bad "status '$st', want 'stopped <step>'"; s=0 ;;
esac
ck=$(printf '%s/checkpoints/ckpt_%08d.h5' "$R" "$s")
[ -f "$ck" ] && ok "checkpoint of step $s written" || bad "no checkpoint $ck"
expect_grep "the log says it stopped" "stopped by signal at step $s" "$R.log"

tiny "$R" $STEPS --set train.log_interval=1
expect_eq "resume exits 0" "$?" 0
expect_grep "resumed from the stop" "(step $s)" "$R.log"
expect_eq "final status" "$(status_of "$R")" "finished $STEPS"
h5same "parameters equal the uninterrupted run" "$TMP/straight/checkpoints/ckpt_000000$STEPS.h5" \
    "$R/checkpoints/ckpt_000000$STEPS.h5" /params
h5same "losses equal the uninterrupted run" "$TMP/straight/metrics.h5" "$R/metrics.h5" /train/loss
finish
