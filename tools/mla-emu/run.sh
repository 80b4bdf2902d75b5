#!/bin/sh
# tools/mla-emu/run.sh -- check the MLA kernels of kernels/mla_split.cu (mla_split,
# mla_join) and kernels/mla.cu (rmsnorm_w's two-pass weight gradient, the 16-byte
# copy_rows path) on a machine without a GPU: extract.py cuts the kernels out, they are
# built for the host with mla_emu_check.cpp (C++20: std::barrier) and run against the
# ops' definitions. Not part of make check (a minute of CPU, thousands of threads); run
# it after editing those kernels, before the GPU's gpu_check. Exit 0 when all pass.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/t6-mla-emu.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$here/extract.py" "$top/kernels/mla.cu" "$top/kernels/mla_split.cu" "$work/kern.inc"
${CXX:-g++} -O1 -std=c++20 -ffp-contract=off -pthread -I"$work" -o "$work/mla_emu_check" "$here/mla_emu_check.cpp"
"$work/mla_emu_check"
