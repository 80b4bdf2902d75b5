#!/bin/sh
# tpa-qkv-emu.sh -- kernels/tpa_qkv.cu (the fused TPA kernels tpa_qkv_fwd / tpa_qkv_bwd)
# without a GPU: tools/mma-emu/qkv-run.sh builds the kernels for the host over the
# emulator's threads, block barrier and shared memory and checks Q, K, V and the
# gradient of the fused rows against a double reference (bf16 vector and generic
# kernels, fp32), with NaN pad columns that must not be read and gradient pads that
# must be kept; the v2 warp-per-token kernels likewise on the shapes they take, with their
# Q, K, V bitwise equal to v1's. Fails on a wrong shared-memory index, barrier or rotation. Runs in
# every build (no CUDA needed).
set -u
S=${T6_SRCDIR:?T6_SRCDIR not set (run through make check)}
for tool in python3 "${CXX:-g++}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found (needed to build the emulated kernels)"; exit 77; }
done
exec sh "$S/tools/mma-emu/qkv-run.sh"
