#!/bin/sh
# loglik.sh -- runs tests/eval/loglik: the evaluation's batched log-likelihoods against
# the model's cross-entropy on each request alone.
exe="${T6_BUILDDIR:-.}/tests/eval/loglik"
[ -x "$exe" ] || { echo "FAIL: $exe not built"; exit 1; }
"$exe"
