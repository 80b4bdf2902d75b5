#!/bin/sh
# exact-resume.sh -- issue #5 test 1: N steps straight == K steps, stop, resume, N-K
# steps: bitwise equal losses (metrics), val losses, parameters and AdamW moments.
# Run for the reference "random" sampling with one micro-step, and for "epoch"
# sampling with gradient accumulation 2 (the permutation state must survive), and for
# the MLA model (its norm weights and latent projections through the checkpoint).
. "$(dirname "$0")/common.sh"

MLA="--set model.attention=mla --set model.q_lora_rank=32 --set model.kv_lora_rank=24
     --set model.qk_rope_head_dim=8 --set model.v_head_dim=16"
for mode in "random 1 tpa" "epoch 2 tpa" "random 1 mla"; do
    set -- $mode
    samp=$1; acc=$2; att=$3
    extra=""
    [ "$att" = mla ] && extra=$MLA
    tag="$samp/accum=$acc/$att"
    A="$TMP/straight-$samp-$att"; B="$TMP/resumed-$samp-$att"
    # shellcheck disable=SC2086
    tiny "$A" 12 --set data.sampling="$samp" --set train.grad_accum="$acc" $extra
    expect_eq "$tag: straight run exits 0" "$?" 0
    # (each run dir generates the same deterministic demo corpus for itself)
    # shellcheck disable=SC2086
    tiny "$B" 7 --set data.sampling="$samp" --set train.grad_accum="$acc" $extra
    expect_eq "$tag: first part exits 0" "$?" 0
    expect_eq "$tag: first part status" "$(status_of "$B")" "finished 7"
    # shellcheck disable=SC2086
    tiny "$B" 12 --set data.sampling="$samp" --set train.grad_accum="$acc" $extra
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
