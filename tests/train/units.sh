#!/bin/sh
# units.sh -- runs tests/train/units (schedules, AdamW + clipping against a scalar
# reference, data loader properties) in a scratch directory.
exe="${T6_BUILDDIR:-.}/tests/train/units"
[ -x "$exe" ] || { echo "FAIL: $exe not built"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/t6-train-units.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$exe" "$dir"
