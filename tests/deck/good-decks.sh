#!/bin/sh
# good-decks.sh -- every deck in input/ and tests/deck/decks/good_*.cfg is accepted,
# and its canonical form (--print-deck) reads back to the same deck.
. "$(dirname "$0")/common.sh"
for f in "$INPUT"/*.cfg "$DECKS"/good_*.cfg; do
    [ -e "$f" ] || continue
    name=${f#"$T6_SRCDIR"/}
    if out=$("$T6" --check "$f" 2>&1) && printf '%s\n' "$out" | grep -q '^deck OK$'; then
        ok "$name passes --check"
    else
        bad "$name: $out"
        continue
    fi
    "$T6" --print-deck "$f" >"$TMP/a.cfg" 2>&1 || { bad "$name: --print-deck failed"; continue; }
    "$T6" --print-deck "$TMP/a.cfg" >"$TMP/b.cfg" 2>&1 || { bad "$name: canonical form refused: $(cat "$TMP/b.cfg")"; continue; }
    # (line 1 names the file the canonical form was made from)
    if [ "$(tail -n +2 "$TMP/a.cfg")" = "$(tail -n +2 "$TMP/b.cfg")" ]; then
        ok "$name canonical form is a fixed point"
    else
        bad "$name canonical form changes when read back"
    fi
    "$T6" --check "$TMP/a.cfg" | grep '^parameters:' >"$TMP/pa"
    "$T6" --check "$f" | grep '^parameters:' >"$TMP/pb"
    cmp -s "$TMP/pa" "$TMP/pb" && ok "$name same parameter count from the canonical form" ||
        bad "$name parameter count differs from the canonical form"
done
# Presets: model.size fills the paper's head count per attention type.
for spec in "tpa small 34" "tpa_kvonly small 22" "mha small 12" "mqa small 23" "gqa small 22" \
            "tpa medium 47" "mha medium 16" "tpa large 61" "mha large 20" "tpa xl 78" "mha xl 25" "gqa xl 48"; do
    set -- $spec
    kv=; [ "$1" = gqa ] && kv="--set model.n_kv_head=2"
    got=$("$T6" --print-deck "$INPUT/t6_small.cfg" --set model.size=$2 --set model.attention=$1 $kv 2>&1 |
          sed -n 's/^  n_head = \(.*\);/\1/p')
    expect_eq "preset $2 $1 n_head" "$got" "$3"
done
# Paper presets: n_layer/n_embd, and explicit keys win over the preset.
got=$("$T6" --print-deck "$INPUT/t6_large.cfg" | sed -n 's/^  \(n_layer\|n_embd\|mlp_hidden\) = \(.*\);/\1=\2/p' | tr '\n' ' ')
expect_eq "large preset" "$got" "n_layer=36 n_embd=1280 mlp_hidden=3413 "
got=$("$T6" --print-deck "$INPUT/t6_small.cfg" --set model.n_head=30 | sed -n 's/^  n_head = \(.*\);/\1/p')
expect_eq "explicit n_head overrides the preset" "$got" 30
finish
