#!/bin/bash
# tests/jobs/slurm-demo.sh -- the job scripts on a real Slurm: starts a throw-away
# single-host cluster (tools/slurm-local.sh), submits jobs/t6_small_a100.slurm itself
# with its GPU parts switched off by variables (T6_GPUS_PER_NODE=0) and its resources
# overridden on the sbatch command line, running input/demo.cfg, twice at once:
#   A  runs undisturbed to the end, from the installed tree: `make install` into a
#      DESTDIR, a copy of the installed script submitted from an empty folder with
#      T6_SHARE set (as `module load t6` sets it), no t6 on PATH (the helper finds the
#      installed t6 beside itself), the deck by name (T6_DECK=demo: the installed t6
#      finds the installed demo.cfg); its run must land under the submit folder;
#   B  is preempted twice: `scancel --signal=USR1` (signal to the job step, i.e. t6)
#      and later `scancel --batch --signal=USR1` (signal to the batch shell, the path
#      Slurm's --signal=B:USR1@... takes before the time limit). Each time t6 must
#      checkpoint and exit 0, the script must requeue the job, and the requeued job
#      must resume from the checkpoint.
#   C  runs 2 MPI ranks (srun --mpi=pmix, one task per rank) with ZeRO-1 (train.zero
#      = 1: sharded AdamW moments) once A and B are done, and is preempted once: both
#      ranks must agree on the stop step, and the requeued job re-shards the moments
#      its checkpoint gathered.
# Then checks that both finished at the same step with valid checkpoints and
# metrics, and that B's final loss equals A's (resume is exact, and the installed
# tree computes what the checkout does). Skips (77) only when
# the daemons cannot run here. Everything is torn down on exit, also on failure.
set -u

srcdir=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# The scripts report canonical paths (make check passes e.g. build/..).
srcdir=$(cd "$srcdir" && pwd) || exit 1
. "$srcdir/tests/jobs/cluster.sh"
builddir=${T6_BUILDDIR:-$srcdir}
t6=$builddir/t6
steps=60

[ -x "$t6" ] || fail "no t6 binary at $t6 (build first)"
for c in h5dump h5ls; do
    command -v "$c" >/dev/null || { echo "SKIP: $c missing (hdf5-tools; tools/install-deps.sh)"; exit 77; }
done

