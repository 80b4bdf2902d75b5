#!/bin/sh
# bad-decks.sh -- every class of bad deck is refused with its exact message. Each
# tests/deck/decks/bad_*.cfg holds on its first line "# expect: MESSAGE" (after
# "t6: error: "); t6 --check must exit 1 with that as the first line on stderr.
. "$(dirname "$0")/common.sh"
cd "$DECKS" || exit 1
n=0
for f in bad_*.cfg; do
    n=$((n + 1))
    want=$(sed -n '1s/^# expect: //p' "$f")
    [ -n "$want" ] || { bad "$f has no '# expect:' line"; continue; }
    "$T6" --check "$f" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ $rc -eq 1 ] || bad "$f: exit status $rc, expected 1"
    [ -s "$TMP/out" ] && bad "$f: printed on stdout: $(head -1 "$TMP/out")"
    expect_eq "$f" "$(head -1 "$TMP/err")" "t6: error: $want"
done
[ "$n" -ge 30 ] || bad "only $n bad decks found in $DECKS"
# A missing deck file.
"$T6" --check "$TMP/none.cfg" 2>"$TMP/err" >/dev/null
expect_eq "missing deck" "$(head -1 "$TMP/err")" \
    "t6: error: $TMP/none.cfg: cannot read the deck: No such file or directory (allowed: a readable libconfig file)"
# A directory given as the deck.
"$T6" --check "$TMP" 2>"$TMP/err" >/dev/null
expect_eq "directory as deck" "$(head -1 "$TMP/err")" \
    "t6: error: $TMP: is a directory, not a deck (allowed: a libconfig file such as input/demo.cfg)"
# A contradiction an override brought about names the override, though the value
# blamed is the file's.
"$T6" --check --set 'data.val=[]' "$T6_SRCDIR/input/demo.cfg" 2>"$TMP/err" >/dev/null
expect_eq "error caused by --set" "$(head -1 "$TMP/err")" \
    "t6: error: $T6_SRCDIR/input/demo.cfg:$(grep -n 'eval_interval' "$T6_SRCDIR/input/demo.cfg" | head -1 | cut -d: -f1) (after --set data.val=[]): train.eval_interval = 100: evaluation needs data.val, which is empty (allowed: 0 (never) when data.val is empty)"
finish
