#!/bin/sh
# tools/mma-emu/rms-run.sh -- kernels/rmsnorm.cu's bf16 vector kernels (RMSNorm forward,
# forward fused with the residual add, backward) on the host emulator against double
# references, no GPU needed: rms_transform.py cuts the kernels out, they are built with
# emu.h/emu.cpp and rms_emu_check.cpp. Seconds. Needs python3 and g++ (C++17).
# Exit 0 when every check passes.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/t6-rms-emu.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$here/rms_transform.py" "$top/kernels/rmsnorm.cu" "$work/kern_rms.inc"
cp "$here/emu.h" "$here/rms_emu.h" "$work/"
${CXX:-g++} -O2 -fno-strict-aliasing -std=c++17 -w -I"$work" -o "$work/rms_emu_check" "$here/rms_emu_check.cpp" "$here/emu.cpp"
"$work/rms_emu_check"
