#!/bin/bash
# tests/jobs/run-dir-guard.sh -- what jobs/lib/t6-job.sh does before and after the
# launch when something around t6 is wrong, run without a batch system (no daemons,
# a fake t6 that records its calls; each case takes well under a second):
#  1. the run directory is held by a live t6 (its t6.lock flock'd): the job fails at
#     once naming the holder, launches nothing and leaves the live run's t6.status;
#  2. another t6 takes the lock while this job's t6 is being refused (two jobs passed
#     the check at once) and writes "stopped": the job fails instead of judging (and
#     requeueing) itself by the other run's status;
#  3. the mpirun the layout needs is missing: the job fails before t6 --check, naming
#     T6_MPIRUN; a dry run only warns;
#  4. a dry run (T6_DRY_RUN=1) creates no run directory;
#  5. odd values of the T6_* counts fail the job naming the variable.
set -u
srcdir=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
srcdir=$(cd "$srcdir" && pwd) || exit 1
command -v flock >/dev/null 2>&1 || { echo "SKIP: flock (util-linux) not installed"; exit 77; }
H=$(mktemp -d "${TMPDIR:-/tmp}/t6-run-dir-guard.XXXXXX") || exit 1
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; [ -r "$H/race.pid" ] && kill "$(cat "$H/race.pid")" 2>/dev/null; rm -rf "$H"' EXIT
nfail=0
fail() { echo "FAIL: $*" >&2; nfail=$((nfail + 1)); }
ok() { echo "ok: $*"; }

# Fake t6: `--check` succeeds; a run records itself and then does what FAKE_MODE says.
cat >"$H/t6" <<'EOF'
#!/bin/bash
[ "${1:-}" = --check ] && { echo check >>"$GUARD_DIR/calls"; exit 0; }
echo run >>"$GUARD_DIR/calls"
case "${FAKE_MODE:-}" in
race)
    # another t6 wins the lock and says "stopped"; this one is refused (exit 1)
    bash -c 'exec 9>>"$RUN/t6.lock"; flock 9; echo "stopped 7" >"$RUN/t6.status"
        printf "pid 4242\nhost other\n" >"$RUN/t6.lock"; touch "$GUARD_DIR/held"; exec sleep 30' &
    echo $! >"$GUARD_DIR/race.pid"
    while [ ! -e "$GUARD_DIR/held" ]; do sleep 0.05; done
    echo "t6: error: run directory '$RUN' is in use by t6 pid 4242" >&2
    exit 1 ;;
*) echo "finished 1" >"$RUN/t6.status"; exit 0 ;;
esac
EOF
chmod +x "$H/t6"
export GUARD_DIR=$H T6_BIN=$H/t6 T6_HOME=$srcdir T6_DECK=demo.cfg T6_GPUS_PER_NODE=0 T6_PLOT=0 T6_PRECHECK=1
unset SLURM_JOB_ID PBS_JOBID T6_SCHEDULER T6_LAUNCHER T6_TASKS_PER_NODE T6_DRY_RUN 2>/dev/null
job() { bash "$srcdir/jobs/t6_small_a100.slurm" >"$H/out" 2>&1; }

# 1. a live holder of the lock
export RUN=$H/busy T6_RUN_DIR=$H/busy
mkdir -p "$RUN" && echo "running 3" >"$RUN/t6.status" && printf 'pid 12345\nhost node-a\n' >"$RUN/t6.lock"
# the sleep itself holds the lock (flock(1) would leave it to its child on a kill)
bash -c 'exec 9>>"$1"; flock 9; exec sleep 30' _ "$RUN/t6.lock" &
holder=$!
while flock -n "$RUN/t6.lock" true 2>/dev/null; do sleep 0.05; done
: >"$H/calls"
job && fail "a job on a locked run directory succeeded" || ok "a job on a locked run directory fails"
grep -q "in use by another t6 (pid 12345 host node-a)" "$H/out" && ok "the error names the holder" ||
    { fail "no holder in the error"; cat "$H/out"; }
[ ! -s "$H/calls" ] && ok "nothing launched (not even t6 --check)" || fail "launched: $(cat "$H/calls")"
[ "$(cat "$RUN/t6.status")" = "running 3" ] && [ ! -e "$RUN/t6.status.prev" ] &&
    ok "the live run's t6.status is left where it is" || fail "the live run's t6.status was moved"
