#!/bin/sh
# corpus-checks.sh -- issue 10 item 7, t6's side: a corpus is checked when it is
# opened, not at the first read that hits the damage. A shard shorter than one
# sequence in a glob is skipped with a warning (not fatal for the glob); a flipped
# byte in /tokens is found by the open-time scan (data.verify = "full", the default)
# and named, as is a token outside the vocabulary that the checksum and max_token do not
# betray, while "quick" skips the scan; a manifest beside the shards is checked
# (incomplete, unlisted shard, counts that differ); eval_iters x micro_batch above the
# validation windows warns; the training log line has elapsed time and ETA.
. "$(dirname "$0")/common.sh"
MK="$T6_BUILDDIR/tests/train/mkcorpus"
NOVAL="--set data.val=[] --set train.eval_interval=0"
[ -x "$MK" ] || { echo "FAIL: $MK not built"; exit 1; }
fails() {
    _what=$1; _log=$2; shift 2
    if [ "$rc" -eq 0 ]; then bad "$_what: exit status 0"; return; fi
    if grep -q "Segmentation\|Aborted\|core dumped" "$_log"; then bad "$_what: crashed"; return; fi
    for _p in "$@"; do expect_grep "$_what" "$_p" "$_log"; done
}
train() { _d=$1; shift; tiny "$_d" 2 "$@"; rc=$?; }

# ---- a runt shard in a glob is skipped ----------------------------------------------
mkdir -p "$TMP/d"
"$MK" "$TMP/d/c_train_000000.h5" t6-demo 512 20000 >/dev/null && "$MK" "$TMP/d/c_train_000001.h5" t6-demo 512 20 >/dev/null ||
    { echo "FAIL: mkcorpus"; exit 1; }
train "$TMP/r1" --set 'data.train=["'"$TMP/d/c_train_*.h5"'"]' $NOVAL
expect_eq "glob with a runt shard trains" "$rc" 0
expect_grep "runt skipped with a warning" "warning: data.train[0]: skipping corpus '$TMP/d/c_train_000001.h5': it holds 20 tokens" "$TMP/r1.log"
# (the log line of that run: elapsed and ETA, no "mfu n/a" where the peak is unknown)
expect_grep "log line has elapsed and ETA" ", elapsed 0:" "$TMP/r1.log"
expect_grep "log line has ETA" ", ETA " "$TMP/r1.log"
grep -q "mfu n/a" "$TMP/r1.log" && bad "CPU log lines print mfu n/a"
train "$TMP/r2" --set 'data.train=["'"$TMP/d/c_train_000001.h5"'"]' $NOVAL
fails "only runts" "$TMP/r2.log" "every shard holds fewer than one sequence"

# ---- manifest -------------------------------------------------------------------------
s0=$(stat -c %s "$TMP/d/c_train_000000.h5"); s1=$(stat -c %s "$TMP/d/c_train_000001.h5")
man() {
    { echo "format t6-corpus-manifest"; echo "version 1"; echo "name c"; echo "shards 2"
      echo "shard c_train_000000.h5 train $1 200 $s0 0000"
      echo "shard c_train_000001.h5 train 20 1 $s1 0000"; [ -z "$2" ] && echo "complete true"; } > "$TMP/d/c.manifest"
}
man 20000
train "$TMP/r3" --set 'data.train=["'"$TMP/d/c_train_*.h5"'"]' $NOVAL
expect_eq "consistent manifest accepted" "$rc" 0
man 20000 incomplete
train "$TMP/r4" --set 'data.train=["'"$TMP/d/c_train_*.h5"'"]' $NOVAL
fails "manifest not complete" "$TMP/r4.log" "$TMP/d/c.manifest" "does not say 'complete true'"
man 19999
train "$TMP/r5" --set 'data.train=["'"$TMP/d/c_train_*.h5"'"]' $NOVAL
fails "shard differs from its manifest" "$TMP/r5.log" "data.train[0]" "differs from its manifest" "(19999 tokens"
man 20000
"$MK" "$TMP/d/c_train_000002.h5" t6-demo 512 5000 >/dev/null
train "$TMP/r6" --set 'data.train=["'"$TMP/d/c_train_*.h5"'"]' $NOVAL
fails "shard not in the manifest" "$TMP/r6.log" "c_train_000002.h5' is not listed in its manifest"

# ---- damaged token data: found when opened ------------------------------------------
"$MK" "$TMP/flip.h5" t6-demo 512 20000 >/dev/null
# tokens are i*7 mod 512 (uint16 LE): 7 14 21 28 start the data; damage a byte 2 kB in
at=$(grep -obUaP '\x07\x00\x0e\x00\x15\x00\x1c\x00' "$TMP/flip.h5" | head -1 | cut -d: -f1)
if [ -n "$at" ]; then
    # token 1000 is 344 = 0x0158: its low byte to 0x59 keeps it inside the vocabulary
    printf 'Y' | dd of="$TMP/flip.h5" bs=1 seek=$((at + 2000)) conv=notrunc 2>/dev/null
    train "$TMP/r7" --set 'data.train=["'"$TMP/flip.h5"'"]' $NOVAL
    fails "flipped byte found at open" "$TMP/r7.log" "data.train[0]" "$TMP/flip.h5" "Fletcher-32 checksum"
    expect_grep "found before training" "data.verify" "$TMP/r7.log"
    grep -q "^step 1" "$TMP/r7.log" && bad "a step ran on a damaged corpus"
    train "$TMP/r8" --set 'data.train=["'"$TMP/flip.h5"'"]' $NOVAL --set data.verify=quick
    fails "quick skips the scan (the read fails later)" "$TMP/r8.log" "reading tokens"
else
    bad "token pattern not found in $TMP/flip.h5"
fi

# ---- a token outside the vocabulary behind a valid checksum and max_token: found when
#      opened (the issue's case: before, the run stopped at the first read that hit it) --
"$MK" "$TMP/oov.h5" t6-demo 512 20000 train 12345=600 >/dev/null || bad "mkcorpus could not plant token 600"
train "$TMP/r10" --set 'data.train=["'"$TMP/oov.h5"'"]' $NOVAL
fails "token outside the vocabulary found at open" "$TMP/r10.log" "data.train[0]" "$TMP/oov.h5" \
    "token 600 at position 12345 is outside the vocabulary (size 512)"
grep -q "^step 1" "$TMP/r10.log" && bad "a step ran on a corpus with a token outside the vocabulary"
# with the scan skipped the same token is found by the read that reaches it, mid-run
tiny "$TMP/r11" 40 --set 'data.train=["'"$TMP/oov.h5"'"]' $NOVAL --set data.verify=quick --set train.log_interval=1; rc=$?
fails "quick: the read that reaches the token fails" "$TMP/r11.log" "token 600 at position 12345"
grep -q "^step 1/" "$TMP/r11.log" && ok "quick: steps ran before the read reached it" || bad "quick: no step before the failure"

# ---- evaluation larger than the validation set --------------------------------------
"$MK" "$TMP/val.h5" t6-demo 512 200 val >/dev/null
train "$TMP/r9" --set 'data.train=["'"$TMP/d/c_train_000000.h5"'"]' --set 'data.val=["'"$TMP/val.h5"'"]' \
    --set train.eval_iters=5
expect_eq "small val set still runs" "$rc" 0
expect_grep "eval repeats windows: warning" "train.eval_iters x train.micro_batch = 5 x 4 = 20 sequences per evaluation, but the validation shards hold 6 windows" "$TMP/r9.log"
finish
