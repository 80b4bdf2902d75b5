#!/bin/sh
# exact-resume.sh -- issue #5 test 1: N steps straight == K steps, stop, resume, N-K
# steps: bitwise equal losses (metrics), val losses, parameters and AdamW moments.
# Run for the reference "random" sampling with one micro-step, and for "epoch"
# sampling with gradient accumulation 2 (the permutation state must survive).
. "$(dirname "$0")/common.sh"

for mode in "random 1" "epoch 2"; do
    set -- $mode
    samp=$1; acc=$2
    tag="$samp/accum=$acc"
    A="$TMP/straight-$samp"; B="$TMP/resumed-$samp"
    tiny "$A" 12 --set data.sampling="$samp" --set train.grad_accum="$acc"
    expect_eq "$tag: straight run exits 0" "$?" 0
    # (each run dir generates the same deterministic demo corpus for itself)
    tiny "$B" 7 --set data.sampling="$samp" --set train.grad_accum="$acc"
    expect_eq "$tag: first part exits 0" "$?" 0
    expect_eq "$tag: first part status" "$(status_of "$B")" "finished 7"
    tiny "$B" 12 --set data.sampling="$samp" --set train.grad_accum="$acc"
    expect_eq "$tag: resumed part exits 0" "$?" 0
    expect_grep "$tag: resumed from step 7" "(step 7)" "$B.log"
    expect_eq "$tag: resumed status" "$(status_of "$B")" "finished 12"
    ca="$A/checkpoints/ckpt_00000012.h5"; cb="$B/checkpoints/ckpt_00000012.h5"
    h5same "$tag: parameters bitwise equal" "$ca" "$cb" /params
    h5same "$tag: AdamW moments bitwise equal" "$ca" "$cb" /optim
    h5same "$tag: per-step losses bitwise equal" "$A/metrics.h5" "$B/metrics.h5" /train/loss
    h5same "$tag: grad norms bitwise equal" "$A/metrics.h5" "$B/metrics.h5" /train/grad_norm
    h5same "$tag: val losses bitwise equal" "$A/metrics.h5" "$B/metrics.h5" /eval/val_loss
    expect_eq "$tag: resumed metrics hold 12 step rows" "$(rows "$B/metrics.h5" train/step)" 12
done
finish
