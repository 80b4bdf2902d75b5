#!/bin/sh
# set-overrides.sh -- `--set section.key=value` overrides deck keys, typed by the key
# table; bad overrides are errors with exact messages.
. "$(dirname "$0")/common.sh"
D="$INPUT/t6_small.cfg"
field() { sed -n "s/^ *$1 = \(.*\);\$/\1/p"; }   # value of a key in --print-deck output

expect_eq "int"      "$("$T6" --print-deck "$D" --set train.max_steps=123 | field max_steps)" 123
expect_eq "float"    "$("$T6" --print-deck "$D" --set optim.lr=1e-3 | field lr)" 0.001
expect_eq "int as float" "$("$T6" --print-deck "$D" --set optim.grad_clip=2 | field grad_clip)" 2.0
expect_eq "enum"     "$("$T6" --print-deck "$D" --set data.sampling=epoch | field sampling)" '"epoch"'
expect_eq "quoted string" "$("$T6" --print-deck "$D" --set 'output.run_dir="runs/x y"' | field run_dir)" '"runs/x y"'
expect_eq "plain string"  "$("$T6" --print-deck "$D" --set output.run_dir=runs/z | field run_dir)" '"runs/z"'
expect_eq "list, commas"  "$("$T6" --print-deck "$D" --set 'data.train=a.h5, b_*.h5' | field train)" '[ "a.h5", "b_*.h5" ]'
expect_eq "list, libconfig" "$("$T6" --print-deck "$D" --set 'data.val=["c.h5", "d.h5"]' | field val)" '[ "c.h5", "d.h5" ]'
expect_eq "empty list"    "$("$T6" --print-deck "$D" --set data.val= --set train.eval_interval=0 | field val)" '[]'
expect_eq "last one wins" "$("$T6" --print-deck "$D" --set train.seed=1 --set train.seed=2 | field seed)" 2
expect_eq "top-level job" "$("$T6" --print-deck "$D" --set job=eval | field job)" '"eval"'
expect_eq "64-bit int"    "$("$T6" --print-deck "$D" --set train.seed=5000000000 | field seed)" 5000000000L
expect_eq "blanks around an int" "$("$T6" --print-deck "$D" --set 'train.max_steps= 77 ' | field max_steps)" 77
expect_eq "blanks around a float" "$("$T6" --print-deck "$D" --set 'optim.lr=2e-3 ' | field lr)" 0.002
# Overrides feed the derived values and the checks.
expect_eq "size override changes the model" \
    "$("$T6" --check "$D" --set model.size=medium | sed -n 's/^parameters: //p')" 353992704
expect_eq "attention override picks the preset head count" \
    "$("$T6" --check "$D" --set model.attention=mha | sed -n 's/^parameters: //p')" 123568128
expect_eq "derived seq_len follows block_size" \
    "$("$T6" --print-deck "$INPUT/demo.cfg" --set model.block_size=32 --set train.seq_len=16 | field seq_len)" 16

# Bad overrides: exit 1 and the exact message.
badset() {
    want=$1; shift
    "$T6" --check "$D" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ $rc -eq 1 ] || bad "$*: exit status $rc, expected 1"
    expect_eq "$*" "$(head -1 "$TMP/err")" "t6: error: $want"
}
badset "--set model.n_layr=3: unknown key model.n_layr; did you mean model.n_layer? (allowed: the keys of doc/deck.md)" \
    --set model.n_layr=3
badset "--set model.n_layer=abc: model.n_layer = abc: not an integer, expected int (allowed: 1..1024)" \
    --set model.n_layer=abc
badset "--set model.n_layer=2000: model.n_layer = 2000: out of range (allowed: 1..1024)" --set model.n_layer=2000
badset "--set train.seed=18446744073709551615: train.seed = 18446744073709551615: out of range (does not fit in 64 bits), expected int (allowed: 0..9223372036854775807)" \
    --set train.seed=18446744073709551615
badset "--set train.max_steps= : train.max_steps =  : not an integer, expected int (allowed: 1..1000000000000)" --set 'train.max_steps= '
badset "--set optim.lr=fast: optim.lr = fast: not a number, expected float (allowed: > 0)" --set optim.lr=fast
badset "--set model.attention=mlp: model.attention = mlp: invalid value (allowed: tpa, tpa_kvonly, mha, mqa, gqa, mla)" \
    --set model.attention=mlp
badset "--set train.micro_batch: expected section.key=value (allowed: the keys of doc/deck.md)" --set train.micro_batch
badset "--set data.val=[1: data.val = [1: not a list: syntax error (allowed: t6-corpus HDF5 files, globs or builtin:demo-val)" \
    --set 'data.val=[1'
badset "--set data.val=[1]: data.val = [ 1 ]: element 0 has type int, expected a list of strings (allowed: t6-corpus HDF5 files, globs or builtin:demo-val)" \
    --set 'data.val=[1]'
badset "--set data.train=a.h5,,b.h5: data.train = a.h5,,b.h5: element 1 is empty (allowed: t6-corpus HDF5 files, globs or builtin names, none empty)" \
    --set 'data.train=a.h5,,b.h5'
badset "--set train.seq_len=4096: train.seq_len = 4096: larger than model.block_size = 1024 (allowed: train.seq_len <= model.block_size)" \
    --set train.seq_len=4096
badset "--set train.grad_accum=2: train.grad_accum = 2: given together with train.global_batch (allowed: either train.grad_accum or train.global_batch)" \
    --set train.grad_accum=2
badset "--set needs an argument section.key=value" --set
finish
