#!/bin/sh
# tools/mma-emu/qkv-run.sh -- check kernels/tpa_qkv.cu (tpa_qkv_fwd / tpa_qkv_bwd) on a
# machine without a GPU: the kernels (the file up to its host launch code) are built
# for the host with the emulator (emu.h, emu.cpp) and qkv_emu_check.cpp and run against
# a double reference. Needs python3 and g++ (C++17). Exit 0 when every check passes.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/t6-qkv-emu.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 - "$top/kernels/tpa_qkv.cu" "$work/kern.inc" <<'PY'
import sys
s = open(sys.argv[1]).read()
s = s[:s.index('static qkv_dims make_dims(')]          # the kernels, not the launch code
assert '#include "cuda_common.cuh"' in s and 'extern __shared__ float4 sm4[];' in s
s = s.replace('#include "cuda_common.cuh"', '')   # qkv_emu_check.cpp has emu.h and the CUDA types
s = s.replace('extern __shared__ float4 sm4[];', 'float4 *sm4 = (float4 *)emu_smem;')
open(sys.argv[2], 'w').write(s)
PY
cp "$here/emu.h" "$work/"
${CXX:-g++} -O2 -fno-strict-aliasing -std=c++17 -w -I"$work" -o "$work/qkv_emu_check" "$here/qkv_emu_check.cpp" "$here/emu.cpp"
"$work/qkv_emu_check"
