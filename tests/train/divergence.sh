#!/bin/sh
# divergence.sh -- issue 10 item 4: the divergence guard. A crafted blow-up (an
# optim.lr of 30 on resume) is caught by train.loss_spike_factor; with
# on_divergence = "skip" the spiking steps make no update (parameters and AdamW counter
# stay put) and are marked in /train/guard, and the run stops after
# max_skipped_steps; a "last good" checkpoint survives keep_last = 1 and resuming
# from it with a sane lr finishes with a monotonic /train/step. With the default
# on_divergence = "stop" a grad-norm limit stops the run at once, status "failed".
. "$(dirname "$0")/common.sh"
col() { h5dump -d "$2" "$1" 2>/dev/null | sed -n '/DATA {/,/}/p' | sed '1d;$d' | sed 's/^ *([0-9]*): *//' | tr -d '\n' | tr -s ', ' ' '; }
attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/.*(0): *//p'; }
GUARD="--set train.loss_spike_factor=3 --set train.grad_norm_limit=1e6"

# stop (the default): the first step's gradient norm is far above 1e-3
S="$TMP/stop"
tiny "$S" 5 --set train.grad_norm_limit=1e-3
rc=$?
[ "$rc" -ne 0 ] && ok "a stopped divergence exits non-zero ($rc)" || bad "a stopped divergence exits 0"
expect_grep "the log names the divergence" "step 1: divergence: gradient norm" "$S.log"
expect_eq "status says failed and why" "$(status_of "$S")" "failed 0: divergence"
expect_eq "the diverged step is in the metrics, marked 2" "$(col "$S/metrics.h5" /train/guard)" "2"
n=$(ls "$S"/checkpoints/ckpt_*.h5 2>/dev/null | wc -l)
expect_eq "no checkpoint of the diverged state" "$n" 0

# skip: 10 clean steps, then lr 30 from step 11 on
R="$TMP/skip"
tiny "$R" 10 $GUARD --set output.checkpoint_interval=5 --set output.keep_last=1
expect_eq "clean run exits 0" "$?" 0
expect_eq "clean run: last-good is the checkpoint before the newest" "$(readlink "$R/checkpoints/last-good.h5")" \
    "ckpt_00000005.h5"
tiny "$R" 30 $GUARD --set output.checkpoint_interval=1 --set output.keep_last=2 --set optim.lr=30 \
    --set optim.warmup_steps=0 --set train.on_divergence='"skip"' --set train.max_skipped_steps=3
rc=$?
[ "$rc" -ne 0 ] && ok "three skips in a row stop the run ($rc)" || bad "the diverging run exits 0"
expect_grep "a skipped step is logged" "step 12/30: divergence guard: loss" "$R.log"
expect_grep "the stop is explained" "step 14: divergence: loss" "$R.log"
expect_grep "the hint names the last good checkpoint" "checkpoints/ckpt_00000010.h5" "$R.log"
expect_eq "status" "$(status_of "$R")" "failed 13: divergence"
expect_eq "/train/guard marks skipped (1) and stopping (2) steps" "$(col "$R/metrics.h5" /train/guard)" \
    "0 0 0 0 0 0 0 0 0 0 0 1 1 2"
C="$R/checkpoints"
h5same "a skipped step leaves the parameters alone" "$C/ckpt_00000012.h5" "$C/ckpt_00000013.h5" /params
h5same "and the moments" "$C/ckpt_00000012.h5" "$C/ckpt_00000013.h5" /optim
expect_eq "AdamW took 11 updates in 13 steps" "$(attr "$C/ckpt_00000013.h5" optim.t)" 11
expect_eq "last-good stays at the step before the spike" "$(readlink "$C/last-good.h5")" "ckpt_00000010.h5"
got=$(cd "$C" && ls ckpt_*.h5 | tr '\n' ' ')
expect_eq "retention: keep_last = 2 plus last-good" "$got" "ckpt_00000010.h5 ckpt_00000012.h5 ckpt_00000013.h5 "

# the way back: resume from last-good with the original lr
tiny "$R" 16 $GUARD --set output.checkpoint_interval=3 --set output.keep_last=2 \
    --set output.resume="$C/last-good.h5"
expect_eq "resuming from last-good exits 0" "$?" 0
expect_grep "resumed from step 10" "(step 10)" "$R.log"
expect_eq "finished" "$(status_of "$R")" "finished 16"
expect_eq "/train/step monotonic" "$(col "$R/metrics.h5" /train/step)" "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"
expect_eq "no guard events left in the record" "$(col "$R/metrics.h5" /train/guard)" \
    "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
lg=$(readlink "$C/last-good.h5")
[ -n "$lg" ] && [ "$lg" != "last-good.h5" ] && [ -f "$C/$lg" ] && ok "last-good points at a checkpoint ($lg)" \
    || bad "last-good is '$lg'"

# a rollback past the last-good checkpoint re-points the link at the resumed one
# (it would dangle into abandoned-*/ otherwise)
L="$TMP/lg"
tiny "$L" 15 --set train.grad_norm_limit=1e6 --set output.checkpoint_interval=3 --set output.keep_last=5
expect_eq "guarded clean run exits 0" "$?" 0
expect_eq "last-good at 12 (15 followed cleanly)" "$(readlink "$L/checkpoints/last-good.h5")" "ckpt_00000012.h5"
tiny "$L" 10 --set train.grad_norm_limit=1e6 --set output.checkpoint_interval=3 --set output.keep_last=5 \
    --set output.resume="$L/checkpoints/ckpt_00000009.h5"
expect_eq "rollback to 9 exits 0" "$?" 0
expect_eq "last-good re-pointed at the resumed checkpoint" "$(readlink "$L/checkpoints/last-good.h5")" \
    "ckpt_00000009.h5"
[ -f "$L/checkpoints/last-good.h5" ] && ok "last-good resolves" || bad "last-good dangles"
finish
