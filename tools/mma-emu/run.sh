#!/bin/sh
# tools/mma-emu/run.sh -- check kernels/attention_mma.cu's tensor-core attention on a
# machine without a GPU: transform.py makes a host copy of the kernels, which is built
# with the emulator (emu.h, emu.cpp) and attn_emu_check.cpp and run against a double
# reference. Not part of make check (minutes of CPU for "all"); run it after editing
# attention_mma.cu, before the GPU's gpu_check. Needs python3 and g++ (C++17).
#   sh tools/mma-emu/run.sh [quick|all]     (default all)
# -fno-strict-aliasing: the kernels read bf16 pairs through uint32_t pointers, as on
# the GPU. Exit 0 when every check passes.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/t6-mma-emu.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$here/transform.py" "$top/kernels/attention_mma.cu" "$work/kern.inc"
cp "$here/emu.h" "$work/"
${CXX:-g++} -O2 -fno-strict-aliasing -std=c++17 -w -I"$work" -o "$work/attn_emu_check" "$here/attn_emu_check.cpp" "$here/emu.cpp"
"$work/attn_emu_check" "${1:-all}"
