#!/bin/sh
# tools/mma-emu/decode-run.sh -- check kernels/decode.cu's tensor-core decode kernel
# (split + combine, merged blocks + combine, each with and without the L2 prefetch) on a machine without
# a GPU: dec_transform.py makes a host copy of the kernels, built with the emulator
# (emu.h, dec_emu.h, emu.cpp) and dec_emu_check.cpp, run against a double reference.
#   sh tools/mma-emu/decode-run.sh [quick|all]     (default all)
# Exit 0 when every check passes. Needs python3 and g++ (C++17).
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/t6-dec-emu.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$here/dec_transform.py" "$top/kernels/decode.cu" "$work/kern.inc"
cp "$here/emu.h" "$here/dec_emu.h" "$work/"
${CXX:-g++} -O2 -fno-strict-aliasing -std=c++17 -w -I"$work" -o "$work/dec_emu_check" "$here/dec_emu_check.cpp" "$here/emu.cpp"
"$work/dec_emu_check" "${1:-all}"
