# tests/train/common.sh -- sourced by the training tests: locates t6, makes a scratch
# directory, runs a tiny version of input/demo.cfg, and counts checks so a test
# reports every broken case. The demo-size model (2 layers, d=64) with 4 x 32-token
# sequences keeps each run to a second or two on 2 cores.
T6_SRCDIR=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T6_BUILDDIR=${T6_BUILDDIR:-$(pwd)}
T6="$T6_BUILDDIR/t6"
DEMO="$T6_SRCDIR/input/demo.cfg"
failures=0
checks=0
[ -x "$T6" ] || { echo "FAIL: $T6 not built"; exit 1; }
command -v h5diff >/dev/null 2>&1 || { echo "SKIP: h5diff (hdf5-tools) not installed"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t6-train-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"

ok() { checks=$((checks + 1)); echo "ok: $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1"; echo "   got:  $2"; echo "   want: $3"; fi
}
# expect_grep WHAT PATTERN FILE: FILE contains the fixed string PATTERN
expect_grep() {
    if grep -qF -- "$2" "$3"; then ok "$1"; else bad "$1 (no '$2' in output)"; sed 's/^/   | /' "$3" | tail -15; fi
}
finish() {
    echo "$checks checks, $failures failed"
    [ "$checks" -gt 0 ] || exit 1
    [ "$failures" -eq 0 ]
    exit $?
}

# The tiny training setup every test starts from; extra --set arguments follow.
TINY="--set train.micro_batch=4 --set train.seq_len=32 --set train.grad_accum=1
      --set train.eval_interval=5 --set train.eval_iters=2 --set train.log_interval=5
      --set optim.warmup_steps=4 --set optim.decay_steps=40 --set output.checkpoint_interval=0
      --set output.keep_last=3"

# tiny RUN_DIR MAX_STEPS [--set ...]: runs t6 on the tiny demo; output in RUN_DIR.log,
# exit status returned.
tiny() {
    _dir=$1; _steps=$2; shift 2
    # shellcheck disable=SC2086
    "$T6" "$DEMO" $TINY --set output.run_dir="$_dir" --set train.max_steps="$_steps" "$@" \
        >"$_dir.log" 2>&1
}

# h5same WHAT FILE1 FILE2 OBJECT: bitwise equality of an HDF5 object (h5diff exact)
h5same() {
    if h5diff -q "$2" "$3" "$4" "$4" >/dev/null 2>&1; then ok "$1"
    else bad "$1"; h5diff -r "$2" "$3" "$4" "$4" 2>&1 | head -8 | sed 's/^/   | /'; fi
}

# rows FILE DATASET: number of rows of a 1-D dataset
rows() {
    h5ls "$1/$2" 2>/dev/null | sed -n 's/.*Dataset {\([0-9]*\)\/.*/\1/p'
}

status_of() { cat "$1/t6.status" 2>/dev/null; }
