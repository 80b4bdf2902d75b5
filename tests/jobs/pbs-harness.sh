#!/bin/bash
# tests/jobs/pbs-harness.sh -- runs the PBS job scripts (jobs/*.pbs) as PBS would,
# without PBS (not packaged in Debian): it provides the environment a PBS Pro job
# sees (PBS_JOBID, PBS_JOBNAME, PBS_O_WORKDIR, PBS_NODEFILE, NCPUS, ...), starts the
# script in another directory (PBS starts jobs in $HOME), and puts recorders first in
# PATH for mpirun, qsub and qstat. The mpirun recorder keeps the launch line and the
# environment it was started with, then plays t6's part: it writes
# <run_dir>/t6.status as t6 would ("finished", "stopped" after SIGUSR1, "failed") and
# exits. The test checks the launch lines the scripts build (ranks, mapping, binding,
# hostfile, exported variables, the deck and --set overrides) and what the script
# does with each outcome (finish, resubmit a successor on the same run dir, fail,
# ignore a stale status, signal t6 before the wall-time limit), also for the
# installed tree (make install into a DESTDIR, submitted from a user's folder).
set -u

srcdir=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# The scripts report canonical paths (make check passes e.g. build/..).
srcdir=$(cd "$srcdir" && pwd) || exit 1
H=$(mktemp -d "${TMPDIR:-/tmp}/t6-pbs-harness.XXXXXX") || exit 1
trap 'rm -rf "$H"' EXIT
mkdir -p "$H/bin" "$H/home" "$H/calls" "$H/work"
nfail=0
fail() { echo "FAIL: $*" >&2; nfail=$((nfail + 1)); }
ok() { echo "ok: $*"; }

# ---- recorders --------------------------------------------------------------------
cat >"$H/bin/mpirun" <<'EOF'
#!/bin/bash
# Fake mpirun: records argv and environment; then acts as t6 per HARNESS_MODE.
if [ "${1:-}" = --version ]; then
    if [ "${HARNESS_MPI:-openmpi}" = openmpi ]; then echo "mpirun (Open MPI) 4.1.4"; else echo "HYDRA build details:"; fi
    exit 0
fi
n=$(ls "$HARNESS_DIR/calls" | grep -c '^mpirun\.')
rec=$HARNESS_DIR/calls/mpirun.$n
printf '%s\n' "$@" >"$rec.args"
env | grep -E '^(OMP_|NCCL_|CUDA_DEVICE_MAX)' | sort >"$rec.env"
run_dir=
for a in "$@"; do case "$a" in output.run_dir=*) run_dir=${a#output.run_dir=} ;; esac; done
[ -n "$run_dir" ] || { echo "fake mpirun: no output.run_dir" >&2; exit 9; }
status() { echo "$1" >"$run_dir/t6.status.tmp" && mv "$run_dir/t6.status.tmp" "$run_dir/t6.status"; }
case "${HARNESS_MODE:-finished}" in
finished) status "running 1"; status "finished 100"; exit 0 ;;
stopped) status "stopped 42"; exit 0 ;;
failed) status "failed"; exit 3 ;;
none) exit 5 ;;  # dies before writing any status
wait-signal)
    # Wait (at most 20 s) for the job script to pass on SIGUSR1, then stop cleanly.
    got=; trap 'got=1' USR1
    status "running 7"
    for i in $(seq 1 200); do [ -n "$got" ] && break; sleep 0.1; done
    [ -n "$got" ] || { status "running 7"; exit 7; }
    echo "USR1" >"$rec.signal"; status "stopped 8"; exit 0 ;;
