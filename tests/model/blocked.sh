#!/bin/sh
# blocked.sh -- the model tests again with the hand-written matmul loops instead of
# OpenBLAS (T6_CPU_MATMUL=blocked), so the fallback of builds without BLAS stays
# correct and thread-independent in builds that have BLAS. In a build without BLAS the
# default path already is the blocked one: skip.
set -u
B=${T6_BUILDDIR:?T6_BUILDDIR not set (run through make check)}
if ! grep -q '^#define T6_HAVE_BLAS 1' "$B/config.h" 2>/dev/null; then
  echo "SKIP: this build has no BLAS, the other model tests already use the blocked loops"
  exit 77
fi
rc=0
for t in gradcheck threads identities strides recompute; do
  echo "== T6_CPU_MATMUL=blocked $t"
  T6_CPU_MATMUL=blocked "$B/tests/model/$t" || rc=1
done
exit $rc
