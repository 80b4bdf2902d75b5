#!/bin/sh
# resume-probes.sh -- what a resume finds in the run directory (doc/formats/metrics.md
# "A file t6 will not continue", doc/formats/checkpoint.md). Probes of the 2026-12-02
# session, each a bug before its fix:
#  1. kill -9 after a checkpoint, the metrics last flushed well before it: the resumed
#     run's /train/step must still be 1..N (it read 1, 7, 8, ... : the rows of steps
#     2-6 never reached the disk, and the checkpoint of step 6 is not redone)
#  2. a truncated metrics file is moved aside byte for byte (it was replaced by an
#     empty one, its history lost), the gap warned about
#  3. another run's metrics file (another lineage.id) is moved aside, not continued
#     under this run's checkpoint
#  4. an HDF5 file that is not a metrics file at output.metrics is refused, untouched
#     (it was truncated and overwritten)
#  5. a flipped byte in a checkpoint's data.next attribute makes the checkpoint invalid
#     (HDF5 metadata checksum) instead of resuming at another place of the data stream
#  6. a checkpoint directory that cannot be written is refused before the first step
#     (it failed at the first checkpoint, after all the training it was to keep)
#  7. the training corpus replaced between runs by another of the same length (one
#     token differs, in the head or the middle sample) is refused on resume, naming the
#     checkpoint's data.fingerprint and the new one; resume_force goes on with a warning
#  8. max_steps below the resumed checkpoint's step says so (it printed only "finished
#     at step 10" for max_steps = 7)
#  9. a checkpoint renamed to another step's name: "auto" skips it, naming both steps (it
#     resumed from it, then "rolled back" moving that very file aside as a newer one);
#     given as output.resume it is used and stays where it is
. "$(dirname "$0")/common.sh"

steps_of() { h5dump -d "$2" "$1" 2>/dev/null | sed -n '/DATA {/,/}/p' | grep -o '[0-9][0-9]*' | sed 1d | tr '\n' ' '; }
want_steps() { _n=$1; _s=""; _i=1; while [ $_i -le "$_n" ]; do _s="$_s$_i "; _i=$((_i + 1)); done; echo "$_s"; }

# ---- 1. kill -9 after a checkpoint ----
R="$TMP/k"
T6_TEST_STEP_DELAY_MS=200 "$T6" "$DEMO" $TINY --set output.run_dir="$R" --set train.max_steps=12 \
    --set output.checkpoint_interval=3 --set train.log_interval=12 --set train.eval_interval=12 >"$R.log1" 2>&1 &
