#!/bin/sh
# bpe.sh -- tokenizer vectors: the 28 published ones, the hard cases (expected ids from
# the independent reference tests/prep/ref_gpt2.py), round trips and code-path agreement.
. "$T6_SRCDIR/tests/prep/lib.sh"
need_data "$VOCAB/encoder.json" "$VOCAB/test_vectors.json" "$TXT/tinyshakespeare/input.txt"
"$B/tests/prep/bpe_test" "$VOCAB" "$VOCAB/test_vectors.json" "$T6_SRCDIR/tests/prep/hard_cases.json" \
    -- "$TXT/tinyshakespeare/input.txt" "$TXT/cs336-fixtures/german.txt"
