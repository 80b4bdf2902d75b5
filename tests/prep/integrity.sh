#!/bin/sh
# integrity.sh -- t6-prep never leaves output that looks complete but is not
# (issue 10, items 7-9; doc/prep.md "Integrity"):
#  * SIGINT mid-run: exit 130, no 100.0% and no summary, nothing in the output folder;
#  * NAME.manifest written at the end, listing every shard with tokens and sha256;
#  * --force that fails (file size limit as a stand-in for a full disk) leaves the old
#    shards and manifest byte-identical, prints one error line (no HDF5 stack, no
#    crash) and no temporary file; a 1 MB tmpfs gives ENOSPC the same way;
#  * empty input / every record without `text` -> exit != 0 with a message;
#  * fineweb layout on a small input (all tokens in val) -> a warning;
#  * -o with missing parents is created; identical input -> byte-identical files;
#  * no runt last shard: the tail joins the previous shard, same token stream;
#  * --eot none keeps empty documents in /doc_offsets;
#  * shards carry max_token and the Fletcher-32 filter.
. "$T6_SRCDIR/tests/prep/lib.sh"
PQ="$TXT/fineweb-10BT-legal-parquet"
need_data "$VOCAB/encoder.json" "$PQ" "$TXT/tinyshakespeare/input.txt"
P="$PREP --vocab $VOCAB"
SH="$TXT/tinyshakespeare/input.txt"

# -- SIGINT: stops, exit 130, nothing written -----------------------------------------
$P -o "$WORK/int" --name fw -j 2 --batch-mb 1 --progress-interval 0 --shard-tokens 100000 "$PQ" "$PQ" "$PQ" \
    > "$WORK/int.log" 2>&1 &
pid=$!
# wait until the first shard is done (a progress line past 7%), then interrupt
for i in $(seq 1 100); do
    grep -q "t6-prep: [1-9][0-9]*\.[0-9]%" "$WORK/int.log" 2>/dev/null && break
    sleep 0.1
done
kill -INT $pid
rc=0; wait $pid || rc=$?
[ "$rc" = 130 ] || { cat "$WORK/int.log"; fail "SIGINT: exit $rc, expected 130"; }
grep -q "100.0%" "$WORK/int.log" && fail "SIGINT: progress reached 100.0%"
grep -q "documents, .* tokens" "$WORK/int.log" && fail "SIGINT: the run printed its summary"
[ -z "$(ls -A "$WORK/int")" ] || { ls -lA "$WORK/int"; fail "SIGINT left files in the output folder"; }
echo "ok: SIGINT -> exit 130, output folder empty"

# -- manifest, -o parents, byte-identical output, checksum filter --------------------
$P -q -o "$WORK/a/b/c" --name fw --shard-tokens 500000 "$PQ" > /dev/null || fail "-o with missing parents"
sleep 1   # object timestamps (if any) would now differ
$P -q -j 1 -o "$WORK/d" --name fw --shard-tokens 500000 "$PQ" > /dev/null || fail "second run"
M="$WORK/a/b/c/fw.manifest"
[ -f "$M" ] || fail "no manifest"
grep -qx "complete true" "$M" || fail "manifest lacks 'complete true'"
[ "$(grep -c '^shard ' "$M")" = 4 ] || { cat "$M"; fail "manifest does not list 4 shards"; }
grep '^shard ' "$M" | while read -r _ f split tok docs bytes sha; do
    [ "$(sha256sum < "$WORK/a/b/c/$f" | cut -d' ' -f1)" = "$sha" ] || fail "manifest sha256 of $f"
    [ "$(wc -c < "$WORK/a/b/c/$f")" = "$bytes" ] || fail "manifest size of $f"
    "$SUM" "$WORK/a/b/c/$f" | head -1 | grep -q " $split $tok $docs\$" || fail "manifest counts of $f"