esac
EOF
cat >"$H/bin/qsub" <<'EOF'
#!/bin/bash
n=$(ls "$HARNESS_DIR/calls" | grep -c '^qsub\.')
printf '%s\n' "$@" >"$HARNESS_DIR/calls/qsub.$n.args"
pwd >"$HARNESS_DIR/calls/qsub.$n.pwd"
echo "$((PBS_JOBID_NUM + 1)).pbsserver"
EOF
cat >"$H/bin/qstat" <<'EOF'
#!/bin/bash
# Only `qstat -f JOBID` is used (wall time); answer as PBS Pro does when asked to.
[ -n "${HARNESS_WALLTIME:-}" ] || exit 1
echo "Job Id: $2"
echo "    Resource_List.walltime = $HARNESS_WALLTIME"
EOF
cat >"$H/bin/t6" <<'EOF'
#!/bin/bash
# Fake t6: only `t6 --check` runs outside mpirun (the pre-flight check).
if [ "${1:-}" = --check ]; then
    # HARNESS_CHECK_SIGNAL: the batch system's signal arrives during the pre-flight.
    [ -n "${HARNESS_CHECK_SIGNAL:-}" ] && kill -USR1 "$PPID"
    echo "parameters: 1"
    exit 0
fi
echo "fake t6 started outside mpirun: $*" >&2; exit 8
EOF
chmod +x "$H/bin"/*

# run_pbs SCRIPT JOBNUM NODES MODE [VAR=VALUE...]: runs SCRIPT as PBS job JOBNUM on
# NODES nodes (8 MPI slots each); echoes the script's exit status.
# SCRIPT is relative to the checkout or absolute; HARNESS_WORKDIR (default: the
# checkout) is the submit directory, PBS_O_WORKDIR.
run_pbs() {
    local script=$1 num=$2 nodes=$3 mode=$4 i j
    shift 4
    case "$script" in /*) ;; *) script=$srcdir/$script ;; esac
    : >"$H/nodefile.$num"
    for i in $(seq 1 "$nodes"); do
        for j in $(seq 1 8); do printf 'gpu%03d.cluster\n' "$i" >>"$H/nodefile.$num"; done
    done
    rm -f "$H/calls"/*
    (
        cd "$H/home" || exit 99
        env -i PATH="$H/bin:/usr/bin:/bin" HOME="$H/home" \
            HARNESS_DIR="$H" HARNESS_MODE="$mode" PBS_JOBID_NUM="$num" \
            HARNESS_CHECK_SIGNAL="${HARNESS_CHECK_SIGNAL:-}" \
            PBS_JOBID="$num.pbsserver" PBS_JOBNAME="$(sed -n 's/^#PBS -N //p' "$script")" \
            PBS_O_WORKDIR="${HARNESS_WORKDIR:-$srcdir}" PBS_O_HOST=login1 PBS_QUEUE=gpu PBS_ENVIRONMENT=PBS_BATCH \
            PBS_NODEFILE="$H/nodefile.$num" NCPUS=96 OMP_NUM_THREADS=12 TMPDIR="$H/work" \
            T6_BIN="$H/bin/t6" T6_RUN_ROOT="$H/runs" "$@" \
            bash "$script" >"$H/out.$num" 2>&1
        echo $?
    )
}
args_of() { cat "$H/calls/mpirun.0.args" 2>/dev/null; }
has_seq() { # has_seq FILE ARG1 ARG2...: the arguments appear consecutively
    local f=$1
    shift
    local want
    want=$(printf '%s\n' "$@")
    awk -v want="$want" 'BEGIN { n = split(want, w, "\n") }
        { a[NR] = $0 } END { for (i = 1; i + n - 1 <= NR; i++) { m = 1;
          for (k = 1; k <= n; k++) if (a[i + k - 1] != w[k]) { m = 0; break }
          if (m) exit 0 } exit 1 }' "$f"
}
expect_seq() { # expect_seq WHAT ARGS...
    local what=$1
    shift
    if has_seq "$H/calls/mpirun.0.args" "$@"; then ok "$what: $*"; else
        fail "$what: launch line lacks '$*'"; sed 's/^/    /' "$H/calls/mpirun.0.args" >&2
    fi
}

# ---- 1. medium, one node, finishes --------------------------------------------------
rc=$(run_pbs jobs/t6_medium_h100.pbs 1001 1 finished)
[ "$rc" = 0 ] && ok "medium: exit 0 on 'finished'" || { fail "medium: exit $rc"; cat "$H/out.1001" >&2; }
A=$H/calls/mpirun.0.args
[ -f "$A" ] || fail "medium: mpirun never called"
run=$H/runs/t6-medium-1001
expect_seq "medium ranks" -np 8
expect_seq "medium mapping" --map-by ppr:8:node:PE=12 --bind-to core
expect_seq "medium deck" "$H/bin/t6" "$srcdir/input/t6_medium.cfg"
expect_seq "medium run dir" --set "output.run_dir=$run"
expect_seq "medium resume" --set output.resume=auto
expect_seq "medium backend" --set backend.device=cuda
for v in OMP_NUM_THREADS OMP_PLACES NCCL_NVLS_ENABLE PATH; do
    expect_seq "medium exports $v" -x "$v"
done
hf=$(awk 'p { print; exit } $0 == "--hostfile" { p = 1 }' "$A")
if [ -r "$hf" ] && [ "$(cat "$hf")" = gpu001.cluster ]; then ok "medium hostfile: one line per node"; else
    fail "medium hostfile '$hf' is not one line per node: $(cat "$hf" 2>/dev/null | tr '\n' ' ')"; fi
E=$H/calls/mpirun.0.env
grep -qx 'OMP_NUM_THREADS=12' "$E" && ok "medium OMP_NUM_THREADS=12" || fail "medium: $(grep OMP_NUM "$E")"
grep -qx 'OMP_PROC_BIND=close' "$E" && grep -qx 'OMP_PLACES=cores' "$E" && ok "medium OpenMP pinning" || fail "medium: OpenMP pinning unset"
grep -qx 'NCCL_NVLS_ENABLE=0' "$E" && ok "medium NCCL_NVLS_ENABLE=0" || fail "medium: NCCL_NVLS_ENABLE not 0"
[ -z "$(ls "$H/calls" | grep qsub)" ] && ok "medium: no resubmission after 'finished'" || fail "medium: resubmitted after finishing"
grep -q "start" "$run/jobs.log" 2>/dev/null && ok "medium: jobs.log kept in run dir" || fail "medium: no $run/jobs.log"

# ---- 2. medium, stopped -> successor on the same run dir -----------------------------
rc=$(run_pbs jobs/t6_medium_h100.pbs 1002 1 stopped T6_EXTRA_SET="train.max_steps=500")
[ "$rc" = 0 ] && ok "stopped: exit 0" || { fail "stopped: exit $rc"; cat "$H/out.1002" >&2; }
Q=$H/calls/qsub.0.args
if [ -f "$Q" ]; then
    has_seq "$Q" -W depend=afterany:1002.pbsserver && ok "stopped: successor waits for this job" ||
        fail "stopped: qsub lacks -W depend=afterany:1002.pbsserver: $(tr '\n' ' ' <"$Q")"
    vars=$(awk 'p { print; exit } $0 == "-v" { p = 1 }' "$Q")
    case ",$vars," in *",T6_RUN_DIR=$H/runs/t6-medium-1002,"*) ok "stopped: successor gets T6_RUN_DIR" ;;
    *) fail "stopped: qsub -v lacks T6_RUN_DIR: $vars" ;; esac
    case ",$vars," in *",T6_RESTART_COUNT=1,"*) ok "stopped: restart count 1" ;; *) fail "stopped: no T6_RESTART_COUNT=1 in $vars" ;; esac
    case ",$vars," in *",T6_EXTRA_SET=train.max_steps=500,"*) ok "stopped: overrides carried over" ;; *) fail "stopped: T6_EXTRA_SET lost: $vars" ;; esac
    [ "$(tail -n 1 "$Q")" = "$srcdir/jobs/t6_medium_h100.pbs" ] && ok "stopped: resubmits the same script" ||
        fail "stopped: resubmits '$(tail -n 1 "$Q")'"
    # The successor, as PBS would start it with those variables, reuses the run dir.
    rc=$(run_pbs jobs/t6_medium_h100.pbs 1003 1 finished T6_RUN_DIR="$H/runs/t6-medium-1002" T6_RESTART_COUNT=1 \
        T6_RESUME=/old/ckpt_00000010.h5)
    [ "$rc" = 0 ] || fail "successor: exit $rc"
    expect_seq "successor resumes in the same run dir" --set "output.run_dir=$H/runs/t6-medium-1002"
    expect_seq "successor resumes from the newest checkpoint, not the first attempt's T6_RESUME" --set output.resume=auto
    [ ! -d "$H/runs/t6-medium-1003" ] && ok "successor: no new run dir" || fail "successor made a new run dir"
    [ -f "$H/runs/t6-medium-1002/t6.status.prev" ] && ok "successor: old status moved aside" || fail "successor: stale status not moved aside"
else
    fail "stopped: no qsub of a successor"
    cat "$H/out.1002" >&2
fi

# ---- 3. failures do not resubmit ------------------------------------------------------
rc=$(run_pbs jobs/t6_medium_h100.pbs 1004 1 failed)
[ "$rc" = 3 ] && ok "failed: exit status of mpirun (3) passed on" || fail "failed: exit $rc, expected 3"
[ -z "$(ls "$H/calls" | grep qsub)" ] && ok "failed: no resubmission" || fail "failed: resubmitted"
# A run that dies before writing a status must not be taken for the previous
# attempt's "stopped".
mkdir -p "$H/runs/stale" && echo "stopped 5" >"$H/runs/stale/t6.status"
rc=$(run_pbs jobs/t6_medium_h100.pbs 1005 1 none T6_RUN_DIR="$H/runs/stale")
[ "$rc" = 5 ] && ok "stale status: failure (5) reported" || fail "stale status: exit $rc, expected 5"
[ -z "$(ls "$H/calls" | grep qsub)" ] && ok "stale status: no resubmission" || fail "stale status: resubmitted on a stale 'stopped'"

# ---- 4. wall time: the script signals t6 before the limit ------------------------------
rc=$(run_pbs jobs/t6_medium_h100.pbs 1006 1 wait-signal HARNESS_WALLTIME=00:00:03 T6_SIGNAL_MARGIN=2)
[ -f "$H/calls/mpirun.0.signal" ] && ok "walltime: SIGUSR1 reached the launcher 2 s before the 3 s limit" ||
    { fail "walltime: no SIGUSR1 reached mpirun"; cat "$H/out.1006" >&2; }
[ "$rc" = 0 ] && [ -f "$H/calls/qsub.0.args" ] && ok "walltime: clean stop resubmitted" || fail "walltime: exit $rc / no resubmission"

# A signal before t6 starts (during the pre-flight check): no launch, a successor.
rc=$(HARNESS_CHECK_SIGNAL=1 run_pbs jobs/t6_medium_h100.pbs 1007 1 finished)
[ "$rc" = 0 ] && ok "early signal: exit 0" || { fail "early signal: exit $rc"; cat "$H/out.1007" >&2; }
[ ! -f "$H/calls/mpirun.0.args" ] && ok "early signal: t6 not launched" || fail "early signal: t6 launched anyway"
[ -f "$H/calls/qsub.0.args" ] && ok "early signal: successor submitted" || fail "early signal: no successor"

# ---- 5. XL, two nodes, Open MPI and MPICH ---------------------------------------------
rc=$(run_pbs jobs/t6_xl_h100_multinode.pbs 2001 2 finished)
[ "$rc" = 0 ] || { fail "xl: exit $rc"; cat "$H/out.2001" >&2; }
expect_seq "xl ranks" -np 16
expect_seq "xl mapping" --map-by ppr:8:node:PE=12 --bind-to core
expect_seq "xl deck" "$H/bin/t6" "$srcdir/input/t6_xl.cfg"
expect_seq "xl run dir" --set "output.run_dir=$H/runs/t6-xl-2001"
hf=$(awk 'p { print; exit } $0 == "--hostfile" { p = 1 }' "$H/calls/mpirun.0.args")
[ "$(cat "$hf" 2>/dev/null | tr '\n' ' ')" = "gpu001.cluster gpu002.cluster " ] && ok "xl hostfile: two nodes" ||
    fail "xl hostfile: $(cat "$hf" 2>/dev/null | tr '\n' ' ')"
rc=$(run_pbs jobs/t6_xl_h100_multinode.pbs 2002 2 finished HARNESS_MPI=mpich)
[ "$rc" = 0 ] || fail "xl mpich: exit $rc"
expect_seq "xl mpich ranks" -np 16 -ppn 8 -bind-to core:12
expect_seq "xl mpich env" -genvall
# CPU switch: the same script, GPU parts off by variables.
rc=$(run_pbs jobs/t6_xl_h100_multinode.pbs 2003 2 finished T6_GPUS_PER_NODE=0 T6_TASKS_PER_NODE=2)
expect_seq "xl cpu ranks" -np 4 --map-by ppr:2:node:PE=48
expect_seq "xl cpu backend" --set backend.device=cpu
grep -q '^NCCL_NVLS_ENABLE' "$H/calls/mpirun.0.env" && fail "xl cpu: NCCL variables set for a CPU run" || ok "xl cpu: no NCCL variables"

# ---- 6. the installed tree ----------------------------------------------------------
# The installed script, submitted from a user's empty folder with T6_SHARE (as
# `module load t6` sets it): the helper comes from the installed tree, the deck name is
# left to t6 (its deck path), and a stopped job resubmits the installed script.
. "$srcdir/tests/install/common.sh"
stage_install "$H/stage" >/dev/null
mkdir -p "$H/user"
inst=$STAGE$SHARE/jobs/t6_medium_h100.pbs
rc=$(HARNESS_WORKDIR="$H/user" run_pbs "$inst" 3001 1 stopped T6_SHARE="$STAGE$SHARE")
[ "$rc" = 0 ] && ok "installed: exit 0" || { fail "installed: exit $rc"; cat "$H/out.3001" >&2; }
expect_seq "installed: deck by name, for t6 to find" "$H/bin/t6" t6_medium.cfg
[ "$(tail -n 1 "$H/calls/qsub.0.args" 2>/dev/null)" = "$inst" ] && ok "installed: resubmits the installed script" ||
    fail "installed: resubmits '$(tail -n 1 "$H/calls/qsub.0.args" 2>/dev/null)', expected $inst"
# A user's copy in the submit folder is what gets resubmitted.
cp "$inst" "$H/user/"
rc=$(HARNESS_WORKDIR="$H/user" run_pbs "$H/user/t6_medium_h100.pbs" 3002 1 stopped T6_SHARE="$STAGE$SHARE")
[ "$rc" = 0 ] || fail "installed copy: exit $rc"
[ "$(tail -n 1 "$H/calls/qsub.0.args" 2>/dev/null)" = "$H/user/t6_medium_h100.pbs" ] &&
    ok "installed copy: resubmits the user's copy" ||
    fail "installed copy: resubmits '$(tail -n 1 "$H/calls/qsub.0.args" 2>/dev/null)'"

if [ "$nfail" -ne 0 ]; then
    echo "FAIL: $nfail check(s) failed" >&2
    exit 1
fi
echo "PASS: PBS scripts build the expected launch lines and handle every t6 outcome"
