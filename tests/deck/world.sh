#!/bin/sh
# world.sh -- batch arithmetic of `t6 --check --ranks N`: grad_accum derived from
# global_batch, tokens per optimizer step, FLOPs per token and KV-cache figures.
. "$(dirname "$0")/common.sh"
line() { sed -n "s/^$1: //p"; }
# deck ranks -> "sequences per optimizer step" line (micro x accum x ranks)
while read -r deck ranks mb accum; do
    out=$("$T6" --check "$INPUT/$deck" --ranks "$ranks" 2>&1) || { bad "$deck --ranks $ranks: $out"; continue; }
    expect_eq "$deck on $ranks ranks" "$(printf '%s\n' "$out" | line 'sequences per optimizer step')" \
        "480 (micro_batch $mb x grad_accum $accum x ranks $ranks)"
    expect_eq "$deck tokens per step on $ranks ranks" \
        "$(printf '%s\n' "$out" | line 'tokens per optimizer step')" "491520 (x seq_len 1024)"
done <<'LIST'
t6_small.cfg 4 24 5
t6_small.cfg 1 24 20
t6_medium.cfg 8 20 3
t6_large.cfg 8 15 4
t6_xl.cfg 8 6 10
mha_medium.cfg 2 20 12
LIST
# grad_accum given: tokens = micro_batch * seq_len * grad_accum * ranks
expect_eq "demo on 3 ranks" "$("$T6" --check "$INPUT/demo.cfg" --ranks 3 | line 'tokens per optimizer step')" \
    "$((8 * 64 * 1 * 3)) (x seq_len 64)"
expect_eq "grad_accum override" \
    "$("$T6" --check "$INPUT/demo.cfg" --set train.grad_accum=4 --ranks 2 | line 'tokens per optimizer step')" \
    "$((8 * 64 * 4 * 2)) (x seq_len 64)"
# FLOPs per token = 6N + 12*L*h*dh*T
expect_eq "t6_small FLOPs per token" "$("$T6" --check "$INPUT/t6_small.cfg" | line 'FLOPs per token' | cut -d' ' -f1)" \
    "$((6 * 124342272 + 12 * 12 * 34 * 64 * 1024))"
expect_eq "mha_small FLOPs per token" "$("$T6" --check "$INPUT/mha_small.cfg" | line 'FLOPs per token' | cut -d' ' -f1)" \
    "$((6 * 123568128 + 12 * 12 * 12 * 64 * 1024))"
# KV cache: TPA (RK+RV)(h+dh) numbers, MHA 2*h*dh, MQA 2*dh, GQA 2*G*dh; bf16 = 2 bytes each
while read -r deck numbers; do
    out=$("$T6" --check "$INPUT/$deck")
    expect_eq "$deck KV numbers" "$(printf '%s\n' "$out" | line 'KV cache per token per layer' | cut -d' ' -f1)" "$numbers"
    expect_eq "$deck KV bf16 bytes" "$(printf '%s\n' "$out" | line 'KV cache bf16 bytes per token per layer')" \
        "$((2 * numbers))"
done <<'LIST'
t6_small.cfg 392
tpa_kvonly_small.cfg 344
mha_small.cfg 1536
mqa_small.cfg 128
gqa_small.cfg 256
t6_medium.cfg 444
LIST
# Indivisible batch and bad rank counts.
"$T6" --check "$INPUT/t6_small.cfg" --ranks 8 >/dev/null 2>"$TMP/err"
expect_eq "rc of an indivisible batch" "$?" 1
expect_eq "indivisible batch" "$(head -1 "$TMP/err")" \
    "t6: error: $INPUT/t6_small.cfg:$(grep -n 'global_batch =' "$INPUT/t6_small.cfg" | cut -d: -f1): train.global_batch = 480: not divisible by train.micro_batch * ranks = 24 * 8 = 192 (allowed: a multiple of 192, or a rank count dividing 20)"
"$T6" --check "$INPUT/t6_small.cfg" --ranks 0 >/dev/null 2>"$TMP/err"
expect_eq "--ranks 0" "$(head -1 "$TMP/err")" "t6: error: --ranks 0: not a rank count (allowed: 1..1000000)"
"$T6" "$INPUT/t6_small.cfg" --ranks 2 >/dev/null 2>"$TMP/err"
expect_eq "--ranks without --check" "$(head -1 "$TMP/err")" "t6: error: --ranks only applies to --check"
finish
