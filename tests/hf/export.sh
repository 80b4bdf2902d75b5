#!/bin/sh
# export.sh -- `t6 --export-hf` end to end: the export of a trained checkpoint passes an
# independent reader (st_check.py: framing, reference names and shapes, tied keys); the
# bf16 export is the round-to-nearest-even of the fp32 one; the tokenizer files are
# byte copies; and the weights come back exactly: evaluating through
# model.init_from = "hf:DIR" (fp32) or = the checkpoint file gives the very loss that
# evaluating the checkpoint gives, and a training run starts from them.
. "$(dirname "$0")/common.sh"

"$T6" --export-hf "$CKPT" "$TMP/hf32" --vocab "$VOCAB" >"$TMP/x32.log" 2>&1
expect_eq "fp32 export exits 0" "$?" 0
for f in config.json model.safetensors vocab.json merges.txt; do
    [ -s "$TMP/hf32/$f" ] && ok "fp32 export has $f" || bad "fp32 export has no $f"
done
cmp -s "$VOCAB/encoder.json" "$TMP/hf32/vocab.json" && ok "vocab.json = encoder.json" || bad "vocab.json differs"
cmp -s "$VOCAB/vocab.bpe" "$TMP/hf32/merges.txt" && ok "merges.txt = vocab.bpe" || bad "merges.txt differs"
python3 "$HF/st_check.py" "$TMP/hf32" >"$TMP/c32.log" 2>&1
expect_eq "independent reader accepts the fp32 export" "$?" 0
expect_grep "fp32 export holds F32 tensors" "['F32']" "$TMP/c32.log"
# demo model: 2 layers x 10 tensors + wte + lm_head
expect_grep "fp32 export holds 22 tensors" "OK 22 tensors" "$TMP/c32.log"
python3 - "$TMP/hf32/config.json" >"$TMP/cfg.log" 2>&1 <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
want = dict(vocab_size=512, n_layer=2, n_head=4, head_dim=16, n_embd=64, rank=2, q_rank=6, block_size=64,
            bias=False, dropout=0.0, using_groupnorm=False, scale_attn_by_inverse_layer_idx=False,
            t6_attention="tpa", torch_dtype="float32")
bad = {k: (c.get(k), v) for k, v in want.items() if c.get(k) != v}
print("config mismatches:", bad)
sys.exit(1 if bad else 0)
PY
expect_eq "config.json has the demo deck's GPTConfig fields" "$?" 0 || cat "$TMP/cfg.log"

"$T6" --export-hf "$CKPT" "$TMP/hf16" --dtype bf16 --vocab none >"$TMP/x16.log" 2>&1
expect_eq "bf16 export exits 0" "$?" 0
[ ! -e "$TMP/hf16/vocab.json" ] && ok "--vocab none writes no tokenizer files" || bad "--vocab none wrote vocab.json"
python3 "$HF/st_check.py" "$TMP/hf16" --bf16-of "$TMP/hf32" >"$TMP/c16.log" 2>&1
expect_eq "bf16 export = round-to-nearest-even of the fp32 export" "$?" 0
sz32=$(stat -c %s "$TMP/hf32/model.safetensors"); sz16=$(stat -c %s "$TMP/hf16/model.safetensors")
[ "$sz16" -lt "$sz32" ] && ok "bf16 file smaller ($sz16 < $sz32 bytes)" || bad "bf16 file not smaller"

# the same weights back: identical evaluation losses
EV="--set job=eval"
tiny "$TMP/run" 3 $EV; expect_eq "eval of the checkpoint exits 0" "$?" 0
tiny "$TMP/e_hf" 3 $EV --set model.init_from="hf:$TMP/hf32"; expect_eq "eval via hf:DIR exits 0" "$?" 0
tiny "$TMP/e_ck" 3 $EV --set model.init_from="$CKPT"; expect_eq "eval via checkpoint path exits 0" "$?" 0
tiny "$TMP/e_16" 3 $EV --set model.init_from="hf:$TMP/hf16"; expect_eq "eval via bf16 hf:DIR exits 0" "$?" 0
loss() { sed -n 's/.*val loss \([0-9.]*\),.*/\1/p' "$1" | tail -1; }
l0=$(loss "$TMP/run.log"); lh=$(loss "$TMP/e_hf.log"); lc=$(loss "$TMP/e_ck.log"); l16=$(loss "$TMP/e_16.log")
[ -n "$l0" ] && ok "checkpoint val loss $l0" || bad "no val loss from the checkpoint eval"
expect_eq "hf:DIR (fp32) gives the checkpoint's val loss" "$lh" "$l0"
expect_eq "init_from = checkpoint gives its val loss" "$lc" "$l0"
expect_grep "eval says where the weights came from" "initialized from hf:$TMP/hf32" "$TMP/e_hf.log"
# bf16 weights: close to, not equal to, the fp32 loss (relative 1e-2)
python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if a != b and abs(a - b) <= 1e-2 * abs(a) else 1)" \
    "$l16" "$l0" && ok "bf16 weights: val loss $l16 near $l0" || bad "bf16 val loss $l16 vs $l0"