dump_on_failure() {
    echo "---- job output ----"
    tail -n 40 "$work"/out/*.out 2>/dev/null
    tail -n 20 "$cluster"/log/slurmctld.log "$cluster"/log/slurmd.log 2>/dev/null
}
jobs_test_workdir t6-jobs-test
. "$srcdir/tests/install/common.sh"
stage_install "$work/stage"
jobs_test_start_cluster
mkdir -p "$work/out" "$work/runs" "$work/submitA"

# The same script users submit; only variables and command-line overrides differ.
# OMP_NUM_THREADS: one CPU per job so that A and B run side by side on two cores,
# and with the same thread count (the CPU backend is deterministic per thread count).
C=
# Open MPI's shared-memory transport copies large messages with CMA (process_vm_readv);
# inside containers that call can fail for srun-launched ranks ("Read -1, expected N,
# errno = 3", then a segfault in ob1), so the CPU test turns single-copy off.
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
export T6_HOME=$srcdir T6_BIN=$t6 T6_DECK=input/demo.cfg T6_GPUS_PER_NODE=0 T6_RUN_ROOT=$work/runs
export T6_EXTRA_SET="train.max_steps=$steps optim.decay_steps=$steps optim.warmup_steps=5 \
train.eval_interval=20 train.eval_iters=2 train.log_interval=5 output.checkpoint_interval=10"
submit() { # submit NAME [RANKS]
    timeout 30 sbatch --parsable --job-name="$1" --nodes=1 --ntasks-per-node="${2:-1}" --cpus-per-task=1 \
        --gpus-per-node=0 --mem=0 --time=10 --output="$work/out/%x-%j.out" \
        "$srcdir/jobs/t6_small_a100.slurm"
}
# A: the user's way with an installed t6 (README): a copy of the installed script.
cp "$STAGE$SHARE/jobs/t6_small_a100.slurm" "$work/submitA/" || fail "no installed t6_small_a100.slurm"
A=$(cd "$work/submitA" && env -u T6_HOME -u T6_BIN -u T6_RUN_ROOT T6_SHARE="$STAGE$SHARE" T6_DECK=demo \
    timeout 30 sbatch --parsable --job-name=t6-test-a --nodes=1 --ntasks-per-node=1 --cpus-per-task=1 \
    --gpus-per-node=0 --mem=0 --time=10 --output="$work/out/%x-%j.out" t6_small_a100.slurm) ||
    fail "sbatch A (installed tree) failed"
# B and C are preempted while they run: T6_TEST_STEP_DELAY_MS (test only; sbatch passes
# the environment on) makes each step last 100 ms, so the ~1 s a signal takes to travel
# from scancel through the batch shell to t6 on a loaded machine does not outlast the run
# (it did: job B finished step 60 before the second USR1 arrived).
B=$(T6_TEST_STEP_DELAY_MS=100 submit t6-test-b) || fail "sbatch B failed"
echo "submitted A=$A (undisturbed) and B=$B (preempted twice)"

field() { timeout 20 scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
status_of() { cat "$work/runs/$1/t6.status" 2>/dev/null; }

# wait_until SECONDS WHAT COMMAND...: polls every second, fails on timeout or when
# the whole test has run for 300 s (so a stuck cluster cannot hold up make check).
deadline=$((SECONDS + 300))
wait_until() {
    local t=$1 what=$2
    shift 2
    local n=$((t * 5))
    while [ "$n" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ]; do
        "$@" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    fail "timed out waiting for $what (A: $(field "$A" JobState), B: $(field "$B" JobState) restarts $(field "$B" Restarts), B status: $(status_of "t6-test-b-$B"), C: ${C:+$(field "$C" JobState)})"
}
running_past() {
    # t6.status of run $1 (job $4, default B) says "running N" with N >= $2, and the
    # job has restarted $3 times
    local s
    s=$(status_of "$1")
    case "$s" in "running "*) [ "${s#running }" -ge "$2" ] || return 1 ;; *) return 1 ;; esac
    [ "$(field "${4:-$B}" Restarts)" = "$3" ]
}
done_state() {
    case "$(field "$1" JobState)" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) return 0 ;; esac
    return 1
}

runB=t6-test-b-$B
runA=t6-test-a-$A
rundirA=$work/submitA/runs/$runA
wait_until 180 "B to pass step 15" running_past "$runB" 15 0
timeout 20 scancel --signal=USR1 "$B" || fail "scancel --signal=USR1 $B"
echo "B: sent USR1 to the job step at '$(status_of "$runB")'"
wait_until 180 "B to be requeued and pass step 30" running_past "$runB" 30 1
timeout 20 scancel --batch --signal=USR1 "$B" || fail "scancel --batch --signal=USR1 $B"
echo "B: sent USR1 to the batch shell at '$(status_of "$runB")'"
wait_until 240 "A to end" done_state "$A"
wait_until 240 "B to end" done_state "$B"
# C only now, so that it cannot run to the end unobserved while A and B are watched.
# Only with an MPI build: without MPI two ranks would be two separate runs.
if "$t6" --version | grep -q 'mpi=yes'; then
    C=$(T6_TEST_STEP_DELAY_MS=100 T6_EXTRA_SET="$T6_EXTRA_SET train.zero=1" submit t6-test-c 2) || fail "sbatch C failed"
    echo "submitted C=$C (2 ranks, preempted once)"
    runC=t6-test-c-$C
    wait_until 180 "C to pass step 15" running_past "$runC" 15 0 "$C"
    timeout 20 scancel --signal=USR1 "$C" || fail "scancel --signal=USR1 $C"
    echo "C: sent USR1 to both ranks at '$(status_of "$runC")'"
    wait_until 240 "C to end" done_state "$C"
else
    echo "t6 built without MPI: no 2-rank job C"
fi

# ---- checks ---------------------------------------------------------------------
h5scalar() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | head -n 1; }
last_of() { # last element of a 1-D dataset
    local n
    n=$(h5ls "$1/$2" 2>/dev/null | sed -n 's/.*Dataset {\([0-9]*\)\/.*/\1/p')
    [ -n "$n" ] && [ "$n" -gt 0 ] || return 1
    h5dump -m %.9g -d "$2" -s $((n - 1)) -c 1 "$1" 2>/dev/null | sed -n "s/^ *($((n - 1))): *//p"
}
check_run() { # check_run JOBID RUN EXPECTED_RESTARTS [RUN_DIR]
    local j=$1 run=${4:-$work/runs/$2} r=$3 st ck steps_list
    [ "$(field "$j" JobState)" = COMPLETED ] || fail "job $j ended $(field "$j" JobState) (exit $(field "$j" ExitCode))"
    [ "$(field "$j" ExitCode)" = "0:0" ] || fail "job $j exit code $(field "$j" ExitCode)"
    [ "$(field "$j" Restarts)" = "$r" ] || fail "job $j restarted $(field "$j" Restarts) times, expected $r"
    st=$(cat "$run/t6.status" 2>/dev/null)
    [ "$st" = "finished $steps" ] || fail "$2/t6.status is '$st', expected 'finished $steps'"
    ck=$run/checkpoints/ckpt_$(printf '%08d' "$steps").h5
    [ -f "$ck" ] || fail "no final checkpoint $ck (have: $(ls "$run/checkpoints" 2>/dev/null | tr '\n' ' '))"
    h5ls "$ck" >/dev/null 2>&1 || fail "$ck is not a readable HDF5 file"
    [ "$(h5scalar "$ck" step)" = "$steps" ] || fail "$ck: attribute step is '$(h5scalar "$ck" step)', expected $steps"
    [ "$(h5scalar "$ck" complete)" = 1 ] || fail "$ck: attribute complete is not 1"
    [ -f "$run/metrics.h5" ] || fail "no $run/metrics.h5"
    # the job script draws the curves at the end of each attempt (t6-plot beside t6)
    if command -v gnuplot >/dev/null 2>&1 && [ -x "$(dirname "$t6")/t6-plot" ]; then
        [ "$(head -c 4 "$run/curves.png" 2>/dev/null | tail -c 3)" = PNG ] || fail "no curves.png drawn in $run"
    fi
    # /train/step: exactly 1..steps, once each (a resumed run must not leave
    # duplicate or missing rows).
    steps_list=$(h5dump -d /train/step -y -w 0 "$run/metrics.h5" 2>/dev/null |
        sed -n '/DATA {/,/}/p' | tr -cs '0-9' '\n' | sed '/^$/d' | tr '\n' ' ')
    [ "$steps_list" = "$(seq -s ' ' 1 "$steps") " ] || fail "$run/metrics.h5 /train/step is '$steps_list'"
    for ds in /train/loss /train/lr /train/grad_norm; do
        last_of "$run/metrics.h5" "$ds" >/dev/null || fail "$run/metrics.h5 lacks $ds"
    done
    last_of "$run/metrics.h5" /eval/val_loss >/dev/null || fail "$run/metrics.h5 lacks /eval/val_loss"
}
check_run "$A" "$runA" 0 "$rundirA"
outA=$work/out/t6-test-a-$A.out
grep -q "launch: .*$STAGE$BINDIR/t6 demo " "$outA" || fail "A did not launch the installed t6 on the deck name demo: $(grep 'launch:' "$outA")"
grep -q "^deck: $STAGE$SHARE/input/demo.cfg\$" "$rundirA"/check.*.txt || fail "A's t6 did not read the installed demo.cfg"
echo "A ran from the installed tree: $(grep -m1 'launch:' "$outA" | sed 's/.*launch: //')"
check_run "$B" "$runB" 2
if [ -n "$C" ]; then
    check_run "$C" "$runC" 1
    grep -q '2 rank(s)' "$work/out/t6-test-c-$C.out" || fail "C did not run as 2 MPI ranks"
    [ "$(grep -c 'ZeRO-1: AdamW moments sharded' "$work/out/t6-test-c-$C.out")" -ge 2 ] ||
        fail "C did not run with ZeRO-1 in both attempts"
    ckC=$work/runs/$runC/checkpoints/ckpt_$(printf '%08d' "$steps").h5
    [ "$(h5scalar "$ckC" world_size)" = 2 ] || fail "$ckC: world_size '$(h5scalar "$ckC" world_size)', expected 2"
