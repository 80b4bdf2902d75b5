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
mla_small.cfg 123085824
mla_medium.cfg 353863680
mla_large.cfg 773634048
mla_xl.cfg 1558370304
mla_small_table10.cfg 121512960
mla_medium_table10.cfg 417976320
mla_large_table10.cfg 909321216
mla_xl_table10.cfg 1810065408
LIST
# MLA's KV cache per token per layer: the latent and the rotary key (../shared/spec/decode.md)
for pair in mla_small.cfg:288 mla_xl.cfg:288 mla_medium_table10.cfg:544; do
    deck=${pair%%:*} want=${pair##*:}
    got=$("$T6" --check "$INPUT/$deck" | sed -n 's/^KV cache per token per layer: \([0-9]*\) numbers.*/\1/p')
    expect_eq "$deck KV cache numbers per token per layer" "$got" "$want"
done
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
