# tests/eval/common.sh -- sourced by the evaluation tests: the helpers of
# tests/train/common.sh, the data folder check, and a tiny model with the GPT-2
# vocabulary (the demo deck at vocab_size 50304) trained for two steps, so that
# `job = "eval"` has a checkpoint to score the tasks with.
. "$(dirname "$0")/../train/common.sh"

DATA=${T6_DATA:-$T6_SRCDIR/../shared/data}
if [ ! -d "$DATA/eval" ] || [ ! -f "$DATA/gpt2/encoder.json" ]; then
    echo "SKIP: T6_DATA missing ($DATA/eval and $DATA/gpt2 are needed)"; exit 77
fi
EVMODEL="--set model.vocab_size=50304 --set model.block_size=64 --set train.seq_len=32
         --set train.micro_batch=4 --set train.eval_interval=0 --set optim.warmup_steps=1
         --set output.checkpoint_interval=0 --set output.run_dir=$TMP/run"
EVDATA="--set data.eval_dir=$DATA/eval --set data.vocab_dir=$DATA/gpt2"

# evtrain: two training steps of the tiny GPT-2-vocabulary model into $TMP/run
evtrain() {
    # shellcheck disable=SC2086
    "$T6" "$DEMO" $EVMODEL --set train.max_steps=2 >"$TMP/train.log" 2>&1
    expect_eq "tiny GPT-2-vocabulary model trains" "$?" 0
}

# evrun LOG [--set ...]: job eval of that checkpoint; exit status returned
evrun() {
    _log=$1; shift
    # shellcheck disable=SC2086
    "$T6" "$DEMO" $EVMODEL $EVDATA --set job=eval "$@" >"$_log" 2>&1
}