fi

outB=$(ls "$work"/out/t6-test-b-"$B".out)
[ "$(grep -c 'requeueing job' "$outB")" -eq 2 ] || fail "B's log does not show two requeues"
[ "$(grep -c 'status: .stopped' "$outB")" -eq 2 ] || fail "B's log does not show two clean stops"
grep -q 'got SIGUSR1' "$outB" || fail "B's batch shell never forwarded SIGUSR1"
# the pictures on requeue-stop too: t6-plot --summary in the log after each stopped
# attempt and after the finished one (doc/plot.md, "In job scripts")
if [ -x "$(dirname "$t6")/t6-plot" ]; then
    [ "$(grep -c '^  status:     stopped ' "$outB")" -eq 2 ] ||
        fail "B's log does not show t6-plot --summary after each of its two stops"
    [ "$(grep -c "^  status:     finished $steps\$" "$outB")" -eq 1 ] ||
        fail "B's log does not show t6-plot --summary after it finished"
fi
[ "$(grep -c 'requeue' "$work/runs/$runB/jobs.log")" -eq 2 ] || fail "$runB/jobs.log does not record two requeues"

lossA=$(last_of "$rundirA/metrics.h5" /train/loss)
lossB=$(last_of "$work/runs/$runB/metrics.h5" /train/loss)
first=$(h5dump -m %.9g -d /train/loss -s 0 -c 1 "$rundirA/metrics.h5" | sed -n 's/^ *(0): *//p')
echo "final loss: A $lossA, B (resumed twice) $lossB; A's first $first"
[ -n "$lossA" ] && [ "$lossA" = "$lossB" ] || fail "resumed run's final loss $lossB differs from the undisturbed run's $lossA"
awk -v a="$first" -v b="$lossA" 'BEGIN { exit !(b < a) }' || fail "loss did not fall ($first -> $lossA)"
echo "PASS: Slurm demo jobs finished at step $steps undisturbed, after two preemptions, and on 2 ranks after one"
