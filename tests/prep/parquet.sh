#!/bin/sh
# parquet.sh -- the Parquet reader on every supported variant (codec x page version x
# encoding x nullability, several pages and row groups), written by tests/prep/mkparquet;
# each must give the same tokens as the JSONL of the documents it holds.
. "$T6_SRCDIR/tests/prep/lib.sh"
need_data "$VOCAB/encoder.json" "$TXT/tinyshakespeare/input.txt"
set -e
head -3000 "$TXT/tinyshakespeare/input.txt" > "$WORK/in.txt"
i=0
for codec in none snappy gzip zstd; do
  for page in v1 v2; do
    for extra in "" "--dict" "--nulls" "--dict --nulls --rows-per-page 7 --rows-per-group 61"; do
      i=$((i + 1))
      "$B/tests/prep/mkparquet" "$WORK/in.txt" "$WORK/v$i.parquet" "$WORK/v$i.jsonl" --codec $codec --page $page $extra
      "$PREP" -q --vocab "$VOCAB" -o "$WORK/p$i" --name c --eot prefix --val none "$WORK/v$i.parquet" > "$WORK/log" 2>&1 || { cat "$WORK/log"; fail "variant $codec $page $extra"; }
      "$PREP" -q --vocab "$VOCAB" -o "$WORK/j$i" --name c --eot prefix --val none "$WORK/v$i.jsonl" >/dev/null
      a=$(sum "$WORK"/p$i/*.h5); b=$(sum "$WORK"/j$i/*.h5)
      [ "$a" = "$b" ] || fail "variant $codec $page $extra: parquet '$a' != jsonl '$b'"
      case "$extra" in *nulls*) grep -q "skipped" "$WORK/log" || fail "nulls not reported as skipped";; esac
      echo "ok: $codec $page $extra: $a"
    done
  done
done
