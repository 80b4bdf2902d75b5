#!/bin/sh
# units.sh -- runs tests/hf/roundtrip (export -> import per attention type, fp32 bitwise,
# bf16 rounding, config mismatches) in a scratch folder.
B=${T6_BUILDDIR:-$(pwd)}
[ -x "$B/tests/hf/roundtrip" ] || { echo "FAIL: tests/hf/roundtrip not built"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t6-hf-units.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$B/tests/hf/roundtrip" "$TMP"
