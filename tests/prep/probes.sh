#!/bin/sh
# probes.sh -- regressions found by probing t6-prep with misused inputs (doc/prep.md
# "Bad input"); each case failed before its fix:
#  * a Parquet footer with one flipped byte that still decodes (a field header turned
#    into another type) read as a file of zero rows: silently no documents from it;
#    now "corrupt Parquet footer", also when good files come with it;
#  * a raw NUL byte in a JSONL line glued the next line onto it (a good record lost,
#    later line numbers off by one); now that line alone is skipped, named;
#  * a UTF-8 BOM before the first JSONL line made it a skipped "invalid JSON" record;
#  * empty option values ("--val-fraction ''", "--seed ''", "--min-shard-tokens ''")
#    were taken as 0, a negative --seed wrapped around;
#  * the summary left out the tokens of a runt tail merged into the last shard;
#  * a damaged byte in a Parquet page that carries a CRC32 (PageHeader.crc, written by
#    parquet-mr / Spark by default) read as other text; now the checksum is checked;
#  * "t6-prep -o data/out --force data" read the shards and manifest of the previous
#    run back as text documents into the new corpus.
. "$T6_SRCDIR/tests/prep/lib.sh"
PQ="$TXT/fineweb-10BT-legal-parquet/batch_000001.parquet"
PQ2="$TXT/fineweb-10BT-legal-parquet/batch_000002.parquet"
JS="$TXT/fineweb-10BT-legal-jsonl/batch_000001.jsonl"
need_data "$VOCAB/encoder.json" "$PQ" "$PQ2" "$JS"
P="$PREP -q --vocab $VOCAB --val none"

# -- Parquet footer: num_rows' field header 0x16 (i64, +1) -> 0x17 (double) -----------
size=$(wc -c < "$PQ")
mlen=$(od -An -tu4 -j $((size - 8)) -N4 "$PQ" | tr -d ' ')
at=$((size - 8 - mlen + 190))   # batch_000001.parquet (pinned by SHA256SUMS): field 3
[ "$(od -An -tx1 -j $at -N1 "$PQ" | tr -d ' ')" = 16 ] || fail "the test file changed (byte $at is not 0x16)"
cp "$PQ" "$WORK/flip.parquet"
printf '\027' | dd of="$WORK/flip.parquet" bs=1 seek=$at conv=notrunc 2>/dev/null
expect_fail "flip.parquet': corrupt Parquet footer" $P -o "$WORK/p1" "$PQ2" "$WORK/flip.parquet"
[ -z "$(ls -A "$WORK/p1")" ] || fail "output left by a failed run"

# -- Parquet page checksums: one changed digit in uncompressed page data ---------------------
seq 1 300 | sed 's/^/document number /' > "$WORK/rows.txt"
"$B/tests/prep/mkparquet" "$WORK/rows.txt" "$WORK/crc.parquet" "$WORK/crc.jsonl" --codec none --crc || fail mkparquet
$P -o "$WORK/c0" "$WORK/crc.parquet" > /dev/null || fail "a Parquet file with page CRCs"
[ "$(sum "$WORK"/c0/*.h5 | cut -d' ' -f4)" = 300 ] || fail "the CRC file does not give its 300 documents"
at=$(grep -obUa "document number 150" "$WORK/crc.parquet" | head -1 | cut -d: -f1)
[ -n "$at" ] || fail "'document number 150' not found in the page data"
printf 9 | dd of="$WORK/crc.parquet" bs=1 seek=$((at + 18)) conv=notrunc 2>/dev/null
expect_fail "page checksum (CRC32) mismatch" $P -o "$WORK/c1" "$WORK/crc.parquet"
, a BOM, CRLF ---------------------------------------------------
head -4 "$JS" > "$WORK/four.jsonl"
$P --eot none -o "$WORK/j0" "$WORK/four.jsonl" > /dev/null || fail "good JSONL"
good=$(sum "$WORK"/j0/*.h5 | cut -d' ' -f2-)
{ head -2 "$JS"; printf '{"text": "a\000b"}\n'; sed -n 3,4p "$JS"; } > "$WORK/nul.jsonl"
$P --eot none -o "$WORK/j1" "$WORK/nul.jsonl" > "$WORK/log" 2>&1 || { cat "$WORK/log"; fail "NUL line run"; }
grep -q "nul.jsonl': line 3: NUL byte in the line" "$WORK/log" || { cat "$WORK/log"; fail "NUL line not named as line 3"; }
grep -q "skipped 1 record" "$WORK/log" || fail "more than the NUL line skipped"
[ "$(sum "$WORK"/j1/*.h5 | cut -d' ' -f2-)" = "$good" ] || fail "the lines around the NUL line were not all read"
{ printf '\357\273\277'; cat "$WORK/four.jsonl"; } | sed 's/$/\r/' > "$WORK/bom.jsonl"
$P --eot none -o "$WORK/j2" "$WORK/bom.jsonl" > "$WORK/log" 2>&1 || { cat "$WORK/log"; fail "BOM run"; }
grep -q skipped "$WORK/log" && { cat "$WORK/log"; fail "BOM + CRLF: a record was skipped"; }
[ "$(sum "$WORK"/j2/*.h5 | cut -d' ' -f2-)" = "$good" ] || fail "BOM + CRLF changed the tokens"
echo "ok: JSONL with NUL byte / BOM / CRLF"

# -- option values ------------------------------------------------------------------------
expect_fail "--val-fraction '' is not a number" $P -o "$WORK/x" --val-fraction '' "$JS"
expect_fail "--seed '' is not an integer" $P -o "$WORK/x" --seed '' "$JS"
expect_fail "--seed '-5' is not an integer" $P -o "$WORK/x" --seed -5 "$JS"
expect_fail "--min-shard-tokens '' is not a number" $P -o "$WORK/x" --min-shard-tokens '' "$JS"
expect_fail "--shard-tokens '1.5' is not a whole count" $P -o "$WORK/x" --shard-tokens 1.5 "$JS"
expect_fail "--name '' is empty" $P -o "$WORK/x" --name '' "$JS"
expect_fail "--name '.x' starts with" $P -o "$WORK/x" --name .x "$JS"

# -- the summary counts a runt tail merged into the last shard ------------------------------
$P --eot none --shard-tokens 1000 -o "$WORK/r" "$WORK/four.jsonl" > "$WORK/log" || fail "runt run"
total=$(sum "$WORK"/r/*.h5 | cut -d' ' -f2)
grep -q "documents, $(echo "$total" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') tokens" "$WORK/log" ||
    { cat "$WORK/log"; fail "summary does not say $total tokens"; }
echo "ok: summary counts every token ($total)"

# -- an input directory that holds -o -------------------------------------------------------
mkdir -p "$WORK/in" && cp "$WORK/four.jsonl" "$WORK/in/"
$P --eot none -o "$WORK/in/out" "$WORK/in" > /dev/null || fail "first run into the input directory"
$P --eot none -o "$WORK/in/out" --force "$WORK/in" > "$WORK/log" 2>&1 || { cat "$WORK/log"; fail "rerun"; }
grep -q "not reading '.*/in/out': it is the output directory" "$WORK/log" || { cat "$WORK/log"; fail "no note"; }
[ "$(sum "$WORK"/in/out/*.h5 | cut -d' ' -f2-)" = "$good" ] || fail "the rerun read the old output back as input"
expect_fail "is the output directory" $P -o "$WORK/in/out" --force "$WORK/in/out"
echo "PASS"