pid=$!
i=0
while [ ! -f "$R/checkpoints/ckpt_00000006.h5" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
expect_eq "killed after the checkpoint of step 6" "$(status_of "$R" | cut -c1-7)" "running"
tiny "$R" 12 --set output.checkpoint_interval=3 --set train.log_interval=12 --set train.eval_interval=12
expect_eq "resumed run finished" "$(status_of "$R")" "finished 12"
expect_grep "resumed from step 6 or later" "resuming from $R/checkpoints/ckpt_0000000" "$R.log"
expect_eq "/train/step has every step once" "$(steps_of "$R/metrics.h5" /train/step)" "$(want_steps 12)"

# ---- 2. a truncated metrics file ----
R="$TMP/t"
tiny "$R" 6 --set output.checkpoint_interval=3
truncate -s 3000 "$R/metrics.h5"
cp "$R/metrics.h5" "$TMP/trunc-copy.h5"
tiny "$R" 8; rc=$?
expect_eq "truncated metrics: the run goes on" "$rc $(status_of "$R")" "0 finished 8"
expect_grep "truncated metrics: warned" "metrics file '$R/metrics.h5' is damaged" "$R.log"
expect_grep "truncated metrics: the gap is named" "steps 1..6 have no row" "$R.log"
aside=$(ls "$R"/metrics.h5.damaged-* 2>/dev/null | head -1)
if [ -n "$aside" ] && cmp -s "$aside" "$TMP/trunc-copy.h5"; then ok "truncated metrics: kept byte for byte as $aside"
else bad "truncated metrics: no intact copy beside it"; ls "$R"; fi
expect_eq "truncated metrics: the new file" "$(steps_of "$R/metrics.h5" /train/step)" "7 8 "

# ---- 3. another run's metrics file ----
R="$TMP/o"
tiny "$R" 6 --set output.checkpoint_interval=3
tiny "$TMP/other" 9 --set train.seed=7
cp "$TMP/other/metrics.h5" "$R/metrics.h5"
tiny "$R" 8; rc=$?
expect_eq "other run's metrics: the run goes on" "$rc $(status_of "$R")" "0 finished 8"
expect_grep "other run's metrics: warned" "it holds the rows of another run" "$R.log"
aside=$(ls "$R"/metrics.h5.other-run-* 2>/dev/null | head -1)
if [ -n "$aside" ] && cmp -s "$aside" "$TMP/other/metrics.h5"; then ok "other run's metrics: moved aside intact"
else bad "other run's metrics: not moved aside intact"; ls "$R"; fi
expect_eq "other run's metrics: the new file" "$(steps_of "$R/metrics.h5" /train/step)" "7 8 "

# ---- 4. a foreign HDF5 file at output.metrics ----
R="$TMP/f"
tiny "$R" 6 --set output.checkpoint_interval=3
cp "$R/checkpoints/ckpt_00000003.h5" "$TMP/foreign.h5"
cp "$TMP/foreign.h5" "$R/foreign.h5"
tiny "$R" 8 --set output.metrics=foreign.h5; rc=$?
expect_eq "foreign file: refused" "$rc" "1"
expect_grep "foreign file: named" "metrics file '$R/foreign.h5' is an HDF5 file whose 'format' attribute is \"t6-checkpoint\"" "$R.log"
if cmp -s "$R/foreign.h5" "$TMP/foreign.h5"; then ok "foreign file: untouched"; else bad "foreign file: changed"; fi

# ---- 5. a flipped byte in a checkpoint attribute ----
R="$TMP/a"
tiny "$R" 10 --set output.checkpoint_interval=5
CK="$R/checkpoints/ckpt_00000010.h5"
# data.next = 10 steps x 4 sequences = 40: its 8 little-endian bytes follow the name
name_at=$(grep -obUa 'data\.next' "$CK" | head -1 | cut -d: -f1)
rel=$(od -An -tx1 -v -j "$name_at" -N 96 "$CK" | tr -s ' \n' '\n\n' | grep . |
      awk '{b[NR-1]=$1} END {for (i=0;i<NR-8;i++) { if (b[i]!="28") continue; z=1;
           for (j=1;j<8;j++) if (b[i+j]!="00") z=0; if (z) { print i; exit } } }')
if [ -z "$name_at" ] || [ -z "$rel" ]; then
    bad "data.next's value not found in $CK"
else
    printf '\010' | dd of="$CK" bs=1 seek=$((name_at + rel)) conv=notrunc status=none
    tiny "$R" 12; rc=$?
    expect_grep "flipped attribute: the checkpoint is skipped" "skipping checkpoint '$CK'" "$R.log"
    expect_grep "flipped attribute: HDF5's checksum named" "checksum" "$R.log"
    expect_grep "flipped attribute: resumed from the previous one" "resuming from $R/checkpoints/ckpt_00000005.h5" "$R.log"
fi

# ---- 6. a checkpoint directory that cannot be written ----
R="$TMP/ro"
mkdir -p "$R/checkpoints"
chmod 555 "$R/checkpoints"
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1; then
    chmod 755 "$TMP"; chmod 777 "$R"
    as="runuser -u nobody -- env OMP_NUM_THREADS=1"
