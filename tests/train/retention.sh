#!/bin/sh
# retention.sh -- checkpoint cadence and retention: a checkpoint every step with
# keep_last = 2 and milestone_interval = 4 leaves the two newest plus the milestones;
# the metrics file holds one row per step and the eval rows of the cadence.
# Also the accumulation modes: with the same weights and data, accum_mode = "sum"
# (the reference's quirk) gives a first-step gradient norm grad_accum times the mean's.
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

tiny "$TMP/mean" 1 --set train.grad_accum=3 --set train.eval_interval=0 --set optim.grad_clip=0
expect_eq "accum_mode mean exits 0" "$?" 0
tiny "$TMP/sum" 1 --set train.grad_accum=3 --set train.eval_interval=0 --set optim.grad_clip=0 \
    --set train.accum_mode='"sum"'
expect_eq "accum_mode sum exits 0" "$?" 0
expect_grep "the log names the sum mode" "sum_reference" "$TMP/sum.log"
gm=$(h5dump -m %.9g -d /train/grad_norm "$TMP/mean/metrics.h5" | sed -n 's/.*(0): *//p')
gs=$(h5dump -m %.9g -d /train/grad_norm "$TMP/sum/metrics.h5" | sed -n 's/.*(0): *//p')
awk -v m="$gm" -v s="$gs" 'BEGIN { r = s / (3 * m); exit !(m > 0 && r > 0.99999 && r < 1.00001) }' \
    && ok "sum-mode gradient norm = 3 x mean-mode ($gs vs $gm)" || bad "sum-mode norm $gs is not 3 x $gm"
finish
