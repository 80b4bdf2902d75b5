#!/bin/sh
# errors.sh -- bad evaluation inputs give a clear error naming the deck key or the file
# and line: an unknown task, eval.tasks without data.vocab_dir, a missing task file, a
# malformed row, an MMLU CSV row with a bad answer, PIQA questions and labels that do not
# match, a damaged Arrow file, a model whose vocabulary is not GPT-2's.
. "$(dirname "$0")/common.sh"

# deck-level errors need no checkpoint
"$T6" --check "$DEMO" --set eval.tasks=arc_easy,hellaswagg $EVDATA >"$TMP/unk.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && ok "unknown task refused" || bad "unknown task accepted"
expect_grep "unknown task named with its key" 'eval.tasks = [ "arc_easy", "hellaswagg" ]: unknown task "hellaswagg"' "$TMP/unk.log"
"$T6" --check "$DEMO" --set job=eval --set eval.tasks=piqa --set data.eval_dir=/x >"$TMP/voc.log" 2>&1
expect_grep "eval.tasks needs data.vocab_dir" "data.vocab_dir = (not set): missing: eval.tasks needs it" "$TMP/voc.log"

evtrain
# a checkpoint whose vocabulary is not GPT-2's: the key and the sizes named
"$T6" "$DEMO" --set train.max_steps=1 --set output.checkpoint_interval=0 --set train.eval_interval=0 \
    --set output.run_dir="$TMP/run512" >"$TMP/t512.log" 2>&1
"$T6" "$DEMO" $EVDATA --set job=eval --set data.val=[] --set output.run_dir="$TMP/run512" --set eval.tasks=boolq \
    --set eval.limit=1 >"$TMP/v512.log" 2>&1
[ "$?" -ne 0 ] && ok "a 512-token model refused for tasks" || bad "a 512-token model accepted"
expect_grep "vocabulary mismatch named" "the tokenizer has 50257 tokens but model.vocab_size is 512" "$TMP/v512.log"
expect_grep "with a hint" "model trained with the GPT-2 vocabulary" "$TMP/v512.log"
# a task folder without its file
mkdir -p "$TMP/ev/arc_easy/original" "$TMP/ev/mmlu/original/data/test"
evrun "$TMP/miss.log" --set eval.tasks=arc_challenge --set data.eval_dir="$TMP/ev"
rc=$?
[ "$rc" -ne 0 ] && ok "missing task file fails" || bad "missing task file: exit $rc"
expect_grep "missing file named" "$TMP/ev/arc_challenge/original/ARC-Challenge-Test.jsonl: no such file" "$TMP/miss.log"

# a malformed row: line 2 is not JSON, line 3 lacks the answer key
head -1 "$DATA/eval/arc_easy/original/ARC-Easy-Test.jsonl" >"$TMP/ev/arc_easy/original/ARC-Easy-Test.jsonl"
echo '{"id": "x", "question": {"stem": "Q", "choices": [' >>"$TMP/ev/arc_easy/original/ARC-Easy-Test.jsonl"
evrun "$TMP/bad.log" --set eval.tasks=arc_easy --set data.eval_dir="$TMP/ev"
[ "$?" -ne 0 ] && ok "malformed JSONL row fails" || bad "malformed JSONL row accepted"
expect_grep "file and line of the bad row" "ARC-Easy-Test.jsonl:2: invalid JSON" "$TMP/bad.log"

# MMLU: every subject's file must exist; a bad answer letter is named by file and line
for f in "$DATA"/eval/mmlu/original/data/test/*_test.csv; do cp "$f" "$TMP/ev/mmlu/original/data/test/"; done
printf '"two\nlines",a,b,c,d,F\nq,a,b,c,d,A\n' >"$TMP/ev/mmlu/original/data/test/anatomy_test.csv"
evrun "$TMP/mmlu.log" --set eval.tasks=mmlu --set data.eval_dir="$TMP/ev" --set eval.limit=1
[ "$?" -ne 0 ] && ok "bad MMLU row fails" || bad "bad MMLU row accepted"
expect_grep "MMLU file and line" 'anatomy_test.csv:1: answer "F" is not A, B, C or D' "$TMP/mmlu.log"
cp "$DATA/eval/mmlu/original/data/test/anatomy_test.csv" "$TMP/ev/mmlu/original/data/test/"
rm "$TMP/ev/mmlu/original/data/test/virology_test.csv"
evrun "$TMP/mmlu2.log" --set eval.tasks=mmlu --set data.eval_dir="$TMP/ev"
expect_grep "missing MMLU subject named" "virology_test.csv: no such file" "$TMP/mmlu2.log"
# PIQA's valid.jsonl cut at a line boundary (a valid JSONL of fewer questions): its
# labels file has more lines, which was accepted as a smaller test set
mkdir -p "$TMP/ev/piqa/original"
head -5 "$DATA/eval/piqa/original/valid.jsonl" >"$TMP/ev/piqa/original/valid.jsonl"
cp "$DATA/eval/piqa/original/valid-labels.lst" "$TMP/ev/piqa/original/"
evrun "$TMP/piqa.log" --set eval.tasks=piqa --set data.eval_dir="$TMP/ev"
[ "$?" -ne 0 ] && ok "truncated PIQA questions refused" || bad "truncated PIQA questions accepted"
expect_grep "PIQA mismatch named" "valid-labels.lst has 1833 more label(s) than the 5 questions of $TMP/ev/piqa/original/valid.jsonl" "$TMP/piqa.log"
evrun "$TMP/piqa2.log" --set eval.tasks=piqa --set data.eval_dir="$TMP/ev" --set eval.limit=3 --set eval.results="$TMP/piqa2.h5"
expect_eq "with eval.limit the first questions still score" "$?" 0
# a damaged WinoGrande .arrow file: the evaluation stops naming it and the damage
mkdir -p "$TMP/ev/winogrande/hf-arrow/validation"
cp "$DATA/eval/winogrande/hf-arrow/validation/state.json" "$TMP/ev/winogrande/hf-arrow/validation/"
head -c 2000 "$DATA/eval/winogrande/hf-arrow/validation/data-00000-of-00001.arrow" \
    >"$TMP/ev/winogrande/hf-arrow/validation/data-00000-of-00001.arrow"
evrun "$TMP/arrow.log" --set eval.tasks=winogrande --set data.eval_dir="$TMP/ev"
[ "$?" -ne 0 ] && ok "damaged .arrow fails" || bad "damaged .arrow accepted"
expect_grep "damaged .arrow named" "winogrande/hf-arrow/validation/data-00000-of-00001.arrow: Arrow message 2 (metadata at byte 552): a body of 129416 bytes runs past the end of the file" "$TMP/arrow.log"
finish