elif [ "$(id -u)" != 0 ]; then as="env"; else as=""; fi
if [ -n "$as" ]; then
    # shellcheck disable=SC2086
    $as "$T6" "$DEMO" $TINY --set output.run_dir="$R" --set train.max_steps=3 >"$R.log" 2>&1; rc=$?
    expect_eq "read-only checkpoints/: refused" "$rc" "1"
    expect_grep "read-only checkpoints/: named at start" "checkpoint directory '$R/checkpoints' is not writable" "$R.log"
    if grep -q '^step 1/' "$R.log"; then bad "read-only checkpoints/: trained before refusing"; else ok "read-only checkpoints/: no step run"; fi
else
    echo "skip: case 6 needs a non-root user (runuser) to make a directory unwritable"
fi
chmod 755 "$R/checkpoints"

# ---- 7. the corpus replaced by another of the same length ----
MK="$T6_BUILDDIR/tests/train/mkcorpus"
R="$TMP/c"
C="--set data.train=[\"$TMP/train.h5\"] --set data.val=[] --set train.eval_interval=0"
if "$MK" "$TMP/a.h5" t6-demo 512 20000 >/dev/null 2>&1 && "$MK" "$TMP/b.h5" t6-demo 512 20000 train 10000=5 >/dev/null 2>&1 &&
   "$MK" "$TMP/h.h5" t6-demo 512 20000 train 7=5 >/dev/null 2>&1; then
    cp "$TMP/a.h5" "$TMP/train.h5"
    # shellcheck disable=SC2086
    tiny "$R" 4 $C
    expect_eq "corpus: first run" "$(status_of "$R")" "finished 4"
    for v in b h; do
        cp "$TMP/$v.h5" "$TMP/train.h5"
        # shellcheck disable=SC2086
        tiny "$R" 6 $C; rc=$?
        expect_eq "corpus $v of the same length: refused" "$rc" "1"
        expect_grep "corpus $v: named" "checkpoint '$R/checkpoints/ckpt_00000004.h5' was trained on other training data" "$R.log"
    done
    cp "$TMP/a.h5" "$TMP/train.h5"
    # shellcheck disable=SC2086
    tiny "$R" 6 $C; rc=$?
    expect_eq "corpus restored: resumes" "$rc $(status_of "$R")" "0 finished 6"
    cp "$TMP/b.h5" "$TMP/train.h5"
    # shellcheck disable=SC2086
    tiny "$R" 8 $C --set output.resume_force=true; rc=$?
    expect_eq "corpus changed, resume_force: goes on" "$rc $(status_of "$R")" "0 finished 8"
    expect_grep "corpus changed, resume_force: warned" "the training data changed since checkpoint" "$R.log"
else
    bad "mkcorpus failed"
fi

# ---- 8. max_steps below the checkpoint's step ----
tiny "$TMP/a" 7; rc=$?
expect_eq "max_steps below the checkpoint: nothing done" "$rc $(status_of "$TMP/a")" "0 finished 12"
expect_grep "max_steps below the checkpoint: said" "past train.max_steps = 7: nothing to train" "$TMP/a.log"

# ---- 9. a renamed checkpoint ----
R="$TMP/n"
tiny "$R" 6 --set output.checkpoint_interval=3
mv "$R/checkpoints/ckpt_00000006.h5" "$R/checkpoints/ckpt_00000099.h5"
tiny "$R" 8 --set output.resume="$R/checkpoints/ckpt_00000099.h5"; rc=$?
expect_eq "renamed checkpoint given: resumed" "$rc $(status_of "$R")" "0 finished 8"
expect_grep "renamed checkpoint given: from step 6" "ckpt_00000099.h5 (step 6)" "$R.log"
if [ -f "$R/checkpoints/ckpt_00000099.h5" ]; then ok "renamed checkpoint given: left in place"
else bad "renamed checkpoint given: moved away"; ls -R "$R/checkpoints"; fi
tiny "$R" 9; rc=$?
expect_grep "renamed checkpoint: auto skips it" "its name says step 99 but it holds step 6" "$R.log"
expect_grep "renamed checkpoint: auto resumes the newest true one" "resuming from $R/checkpoints/ckpt_00000008.h5" "$R.log"

finish
