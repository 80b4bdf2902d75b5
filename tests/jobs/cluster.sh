# tests/jobs/cluster.sh -- sourced by the Slurm tests (srcdir set first): a work folder
# and a throw-away local Slurm (tools/slurm-local.sh) that are both removed on any exit,
# also when the test is interrupted while the cluster is still starting.
#   jobs_test_workdir PREFIX          sets $work (mktemp) and installs the exit trap
#   jobs_test_start_cluster [VAR=VALUE ...]
#                                     starts the cluster under $work/cluster with those
#                                     variables, sets $cluster, sources its env.sh;
#                                     exits 77 when the daemons cannot run here
# A test may define dump_on_failure(): called (output to stderr) with the cluster still
# up when the test fails, before the teardown.

fail() { echo "FAIL: $*" >&2; exit 1; }

work=
cluster=
jobs_test_cleanup() {
    local rc=$?
    if [ -n "$cluster" ]; then
        if [ "$rc" -ne 0 ] && command -v dump_on_failure >/dev/null; then dump_on_failure >&2; fi
        "$srcdir/tools/slurm-local.sh" stop "$cluster" >/dev/null 2>&1
    fi
    [ -n "$work" ] && rm -rf "$work"
    exit "$rc"
}

jobs_test_workdir() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || fail "mktemp"
    trap jobs_test_cleanup EXIT
    trap 'exit 1' INT TERM HUP
}

jobs_test_start_cluster() {
    local rc
    # Known before start returns, so an interrupted start still stops the daemons.
    cluster=$work/cluster
    cluster=$(env "$@" "$srcdir/tools/slurm-local.sh" start "$work/cluster")
    rc=$?
    if [ "$rc" -eq 77 ]; then cluster=; exit 77; fi
    [ "$rc" -eq 0 ] || { cluster=$work/cluster; fail "tools/slurm-local.sh start failed ($rc)"; }
    . "$cluster/env.sh"
}
