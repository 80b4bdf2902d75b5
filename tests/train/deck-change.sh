#!/bin/sh
# deck-change.sh -- issue 10 item 6: resuming with a changed deck. Changes that keep
# the model and the data stream (lr, max_steps, intervals) are listed in a warning
# and accepted; changes that break them (micro_batch, seed, data.*) are refused
# before anything is written, naming every such key with its old and new value;
# --set output.resume_force=true overrides the refusal (and says so).
. "$(dirname "$0")/common.sh"
R="$TMP/dc"
tiny "$R" 6 --set output.checkpoint_interval=3
expect_eq "first run exits 0" "$?" 0
before=$(ls "$R/checkpoints" | tr '\n' ' ')

# refused: three breaking keys and one harmless one (a model shape or world size
# change is refused by the checkpoint loader itself: errors.sh, mpi-accum.sh)
tiny "$R" 9 --set output.checkpoint_interval=3 --set train.micro_batch=2 --set train.seed=7 \
    --set data.sampling='"epoch"' --set optim.lr=0.001
rc=$?
[ "$rc" -ne 0 ] && ok "a breaking change is refused ($rc)" || bad "a breaking change was accepted"
expect_grep "names micro_batch, old and new" "train.micro_batch = 4 in the checkpoint, 2 now" "$R.log"
expect_grep "names seed, old and new" "train.seed = 1337 in the checkpoint, 7 now" "$R.log"
expect_grep "names data.sampling, old and new" 'data.sampling = "random" in the checkpoint, "epoch" now' "$R.log"
expect_grep "the warning lists the harmless change too" "optim.lr: 0.003 -> 0.001" "$R.log"
expect_grep "the hint names the override" "output.resume_force=true" "$R.log"
expect_eq "nothing written" "$(ls "$R/checkpoints" | tr '\n' ' ')" "$before"
expect_eq "metrics untouched" "$(rows "$R/metrics.h5" train/step)" 6
expect_eq "the refused run ends failed" "$(status_of "$R" | cut -d' ' -f1)" "failed"

# allowed: a new lr, more steps, another log interval -- warned, accepted
tiny "$R" 8 --set output.checkpoint_interval=3 --set optim.lr=0.001 --set train.log_interval=1
expect_eq "a harmless change is accepted" "$?" 0
expect_grep "warns listing optim.lr" "optim.lr: 0.003 -> 0.001" "$R.log"
expect_grep "warns listing max_steps" "train.max_steps: 6 -> 8" "$R.log"
expect_grep "warns listing log_interval" "train.log_interval: 5 -> 1" "$R.log"
expect_grep "and says none of them breaks the run" "none affecting the model or the data stream" "$R.log"
expect_eq "finished" "$(status_of "$R")" "finished 8"

# an unchanged deck: no warning at all
tiny "$R" 9 --set output.checkpoint_interval=3 --set optim.lr=0.001 --set train.log_interval=1 \
    --set train.max_steps=8 --set output.resume="$R/checkpoints/ckpt_00000008.h5"
if grep -q "changed deck" "$R.log"; then bad "an unchanged deck was warned about"; else ok "unchanged deck: no warning"; fi

# forced: micro_batch and seed change, the run goes on from step 8
tiny "$R" 10 --set output.checkpoint_interval=3 --set optim.lr=0.001 --set train.micro_batch=2 \
    --set train.seed=7 --set output.resume_force=true
expect_eq "resume_force accepts the change" "$?" 0
expect_grep "and warns about it" "output.resume_force = true: resuming despite 2 key(s)" "$R.log"
expect_eq "forced run finished" "$(status_of "$R")" "finished 10"
expect_eq "it continued the record" "$(rows "$R/metrics.h5" train/step)" 10
finish
