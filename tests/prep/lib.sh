# lib.sh -- shared helpers of the tests/prep/*.sh scripts (sourced).
B="${T6_BUILDDIR:-.}"
PREP="$B/t6-prep"
SUM="$B/tests/prep/corpus_sum"
VOCAB="$T6_DATA/gpt2"
TXT="$T6_DATA/text"
need_data() {
    for p in "$@"; do
        [ -e "$p" ] || { echo "SKIP: T6_DATA missing ($p)"; exit 77; }
    done
}
fail() { echo "FAIL: $*"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/t6-prep-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# expect_fail NEEDLE CMD...: CMD must exit non-zero and print NEEDLE
expect_fail() {
    needle=$1; shift
    if "$@" >"$WORK/out" 2>&1; then cat "$WORK/out"; fail "expected failure: $*"; fi
    grep -F -q -- "$needle" "$WORK/out" || { cat "$WORK/out"; fail "message lacks '$needle': $*"; }
    echo "ok (fails as documented): $(grep -F -- "$needle" "$WORK/out" | head -1)"
}
# sum FILES...: "total N tokens D documents sha256 H" line
sum() { "$SUM" "$@" | tail -1; }
