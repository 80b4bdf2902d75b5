#!/bin/sh
# attention-mma-emu.sh -- kernels/attention_mma.cu (the bf16 tensor-core attention)
# without a GPU: tools/mma-emu/run.sh quick builds its kernels for the host over an
# emulation of mma.sync / ldmatrix / cp.async / warp shuffles and checks three cases
# (dh 96: MLA's, the dK/dV kernel's shared-memory K/V and 32-query tiles; dh 64 with
# GQA; T not a multiple of 64) against a double-precision attention: forward, lse, and
# the two-kernel backward's dQ, dK, dV. Fails on a wrong fragment, tile, shared-memory
# index or causal skip. Runs in every build (no CUDA needed);
# the full set of head dims 64/96/128 is `sh tools/mma-emu/run.sh all` (minutes).
set -u
S=${T6_SRCDIR:?T6_SRCDIR not set (run through make check)}
for tool in python3 "${CXX:-g++}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found (needed to build the emulated kernels)"; exit 77; }
done
exec sh "$S/tools/mma-emu/run.sh" quick
