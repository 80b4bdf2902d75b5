#!/bin/sh
# decode-mma-emu.sh -- kernels/decode.cu's tensor-core decode attention without a GPU:
# tools/mma-emu/decode-run.sh quick builds k_dec_mma and the combine for the host over
# the emulation of mma.sync / warp shuffles (tools/mma-emu) and checks the paper's
# shape (32 heads, dh 64) and a 34-head rank-2 cache with an empty row and a length
# past M_max against a double-precision attention, on each path: one-warp splits +
# combine, merged blocks + combine, the one-launch path (T6_DECODE_ONE: the block
# writes the output), which must also equal its own partial through the combine bit
# for bit, and the cooperative combine (T6_DECODE_COOP: the grid's blocks run at once,
# at different speeds, and combine their row after a per-row barrier; two calls).
# Fails on a wrong fragment, merge, slice or output index, or a missing wait. Runs in
# every build (no CUDA needed); `sh tools/mma-emu/decode-run.sh all` adds B=1 M=4K
# (the H200's grid: 29 blocks of 9 warps), dh 16, GQA, MHA.
set -u
S=${T6_SRCDIR:?T6_SRCDIR not set (run through make check)}
for tool in python3 "${CXX:-g++}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found (needed to build the emulated kernels)"; exit 77; }
done
exec sh "$S/tools/mma-emu/decode-run.sh" quick
