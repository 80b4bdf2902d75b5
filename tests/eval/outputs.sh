#!/bin/sh
# outputs.sh -- where job eval writes its results: an eval.results or eval.json that
# cannot be written (a missing directory, a path that is a directory) is refused before
# any request is scored (it was found only after the whole scoring, hours on a real
# suite), naming the key, the path and the reason; no .tmp file is left; a rerun into
# an existing results path replaces it whole; a path naming a file that is not an
# earlier result (the checkpoint itself) is refused, not overwritten; eval.json under
# /dev/ is appended to, not truncated or renamed over; with model.init_from the results
# go beside those weights, not into the working directory; duplicate tasks are a deck
# error; and
# the "not the full test sets" note appears only when eval.limit cut a task.
. "$(dirname "$0")/common.sh"
evtrain
# no validation loss: only the task outputs matter here
EVDATA="$EVDATA --set data.val=[]"

# a missing directory: refused before the scoring (no rows/batches line, no table)
evrun "$TMP/nodir.log" --set eval.tasks=boolq --set eval.limit=2 --set eval.results="$TMP/no/such/dir/r.h5"
expect_eq "results in a missing directory: exit 1" "$?" 1
expect_grep "names key, path and reason" "eval.results = \"$TMP/no/such/dir/r.h5\": cannot create $TMP/no/such/dir/r.h5.tmp." "$TMP/nodir.log"
expect_grep "says nothing was scored" "nothing was scored" "$TMP/nodir.log"
grep -q "batches" "$TMP/nodir.log" && bad "the scoring ran before the refusal" || ok "refused before the scoring"
grep -q "paper metric" "$TMP/nodir.log" && bad "a table was printed" || ok "no table"

# eval.json likewise (a missing directory), and with it no results file either
evrun "$TMP/jdir.log" --set eval.tasks=boolq --set eval.limit=2 --set eval.results="$TMP/j.h5" --set eval.json="$TMP/nojdir/r.json"
expect_eq "json in a missing directory: exit 1" "$?" 1
expect_grep "names eval.json" "eval.json = \"$TMP/nojdir/r.json\": cannot create" "$TMP/jdir.log"
[ ! -e "$TMP/j.h5" ] && ok "no results file written when eval.json cannot be" || bad "results written despite the bad eval.json"

# a results path that is a directory (it left a stray DIR.tmp after the scoring)
mkdir "$TMP/adir"
evrun "$TMP/isdir.log" --set eval.tasks=boolq --set eval.limit=2 --set eval.results="$TMP/adir"
expect_eq "results path is a directory: exit 1" "$?" 1
expect_grep "says it is a directory" "eval.results = \"$TMP/adir\": is a directory, not a file path" "$TMP/isdir.log"
! ls "$TMP" | grep -q "^adir\.tmp" && ok "no adir.tmp.* left" || bad "adir.tmp.* left behind"

# a rerun into an existing results path: the new file replaces the old one whole, and a
# stale .tmp.<pid> (a run killed while writing: its pid is dead) does not get in the
# way and is removed, with a warning
evrun "$TMP/a.log" --set eval.tasks=boolq --set eval.limit=2 --set eval.results="$TMP/r.h5" --set eval.json="$TMP/r.json"
expect_eq "first results: exit 0" "$?" 0
sh -c 'exit 0' & gone=$!; wait $gone
echo "torn" >"$TMP/r.h5.tmp.$gone"
evrun "$TMP/b.log" --set eval.tasks=boolq,piqa --set eval.limit=3 --set eval.results="$TMP/r.h5" --set eval.json="$TMP/r.json"
expect_eq "second results over the first: exit 0" "$?" 0
lim=$(h5dump -a /limit "$TMP/r.h5" 2>/dev/null | sed -n 's/^ *(0): *\([0-9]*\).*/\1/p')
expect_eq "the results file is the new one" "$lim" 3
expect_grep "the JSON is the new one" '"piqa"' "$TMP/r.json"
! ls "$TMP" | grep -q '^r\.\(h5\|json\)\.tmp' && ok "no .tmp files left" || bad ".tmp files left: $(ls "$TMP" | grep tmp)"
expect_grep "the dead writer's file was removed, saying so" "removing '$TMP/r.h5.tmp.$gone', an evaluation result whose writing was interrupted" "$TMP/b.log"

