#!/bin/sh
# shakespeare.sh -- issue #5 test 3: the loss falls on real text. tinyshakespeare
# from $T6_DATA is tokenized by t6-prep (GPT-2 BPE, documents split at blank lines,
# 10% of them held out as val), then the demo-size TPA model with the GPT-2 padded
# vocabulary (50304) trains 24 steps: the val loss must drop by more than 1.5 nats
# from its initial ~ln(50304) = 10.8, and so must the training loss.
. "$(dirname "$0")/common.sh"
T6_DATA=${T6_DATA:-$T6_SRCDIR/../shared/data}
TXT="$T6_DATA/text/tinyshakespeare/input.txt"
VOCAB="$T6_DATA/gpt2"
[ -f "$TXT" ] && [ -f "$VOCAB/encoder.json" ] && [ -f "$VOCAB/vocab.bpe" ] || {
    echo "SKIP: T6_DATA missing: need $TXT and $VOCAB/{encoder.json,vocab.bpe}"; exit 77; }
PREP="$T6_BUILDDIR/t6-prep"
[ -x "$PREP" ] || { echo "FAIL: $PREP not built"; exit 1; }

"$PREP" --vocab "$VOCAB" -o "$TMP/corpus" --name shakespeare --delimiter '\n\n' \
    --val fraction --val-fraction 0.1 -q -j 2 "$TXT" >"$TMP/prep.log" 2>&1
expect_eq "t6-prep tokenizes tinyshakespeare" "$?" 0
ls "$TMP/corpus"/shakespeare_train_*.h5 >/dev/null 2>&1 && ok "train shard written" || bad "no train shard"

R="$TMP/run"
STEPS=24
"$T6" "$DEMO" --set output.run_dir="$R" --set model.vocab_size=50304 \
    --set 'data.train=["'"$TMP/corpus"'/shakespeare_train_*.h5"]' \
    --set 'data.val=["'"$TMP/corpus"'/shakespeare_val_*.h5"]' \
    --set train.micro_batch=4 --set train.seq_len=32 --set train.grad_accum=1 \
    --set train.max_steps=$STEPS --set train.eval_interval=$STEPS --set train.eval_iters=4 \
    --set train.log_interval=4 --set optim.lr=5e-3 --set optim.min_lr=5e-4 \
    --set optim.warmup_steps=4 --set optim.decay_steps=$STEPS \
    --set output.checkpoint_interval=0 >"$R.log" 2>&1
expect_eq "training on tinyshakespeare exits 0" "$?" 0
cat "$R.log"

# values of a 1-D dataset, one per line
vals() { h5dump -y -m %.6f -d "$2" "$1" 2>/dev/null | sed -n '/DATA {/,/}/p' | tr -c '0-9.\n-' ' ' | \
         tr ' ' '\n' | grep -E '^-?[0-9]+\.[0-9]+$'; }
v0=$(vals "$R/metrics.h5" /eval/val_loss | head -1)
v1=$(vals "$R/metrics.h5" /eval/val_loss | tail -1)
t0=$(vals "$R/metrics.h5" /train/loss | head -1)
t1=$(vals "$R/metrics.h5" /train/loss | tail -4 | awk '{ s += $1 } END { if (NR) printf "%.6f", s / NR }')
echo "val loss $v0 -> $v1, train loss $t0 -> $t1 (mean of the last 4 steps)"
[ -n "$v0" ] && [ -n "$v1" ] && awk -v a="$v0" -v b="$v1" 'BEGIN { exit !(a > 10 && b < a - 1.5) }' \
    && ok "val loss falls by more than 1.5 nats ($v0 -> $v1)" || bad "val loss does not fall enough ($v0 -> $v1)"
[ -n "$t0" ] && [ -n "$t1" ] && awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b < a - 1.5) }' \
    && ok "training loss falls by more than 1.5 nats ($t0 -> $t1)" || bad "training loss does not fall enough ($t0 -> $t1)"
finish
