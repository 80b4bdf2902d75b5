#!/bin/sh
# errors.sh -- issue #5 test 6: damaged inputs give clear errors that name the file
# and the deck key or checkpoint attribute/tensor, never a crash or a silent
# fallback: truncated and non-HDF5 corpora, vocab and tokenizer mismatches, truncated
# and corrupted checkpoints (auto-resume skips them with a warning), other model
# shapes, resume = "never" with checkpoints present.
. "$(dirname "$0")/common.sh"
MK="$T6_BUILDDIR/tests/train/mkcorpus"
NOVAL="--set data.val=[] --set train.eval_interval=0"
[ -x "$MK" ] || { echo "FAIL: $MK not built"; exit 1; }

# fails WHAT LOG PATTERN...: the last run failed (exit != 0, set in $rc) and its
# output holds every PATTERN
fails() {
    _what=$1; _log=$2; shift 2
    if [ "$rc" -eq 0 ]; then bad "$_what: exit status 0"; return; fi
    if grep -q "Segmentation\|Aborted\|core dumped" "$_log"; then bad "$_what: crashed"; return; fi
    for _p in "$@"; do expect_grep "$_what" "$_p" "$_log"; done
}

# ---- corpora ----
"$MK" "$TMP/good.h5" t6-demo 512 20000 >/dev/null 2>&1 || { echo "FAIL: mkcorpus"; exit 1; }
cp "$TMP/good.h5" "$TMP/trunc.h5"
truncate -s $(( $(stat -c %s "$TMP/good.h5") / 2 )) "$TMP/trunc.h5"
tiny "$TMP/r1" 2 --set 'data.train=["'"$TMP/trunc.h5"'"]' $NOVAL; rc=$?
fails "truncated corpus" "$TMP/r1.log" "data.train[0]" "$TMP/trunc.h5"

echo "this is not an HDF5 file" >"$TMP/text.h5"
tiny "$TMP/r2" 2 --set 'data.train=["'"$TMP/good.h5"'"]' --set 'data.val=["'"$TMP/text.h5"'"]'; rc=$?
fails "non-HDF5 val corpus" "$TMP/r2.log" "data.val[0]" "$TMP/text.h5"

tiny "$TMP/r3" 2 --set 'data.train=["'"$TMP/nonexistent.h5"'"]'; rc=$?
fails "missing corpus" "$TMP/r3.log" "data.train[0]" "nonexistent.h5"

tiny "$TMP/r4" 2 --set 'data.train=["'"$TMP/nomatch_*.h5"'"]'; rc=$?
fails "glob without match" "$TMP/r4.log" "data.train[0]" "matches no file"

"$MK" "$TMP/big.h5" t6-demo 1000 20000 >/dev/null 2>&1
tiny "$TMP/r5" 2 --set 'data.train=["'"$TMP/big.h5"'"]' $NOVAL; rc=$?
fails "corpus vocab larger than the model's" "$TMP/r5.log" "data.train[0]" "$TMP/big.h5" "vocab_size 1000" "model.vocab_size = 512"

"$MK" "$TMP/other.h5" other-tok 512 20000 >/dev/null 2>&1
tiny "$TMP/r6" 2 --set 'data.train=["'"$TMP/good.h5"'","'"$TMP/other.h5"'"]' $NOVAL; rc=$?
fails "tokenizer mismatch between shards" "$TMP/r6.log" "data.train[1]" "$TMP/other.h5" "other-tok" "data.train[0]"

# two good shards through a glob train fine (the positive control of the above)
mkdir -p "$TMP/shards"; cp "$TMP/good.h5" "$TMP/shards/a.h5"; cp "$TMP/good.h5" "$TMP/shards/b.h5"
tiny "$TMP/r7" 3 --set 'data.train=["'"$TMP/shards/*.h5"'"]' $NOVAL
expect_eq "two shards through a glob train" "$?" 0

# ---- checkpoints ----
R="$TMP/ck"
tiny "$R" 4 --set output.checkpoint_interval=2
expect_eq "a run with checkpoints at 2 and 4" "$?" 0
C2="$R/checkpoints/ckpt_00000002.h5"; C4="$R/checkpoints/ckpt_00000004.h5"
[ -f "$C2" ] && [ -f "$C4" ] && ok "checkpoints 2 and 4 exist" || bad "checkpoints 2 and 4 missing"
cp "$C4" "$TMP/c4.orig"

# corrupt the newest in its middle (tensor data: fletcher32 checksums catch it)
size=$(stat -c %s "$C4")
dd if=/dev/urandom of="$C4" bs=1 seek=$((size / 2)) count=65536 conv=notrunc 2>/dev/null
tiny "$R" 6; rc=$?
expect_eq "auto-resume past a corrupt newest checkpoint exits 0" "$rc" 0
expect_grep "the corrupt checkpoint is skipped with a warning" "skipping checkpoint '$C4'" "$R.log"
expect_grep "it resumes from the older one" "(step 2)" "$R.log"

# explicit path to a truncated checkpoint
cp "$TMP/c4.orig" "$TMP/trunc-ckpt.h5"
truncate -s $((size / 3)) "$TMP/trunc-ckpt.h5"
tiny "$TMP/r8" 6 --set output.resume="$TMP/trunc-ckpt.h5"; rc=$?
fails "resume from a truncated checkpoint" "$TMP/r8.log" "$TMP/trunc-ckpt.h5" "not a valid checkpoint"

# a directory (the run or its checkpoints/) given as output.resume: said so, not
# "not a readable HDF5 file"
tiny "$TMP/r9" 6 --set output.resume="$R/checkpoints"; rc=$?
fails "resume from a directory" "$TMP/r9.log" "$R/checkpoints" "is a directory, not a checkpoint file"

# only damaged checkpoints: refuse rather than silently start over
R2="$TMP/allbad"; mkdir -p "$R2/checkpoints"
cp "$TMP/trunc-ckpt.h5" "$R2/checkpoints/ckpt_00000004.h5"
tiny "$R2" 6; rc=$?
fails "auto-resume with only a damaged checkpoint" "$R2.log" "none of the 1 checkpoint(s)" "skipping checkpoint"

# another model shape
R3="$TMP/shape"; mkdir -p "$R3/checkpoints"; cp "$TMP/c4.orig" "$R3/checkpoints/ckpt_00000004.h5"
tiny "$R3" 6 --set model.n_layer=3; rc=$?
fails "resume with another n_layer" "$R3.log" "model.n_layer = 2, the deck says 3"
tiny "$R3" 6 --set model.k_rank=3; rc=$?
fails "resume with another k_rank" "$R3.log" "model.k_rank = 2, the deck says 3"
tiny "$R3" 6 --set model.attention='"mha"' --set model.n_head=4 --set model.head_dim=16; rc=$?
fails "resume with another attention type" "$R3.log" "model.attention"

# resume = never with checkpoints present
tiny "$R3" 6 --set output.resume='"never"'; rc=$?
fails "resume = never with checkpoints" "$R3.log" "output.resume = \"never\"" "$R3/checkpoints"

# the status of a failed run is "failed <step>: <the error message>"
st=$(status_of "$R3")
case "$st" in
    'failed 0: output.resume = "never" but '*) ok "status of a failed run names the step and the error" ;;
    *) bad "status of a failed run: '$st', want 'failed 0: output.resume = \"never\" but ...'" ;;
esac
finish