kill "$holder"; wait "$holder" 2>/dev/null; holder=
job && ok "once the lock is free the job runs" || { fail "the job fails on a free run directory"; cat "$H/out"; }
grep -qx run "$H/calls" && ok "t6 was launched" || fail "t6 not launched"

# 2. the race: the lock is taken by another t6 while ours is refused
export RUN=$H/race T6_RUN_DIR=$H/race FAKE_MODE=race
job && fail "a job whose t6 lost the lock succeeded (judged by the other run's 'stopped')" ||
    ok "a job whose t6 lost the lock fails"
grep -q "its t6.status is not this job's" "$H/out" && ok "it says the status is another run's" ||
    { fail "no explanation"; cat "$H/out"; }
grep -q "requeueing job\|run again with" "$H/out" && fail "it acted on the other run's 'stopped'" || ok "no requeue"
kill "$(cat "$H/race.pid")" 2>/dev/null
unset FAKE_MODE

# 3. mpirun missing for a 2-rank layout
export RUN=$H/nompi T6_RUN_DIR=$H/nompi T6_TASKS_PER_NODE=2 T6_MPIRUN=$H/no/such/mpirun
: >"$H/calls"
job && fail "a 2-rank job without mpirun succeeded" || ok "a 2-rank job without mpirun fails"
grep -q "T6_MPIRUN=$H/no/such/mpirun: no such command" "$H/out" && ok "the error names T6_MPIRUN" ||
    { fail "T6_MPIRUN not named"; cat "$H/out"; }
[ ! -s "$H/calls" ] && ok "it fails before t6 --check" || fail "t6 ran: $(cat "$H/calls")"
T6_DRY_RUN=1 job && ok "a dry run without mpirun still prints the line" || fail "the dry run failed"
grep -q "warning: T6_MPIRUN=.* is not on PATH" "$H/out" && ok "the dry run warns" || fail "no warning"
unset T6_TASKS_PER_NODE T6_MPIRUN

# 4. a dry run leaves no run directory
export T6_RUN_DIR=$H/dry/run
T6_DRY_RUN=1 job && ok "dry run exits 0" || fail "dry run failed"
grep -q "output.run_dir=$H/dry/run" "$H/out" && ok "the line names the run directory" || fail "no run dir in the line"
[ ! -e "$H/dry" ] && ok "no run directory created" || fail "the dry run created $H/dry"

# 5. odd numbers in the variables: an error naming the variable, before anything runs
# (was: bash's "division by 0" / "unbound variable", or a typo silently replaced by 1)
export T6_RUN_DIR=$H/odd
for kv in T6_TASKS_PER_NODE=abc T6_TASKS_PER_NODE=0 T6_CPUS_PER_TASK=8x T6_NODES=2x \
    T6_RESTART_COUNT=x T6_TIME_LIMIT=1h T6_GPUS_PER_NODE=h100:x; do
    : >"$H/calls"
    env "$kv" bash "$srcdir/jobs/t6_small_a100.slurm" >"$H/out" 2>&1 && fail "$kv accepted" || ok "$kv refused"
    grep -q "t6-job: error: $kv" "$H/out" && ok "$kv: the error names it" || { fail "$kv: unclear error"; cat "$H/out"; }
    [ ! -s "$H/calls" ] && [ ! -e "$H/odd" ] || fail "$kv: something ran or was created"
done
env PBS_JOBID=77.pbs PBS_NODEFILE=$H/no/nodefile bash "$srcdir/jobs/t6_small_a100.slurm" >"$H/out" 2>&1 &&
    fail "an unreadable PBS_NODEFILE accepted" || ok "an unreadable PBS_NODEFILE refused"
grep -q "error: PBS_NODEFILE=$H/no/nodefile cannot be read" "$H/out" && ok "the error names PBS_NODEFILE" ||
    { fail "PBS_NODEFILE not named"; cat "$H/out"; }
T6_DRY_RUN=1 T6_NODES=08 T6_TASKS_PER_NODE=2 T6_LAUNCHER=mpirun T6_MPIRUN=true T6_MPI_FLAVOR=openmpi job &&
    grep -q "^true -np 16 " "$H/out" && ok "T6_NODES=08 is 8 (not octal)" || { fail "T6_NODES=08"; cat "$H/out"; }

[ "$nfail" -eq 0 ] || { echo "$nfail failure(s)"; exit 1; }
