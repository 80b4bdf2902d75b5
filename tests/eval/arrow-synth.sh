#!/bin/sh
# arrow-synth.sh -- the Arrow reader on streams written from the format specification by
# an independent Python writer (tests/eval/mkarrow.py), for what the real data files do
# not hold: every supported column type with nulls, nested lists and structs, three
# record batches; the pre-0.15 framing, a stream without its end-of-stream marker, the
# IPC file format; and files to refuse (compressed body, dictionary encoding, big-endian,
# unsupported type, old metadata version, broken buffers, invalid UTF-8), each with its
# message checked; then damaged copies of the nested file (tests/eval/arrowsweep).
src="${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
exe="${T6_BUILDDIR:-.}/tests/eval/arrowdump"
[ -x "$exe" ] || { echo "FAIL: $exe not built"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found (the test files are written by Python)"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t6-arrow-synth.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
checks=0 failures=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }

python3 "$src/tests/eval/mkarrow.py" "$TMP" || { echo "FAIL: mkarrow.py"; exit 1; }
for v in all old noeos file; do
    if "$exe" "$TMP/$v.arrow" >"$TMP/$v.got" 2>"$TMP/$v.err" &&
       python3 "$src/tests/eval/mkarrow.py" check "$TMP/all.jsonl" "$TMP/$v.got" >"$TMP/$v.diff"; then
        ok "$v.arrow: $(wc -l <"$TMP/$v.got") rows of every type equal the written values"
    else bad "$v.arrow"; cat "$TMP/$v.err" "$TMP/$v.diff" | head -8 | sed 's/^/   | /'; fi
done
"$exe" --schema "$TMP/all.arrow" >"$TMP/schema"
grep -qF "choices: struct<text: list<utf8>, label: list<utf8>>" "$TMP/schema" &&
grep -qF "nums: large_list<int32>" "$TMP/schema" && grep -qF "u64: uint64" "$TMP/schema" &&
grep -qF "3 batches, 12 rows" "$TMP/schema" && ok "schema and batches listed" || { bad "schema"; cat "$TMP/schema"; }
for f in "$TMP"/bad-*.arrow; do
    name=$(basename "$f" .arrow)
    msg=$(cat "${f%.arrow}.msg")
    "$exe" "$f" >/dev/null 2>"$TMP/err"
    rc=$?
    if [ "$rc" -eq 1 ] && grep -qF -- "$f: " "$TMP/err" && grep -qF -- "$msg" "$TMP/err"; then ok "$name refused"
    else bad "$name: exit $rc, wanted 1 and '$f: ... $msg'"; sed 's/^/   | /' "$TMP/err"; fi
done
# every metadata byte and many prefixes of the nested, nullable file damaged: refused
# naming the file or read whole, never a crash
sweep="${T6_BUILDDIR:-.}/tests/eval/arrowsweep"
if [ -x "$sweep" ] && "$sweep" "$TMP/all.arrow" >"$TMP/sweep" 2>&1; then ok "$(tail -1 "$TMP/sweep")"
else bad "damaged copies of all.arrow"; head -5 "$TMP/sweep"; fi
echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
