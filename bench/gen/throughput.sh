#!/bin/sh
# throughput.sh -- end-to-end generation throughput (issue 12 item 7): `t6` job generate
# with untrained weights (generate.source = "init": the speed does not depend on what
# the weights are), a prompt of PROMPT random token ids per row, NEW generated tokens,
# batch sizes BATCHES, for the decks DECKS (T6 vs the same size with MHA). Prints one
# line per run: deck, batch, prefill tokens/s, decode tokens/s, KV cache bytes (the
# peak: allocated once). Not run by make check.
#
#   bench/gen/throughput.sh                       # CPU: small sizes, a quick look
#   DEVICE=cuda PROMPT=4096 NEW=256 BATCHES="1 64" \
#     DECKS="t6_small mha_small t6_medium mha_medium" bench/gen/throughput.sh   # the H200 setting
set -e
T6_SRCDIR=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T6=${T6:-$T6_SRCDIR/t6}
DEVICE=${DEVICE:-cpu}
PRECISION=${PRECISION:-$([ "$DEVICE" = cuda ] && echo bf16 || echo fp32)}
PROMPT=${PROMPT:-256}
NEW=${NEW:-32}
BATCHES=${BATCHES:-"1 8"}
DECKS=${DECKS:-"t6_small mha_small"}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t6-gen-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
printf '%-12s %6s %8s %16s %16s %16s\n' deck batch prompt "prefill tok/s" "decode tok/s" "KV cache bytes"
for B in $BATCHES; do
    # B rows of PROMPT random ids below 50257 (one prompt per line)
    awk -v b="$B" -v n="$PROMPT" 'BEGIN { srand(12); for (r = 0; r < b; r++) { s = "";
        for (i = 0; i < n; i++) s = s (i ? " " : "") int(rand() * 50257); print s } }' >"$TMP/prompts.txt"
    for deck in $DECKS; do
        "$T6" "$T6_SRCDIR/input/$deck.cfg" --set job=generate --set generate.source=init \
            --set generate.tokenizer=ids --set generate.eot_token=-1 --set generate.prompt_file="$TMP/prompts.txt" \
            --set generate.max_new_tokens="$NEW" --set generate.batch_size="$B" --set generate.temperature=0 \
            --set model.block_size=$((PROMPT + NEW)) --set train.seq_len=$((PROMPT + NEW)) --set backend.device="$DEVICE" --set backend.precision="$PRECISION" \
            --set output.run_dir="$TMP/run" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; exit 1; }
        pre=$(sed -n 's/^generate: prefill .*(\([0-9.]*\) tokens\/s)$/\1/p' "$TMP/err")
        dec=$(sed -n 's/^generate: decode .*(\([0-9.]*\) tokens\/s, batch.*/\1/p' "$TMP/err")
        kvb=$(sed -n 's/^generate: KV cache \([0-9]*\) bytes.*/\1/p' "$TMP/err")
        printf '%-12s %6s %8s %16s %16s %16s\n' "$deck" "$B" "$PROMPT" "$pre" "$dec" "$kvb"
    done
done
