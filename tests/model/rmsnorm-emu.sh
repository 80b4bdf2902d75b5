#!/bin/sh
# rmsnorm-emu.sh -- kernels/rmsnorm.cu's bf16 vector kernels without a GPU:
# tools/mma-emu/rms-run.sh builds k_rmsnorm_fwd8 (with and without the fused residual
# add) and k_rmsnorm_bwd8 for the host over the emulation of warp shuffles
# (tools/mma-emu) and checks them against double references for every vectors-per-lane
# count (d = 8 .. 2048) with NaN-poisoned outputs and a guard row past N. Fails on a
# wrong lane/vector index, a row written twice or not at all, or a fused add that is not
# the stored bf16 sum. Runs in every build (no CUDA needed); gpu_check does the same on
# the GPU against the CPU backend.
set -u
S=${T6_SRCDIR:?T6_SRCDIR not set (run through make check)}
for tool in python3 "${CXX:-g++}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found (needed to build the emulated kernels)"; exit 77; }
done
exec sh "$S/tools/mma-emu/rms-run.sh"
