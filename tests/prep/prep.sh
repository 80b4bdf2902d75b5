#!/bin/sh
# prep.sh -- t6-prep end to end on the shared data:
#  * FineWeb sample as Parquet and as JSONL, 1 and 2 threads: one identical token stream,
#    equal to the one the independent reference tests/prep/ref_gpt2.py computed;
#  * fineweb layout: shard 0 is val, every document starts with <|endoftext|>, shards cut
#    at exactly --shard-tokens;
#  * tinyshakespeare split like nanoGPT's prepare.py gives its published counts;
#  * Gutenberg directory, nltk zip archives, OpenWebText layouts (directory of .txt and a
#    tar of .xz-compressed tar subsets) with eot appended and a seeded val fraction.
. "$T6_SRCDIR/tests/prep/lib.sh"
need_data "$VOCAB/encoder.json" "$TXT/fineweb-10BT-legal-parquet" "$TXT/fineweb-10BT-legal-jsonl" \
    "$TXT/tinyshakespeare/input.txt" "$TXT/gutenberg" "$TXT/nltk-speeches/inaugural.zip"
set -e
P="$PREP -q --vocab $VOCAB"

# -- FineWeb: parquet == jsonl, any thread count ------------------------------------
$P -o "$WORK/pq" --name fw --layout fineweb --shard-tokens 500000 -j 2 "$TXT/fineweb-10BT-legal-parquet" >/dev/null
$P -o "$WORK/js" --name fw --layout fineweb --shard-tokens 500000 -j 1 "$TXT/fineweb-10BT-legal-jsonl" >/dev/null
ls "$WORK/pq"
[ "$(ls -A "$WORK/pq")" = "$(printf 'fw.manifest\nfw_train_000001.h5\nfw_train_000002.h5\nfw_train_000003.h5\nfw_val_000000.h5')" ] || fail "shard names"
a=$(sum "$WORK"/pq/fw_val_000000.h5 "$WORK"/pq/fw_train_*.h5)
b=$(sum "$WORK"/js/fw_val_000000.h5 "$WORK"/js/fw_train_*.h5)
echo "parquet: $a"; echo "jsonl:   $b"
[ "$a" = "$b" ] || fail "parquet and jsonl token streams differ"
# The same 1,000 documents through tests/prep/ref_gpt2.py (independent Python reference
# of tiktoken's encode_ordinary, "stream" mode over the 10 .jsonl files):
# "total 1606780 tokens 1000 documents sha256 f0446a1d...". (We count 1,003 documents:
# the 3 cut at shard boundaries start again in the next shard.)
ref="1606780 f0446a1d12106709ae0c2e85de43012f30781d796b94e43155942a52f502de9c"
[ "$(echo "$a" | cut -d' ' -f2,7)" = "$ref" ] || fail "token stream differs from the reference ($ref)"
"$SUM" "$WORK/pq/fw_val_000000.h5" | grep -q "val 500000 " || fail "val shard is not the first, full shard"
"$SUM" -n 1 "$WORK/pq/fw_val_000000.h5" | sed -n 2p | grep -qx 50256 || fail "first token is not <|endoftext|>"

# -- tinyshakespeare as nanoGPT's data/shakespeare/prepare.py: 90% / 10% by characters --
n=$(wc -c < "$TXT/tinyshakespeare/input.txt")
k=$((n * 9 / 10))
head -c "$k" "$TXT/tinyshakespeare/input.txt" > "$WORK/ts_train.txt"
tail -c +"$((k + 1))" "$TXT/tinyshakespeare/input.txt" > "$WORK/ts_val.txt"
$P -o "$WORK/ts" --name tr --eot none --val none "$WORK/ts_train.txt" >/dev/null
$P -o "$WORK/ts" --name va --eot none --val none "$WORK/ts_val.txt" >/dev/null
tr=$(sum "$WORK"/ts/tr_*.h5); va=$(sum "$WORK"/ts/va_*.h5)
echo "shakespeare train: $tr"; echo "shakespeare val: $va"
# prepare.py's published output: "train has 301,966 tokens", "val has 36,059 tokens"
case "$tr" in "total 301966 tokens"*) ;; *) fail "shakespeare train != 301,966 tokens";; esac
case "$va" in "total 36059 tokens"*) ;; *) fail "shakespeare val != 36,059 tokens";; esac

