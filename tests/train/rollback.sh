#!/bin/sh
# rollback.sh -- issue 10 item 3: resuming from an older checkpoint is a rollback.
# The issue's scenario: checkpoints 5/10/12, an explicit resume from 5 (to step 7),
# then resume = "auto" (what a requeued job does). Before the fix the second resume
# jumped to 12 and /train/step read 1..7,13,14,...; now the newer checkpoints are moved
# to checkpoints/abandoned-<time>/ (with a copy of the metrics file), retention only
# sees the branch being continued, and the continued branch is the very run a single
# 9-step run is (bitwise the same losses). Retention also leaves alone checkpoints of
# another lineage (a directory continued from another run's checkpoint).
. "$(dirname "$0")/common.sh"
R="$TMP/rb"
lsck() { (cd "$1" && ls -d ckpt_*.h5 2>/dev/null | tr '\n' ' '); }
steps() { h5dump -d "$2" "$1" 2>/dev/null | sed -n '/DATA {/,/}/p' | sed '1d;$d' | sed 's/^ *([0-9]*): *//' | tr -d '\n' | tr -s ', ' ' '; }

tiny "$R" 12 --set output.checkpoint_interval=5 --set output.keep_last=3
expect_eq "first run exits 0" "$?" 0
expect_eq "checkpoints 5/10/12" "$(lsck "$R/checkpoints")" "ckpt_00000005.h5 ckpt_00000010.h5 ckpt_00000012.h5 "

# roll back to 5 and go on to 7; keep_last = 2 must not touch 5 because of 10 and 12
tiny "$R" 7 --set output.checkpoint_interval=5 --set output.keep_last=2 \
    --set output.resume="$R/checkpoints/ckpt_00000005.h5"
expect_eq "rolled-back run exits 0" "$?" 0
expect_grep "the rollback is announced" "rolling back to step 5: moved 2 newer checkpoint(s) (step 10, 12)" "$R.log"
n=$(ls -d "$R"/checkpoints/abandoned-* 2>/dev/null | wc -l)
expect_eq "one abandoned-<time> folder" "$n" 1
AB=$(ls -d "$R"/checkpoints/abandoned-* 2>/dev/null | head -1)
case "$(basename "$AB")" in
abandoned-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z) ok "folder named by UTC time" ;;
*) bad "folder name '$(basename "$AB")' is not abandoned-YYYYMMDDTHHMMSSZ" ;;
esac
expect_eq "the abandoned branch is kept whole" "$(lsck "$AB")" "ckpt_00000010.h5 ckpt_00000012.h5 "
expect_eq "with its metrics (12 train rows)" "$(rows "$AB/metrics.h5" train/step)" 12
expect_eq "retention counts only this branch" "$(lsck "$R/checkpoints")" "ckpt_00000005.h5 ckpt_00000007.h5 "
expect_eq "metrics cut back to the branch" "$(steps "$R/metrics.h5" /train/step)" "1 2 3 4 5 6 7"

# the requeued job: resume = "auto" continues the branch it was given
tiny "$R" 9 --set output.checkpoint_interval=5 --set output.keep_last=2
expect_eq "auto-resumed run exits 0" "$?" 0
expect_grep "auto resumes the rolled-back branch" "ckpt_00000007.h5 (step 7)" "$R.log"
expect_eq "/train/step is monotonic, no gap" "$(steps "$R/metrics.h5" /train/step)" "1 2 3 4 5 6 7 8 9"
expect_eq "/eval/step is monotonic" "$(steps "$R/metrics.h5" /eval/step)" "0 5 7 9"
expect_eq "abandoned checkpoints untouched by retention" "$(lsck "$AB")" "ckpt_00000010.h5 ckpt_00000012.h5 "
expect_eq "status" "$(status_of "$R")" "finished 9"

# the branch is exact: the same losses as 9 steps in one go
tiny "$TMP/straight" 9 --set output.checkpoint_interval=5
expect_eq "straight run exits 0" "$?" 0
h5same "rolled-back branch = straight run (train/loss, bitwise)" "$TMP/straight/metrics.h5" "$R/metrics.h5" /train/loss
h5same "same final parameters" "$TMP/straight/checkpoints/ckpt_00000009.h5" "$R/checkpoints/ckpt_00000009.h5" /params

# retention by lineage: a run directory continued from another run's checkpoint
# keeps its own older checkpoints (another lineage) out of keep_last's reach
X="$TMP/other"
tiny "$X" 6 --set output.checkpoint_interval=3
expect_eq "other run exits 0" "$?" 0
tiny "$X" 8 --set output.checkpoint_interval=1 --set output.keep_last=1 \
    --set output.resume="$TMP/straight/checkpoints/ckpt_00000005.h5"
expect_eq "continuing another run's checkpoint exits 0" "$?" 0
expect_eq "keep_last = 1 spares the other lineage's step 3" "$(lsck "$X/checkpoints")" \
    "ckpt_00000003.h5 ckpt_00000008.h5 "
attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/.*(0): *//p'; }
l5=$(attr "$TMP/straight/checkpoints/ckpt_00000005.h5" lineage.id)
l8=$(attr "$X/checkpoints/ckpt_00000008.h5" lineage.id)
l3=$(attr "$X/checkpoints/ckpt_00000003.h5" lineage.id)
[ -n "$l5" ] && [ "$l5" = "$l8" ] && ok "the continuation inherits the lineage id ($l8)" || bad "lineage ids '$l5' / '$l8'"
[ -n "$l3" ] && [ "$l3" != "$l8" ] && ok "the directory's own first run is another lineage" || bad "lineage of step 3: '$l3'"

# resuming the newest checkpoint is no rollback: nothing moved
tiny "$R" 10 --set output.checkpoint_interval=5 --set output.keep_last=2
expect_eq "plain resume exits 0" "$?" 0
if grep -q "rolling back" "$R.log"; then bad "a plain resume must not roll back"; else ok "plain resume moves nothing"; fi
expect_eq "still one abandoned folder" "$(ls -d "$R"/checkpoints/abandoned-* | wc -l)" 1
finish
