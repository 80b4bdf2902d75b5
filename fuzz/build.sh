#!/bin/sh
# fuzz/build.sh [OUTDIR] -- builds the libFuzzer targets (clang, ASan + UBSan) and seed
# corpora into OUTDIR (default $TMPDIR/t6-fuzz). Needs clang and libclang-rt-14-dev (tools/install-deps.sh --fuzz).
# Then, e.g.:  T6_VOCAB=../shared/data/gpt2 /tmp/t6-fuzz/fuzz_bpe -max_total_time=60 /tmp/t6-fuzz/seeds-bpe
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-${TMPDIR:-/tmp}/t6-fuzz}
mkdir -p "$out"
CC=${CC:-clang}
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$src/src -I$src/prep -I$src/fuzz"
libs="$(pkg-config --libs libpcre2-8 jansson libzstd zlib libarchive) -lsnappy"
common="$src/prep/bpe.c $src/prep/parquet.c $src/prep/readers.c $src/src/util.c"
for t in bpe parquet jsonl; do
    $CC $flags -o "$out/fuzz_$t" "$src/fuzz/fuzz_$t.c" $common $libs
    mkdir -p "$out/seeds-$t"
done
# seeds: text and JSONL from the repository's own fixtures, Parquet files from mkparquet
cp "$src/tests/prep/hard_cases.txt" "$out/seeds-bpe/"
printf 'hello world\n' > "$out/seeds-bpe/hello"
head -c 2000 "$src/tests/prep/hard_cases.json" > "$out/seeds-jsonl/a"
printf '{"text":"a\\u00e9\\ud83d\\ude00","id":1}\n{"text":null}\n{"x":1}\n' > "$out/seeds-jsonl/b"
gcc=${GCC:-gcc}
$gcc -O1 -I"$src/src" -I"$src/prep" -o "$out/mkparquet" "$src/tests/prep/mkparquet.c" -ljansson -lsnappy -lzstd -lz
head -40 "$src/tests/prep/hard_cases.txt" > "$out/seed.txt"
i=0
for codec in none snappy gzip zstd; do for page in v1 v2; do for extra in "" "--dict --nulls --rows-per-page 5 --rows-per-group 17"; do
    i=$((i + 1))
    "$out/mkparquet" "$out/seed.txt" "$out/seeds-parquet/s$i.parquet" /dev/null --codec $codec --page $page $extra
done; done; done
# the Arrow reader of the evaluation: seeds are the real hf-arrow files (when
# ../shared/data is there) and the streams tests/eval/mkarrow.py writes
$CC $flags -o "$out/fuzz_arrow" "$src/fuzz/fuzz_arrow.c" "$src/src/eval/arrow.c" "$src/src/util.c" $libs
mkdir -p "$out/seeds-arrow"
for f in "$src"/../shared/data/eval/*/hf-arrow/validation/*.arrow; do
    [ -f "$f" ] && cp "$f" "$out/seeds-arrow/$(basename "$(dirname "$(dirname "$(dirname "$f")")")").arrow"
done
if command -v python3 >/dev/null 2>&1; then
    python3 "$src/tests/eval/mkarrow.py" "$out/seeds-arrow" && rm -f "$out/seeds-arrow"/*.jsonl "$out/seeds-arrow"/*.msg
fi
echo "fuzz targets in $out"