# eval.results naming the checkpoint just evaluated (or any file that is not an earlier
# result): refused before the scoring; the checkpoint was overwritten by the results
ck="$TMP/run/checkpoints/ckpt_00000002.h5"
cp "$ck" "$TMP/ck.before"
evrun "$TMP/ck.log" --set eval.tasks=boolq --set eval.limit=2 --set eval.results="$ck"
expect_eq "results onto the checkpoint: exit 1" "$?" 1
expect_grep "says why" "eval.results = \"$ck\": the file exists and is not a \"t6-eval-results\" HDF5 file; not overwritten" "$TMP/ck.log"
cmp -s "$ck" "$TMP/ck.before" && ok "the checkpoint is unchanged" || bad "the checkpoint was overwritten"
echo "my notes" >"$TMP/notes.txt"
evrun "$TMP/notes.log" --set eval.tasks=boolq --set eval.limit=2 --set eval.results="$TMP/n.h5" --set eval.json="$TMP/notes.txt"
expect_eq "json onto a file that is no result: exit 1" "$?" 1
expect_grep "says why" "is not a \"t6-eval-results\" JSON file; not overwritten" "$TMP/notes.log"
expect_eq "the file is unchanged" "$(cat "$TMP/notes.txt")" "my notes"
# eval.json under /dev/ (here /dev/fd/1 = the log): appended after what t6 printed, the log
# not truncated (and never a rename over the /dev entry)
evrun "$TMP/fd.log" --set eval.tasks=boolq --set eval.limit=2 --set eval.results="$TMP/fd.h5" --set eval.json=/dev/fd/1
expect_eq "eval.json = /dev/fd/1: exit 0" "$?" 0
expect_grep "the log keeps its beginning" "resuming from" "$TMP/fd.log"
expect_grep "the JSON is in the log" '"format": "t6-eval-results"' "$TMP/fd.log"
first=$(grep -n '"format"' "$TMP/fd.log" | cut -d: -f1); res=$(grep -n 'eval: results in' "$TMP/fd.log" | cut -d: -f1)
[ -n "$first" ] && [ -n "$res" ] && [ "$first" -gt "$res" ] && ok "the JSON comes after the table" || bad "the JSON is not after the table"

# model.init_from: the results go beside the weights evaluated (they went to a hidden
# ".eval-0shot.h5" in the working directory, with an empty `checkpoint` attribute)
mkdir "$TMP/cwd"
ck="$TMP/run/checkpoints/ckpt_00000002.h5"
(cd "$TMP/cwd" && "$T6" "$DEMO" $EVMODEL $EVDATA --set job=eval --set eval.tasks=boolq --set eval.limit=2 \
    --set model.init_from="$ck") >"$TMP/init.log" 2>&1
expect_eq "eval of model.init_from: exit 0" "$?" 0
expect_grep "results beside the checkpoint" "eval: results in $TMP/run/checkpoints/ckpt_00000002.eval-0shot.h5" "$TMP/init.log"
[ -z "$(ls -A "$TMP/cwd")" ] && ok "nothing written into the working directory" || bad "wrote $(ls -A "$TMP/cwd") into the working directory"
src=$(h5dump -a /checkpoint "$TMP/run/checkpoints/ckpt_00000002.eval-0shot.h5" 2>/dev/null | sed -n 's/^ *(0): *"\(.*\)".*/\1/p')
expect_eq "the checkpoint attribute names the weights" "$src" "$ck"

# duplicate tasks: a deck error naming the task (they were merged, yet counted twice)
"$T6" --check "$DEMO" --set eval.tasks=boolq,piqa,boolq $EVDATA >"$TMP/dup.log" 2>&1
expect_eq "duplicate task refused" "$?" 1
expect_grep "duplicate named" 'eval.tasks = [ "boolq", "piqa", "boolq" ]: task "boolq" listed twice' "$TMP/dup.log"

# eval.limit beyond every task's size: the table said "not the full test sets"
mkdir -p "$TMP/ev/boolq/original"
head -3 "$DATA/eval/boolq/original/val.jsonl" >"$TMP/ev/boolq/original/val.jsonl"
evrun "$TMP/big.log" --set eval.tasks=boolq --set data.eval_dir="$TMP/ev" --set eval.limit=5 --set eval.results="$TMP/big.h5"
expect_eq "limit beyond the task: exit 0" "$?" 0
expect_grep "full sets said so" "eval.limit = 5: every task has fewer documents; these are the full sets" "$TMP/big.log"
grep -q "not the full test sets" "$TMP/big.log" && bad "claims a cut that did not happen" || ok "no false cut note"
n=$(grep "^boolq  *acc" "$TMP/big.log" | awk '{print $NF}')
expect_eq "all 3 documents scored" "$n" 3
evrun "$TMP/cut.log" --set eval.tasks=boolq --set data.eval_dir="$TMP/ev" --set eval.limit=2 --set eval.results="$TMP/cut.h5"
expect_grep "a real cut still noted" "eval.limit = 2: not the full test sets" "$TMP/cut.log"
finish
