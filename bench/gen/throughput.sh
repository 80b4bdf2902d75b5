#!/bin/sh
# throughput.sh -- end-to-end generation throughput (issue 12 item 7): `t6` job generate
# with untrained weights (generate.source = "init": the speed does not depend on what
# the weights are), a prompt of PROMPT random token ids per row, NEW generated tokens,
# batch sizes BATCHES, for the decks DECKS (T6 vs the same size with MHA). Prints one
# line per run: deck, batch, prompt length, prefill tokens/s, decode tokens/s, KV cache
# bytes (allocated once), peak memory in GiB (device memory in use on CUDA, the CUDA
# context included; resident set on the CPU) and how many decode steps were CUDA graph
# replays. Not run by make check. Each run's stderr is kept in $LOGDIR when set.
#
#   bench/gen/throughput.sh                       # CPU: small sizes, a quick look
#   DEVICE=cuda PROMPT=4096 NEW=128 BATCHES="1 64" \
#     DECKS="t6_small mha_small t6_medium mha_medium" bench/gen/throughput.sh   # the H200 setting
# EXTRA: more --set arguments for every run (e.g. "--set generate.cuda_graphs=false").
# RUN_TIMEOUT: seconds per run (default 300); a run that fails or times out prints its
# line with "failed rc=N" and the last lines of its stderr, and the script goes on.
set -u
T6_SRCDIR=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T6=${T6:-$T6_SRCDIR/t6}
DEVICE=${DEVICE:-cpu}
PRECISION=${PRECISION:-$([ "$DEVICE" = cuda ] && echo bf16 || echo fp32)}
PROMPT=${PROMPT:-256}
NEW=${NEW:-32}
BATCHES=${BATCHES:-"1 8"}
DECKS=${DECKS:-"t6_small mha_small"}
EXTRA=${EXTRA:-}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t6-gen-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
status=0
printf '%-12s %5s %6s %14s %13s %15s %9s %7s\n' deck batch prompt "prefill tok/s" "decode tok/s" "KV cache bytes" \
    "peak GiB" graphed
for B in $BATCHES; do
    # B rows of PROMPT random ids below 50257 (one prompt per line)
    awk -v b="$B" -v n="$PROMPT" 'BEGIN { srand(12); for (r = 0; r < b; r++) { s = "";
        for (i = 0; i < n; i++) s = s (i ? " " : "") int(rand() * 50257); print s } }' >"$TMP/prompts.txt"
    for deck in $DECKS; do
        # shellcheck disable=SC2086
        timeout "$RUN_TIMEOUT" "$T6" "$T6_SRCDIR/input/$deck.cfg" --set job=generate --set generate.source=init \
            --set generate.tokenizer=ids --set generate.eot_token=-1 --set generate.prompt_file="$TMP/prompts.txt" \
            --set generate.max_new_tokens="$NEW" --set generate.batch_size="$B" --set generate.temperature=0 \
            --set model.block_size=$((PROMPT + NEW)) --set train.seq_len=$((PROMPT + NEW)) --set backend.device="$DEVICE" --set backend.precision="$PRECISION" \
            --set output.run_dir="$TMP/run" $EXTRA >/dev/null 2>"$TMP/err"
        rc=$?
        [ -n "${LOGDIR:-}" ] && mkdir -p "$LOGDIR" && cp "$TMP/err" "$LOGDIR/$deck-b$B.err"
        if [ $rc -ne 0 ]; then
            printf '%-12s %5s %6s failed rc=%s\n' "$deck" "$B" "$PROMPT" "$rc"
            tail -3 "$TMP/err" | sed 's/^/    /'
            status=1
            continue
        fi
        pre=$(sed -n 's/^generate: prefill .*(\([0-9.]*\) tokens\/s)$/\1/p' "$TMP/err")
        dec=$(sed -n 's/^generate: decode .*(\([0-9.]*\) tokens\/s, batch.*/\1/p' "$TMP/err")
        kvb=$(sed -n 's/^generate: KV cache \([0-9]*\) bytes.*/\1/p' "$TMP/err")
        peak=$(sed -n 's/^generate: peak .* memory [0-9]* bytes (\([0-9.]*\) GiB.*/\1/p' "$TMP/err")
        gr=$(sed -n 's/^generate: \([0-9]*\) decode steps replayed as a CUDA graph$/\1/p' "$TMP/err")
        printf '%-12s %5s %6s %14s %13s %15s %9s %7s\n' "$deck" "$B" "$PROMPT" "$pre" "$dec" "$kvb" "$peak" "${gr:-0}"
    done
done
exit $status
