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

# wait_for WHAT CMD...: polls CMD every 0.1 s for up to 60 s; a check fails on timeout
wait_for() {
    _what=$1; shift
    _i=0
    while [ $_i -lt 600 ]; do "$@" && return 0; sleep 0.1; _i=$((_i + 1)); done
    bad "timed out waiting for $_what"
    return 1
}

# ---- small file systems, for the full-disk tests ---------------------------------------
# small_fs_begin "$@": makes sure mounting is possible (root, or re-runs the calling
# script as root of a private user+mount namespace, whose mounts vanish with it; skips,
# saying why, when neither), then sets MNT (an empty mount point) and the cleanup.
small_fs_begin() {
    if [ "$(id -u)" != 0 ] && [ -z "${T6_FULLDISK_USERNS:-}" ]; then
        if unshare -rm true 2>/dev/null; then
            rm -rf "$TMP"; trap - EXIT
            exec unshare -rm env T6_FULLDISK_USERNS=1 sh "$0" "$@"
        fi
        echo "SKIP: mounting a small file system needs root or unprivileged user namespaces (unshare -rm)"
        exit 77
    fi
    # in the namespace, Open MPI's session directory must be one "root" there may write
    [ -n "${T6_FULLDISK_USERNS:-}" ] && export OMPI_MCA_orte_tmpdir_base="$TMP"
    MNT="$TMP/mnt"
    mkdir -p "$MNT"
    mounted=
    trap '[ -n "$mounted" ] && umount "$MNT" 2>/dev/null; rm -rf "$TMP"' EXIT
}
# small_fs SIZE_KB: mounts an empty file system of about SIZE_KB on $MNT (a tmpfs, or a
# loop-mounted ext2 image), unmounting the previous one; skips when neither mounts
small_fs() {
    [ -n "$mounted" ] && { umount "$MNT" || { echo "FAIL: cannot unmount $MNT"; exit 1; }; mounted=; }
    if mount -t tmpfs -o size="$1k" tmpfs "$MNT" 2>/dev/null; then
        mounted=tmpfs; return 0
    fi
    # ext2 with 1 KB blocks and few inodes: its own overhead is a few blocks
    img="$TMP/fs-$1.img"
    rm -f "$img"
    truncate -s "$(( $1 + 64 ))k" "$img" && mkfs.ext2 -q -F -b 1024 -N 32 -m 0 "$img" >/dev/null 2>&1 &&
        mount -o loop "$img" "$MNT" 2>/dev/null && { mounted=loop; return 0; }
    echo "SKIP: cannot mount a tmpfs or a loop-mounted image of $1 KB on $MNT"
    exit 77
}
