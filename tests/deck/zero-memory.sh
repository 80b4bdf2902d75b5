#!/bin/sh
# zero-memory.sh -- `t6 --check --ranks N`: bytes per rank of weights, gradients and
# AdamW state with train.zero 0 and 1, and the communication per step, for the paper's
# four sizes, against figures computed here from the parameter counts of
# tests/deck/param-counts.sh (the paper decks run on cuda bf16: fp32 master + bf16
# compute copy = 6 bytes, gradient 4, moments 8 per parameter, the moments of ZeRO-1
# for the largest shard ceil(N / ranks); ring collectives move (ranks-1) x shard x 4
# bytes per reduce-scatter or all-gather, two of them per step either way).
. "$(dirname "$0")/common.sh"
line() { sed -n "s/^$1: //p" | cut -d' ' -f1; }
while read -r deck n ranks; do
    out=$("$T6" --check "$INPUT/$deck" --ranks "$ranks" 2>&1) || { bad "$deck --ranks $ranks: $out"; continue; }
    shard=$(((n + ranks - 1) / ranks))
    get() { printf '%s\n' "$out" | line "$1"; }
    expect_eq "$deck x $ranks: parameters" "$(get parameters)" "$n"
    expect_eq "$deck x $ranks: weights" "$(get 'weights bytes per rank')" "$((6 * n))"
    expect_eq "$deck x $ranks: gradients" "$(get 'gradient bytes per rank')" "$((4 * n))"
    expect_eq "$deck x $ranks: moments zero 0" "$(get 'optimizer bytes per rank, zero 0')" "$((8 * n))"
    expect_eq "$deck x $ranks: moments zero 1" "$(get 'optimizer bytes per rank, zero 1')" "$((8 * shard))"
    expect_eq "$deck x $ranks: state zero 0" "$(get 'training state bytes per rank, zero 0')" "$((18 * n))"
    expect_eq "$deck x $ranks: state zero 1" "$(get 'training state bytes per rank, zero 1')" "$((10 * n + 8 * shard))"
    expect_eq "$deck x $ranks: all-reduce bytes" "$(get 'communication bytes per rank per step, zero 0')" \
        "$((2 * 4 * (ranks - 1) * shard))"
    expect_eq "$deck x $ranks: reduce-scatter + all-gather bytes" \
        "$(get 'communication bytes per rank per step, zero 1')" "$((2 * 4 * (ranks - 1) * shard))"
done <<'LIST'
t6_small.cfg 124342272 1
t6_small.cfg 124342272 4
t6_medium.cfg 353992704 8
t6_large.cfg 773698560 8
t6_xl.cfg 1555814400 8
t6_xl.cfg 1555814400 16
LIST
# the CPU backend computes on the fp32 master itself: no compute copy
out=$("$T6" --check "$INPUT/demo.cfg" --ranks 3)
n=$(printf '%s\n' "$out" | line parameters)
expect_eq "demo (cpu fp32): weights are the master alone" "$(printf '%s\n' "$out" | line 'weights bytes per rank')" "$((4 * n))"
expect_eq "demo x 3: moments of a shard of ceil(n/3)" \
    "$(printf '%s\n' "$out" | line 'optimizer bytes per rank, zero 1')" "$((8 * ((n + 2) / 3)))"
# the per-rank memory estimate counts the moments a rank holds: all of them with zero 0,
# its shard's (the first ranks' ceil(n/3)) with zero 1 -- for every recompute mode
tot() { printf '%s\n' "$1" | sed -n "s/^memory estimate bytes, recompute $2: .* total //p"; }
out1=$("$T6" --check "$INPUT/demo.cfg" --ranks 3 --set train.zero=1)
for rc in none attention block; do
    t0=$(tot "$out" $rc); t1=$(tot "$out1" $rc)
    expect_eq "demo x 3, recompute $rc: estimate with zero 1 holds a shard of the moments" \
        "$t1" "$((t0 - 8 * n + 8 * ((n + 2) / 3)))"
done
expect_grep_s() { printf '%s\n' "$2" | grep -qF "$3" && ok "$1" || bad "$1: no '$3'"; }
expect_grep_s "demo x 3, zero 1: the estimate says the moments are sharded" "$out1" \
    "AdamW moments (fp32 m and v of this rank's shard, train.zero = 1 over 3 rank(s))"
finish
