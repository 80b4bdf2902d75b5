#!/bin/sh
# arrow-bad.sh -- a truncated or damaged Arrow file, or a bad save_to_disk folder, gives
# a clear error naming the file and what is wrong (exit status 1), never a crash or a
# silent short read: the WinoGrande stream cut at several points, bytes of its framing
# and flatbuffers overwritten, bytes after the end-of-stream marker, a stream cut at a
# message boundary (legal for a stream, caught by the row count of dataset_info.json),
# a bad state.json; then tests/eval/arrowsweep damages every metadata byte and many
# prefixes of two real files.
src="${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${T6_BUILDDIR:-.}/tests/eval"
data="${T6_DATA:-$src/../shared/data}"
for p in arrowdump dumpdocs arrowsweep; do [ -x "$bin/$p" ] || { echo "FAIL: $bin/$p not built"; exit 1; }; done
wg="$data/eval/winogrande/hf-arrow/validation"
[ -f "$wg/data-00000-of-00001.arrow" ] || { echo "SKIP: T6_DATA missing ($wg)"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t6-arrow-bad.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
checks=0 failures=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }
F="$TMP/f.arrow"

# refused WHAT PROGRAM ARG MESSAGE: PROGRAM ARG exits 1 and says MESSAGE (fixed string)
refused() {
    "$2" $3 >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ "$rc" -eq 1 ] && grep -qF -- "$4" "$TMP/err"; then ok "$1"
    else bad "$1: exit $rc, wanted 1 and '$4'"; sed 's/^/   | /' "$TMP/err" | head -3; fi
}
# poke OFFSET OCTAL-BYTES: a fresh copy of the file in $F with those bytes at OFFSET
poke() {
    cp "$wg/data-00000-of-00001.arrow" "$F"; chmod u+w "$F"
    printf "$2" | dd of="$F" bs=1 seek="$1" conv=notrunc 2>/dev/null
}
cut_at() { head -c "$1" "$wg/data-00000-of-00001.arrow" >"$F"; }

: >"$F"
refused "empty file" "$bin/arrowdump" "$F" "$F: no Arrow schema message (empty file?)"
cut_at 3
refused "cut inside the first marker" "$bin/arrowdump" "$F" "$F: truncated Arrow stream: 3 bytes at byte 0 where message 1 should start"
cut_at 6
refused "cut inside the first length" "$bin/arrowdump" "$F" "$F: truncated Arrow stream: message 1 at byte 0 has no length"
cut_at 100
refused "cut inside the schema" "$bin/arrowdump" "$F" "$F: Arrow message 1 at byte 0: metadata of 536 bytes runs past the end of the file (100 bytes; truncated?)"
cut_at 2000
refused "cut inside the first batch's body" "$bin/arrowdump" "$F" "$F: Arrow message 2 (metadata at byte 552): a body of 129416 bytes runs past the end of the file (2000 bytes; truncated?)"
cut_at 165400
refused "cut inside the last batch's body" "$bin/arrowdump" "$F" "runs past the end of the file (165400 bytes; truncated?)"
poke 4 '\377\377\377\177'
refused "metadata length too large" "$bin/arrowdump" "$F" "$F: Arrow message 1 at byte 0: metadata of 2147483647 bytes runs past the end of the file"
poke 8 '\377\377'
refused "flatbuffer root offset outside" "$bin/arrowdump" "$F" "$F: Arrow message 1 (metadata at byte 8): Message table offset 65535 is outside the 536-byte metadata"
poke 0 '\001\000\000\000'
refused "old framing with a 1-byte metadata" "$bin/arrowdump" "$F" "$F: Arrow message 1 (metadata at byte 4): metadata of 1 bytes is too short for a flatbuffer"
cp "$wg/data-00000-of-00001.arrow" "$F"; chmod u+w "$F"; printf 'xx' >>"$F"
refused "bytes after the end-of-stream marker" "$bin/arrowdump" "$F" "$F: 2 bytes after the Arrow end-of-stream marker at byte 165496"

# a stream may end at a message boundary without its marker: the reader takes the rows
# it has, and the evaluation catches the short split by dataset_info.json's row count
mkdir -p "$TMP/ev/winogrande/hf-arrow/validation"
V="$TMP/ev/winogrande/hf-arrow/validation"
cp "$wg/state.json" "$wg/dataset_info.json" "$V/"
head -c 130312 "$wg/data-00000-of-00001.arrow" >"$V/data-00000-of-00001.arrow"
n=$("$bin/arrowdump" "$V/data-00000-of-00001.arrow" | wc -l)
[ "$n" -eq 1000 ] && ok "stream cut after batch 1 reads its 1000 rows" || bad "stream cut after batch 1: $n rows"
refused "short split refused by its row count" "$bin/dumpdocs" "$TMP/ev winogrande" "$V/data-00000-of-00001.arrow: the Arrow files hold 1000 rows but $V/dataset_info.json gives the validation split 1267 (a truncated file?)"
head -c 165496 "$wg/data-00000-of-00001.arrow" >"$V/data-00000-of-00001.arrow"
"$bin/dumpdocs" "$TMP/ev" winogrande >/dev/null 2>"$TMP/err" && ok "whole split without the end-of-stream marker is read" \
    || bad "no end-of-stream marker: $(cat "$TMP/err")"
# the evaluation names the .arrow file for a damaged one
head -c 2000 "$wg/data-00000-of-00001.arrow" >"$V/data-00000-of-00001.arrow"
refused "damaged .arrow named by the evaluation" "$bin/dumpdocs" "$TMP/ev winogrande" "$V/data-00000-of-00001.arrow: Arrow message 2"
cp "$wg/data-00000-of-00001.arrow" "$V/"
# state.json
echo '{"_split": "validation"}' >"$V/state.json"
refused "state.json without _data_files" "$bin/dumpdocs" "$TMP/ev winogrande" "$V/state.json: \"_data_files\" missing or empty"
echo '{"_data_files": [{"filename": "../x.arrow"}]}' >"$V/state.json"
refused "a data file outside the folder" "$bin/dumpdocs" "$TMP/ev winogrande" "$V/state.json: \"_data_files\"[0].filename missing or not a plain file name"
echo '{"_data_files": [{"filename": "data-00001-of-00002.arrow"}]}' >"$V/state.json"
refused "a listed file that is missing" "$bin/dumpdocs" "$TMP/ev winogrande" "$V/data-00001-of-00002.arrow: cannot open"
echo '{"_data_files": [' >"$V/state.json"
refused "state.json not JSON" "$bin/dumpdocs" "$TMP/ev winogrande" "$V/state.json:"

for t in winogrande arc_challenge; do
    if "$bin/arrowsweep" "$data/eval/$t/hf-arrow/validation/data-00000-of-00001.arrow" >"$TMP/sweep" 2>&1; then
        ok "$(tail -1 "$TMP/sweep")"
    else bad "damaged copies of $t"; head -5 "$TMP/sweep"; fi
done

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
