#!/bin/sh
# retention.sh -- checkpoint cadence and retention: a checkpoint every step with
# keep_last = 2 and milestone_interval = 4 leaves the two newest plus the milestones;
# the metrics file holds one row per step and the eval rows of the cadence.
. "$(dirname "$0")/common.sh"
R="$TMP/ret"
tiny "$R" 10 --set output.checkpoint_interval=1 --set output.keep_last=2 --set output.milestone_interval=4 \
    --set train.eval_interval=4
expect_eq "run exits 0" "$?" 0
got=$(cd "$R/checkpoints" && ls -a | grep -v '^\.\.\?$' | tr '\n' ' ')
expect_eq "checkpoints kept" "$got" "ckpt_00000004.h5 ckpt_00000008.h5 ckpt_00000009.h5 ckpt_00000010.h5 "
expect_eq "train rows" "$(rows "$R/metrics.h5" train/step)" 10
# evaluations at 0 (fresh start), 4, 8 and the last step 10
expect_eq "eval rows" "$(rows "$R/metrics.h5" eval/step)" 4
expect_eq "status" "$(status_of "$R")" "finished 10"
# every checkpoint is complete and names its step
for f in "$R"/checkpoints/ckpt_*.h5; do
    s=$(h5dump -a step "$f" 2>/dev/null | sed -n 's/.*(0): *//p')
    n=$(basename "$f" .h5 | sed 's/ckpt_0*//')
    expect_eq "$(basename "$f") holds step $n" "$s" "$n"
done
finish
