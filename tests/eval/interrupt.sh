#!/bin/sh
# interrupt.sh -- issue 10 item 5 for the task evaluation (job = "eval" with
# eval.tasks): SIGTERM while the requests are scored stops within a batch, prints no
# table and writes no results file (a previous results file and JSON at those paths
# stay byte for byte), and exits 1 so that a scheduler does not take the job for
# finished (it exited 0 before). The partial scores are discarded, not resumable: a
# rerun scores every document again. T6_TEST_EVAL_DELAY_MS (test only) makes each
# batch take 300 ms, so the 20 batches would take 6 s.
. "$(dirname "$0")/common.sh"
evtrain
# a previous result at the same paths (a rerun of the same deck): kept byte for byte
evrun "$TMP/prev.log" --set data.val=[] --set eval.tasks=boolq --set eval.limit=2 --set eval.results="$TMP/res.h5" \
    --set eval.json="$TMP/res.json"
expect_eq "previous results written" "$?" 0
cp "$TMP/res.h5" "$TMP/prev.h5"; cp "$TMP/res.json" "$TMP/prev.json"
T6_TEST_EVAL_DELAY_MS=300 "$T6" "$DEMO" $EVMODEL $EVDATA --set job=eval --set data.val=[] \
    --set eval.tasks=hellaswag --set eval.limit=20 --set eval.results="$TMP/res.h5" --set eval.json="$TMP/res.json" \
    >"$TMP/int.log" 2>&1 &
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
cmp -s "$TMP/res.h5" "$TMP/prev.h5" && ok "no results file written: the previous one is unchanged" || bad "the previous results file changed"
cmp -s "$TMP/res.json" "$TMP/prev.json" && ok "the previous JSON is unchanged" || bad "the previous JSON changed"
! ls "$TMP" | grep -q '^res\.\(h5\|json\)\.tmp' && ok "no .tmp left" || bad "a .tmp file was left"
grep -q "100%" "$TMP/int.log" && bad "the scoring ran to the end" || ok "the scoring stopped early"
# the partial scores are discarded, not resumed: a rerun scores everything again
evrun "$TMP/rerun.log" --set data.val=[] --set eval.tasks=hellaswag --set eval.limit=20 --set eval.results="$TMP/res.h5"
expect_eq "the rerun after the interruption exits 0" "$?" 0
n=$(grep "^hellaswag  *acc " "$TMP/rerun.log" | awk '{print $NF}')
expect_eq "the rerun scores all 20 documents" "$n" 20
finish
