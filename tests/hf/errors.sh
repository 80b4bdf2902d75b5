#!/bin/sh
# errors.sh -- bad inputs to the export and to model.init_from give clear errors naming
# the file and the tensor, key or field, never a crash or a silent load: a truncated
# model.safetensors, a header length beyond the file, a wrong shape, an unknown dtype,
# a missing / foreign tensor, overlapping offsets, an untied lm_head, a NaN weight, config.json that
# differs from the deck (or is not JSON, or asks for biases), a directory without
# "hf:", a missing vocab folder and a missing checkpoint for --export-hf.
. "$(dirname "$0")/common.sh"
ED="python3 $HF/st_edit.py"
"$T6" --export-hf "$CKPT" "$TMP/good" --vocab none >/dev/null 2>&1 || { echo "FAIL: export"; exit 1; }
ST=model.safetensors
A_Q=transformer.h.0.attn.c_qkv.W_A_q.weight    # (h * q_rank, d) = (24, 64) in the demo

# bad COPY: a fresh copy of the good export in $TMP/COPY; echo its path
fresh() { rm -rf "$TMP/$1"; cp -r "$TMP/good" "$TMP/$1"; echo "$TMP/$1"; }
# load NAME: evaluate the demo deck from hf:$TMP/NAME; sets rc, output in $TMP/NAME.log
load() {
    _n=$1; shift
    tiny "$TMP/ev_$_n" 3 --set job=eval --set model.init_from="hf:$TMP/$_n" "$@"; rc=$?
    cp "$TMP/ev_$_n.log" "$TMP/$_n.log"
}

d=$(fresh trunc); truncate -s $(( $(stat -c %s "$d/$ST") - 100 )) "$d/$ST"
load trunc; fails "truncated safetensors" "$TMP/trunc.log" "$d/$ST" "truncated"

d=$(fresh short); head -c 5 "$TMP/good/$ST" >"$d/$ST"
load short; fails "5-byte safetensors" "$TMP/short.log" "$d/$ST" "truncated"

d=$(fresh hdrlen); $ED "$d/$ST" hdrlen 99999999
load hdrlen; fails "header length beyond the file" "$TMP/hdrlen.log" "$d/$ST" "header length 99999999"

d=$(fresh shape); $ED "$d/$ST" shape "$A_Q" 64 24
load shape; fails "wrong shape" "$TMP/shape.log" "$d/$ST" "$A_Q" "shape (64, 24), this model needs (24, 64)"

d=$(fresh bytes); $ED "$d/$ST" shape "$A_Q" 25 64
load bytes; fails "shape disagreeing with data_offsets" "$TMP/bytes.log" "$d/$ST" "$A_Q" "need"

d=$(fresh f16); $ED "$d/$ST" dtype "$A_Q" F16; $ED "$d/$ST" shape "$A_Q" 48 64
load f16; fails "F16 dtype" "$TMP/f16.log" "$d/$ST" "$A_Q" "dtype F16 (allowed: F32, BF16)"

d=$(fresh hole); $ED "$d/$ST" offsets "$A_Q" 131080 137224
load hole; fails "hole in the data" "$TMP/hole.log" "$d/$ST" "hole"

d=$(fresh i9); $ED "$d/$ST" dtype "$A_Q" Q9
load i9; fails "unknown dtype" "$TMP/i9.log" "$d/$ST" "$A_Q" 'unknown dtype "Q9"'

d=$(fresh missing); $ED "$d/$ST" rename "$A_Q" transformer.h.0.attn.c_qkv.W_A_x.weight
load missing; fails "foreign tensor name" "$TMP/missing.log" "$d/$ST" "W_A_x.weight" "not a parameter"

d=$(fresh overlap); $ED "$d/$ST" offsets "$A_Q" 0 6144
load overlap; fails "overlapping tensors" "$TMP/overlap.log" "$d/$ST" "overlap" "$A_Q"

d=$(fresh untied); $ED "$d/$ST" flip lm_head.weight
load untied; fails "lm_head differing from wte" "$TMP/untied.log" "$d/$ST" "lm_head.weight" "ties"

# a NaN weight (row 1, column 3 of W_A_q: value 64 + 3) is refused, named; it used to
# load, and generation then printed the argmax of NaN logits
d=$(fresh nan); $ED "$d/$ST" nan "$A_Q" 67
load nan; fails "NaN weight" "$TMP/nan.log" "$d/$ST" "tensor '$A_Q' holds NaN at [1, 3]"

# finite weights so large that the logits overflow (every embedding 1e38, tied): job
# generate stops with an error naming the prompt instead of printing the argmax of
# infinities as the model's choice
d=$(fresh huge); for t in transformer.wte.weight lm_head.weight; do $ED "$d/$ST" fill $t 1e38; done
"$T6" "$DEMO" --set job=generate --set generate.tokenizer=ids --set 'generate.prompts=["1 2 3"]' \
    --set generate.source="hf:$d" >"$TMP/huge.out" 2>"$TMP/huge.log"; rc=$?
fails "generation with overflowing logits" "$TMP/huge.log" \
    "generate.prompts[0]: the model's logits for generated token 1 are not finite"

# a rope_base that differs in the 13th digit: both values printed in full (%g showed
# "rope_base = 10000, the deck's model.rope_base = 10000")
d=$(fresh rope); $ED "$d/config.json" config rope_base 10000.0000001
load rope; fails "config.json rope_base off by 1e-7" "$TMP/rope.log" "rope_base = 10000.000000100001, the deck's"

