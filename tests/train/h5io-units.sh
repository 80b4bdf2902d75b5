#!/bin/sh
# h5io-units.sh -- runs tests/train/h5io_units (HDF5 attribute helpers, error-stack
# reason, t6_fatal hook order, temporary-file rule, run-dir lock) in a scratch dir.
exe="${T6_BUILDDIR:-.}/tests/train/h5io_units"
[ -x "$exe" ] || { echo "FAIL: $exe not built"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/t6-h5io-units.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$exe" "$dir"
