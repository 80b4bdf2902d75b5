#!/bin/sh
# interrupt.sh -- issue 10 item 5 for the task evaluation (job = "eval" with
# eval.tasks): SIGTERM while the requests are scored stops within a batch, prints no
# table and writes no results file, and exits 1 so that a scheduler does not take the
# job for finished (it exited 0 before). T6_TEST_EVAL_DELAY_MS (test only) makes each
# batch take 300 ms, so the 20 batches would take 6 s.
. "$(dirname "$0")/common.sh"
evtrain
T6_TEST_EVAL_DELAY_MS=300 "$T6" "$DEMO" $EVMODEL $EVDATA --set job=eval --set data.val=[] \
    --set eval.tasks=hellaswag --set eval.limit=20 --set eval.results="$TMP/res.h5" >"$TMP/int.log" 2>&1 &
pid=$!
i=0
until grep -qs "^eval: .* batches" "$TMP/int.log" || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
[ $i -lt 600 ] || bad "timed out waiting for the scoring to start"
sleep 1
kill -TERM $pid
wait $pid; rc=$?
expect_eq "interrupted task evaluation exits 1" "$rc" 1
expect_grep "it says so" "eval: stopped by signal; no results written" "$TMP/int.log"
grep -q "HellaSwag" "$TMP/int.log" && bad "a results table was printed" || ok "no results table"
[ ! -e "$TMP/res.h5" ] && ok "no results file" || bad "a results file was written"
grep -q "100%" "$TMP/int.log" && bad "the scoring ran to the end" || ok "the scoring stopped early"
finish
