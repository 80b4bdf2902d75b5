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
finish