done
for f in "$WORK"/a/b/c/*; do
    cmp "$f" "$WORK/d/$(basename "$f")" || fail "identical input gave different bytes: $(basename "$f")"
done
echo "ok: manifest checks out; two runs byte-identical"
h5dump -pH "$WORK/d/fw_train_000001.h5" > "$WORK/dump" 2>&1
grep -q FLETCHER32 "$WORK/dump" && grep -q '"max_token"' "$WORK/dump" || fail "shard without Fletcher-32 / max_token"

# -- a failing --force run (file size limit ~ full disk) leaves the old output ----------
sha_before=$(cat "$WORK"/d/* | sha256sum)
rc=0
(trap '' XFSZ; ulimit -f 300; exec $P -q -o "$WORK/d" --name fw --force --shard-tokens 500000 "$PQ") \
    > "$WORK/full.log" 2>&1 || rc=$?
cat "$WORK/full.log"
[ "$rc" = 1 ] || fail "write error: exit $rc, expected 1"
[ "$(grep -c . "$WORK/full.log")" -le 2 ] || fail "write error: more than one error line (+ hint)"
grep -q "t6-prep: error: .*File too large" "$WORK/full.log" || fail "write error not named"
grep -q "HDF5" "$WORK/full.log" && fail "raw HDF5 error text"
[ "$(cat "$WORK"/d/* | sha256sum)" = "$sha_before" ] || fail "failed --force run changed the old output"
[ "$(ls -A "$WORK/d" | grep -c tmp)" = 0 ] || { ls -lA "$WORK/d"; fail "temporary files left"; }
echo "ok: failed --force run kept the old shards"
$P -q -o "$WORK/d" --name fw --force --shard-tokens 800000 "$PQ" > /dev/null || fail "--force run"
[ "$(grep -c '^shard ' "$WORK/d/fw.manifest")" = 3 ] && [ "$(ls "$WORK/d" | grep -c h5)" = 3 ] ||
    { ls "$WORK/d"; fail "--force did not replace the old shards"; }

# -- a really full disk: a 1 MB tmpfs in a private mount namespace (unshare -rm), where
#    the machine allows one; else this part is skipped with the reason ---------------
mkdir -p "$WORK/small"
cat > "$WORK/full.sh" <<EOS
mount -t tmpfs -o size=1m tmpfs "$WORK/small" || exit 99
$P -q -o "$WORK/small/out" --name fw --shard-tokens 500000 "$PQ" > "$WORK/enospc.log" 2>&1
rc=\$?
ls -A "$WORK/small/out" > "$WORK/enospc.ls" 2>&1
exit \$rc
EOS
rc=0
if command -v unshare >/dev/null && unshare -rm true 2>/dev/null; then unshare -rm sh "$WORK/full.sh" || rc=$?
else rc=99; fi
if [ "$rc" = 99 ]; then
    echo "skip: cannot mount a small tmpfs here (no user or mount namespaces); the file size limit case above covers the code path"
else
    cat "$WORK/enospc.log"
    [ "$rc" = 1 ] || fail "full disk: exit $rc, expected 1"
    grep -q "t6-prep: error: .*No space left on device" "$WORK/enospc.log" || fail "full disk: no ENOSPC message"
    grep -q "hint: free space in" "$WORK/enospc.log" || fail "full disk: no free-space hint"
    [ "$(grep -c . "$WORK/enospc.log")" -le 2 ] && ! grep -q HDF5 "$WORK/enospc.log" || fail "full disk: more than one error line"
    [ ! -s "$WORK/enospc.ls" ] || { cat "$WORK/enospc.ls"; fail "full disk: files left in the output folder"; }
    echo "ok: full disk -> one error line, output folder empty"
fi

# -- no tokens at all is an error ----------------------------------------------------
printf '{"body": "a"}\n{"body": "b"}\n' > "$WORK/notext.jsonl"
expect_fail "gave no tokens: all 2 record(s) were skipped" $P -q -o "$WORK/e" "$WORK/notext.jsonl"
grep -q "missing field 'text'" "$WORK/out" || fail "the reason is not shown"
[ -z "$(ls -A "$WORK/e")" ] || fail "output left by an empty input"

# -- fineweb layout, small input: everything in val -> warning -------------------------
$P -q -o "$WORK/f" --name sh --layout fineweb "$SH" > /dev/null 2> "$WORK/f.log" || fail "fineweb layout run"
grep -q "warning: all .* tokens went to the val shard" "$WORK/f.log" || { cat "$WORK/f.log"; fail "no all-in-val warning"; }

# -- no runt last shard ----------------------------------------------------------------
$P -q -o "$WORK/r0" --name sh --eot none --val none --shard-tokens 112000 --min-shard-tokens 0 "$SH" > /dev/null
$P -q -o "$WORK/r1" --name sh --eot none --val none --shard-tokens 112000 "$SH" > /dev/null
n0=$(ls "$WORK"/r0/*.h5 | wc -l); n1=$(ls "$WORK"/r1/*.h5 | wc -l)
s0=$(sum "$WORK"/r0/*.h5 | cut -d" " -f2,7); s1=$(sum "$WORK"/r1/*.h5 | cut -d" " -f2,7)
last=$("$SUM" "$WORK/r0/sh_train_000003.h5" | head -1 | cut -d' ' -f3)
echo "runt: $n0 shards without merging (last $last tokens), $n1 with; $s1"
[ "$n0" = 4 ] && [ "$last" -lt 4097 ] || fail "the test input no longer ends in a runt"
[ "$n1" = 3 ] || fail "runt not merged"
[ "$s0" = "$s1" ] || fail "merging changed the token stream"
"$SUM" "$WORK/r1/sh_train_000002.h5" | head -1 | grep -q " $((112000 + last)) 1\$" ||
    fail "the merged tail is not part of the last shard's one document"

# -- --eot none keeps empty documents ------------------------------------------------------
printf 'one\n\ntwo\n\n\nthree' > "$WORK/docs.txt"
$P -q -o "$WORK/g" --name g --eot none --val none --delimiter '\n' "$WORK/docs.txt" > "$WORK/g.log"
grep -q "6 documents" "$WORK/g.log" || { cat "$WORK/g.log"; fail "summary does not count 6 documents"; }
"$SUM" "$WORK/g/g_train_000000.h5" | head -1 | grep -q " 6\$" || { "$SUM" "$WORK/g/g_train_000000.h5"; fail "the shard lost empty documents"; }
echo "PASS"
