#!/bin/sh
# recompute.sh -- train.recompute through t6 (doc/training.md "Memory"): the tiny demo
# trained with "attention" and "block" ends with parameters, AdamW moments and per-step
# losses bitwise equal to "none"; a "block" run stopped at step 7 and resumed (with
# "attention", a non-breaking change) reproduces the straight run; t6 prints the peak
# memory after the first step and at the end, the metrics file records it per step
# (/train/mem_peak_bytes, format version 3) and it is ordered none > attention > block.
. "$(dirname "$0")/common.sh"

peak_of() {   # the last /train/mem_peak_bytes of a metrics file
    h5dump -d /train/mem_peak_bytes -y -w 0 "$1" 2>/dev/null | sed -n '/DATA {/,/}/p' | tr ',' ' ' | tr -s ' ' '\n' |
        grep -E '^[0-9]+$' | tail -1
}

for rc in none attention block; do
    tiny "$TMP/$rc" 12 --set train.recompute="$rc"
    expect_eq "$rc: run exits 0" "$?" 0
    expect_grep "$rc: memory line after the first step" "memory after the first step: peak" "$TMP/$rc.log"
    expect_grep "$rc: memory line at the end names the mode" "train.recompute = \"$rc\")" "$TMP/$rc.log"
    expect_eq "$rc: 12 rows of mem_peak_bytes" "$(rows "$TMP/$rc/metrics.h5" train/mem_peak_bytes)" 12
done
C=checkpoints/ckpt_00000012.h5
for rc in attention block; do
    h5same "$rc: parameters bitwise equal to none" "$TMP/none/$C" "$TMP/$rc/$C" /params
    h5same "$rc: AdamW moments bitwise equal to none" "$TMP/none/$C" "$TMP/$rc/$C" /optim
    h5same "$rc: per-step losses bitwise equal to none" "$TMP/none/metrics.h5" "$TMP/$rc/metrics.h5" /train/loss
    h5same "$rc: val losses bitwise equal to none" "$TMP/none/metrics.h5" "$TMP/$rc/metrics.h5" /eval/val_loss
done
pn=$(peak_of "$TMP/none/metrics.h5"); pa=$(peak_of "$TMP/attention/metrics.h5"); pb=$(peak_of "$TMP/block/metrics.h5")
if [ -n "$pn" ] && [ -n "$pa" ] && [ -n "$pb" ] && [ "$pn" -gt "$pa" ] && [ "$pa" -gt "$pb" ]; then
    ok "peak bytes none $pn > attention $pa > block $pb"
else
    bad "peak bytes none '$pn' > attention '$pa' > block '$pb'"
fi
version=$(h5dump -a /version "$TMP/none/metrics.h5" 2>/dev/null | sed -n 's/.*(0): *\([0-9]*\).*/\1/p')
expect_eq "metrics format version" "$version" 3

# exact resume across a change of the mode
R="$TMP/resumed"
tiny "$R" 7 --set train.recompute=block
expect_eq "block, first part exits 0" "$?" 0
tiny "$R" 12 --set train.recompute=attention
expect_eq "attention, resumed part exits 0" "$?" 0
expect_grep "resumed from step 7" "(step 7)" "$R.log"
h5same "resumed: parameters bitwise equal to the straight run" "$TMP/none/$C" "$R/$C" /params
h5same "resumed: AdamW moments bitwise equal" "$TMP/none/$C" "$R/$C" /optim
h5same "resumed: per-step losses bitwise equal" "$TMP/none/metrics.h5" "$R/metrics.h5" /train/loss

# a bad value names the key and what is allowed
"$T6" "$DEMO" --check --set train.recompute=some >"$TMP/bad.log" 2>&1
expect_eq "bad recompute value fails" "$?" 1
expect_grep "bad value names the key" "train.recompute" "$TMP/bad.log"
expect_grep "bad value lists the allowed ones" "none, attention, block" "$TMP/bad.log"
finish
