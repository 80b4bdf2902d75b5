# tests/deck/common.sh -- sourced by the deck tests: locates t6 and the sources and
# counts failures so that a test reports every broken case, not only the first.
T6_SRCDIR=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T6_BUILDDIR=${T6_BUILDDIR:-$(pwd)}
T6="$T6_BUILDDIR/t6"
DECKS="$T6_SRCDIR/tests/deck/decks"
INPUT="$T6_SRCDIR/input"
failures=0
checks=0
[ -x "$T6" ] || { echo "FAIL: $T6 not built"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t6-deck-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { checks=$((checks + 1)); echo "ok: $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }
# expect_eq WHAT GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1"; echo "   got:  $2"; echo "   want: $3"; fi
}
finish() {
    echo "$checks checks, $failures failed"
    [ "$checks" -gt 0 ] || exit 1
    [ "$failures" -eq 0 ]
    exit $?
}
