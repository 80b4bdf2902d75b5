#!/bin/sh
# units.sh -- runs tests/eval/units (Python random stream, lm-eval string functions,
# scores and standard errors, CSV and malformed inputs, truncation; with the data folder
# the first request of every task against hand-checked strings and GPT-2 token ids).
exe="${T6_BUILDDIR:-.}/tests/eval/units"
[ -x "$exe" ] || { echo "FAIL: $exe not built"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/t6-eval-units.XXXXXX")
trap 'rm -rf "$dir"' EXIT
data="${T6_DATA:-}"
if [ -n "$data" ] && [ -d "$data/eval" ] && [ -f "$data/gpt2/encoder.json" ]; then
    "$exe" "$dir" "$data"
else
    echo "SKIP: T6_DATA missing (need \$T6_DATA/eval and \$T6_DATA/gpt2) -- running the data-free checks only"
    "$exe" "$dir" || exit 1
    exit 77
fi