d=$(fresh nlayer); $ED "$d/config.json" config n_layer 3
load nlayer; fails "config.json n_layer" "$TMP/nlayer.log" "$d/config.json" "n_layer = 3, the deck's model.n_layer = 2"

load good --set model.n_head=8 --set model.head_dim=8
fails "deck n_head differing" "$TMP/good.log" "config.json" "n_head = 4, the deck's model.n_head = 8"

load good --set model.attention=tpa_kvonly
fails "deck attention differing" "$TMP/good.log" "config.json" 'attention "tpa"' '"tpa_kvonly"'

d=$(fresh bias); $ED "$d/config.json" config bias true
load bias; fails "bias = true" "$TMP/bias.log" "$d/config.json" '"bias" is true'

d=$(fresh json); printf '{"n_layer": 2,\n "n_head": }\n' >"$d/config.json"
load json; fails "config.json not JSON" "$TMP/json.log" "$d/config.json:2"

d=$(fresh noconf); rm "$d/config.json"
load noconf; fails "no config.json" "$TMP/noconf.log" "$d/config.json"

# no t6_attention: the type comes from the tensor names, the rest from the reference keys
d=$(fresh refonly); for k in t6_attention k_rank v_rank n_kv_head mlp_hidden rope_base; do $ED "$d/config.json" config $k null; done
load refonly; expect_eq "config.json with only the reference's keys loads" "$rc" 0

tiny "$TMP/ev_dir" 3 --set job=eval --set model.init_from="$TMP/good"; rc=$?
fails "directory without hf:" "$TMP/ev_dir.log" "hf:$TMP/good"
tiny "$TMP/ev_nock" 3 --set job=eval --set model.init_from="$TMP/none.h5"; rc=$?
fails "missing checkpoint" "$TMP/ev_nock.log" "model.init_from" "$TMP/none.h5"

"$T6" --export-hf "$CKPT" "$TMP/novocab" --vocab "$TMP/nowhere" >"$TMP/novocab.log" 2>&1; rc=$?
fails "missing vocab folder" "$TMP/novocab.log" "$TMP/nowhere/encoder.json" "--vocab"
: >"$TMP/afile"
"$T6" --export-hf "$CKPT" "$TMP/afile/sub" --vocab none >"$TMP/mk.log" 2>&1; rc=$?
fails "export into a path under a file" "$TMP/mk.log" "cannot create directory '$TMP/afile/sub'"
"$T6" --export-hf "$CKPT" "$TMP/afile" --vocab none >"$TMP/mk2.log" 2>&1; rc=$?
fails "export onto a file" "$TMP/mk2.log" "'$TMP/afile' exists and is not a directory"
"$T6" --export-hf "$TMP/nothere.h5" "$TMP/x" >"$TMP/nock.log" 2>&1; rc=$?
fails "--export-hf of a missing checkpoint" "$TMP/nock.log" "$TMP/nothere.h5"
"$T6" --export-hf "$CKPT" "$TMP/x" --dtype fp16 >"$TMP/dt.log" 2>&1; rc=$?
fails "--dtype fp16" "$TMP/dt.log" "--dtype fp16" "fp32, bf16"
"$T6" --export-hf "$CKPT" >"$TMP/one.log" 2>&1; rc=$?
fails "--export-hf with one argument" "$TMP/one.log" "CKPT DIR"

# an export that fails midway over a previous export leaves that export whole: the files
# are staged as DIR/.t6-export-partial.* and renamed into place only once all are
# written. Here the tokenizer copy fails on its second file (vocab.bpe is a folder)
# after a first file that differs from the previous export's; the export used to write
# in place: vocab.json replaced, merges.txt truncated
"$T6" --export-hf "$CKPT" "$TMP/prev" --vocab "$VOCAB" >/dev/null 2>&1 || bad "export with tokenizer files"
( cd "$TMP/prev" && cksum config.json model.safetensors vocab.json merges.txt ) >"$TMP/prev.sum"
mkdir -p "$TMP/vb/vocab.bpe"; printf '{"other": 0}\n' >"$TMP/vb/encoder.json"
: >"$TMP/prev/.t6-export-partial.model.safetensors.tmp.1"   # what a killed export leaves
"$T6" --export-hf "$CKPT" "$TMP/prev" --vocab "$TMP/vb" --dtype bf16 >"$TMP/prev.log" 2>&1; rc=$?
fails "export failing midway over a previous export" "$TMP/prev.log" "$TMP/vb/vocab.bpe"
expect_eq "export failing midway: the previous export's four files unchanged" \
    "$(cd "$TMP/prev" && cksum config.json model.safetensors vocab.json merges.txt)" "$(cat "$TMP/prev.sum")"
expect_eq "export failing midway: no staged file left" "$(ls -A "$TMP/prev" | grep -c t6-export-partial)" 0
# a successful rerun replaces the export: a bf16 one now, no leftovers
"$T6" --export-hf "$CKPT" "$TMP/prev" --vocab "$VOCAB" --dtype bf16 >/dev/null 2>&1
expect_eq "rerun export into the directory: exit 0" "$?" 0
expect_grep "rerun export: the new config.json" '"torch_dtype": "bfloat16"' "$TMP/prev/config.json"
expect_eq "rerun export: the directory holds the four files only" "$(ls -A "$TMP/prev" | tr '\n' ' ')" \
    "config.json merges.txt model.safetensors vocab.json "
finish
