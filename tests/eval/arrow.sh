#!/bin/sh
# arrow.sh -- the Hugging Face Arrow files are read right (src/eval/arrow.c): every row
# and column of each */hf-arrow/validation/*.arrow equals the JSONL export beside it
# (tests/eval/arrow_compare.py); WinoGrande is read from its .arrow file by default
# and gives the same documents as from the JSONL export; PIQA read from its .arrow
# file gives the same documents as from the authors' valid.jsonl + labels.
src="${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${T6_BUILDDIR:-.}/tests/eval"
data="${T6_DATA:-$src/../shared/data}"
for p in arrowdump dumpdocs; do [ -x "$bin/$p" ] || { echo "FAIL: $bin/$p not built"; exit 1; }; done
[ -d "$data/eval/winogrande/hf-arrow/validation" ] || { echo "SKIP: T6_DATA missing ($data/eval)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found (the JSONL comparison is Python)"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t6-arrow-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
checks=0 failures=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }

if python3 "$src/tests/eval/arrow_compare.py" "$data/eval" "$bin/arrowdump"; then ok "every Arrow row equals validation.jsonl"
else bad "Arrow rows differ from validation.jsonl"; fi

# sameas WHAT DIR1 DIR2 TASK: dumpdocs gives the same documents from both eval dirs
sameas() {
    "$bin/dumpdocs" "$2" "$4" >"$TMP/a.out" 2>"$TMP/a.err" || { bad "$1: $(cat "$TMP/a.err")"; return; }
    "$bin/dumpdocs" "$3" "$4" >"$TMP/b.out" 2>"$TMP/b.err" || { bad "$1: $(cat "$TMP/b.err")"; return; }
    n=$(tr -cd '\036' <"$TMP/a.out" | wc -c)
    if [ "$n" -gt 0 ] && cmp -s "$TMP/a.out" "$TMP/b.out"; then ok "$1 ($n documents)"; else bad "$1 ($n documents)"; fi
}
wg="$data/eval/winogrande/hf-arrow"
mkdir -p "$TMP/arrow/winogrande/hf-arrow/validation" "$TMP/jsonl/winogrande/hf-arrow" \
         "$TMP/arrow/piqa/hf-arrow/validation"
for f in "$wg"/validation/*; do ln -s "$f" "$TMP/arrow/winogrande/hf-arrow/validation/"; done
ln -s "$wg/validation.jsonl" "$TMP/jsonl/winogrande/hf-arrow/validation.jsonl"
for f in "$data"/eval/piqa/hf-arrow/validation/*; do ln -s "$f" "$TMP/arrow/piqa/hf-arrow/validation/"; done
# the arrow-only folder works (nothing else to read there), and the real folder, which
# has both, gives exactly what the .arrow file gives
sameas "winogrande from .arrow = from validation.jsonl" "$TMP/arrow" "$TMP/jsonl" winogrande
sameas "winogrande by default = from .arrow" "$data/eval" "$TMP/arrow" winogrande
# with both present, the .arrow file is what is read: a broken validation.jsonl beside
# it is not even opened
mkdir -p "$TMP/both"
cp -r "$TMP/arrow/winogrande" "$TMP/both/"
echo 'not JSON' >"$TMP/both/winogrande/hf-arrow/validation.jsonl"
sameas "winogrande reads the .arrow file, not validation.jsonl" "$TMP/both" "$TMP/arrow" winogrande
sameas "piqa from .arrow = from original/valid.jsonl + labels" "$TMP/arrow" "$data/eval" piqa

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
