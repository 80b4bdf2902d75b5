#!/bin/sh
# finish.sh -- the end of a t6-prep run never loses the previous output and never leaves
# a set that t6 would accept half-replaced (doc/prep.md "Integrity"). The shim
# tests/prep/killat.so SIGKILLs t6-prep (a node failure, Slurm's kill after the grace
# period) at each step of the end of a --force run:
#  * while the new shards are hashed for the manifest: the old shards and manifest are
#    still there, byte-identical;
#  * while the shards move into place, and just before the complete manifest does: the
#    manifest in place says "complete false" (t6 refuses every shard of the name,
#    tests/train/corpus-checks.sh), and the next run needs --force;
# then a plain --force run cleans up and installs the new set. Also: --force replaces
# only the shards of its own --name, not those of a name that starts the same way.
. "$T6_SRCDIR/tests/prep/lib.sh"
PQ="$TXT/fineweb-10BT-legal-parquet/batch_000001.parquet"
need_data "$VOCAB/encoder.json" "$PQ"
SHIM="$B/tests/prep/killat.so"
[ -f "$SHIM" ] || { echo "SKIP: $SHIM not built"; exit 77; }
P="$PREP -q --vocab $VOCAB --name fw"
D="$WORK/d"
state() { (cd "$D" && ls | while read -r f; do echo "$f $(sha256sum < "$f")"; done); }

$P -o "$D" --shard-tokens 100000 "$PQ" > /dev/null || fail "first run"
old=$(state)
echo "$old" | grep -q "^fw_train_000001.h5 " || { echo "$old"; fail "unexpected first output"; }
# a canary: another data set in the same folder named "fw_val" (an older t6-prep made
# such names; today's refuses them as ambiguous): --force of "fw" must not touch it
expect_fail "--name 'fw_val' contains '_train' or '_val'" $P -o "$D" --name fw_val "$PQ"
$PREP -q --vocab "$VOCAB" --name cn --val none -o "$WORK/cn" "$PQ" > /dev/null || fail "canary run"
mv "$WORK/cn/cn_train_000000.h5" "$D/fw_val_train_000000.h5"
sed 's/ cn_train_/ fw_val_train_/; s/^name cn$/name fw_val/' "$WORK/cn/cn.manifest" > "$D/fw_val.manifest"
canary=$(state | grep -E '^fw_val(\.manifest|_train_)')
[ "$(echo "$canary" | wc -l)" = 2 ] || { echo "$canary"; fail "canary output"; }
before=$(state)

killed() { # STEP: a --force run with other shard sizes, SIGKILLed at STEP
    rc=0
    T6_KILLAT=$1 LD_PRELOAD="$SHIM" $P -o "$D" --force --shard-tokens 40000 "$PQ" > "$WORK/$1.log" 2>&1 || rc=$?
    [ "$rc" = 137 ] || { cat "$WORK/$1.log"; fail "T6_KILLAT=$1: exit $rc, expected 137 (SIGKILL)"; }
}

killed hash
[ "$(state)" = "$before" ] || { state; fail "killed while hashing the new shards: the old output changed"; }
echo "ok: killed while hashing -> old shards and manifest intact"

killed move
grep -qx "complete false" "$D/fw.manifest" && ! grep -q "^complete true" "$D/fw.manifest" ||
    { cat "$D/fw.manifest"; fail "killed while moving: the manifest does not say 'complete false'"; }
grep -q "^shard " "$D/fw.manifest" && fail "killed while moving: the stand-in manifest lists shards"
expect_fail "already exists" $P -o "$D" --shard-tokens 40000 "$PQ"
echo "ok: killed while moving -> 'complete false' manifest in place"

killed manifest
grep -qx "complete false" "$D/fw.manifest" || { cat "$D/fw.manifest"; fail "killed before the manifest: not 'complete false'"; }
[ "$(ls "$D" | grep -c '^fw_train_.*h5$')" = 4 ] || { ls "$D"; fail "killed before the manifest: the new shards are not all in place"; }
echo "ok: killed before the manifest -> new shards, 'complete false' manifest"

$P -o "$D" --force --shard-tokens 40000 "$PQ" > "$WORK/last.log" 2> "$WORK/last.err" || { cat "$WORK/last.err"; fail "--force run"; }
grep -q "removed .*left by an earlier run" "$WORK/last.err" || { cat "$WORK/last.err"; fail "stale temporary folders not reported"; }
[ -z "$(ls -A "$D" | grep '^\.')" ] || { ls -A "$D"; fail "temporary folders left"; }
grep -qx "complete true" "$D/fw.manifest" || fail "final manifest not complete"
[ "$(grep -c '^shard ' "$D/fw.manifest")" = 5 ] && [ "$(ls "$D" | grep -cE '^fw_(train|val)_[0-9]+\.h5$')" = 5 ] ||
    { ls "$D"; cat "$D/fw.manifest"; fail "final set: expected 5 shards listed and present"; }
[ "$(state | grep -E '^fw_val(\.manifest|_train_)')" = "$canary" ] || { ls "$D"; fail "--force of 'fw' touched the shards of 'fw_val'"; }
echo "ok: --force installs the new set, cleans up, leaves 'fw_val' alone"
echo "PASS"
