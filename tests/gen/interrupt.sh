#!/bin/sh
# interrupt.sh -- a generation cut short must say so, to a batch system and to a shell
# pipeline: SIGTERM / SIGINT while tokens stream exit 128 + the signal (143 / 130; it
# was 0, as if the text were complete), after printing the text so far and one stderr
# line "interrupted by SIG... after N of at most M tokens"; standard output that cannot
# be written (a full disk: /dev/full) is an error (exit 1; it was ignored, exit 0 with
# the text lost); a reader that closes the pipe early (`| head -c 10`) ends the run at
# once with 141, the SIGPIPE status, whether SIGPIPE kills t6 or is ignored (then it
# used to generate every token into the closed pipe and exit 0). doc/generate.md.
. "$(dirname "$0")/../train/common.sh"

tiny "$TMP/run" 12 || { bad "training the tiny checkpoint"; cat "$TMP/run.log"; finish; }
# gen OUT ERR [--set ...]: generation from the tiny checkpoint in the background (pid in
# $pid), 100 ms a token so that a signal lands mid-stream; no end-of-text token, so every
# generated token is printed
gen() {
    _o=$1; _e=$2; shift 2
    T6_TEST_GEN_DELAY_MS=100 "$T6" "$DEMO" --set job=generate --set output.run_dir="$TMP/run" \
        --set generate.tokenizer=ids --set generate.max_new_tokens=60 "$@" >"$_o" 2>"$_e" &
    pid=$!
}
P3='generate.prompts=["1 2", "3 4", "5 6"]'

# SIGTERM in prompt 1 of 3, one prompt at a time
gen "$TMP/t.out" "$TMP/t.err" --set generate.batch_size=1 --set "$P3"
generating() { grep -qs "^1 2 | [0-9]* [0-9]* [0-9]*" "$1"; }
wait_for "the first generated tokens" generating "$TMP/t.out"
kill -TERM $pid
wait $pid
expect_eq "SIGTERM in generation: exit 143 (128 + SIGTERM)" "$?" 143
n=$(sed -n 's/^1 2 | //p' "$TMP/t.out" | wc -w)
if [ "$n" -gt 0 ] && [ "$n" -lt 60 ]; then ok "SIGTERM: prompt 1 cut short after $n of 60 tokens"
else bad "SIGTERM: prompt 1 not cut short ($n tokens)"; cat "$TMP/t.out"; fi
expect_grep "SIGTERM: one line with the tokens produced of the most possible" \
    "generate: interrupted by SIGTERM after $n of at most 180 tokens: 1 prompt(s) cut short, 2 not run (exit status 143)" \
    "$TMP/t.err"
grep -q "== prompt 2/3" "$TMP/t.out" && bad "SIGTERM: later prompts ran" || ok "SIGTERM: later prompts not run"
expect_eq "SIGTERM: the text so far ends with a newline" "$(tail -c 1 "$TMP/t.out" | od -An -c | tr -d ' ')" '\n'

# SIGINT with the three prompts in one batch: all three cut short and printed so far
gen "$TMP/i.out" "$TMP/i.err" --set generate.batch_size=3 --set "$P3"
wait_for "the first generated tokens" generating "$TMP/i.out"
kill -INT $pid
wait $pid
expect_eq "SIGINT in generation: exit 130 (128 + SIGINT)" "$?" 130
expect_grep "SIGINT: its note speaks of tokens, not of a checkpoint" "SIGINT: stopping after this token" "$TMP/i.err"
expect_eq "SIGINT: the three rows of the batch printed" "$(grep -c '^== prompt' "$TMP/i.out")" 3
tot=$(sed -n 's/^[0-9]* [0-9]* | //p' "$TMP/i.out" | wc -w)
expect_grep "SIGINT: the count covers every row" \
    "generate: interrupted by SIGINT after $tot of at most 180 tokens: 3 prompt(s) cut short, 0 not run (exit status 130)" \
    "$TMP/i.err"

# standard output on a full disk: an error naming it, not a silent success
if [ -w /dev/full ]; then
    "$T6" "$DEMO" --set job=generate --set output.run_dir="$TMP/run" --set generate.tokenizer=ids \
        --set generate.max_new_tokens=20 --set "$P3" >/dev/full 2>"$TMP/f.err"
    expect_eq "stdout on a full disk: exit 1" "$?" 1
    expect_grep "stdout on a full disk: the error" "generate: writing standard output failed after" "$TMP/f.err"
    expect_grep "stdout on a full disk: the reason" "No space left on device" "$TMP/f.err"
else
    echo "note: /dev/full missing: the full-disk check skipped"
fi

# a reader that stops early: t6 ends at once with the SIGPIPE status (141), killed by
# SIGPIPE or, when SIGPIPE is ignored (inherited SIG_IGN), on the EPIPE of its next write
for how in default ignored; do
    rm -f "$TMP/p.rc"
    if [ $how = ignored ]; then trap '' PIPE; fi
    { T6_TEST_GEN_DELAY_MS=20 "$T6" "$DEMO" --set job=generate --set output.run_dir="$TMP/run" \
        --set generate.tokenizer=ids --set generate.max_new_tokens=60 --set generate.batch_size=1 --set "$P3" \
        2>"$TMP/p.err"; echo $? >"$TMP/p.rc"; } | head -c 10 >"$TMP/p.out"
    trap - PIPE
    expect_eq "stdout closed by the reader (SIGPIPE $how): exit 141" "$(cat "$TMP/p.rc")" 141
    expect_eq "stdout closed by the reader (SIGPIPE $how): the reader got its 10 bytes" "$(wc -c <"$TMP/p.out")" 10
done
expect_grep "stdout closed by the reader (SIGPIPE ignored): the note" "standard output was closed by its reader after" \
    "$TMP/p.err"
k=$(sed -n 's/.*closed by its reader after \([0-9]*\) of.*/\1/p' "$TMP/p.err")
if [ -n "$k" ] && [ "$k" -lt 60 ]; then ok "stdout closed by the reader: stopped after $k tokens, not all 180"
else bad "stdout closed by the reader: did not stop early ($k)"; cat "$TMP/p.err"; fi
finish
