#!/bin/sh
# corpus.sh -- runs tests/prep/corpus_test (t6-corpus writer/reader round trip and
# error messages for truncated/corrupt files) in a scratch directory.
set -e
exe="${T6_BUILDDIR:-.}/tests/prep/corpus_test"
[ -x "$exe" ] || { echo "FAIL: $exe not built"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/t6-corpus-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$exe" "$dir"