# -- Gutenberg directory: one document per file, sorted ------------------------------
$P -o "$WORK/gb" --name gb --layout fineweb --member-ext .txt "$TXT/gutenberg" >/dev/null
g=$(sum "$WORK"/gb/*.h5); echo "gutenberg: $g"
case "$g" in *" tokens 17 documents "*) ;; *) fail "gutenberg: expected 17 documents";; esac

# -- nltk zips through libarchive ----------------------------------------------------
$P -o "$WORK/zip" --name sp --layout owt --val-fraction 0 --member-ext .txt "$TXT/nltk-speeches/inaugural.zip" >/dev/null
z=$(sum "$WORK"/zip/*.h5); echo "inaugural: $z"
case "$z" in *" tokens 59 documents "*) ;; *) fail "inaugural.zip: expected 59 documents";; esac

# -- gzip JSONL (C4) and Dolma JSONL; text split on a delimiter ------------------------
if [ -d "$TXT/web-jsonl" ]; then
    $P -o "$WORK/web" --name web "$TXT"/web-jsonl/c4-sample.0*.json.gz "$TXT"/web-jsonl/cc_en_head-*.jsonl >/dev/null
    w=$(sum "$WORK"/web/*.h5); echo "web-jsonl: $w"
    case "$w" in *" tokens 50 documents "*) ;; *) fail "web-jsonl: expected 3 x 10 C4 + 2 x 10 Dolma documents";; esac
fi
if [ -f "$TXT/cs336-fixtures/tinystories_sample.txt" ]; then
    f="$TXT/cs336-fixtures/tinystories_sample.txt"
    n=$(grep -o '<|endoftext|>' "$f" | wc -l)
    # the bytes after the last delimiter (here one newline) are a document of their own
    [ "$(tail -c 13 "$f")" = "<|endoftext|>" ] || n=$((n + 1))
    $P -o "$WORK/ts2" --name st --eot suffix --val none --delimiter '<|endoftext|>' "$f" >/dev/null
    d=$(sum "$WORK"/ts2/*.h5); echo "tinystories split on <|endoftext|>: $d (expected $n documents)"
    case "$d" in *" tokens $n documents "*) ;; *) fail "delimiter split: expected $n documents";; esac
    "$SUM" -c suffix "$WORK"/ts2/*.h5 >/dev/null || fail "delimiter split: eot not appended"
fi

# -- OpenWebText layouts: directory of .txt == tar of .xz tar subsets -----------------
mkdir -p "$WORK/owt/docs"
split -l 200 -a 3 -d "$TXT/tinyshakespeare/input.txt" "$WORK/owt/docs/doc"
(cd "$WORK/owt/docs" && for f in doc*; do mv "$f" "$f.txt"; done)
(cd "$WORK/owt/docs" && ls | head -100 > ../l1 && ls | tail -n +101 > ../l2)
mkdir -p "$WORK/owt/subsets"
(cd "$WORK/owt/docs" && tar -cJf ../subsets/urlsf_subset00-1_data.xz -T ../l1 && tar -cJf ../subsets/urlsf_subset00-2_data.xz -T ../l2)
(cd "$WORK/owt" && mv subsets openwebtext && tar -cJf openwebtext.tar.xz openwebtext/urlsf_subset00-1_data.xz openwebtext/urlsf_subset00-2_data.xz)
$P -o "$WORK/o1" --name owt --layout owt --val-fraction 0.05 "$WORK/owt/docs" >/dev/null
$P -o "$WORK/o2" --name owt --layout owt --val-fraction 0.05 -j 1 "$WORK/owt/openwebtext.tar.xz" >/dev/null
ls "$WORK/o1"
for s in train val; do
    x=$(sum "$WORK"/o1/owt_${s}_*.h5); y=$(sum "$WORK"/o2/owt_${s}_*.h5)
    echo "owt $s dir: $x"; echo "owt $s tar: $y"
    [ "$x" = "$y" ] || fail "owt $s: directory and nested tar.xz inputs differ"
done
nd=$(ls "$WORK/owt/docs" | wc -l)
t=$("$SUM" "$WORK"/o1/owt_train_*.h5 | tail -1 | cut -d' ' -f4); v=$("$SUM" "$WORK"/o1/owt_val_*.h5 | tail -1 | cut -d' ' -f4)
[ $((t + v)) -eq "$nd" ] && [ "$v" -gt 0 ] && [ "$t" -gt "$v" ] || fail "owt split: $t train + $v val documents of $nd"
"$SUM" -c suffix "$WORK"/o1/owt_*.h5 >/dev/null || fail "owt: a document does not end with <|endoftext|>"
"$SUM" -c prefix "$WORK"/gb/*.h5 >/dev/null || fail "gutenberg: a document does not start with <|endoftext|>"
echo "PASS"
