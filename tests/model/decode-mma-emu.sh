#!/bin/sh
# decode-mma-emu.sh -- kernels/decode.cu's tensor-core decode attention without a GPU:
# tools/mma-emu/decode-run.sh quick builds k_dec_mma and the combine for the host over
# the emulation of mma.sync / warp shuffles (tools/mma-emu) and checks the paper's
# shape (32 heads, dh 64) and a 34-head rank-2 cache with an empty row and a length
# past M_max against a double-precision attention, on each path: one-warp splits +
# combine and merged blocks + combine, each also with the L2 prefetch at 1, 2 and 5
# tiles, which must give the same bits as none and never name an address outside the
# cache. Fails on a wrong fragment, merge or output index, or a prefetch past a split's
# end. Runs in every build (no CUDA needed); `sh tools/mma-emu/decode-run.sh all` adds
# B=1 M=4K (the H200's grid: 29 blocks of 9 warps), a B=8-like grid, dh 16, GQA, MHA.
set -u
S=${T6_SRCDIR:?T6_SRCDIR not set (run through make check)}
for tool in python3 "${CXX:-g++}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found (needed to build the emulated kernels)"; exit 77; }
done
exec sh "$S/tools/mma-emu/decode-run.sh" quick
