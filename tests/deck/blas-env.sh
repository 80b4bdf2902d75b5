#!/bin/sh
# blas-env.sh -- issue 10 item 10: on a CPU the installed OpenBLAS does not know (it
# falls back to its slow generic "Prescott" kernels), t6 sets OPENBLAS_CORETYPE to
# the AVX2 / AVX-512 kernels and re-executes itself once, quietly; an
# OPENBLAS_CORETYPE the user set is kept. T6_TEST_OPENBLAS_CORENAME pretends the
# library reported Prescott, so this runs on any AVX2 machine.
. "$(dirname "$0")/common.sh"
"$T6" --version | grep -q "blas=yes" || { echo "SKIP: built without OpenBLAS"; exit 77; }
grep -qw avx2 /proc/cpuinfo 2>/dev/null || { echo "SKIP: CPU without AVX2 (no faster kernels to pick)"; exit 77; }
want=Haswell
grep -qw avx512f /proc/cpuinfo && want=SkylakeX

env -u OPENBLAS_CORETYPE T6_TEST_OPENBLAS_CORENAME=Prescott "$T6" --version >"$TMP/out" 2>"$TMP/err"
expect_eq "generic kernels detected: re-executed with the fast ones" "$(tail -1 "$TMP/out")" \
    "blas kernels: $want (OPENBLAS_CORETYPE=$want)"
expect_eq "quiet" "$(cat "$TMP/err")" ""
env -u OPENBLAS_CORETYPE T6_TEST_OPENBLAS_CORENAME=Prescott "$T6" --check "$INPUT/demo.cfg" >/dev/null 2>"$TMP/err"
expect_eq "no OpenBLAS warning on a --check run" "$(grep -c OpenBLAS "$TMP/err")" 0
OPENBLAS_CORETYPE=Prescott "$T6" --version >"$TMP/out" 2>&1
expect_eq "the user's OPENBLAS_CORETYPE is kept" "$(tail -1 "$TMP/out")" "blas kernels: Prescott (OPENBLAS_CORETYPE=Prescott)"
finish
