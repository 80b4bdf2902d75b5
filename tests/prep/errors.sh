#!/bin/sh
# errors.sh -- bad input gives the documented errors (doc/prep.md) or counted skips,
# and a failed run leaves no file under a final shard name (and no temporary file).
. "$T6_SRCDIR/tests/prep/lib.sh"
need_data "$VOCAB/encoder.json" "$TXT/fineweb-10BT-legal-parquet/batch_000001.parquet" \
    "$TXT/fineweb-10BT-legal-jsonl/batch_000001.jsonl"
P="$PREP -q --vocab $VOCAB"
PQ="$TXT/fineweb-10BT-legal-parquet/batch_000001.parquet"
JS="$TXT/fineweb-10BT-legal-jsonl/batch_000001.jsonl"
no_output() { # no shard and no temporary file may remain in $1
    [ -z "$(ls "$1" 2>/dev/null | grep -v '^keep')" ] || { ls -l "$1"; fail "output left in $1"; }
}

# truncated parquet (an interrupted download): clear error, nothing written
head -c 100000 "$PQ" > "$WORK/trunc.parquet"
expect_fail "truncated or corrupt Parquet file" $P -o "$WORK/o1" "$WORK/trunc.parquet"
no_output "$WORK/o1"
# a good file then a truncated one: the open shard is removed, nothing half-written stays
expect_fail "truncated or corrupt Parquet file" $P -o "$WORK/o2" "$PQ" "$WORK/trunc.parquet"
no_output "$WORK/o2"
# corrupt footer inside an intact frame (the last 20 bytes of the thrift metadata)
cp "$PQ" "$WORK/corrupt.parquet"; size=$(wc -c < "$PQ")
head -c 20 /dev/zero | tr '\000' '\377' | dd of="$WORK/corrupt.parquet" bs=1 seek=$((size - 28)) conv=notrunc 2>/dev/null
expect_fail "corrupt Parquet footer" $P -o "$WORK/o3" "$WORK/corrupt.parquet"
no_output "$WORK/o3"
# wrong column
expect_fail "no column 'body'" $P -o "$WORK/o4" --field body "$PQ"
# empty files
: > "$WORK/empty.parquet"; : > "$WORK/empty.txt"; : > "$WORK/empty.jsonl"
expect_fail "empty file (0 bytes), not a Parquet file" $P -o "$WORK/o5" "$WORK/empty.parquet"
# an empty text file is a counted skip; an input that gives no tokens at all is an error
expect_fail "gave no tokens: all 1 record(s) were skipped" $P -o "$WORK/o6" "$WORK/empty.txt"
grep -q "empty file" "$WORK/out" || fail "the empty file is not named"
no_output "$WORK/o6"
echo "hello world" > "$WORK/hello.txt"
$P -o "$WORK/o6b" "$WORK/empty.txt" "$WORK/hello.txt" > "$WORK/log" 2>&1 || fail "an empty file among good ones should be a counted skip"
grep -q "empty file" "$WORK/log" || { cat "$WORK/log"; fail "empty text file not reported"; }
# bad JSON line and missing field: counted skips, reported; --strict makes them errors
head -5 "$JS" > "$WORK/bad.jsonl"
echo '{"text": "unterminated' >> "$WORK/bad.jsonl"
echo '{"id": 7, "url": "no text field"}' >> "$WORK/bad.jsonl"
echo '{"text": 42}' >> "$WORK/bad.jsonl"
tail -3 "$JS" >> "$WORK/bad.jsonl"
$P -o "$WORK/o7" "$WORK/bad.jsonl" > "$WORK/log" 2>&1 || { cat "$WORK/log"; fail "bad lines should be counted skips"; }
cat "$WORK/log"
grep -q "skipped 3 record" "$WORK/log" || fail "skips not counted"
grep -q "bad.jsonl': line 6: invalid JSON" "$WORK/log" || fail "bad JSON line not named"
grep -q "line 7: missing field 'text'" "$WORK/log" || fail "missing field not named"
grep -q "line 8: field 'text' is not a string" "$WORK/log" || fail "non-string field not named"
"$SUM" "$WORK"/o7/*.h5 | tail -1 | grep -q " 8 documents " || fail "expected the 8 good documents"
expect_fail "line 6: invalid JSON" $P -o "$WORK/o8" --strict "$WORK/bad.jsonl"
no_output "$WORK/o8"
# truncated gzip JSONL
gzip -c "$JS" | head -c 20000 > "$WORK/trunc.jsonl.gz"
expect_fail "truncated or corrupt gzip" $P -o "$WORK/o9" "$WORK/trunc.jsonl.gz"
no_output "$WORK/o9"
# truncated xz archive
mkdir -p "$WORK/d" && cp "$JS" "$WORK/d/a.txt" && cp "$PQ" "$WORK/d/b.txt"
(cd "$WORK/d" && tar -cJf ../arch.tar.xz a.txt b.txt)
head -c 30000 "$WORK/arch.tar.xz" > "$WORK/trunc.tar.xz"
expect_fail "truncated or corrupt" $P -o "$WORK/o10" "$WORK/trunc.tar.xz"
no_output "$WORK/o10"
# invalid UTF-8: replaced and counted by default, or an error
printf 'good text \377\376 more \342\202 end\n' > "$WORK/bad8.txt"
$P -o "$WORK/o11" "$WORK/bad8.txt" > "$WORK/log" 2>&1 || fail "invalid UTF-8 should be replaced"
grep -q "1 document(s) had invalid UTF-8: 3 sequence(s) replaced" "$WORK/log" || { cat "$WORK/log"; fail "replacement not reported"; }
expect_fail "invalid UTF-8" $P -o "$WORK/o12" --invalid-utf8 error "$WORK/bad8.txt"
# unwritable output (a path under a regular file: fails for root too)
expect_fail "is not a directory" $P -o "$WORK/bad8.txt/sub" "$PQ"
# existing shards are not overwritten without --force
expect_fail "already exists" $P -o "$WORK/o7" "$WORK/bad.jsonl"
# vocabulary problems
expect_fail "encoder.json" $P -o "$WORK/o13" --vocab "$WORK" "$PQ"
echo "PASS"