# the logits themselves: bitwise equal from the fp32 export and from the checkpoint
LG="$T6_BUILDDIR/tests/hf/hf_logits"
python3 -c "
import random; r = random.Random(7)
for b in range(3): print(' '.join(str(r.randrange(512)) for _ in range(48)))" >"$TMP/tok.txt"
"$LG" "hf:$TMP/hf32" "$TMP/tok.txt" "$TMP/l_hf.bin" >"$TMP/lg.log" 2>&1 &&
    "$LG" "$CKPT" "$TMP/tok.txt" "$TMP/l_ck.bin" >>"$TMP/lg.log" 2>&1 &&
    "$LG" "hf:$TMP/hf16" "$TMP/tok.txt" "$TMP/l_16.bin" >>"$TMP/lg.log" 2>&1
expect_eq "hf_logits runs on the exports and the checkpoint" "$?" 0
expect_grep "hf_logits reports B T V" "logits 3 48 512" "$TMP/lg.log"
expect_eq "logits file size" "$(stat -c %s "$TMP/l_hf.bin" 2>/dev/null)" $((3 * 48 * 512 * 4))
cmp -s "$TMP/l_hf.bin" "$TMP/l_ck.bin" && ok "fp32 export: logits bitwise equal to the checkpoint's" ||
    bad "fp32 export: logits differ from the checkpoint's"
cmp -s "$TMP/l_hf.bin" "$TMP/l_16.bin" && bad "bf16 export: logits bitwise equal to fp32 (rounding lost?)" ||
    ok "bf16 export: logits differ from fp32 (weights rounded)"

# a fresh training run starts from the exported weights, not from the seed
tiny "$TMP/t_hf" 1 --set train.eval_interval=1 --set model.init_from="hf:$TMP/hf32"
expect_eq "training from hf:DIR exits 0" "$?" 0
expect_grep "training says where it started" "initialized from hf:$TMP/hf32" "$TMP/t_hf.log"
v0=$(sed -n 's/^step 0: val loss \([0-9.]*\),.*/\1/p' "$TMP/t_hf.log")
expect_eq "step-0 val loss of the run from hf:DIR = the checkpoint's" "$(printf %.4f "$l0")" "$v0"
# resuming that run ignores init_from (its own checkpoint wins)
tiny "$TMP/t_hf" 2 --set train.eval_interval=1 --set model.init_from="hf:$TMP/hf32"
expect_grep "resume wins over init_from" "resuming from" "$TMP/t_hf.log"

# generation from an export (doc/generate.md "The deck"): generate.source = "hf:DIR" and
# model.init_from = "hf:DIR" give the checkpoint's greedy text, with no checkpoint in
# run_dir. model.init_from used to be ignored by job generate, which then took the
# run's newest checkpoint (or failed for want of one) without a word.
GEN="--set job=generate --set generate.tokenizer=ids --set generate.temperature=0 --set generate.max_new_tokens=12"
GP='generate.prompts=["401 402 403", "17 250 3"]'
# shellcheck disable=SC2086
"$T6" "$DEMO" $GEN --set "$GP" --set output.run_dir="$TMP/run" >"$TMP/g_ck" 2>"$TMP/g_ck.err"
expect_eq "generate from the checkpoint exits 0" "$?" 0
for how in "generate.source" "model.init_from"; do
    # shellcheck disable=SC2086
    "$T6" "$DEMO" $GEN --set "$GP" --set output.run_dir="$TMP/nockpt" --set "$how=hf:$TMP/hf32" \
        >"$TMP/g_hf" 2>"$TMP/g_hf.err"
    expect_eq "generate with $how = hf:DIR (no checkpoint in run_dir) exits 0" "$?" 0
    expect_eq "generate with $how = hf:DIR: the checkpoint's greedy text" "$(cat "$TMP/g_hf")" "$(cat "$TMP/g_ck")"
    expect_grep "generate with $how = hf:DIR: says so" "generate: weights from hf:$TMP/hf32 ($how)" "$TMP/g_hf.err"
done
# model.init_from = a checkpoint file wins over run_dir's checkpoints, as for job eval
# shellcheck disable=SC2086
"$T6" "$DEMO" $GEN --set "$GP" --set output.run_dir="$TMP/t_hf" --set model.init_from="$CKPT" \
    >"$TMP/g_ci" 2>"$TMP/g_ci.err"
expect_grep "generate with model.init_from = a checkpoint: its weights, not run_dir's" \
    "generate: weights from $CKPT (model.init_from)" "$TMP/g_ci.err"
# shellcheck disable=SC2086
"$T6" "$DEMO" $GEN --set "$GP" --set generate.source="hf:$TMP/hf32" --set model.init_from="hf:$TMP/hf16" \
    >/dev/null 2>"$TMP/g_x.err"; rc=$?
fails "generate.source and model.init_from naming different weights" "$TMP/g_x.err" \
    "generate.source = \"hf:$TMP/hf32\" and model.init_from = \"hf:$TMP/hf16\" name different weights"
# shellcheck disable=SC2086
"$T6" "$DEMO" $GEN --set "$GP" --set generate.source=init --set model.init_from="hf:$TMP/hf32" \
    >/dev/null 2>"$TMP/g_y.err"; rc=$?
fails "generate.source = init with model.init_from set" "$TMP/g_y.err" "generate.source = \"init\" (untrained weights)"
# shellcheck disable=SC2086
"$T6" "$DEMO" $GEN --set "$GP" --set generate.source="hf:$TMP/nothere" >/dev/null 2>"$TMP/g_z.err"; rc=$?
fails "generate.source = hf: a missing directory" "$TMP/g_z.err" "generate.source = \"hf:$TMP/nothere\"" "config.json"
finish
