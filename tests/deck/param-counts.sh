#!/bin/sh
# param-counts.sh -- `t6 --check` prints the exact parameter counts of the paper's
# models (shared/spec/t6-model.md) for the decks in input/.
. "$(dirname "$0")/common.sh"
while read -r deck want; do
    out=$("$T6" --check "$INPUT/$deck" 2>&1)
    rc=$?
    [ $rc -eq 0 ] || { bad "$deck: t6 --check exited $rc: $out"; continue; }
    got=$(printf '%s\n' "$out" | sed -n 's/^parameters: //p')
    expect_eq "$deck parameters" "$got" "$want"
done <<'LIST'
t6_small.cfg 124342272
t6_medium.cfg 353992704
t6_large.cfg 773698560
t6_xl.cfg 1555814400
mha_small.cfg 123568128
mha_medium.cfg 353452032
tpa_kvonly_small.cfg 124379136
LIST
# The baselines are equalized to the MHA count by their head counts (spec table).
for deck in mqa_small.cfg gqa_small.cfg; do
    got=$("$T6" --check "$INPUT/$deck" | sed -n 's/^parameters: //p')
    expect_eq "$deck parameters (= MHA small)" "$got" 123568128
done
for deck in mqa_medium.cfg gqa_medium.cfg; do
    got=$("$T6" --check "$INPUT/$deck" | sed -n 's/^parameters: //p')
    expect_eq "$deck parameters (= MHA medium)" "$got" 353452032
done
# The group counts add up to the total.
out=$("$T6" --check "$INPUT/t6_small.cfg")
sum=$(printf '%s\n' "$out" | sed -n '/^parameters by group:/,/^  per layer/p' | grep -v 'per layer\|by group' |
      awk '{gsub(",", "", $NF); s += $NF} END {print s}')
expect_eq "t6_small group counts sum to the total" "$sum" 124342272
finish
