#!/bin/bash
# tests/jobs/slurm-layouts.sh -- the GPU job scripts, unchanged, on a real local Slurm
# whose one node claims to be a GPU node (96 CPUs, 8 GPUs backed by dummy character
# devices, 500 GB; tools/slurm-local.sh with T6_SLURM_CPUS/GPUS/MEM_MB). Each of
# t6_small_a100, t6_medium_h100, t6_large_h100 and t6_xl_h100_multinode (on one
# node: the local cluster has one) is submitted as a user would, with only T6_BIN
# pointing at a recorder that stands in for t6 in every rank. Checks that Slurm
# accepts the #SBATCH lines and the srun options, that there is one rank per GPU,
# each seeing exactly one GPU of its own (CUDA_VISIBLE_DEVICES), with
# OMP_NUM_THREADS = cores per rank, NCCL_NVLS_ENABLE=0, and the deck and overrides
# of the script. (CPU binding itself is not checked: the node's CPUs are fictitious.)
set -u

srcdir=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# The scripts report canonical paths (make check passes e.g. build/..).
srcdir=$(cd "$srcdir" && pwd) || exit 1
. "$srcdir/tests/jobs/cluster.sh"

dump_on_failure() { tail -n 30 "$work"/out/*.out 2>/dev/null; }
jobs_test_workdir t6-jobs-layout
jobs_test_start_cluster T6_SLURM_CPUS=96 T6_SLURM_GPUS=8 T6_SLURM_MEM_MB=500000
[ -c "$cluster/dev/nvidia0" ] || { echo "SKIP: cannot make dummy GPU devices (mknod) here"; exit 77; }
mkdir -p "$work/out" "$work/runs"

# The recorder: what each rank saw. `t6 --check` (the pre-flight) just succeeds.
cat >"$work/t6" <<'EOF'
#!/bin/bash
[ "${1:-}" = --check ] && exit 0
run_dir=
for a in "$@"; do case "$a" in output.run_dir=*) run_dir=${a#output.run_dir=} ;; esac; done
{
    echo "procid=$SLURM_PROCID"
    echo "ntasks=$SLURM_NTASKS"
    echo "cvd=${CUDA_VISIBLE_DEVICES:-}"
    echo "omp=${OMP_NUM_THREADS:-}"
    echo "nvls=${NCCL_NVLS_ENABLE:-}"
    printf 'arg=%s\n' "$@"
} >"$run_dir/rank.$SLURM_PROCID"
[ "$SLURM_PROCID" = 0 ] && echo "finished 1" >"$run_dir/t6.status"
exit 0
EOF
chmod +x "$work/t6"

declare -A jobs
submit() { # submit LABEL SCRIPT [SBATCH OPTIONS...]
    local label=$1 s=$2
    shift 2
    jobs[$label]=$(T6_HOME=$srcdir T6_BIN=$work/t6 T6_RUN_ROOT=$work/runs \
        timeout 30 sbatch --parsable --output="$work/out/%x-%j.out" "$@" "$srcdir/jobs/$s.slurm") ||
        fail "sbatch rejected jobs/$s.slurm $*"
}
submit t6_small_a100 t6_small_a100
submit t6_medium_h100 t6_medium_h100
submit t6_large_h100 t6_large_h100
submit t6_xl_h100_multinode t6_xl_h100_multinode --nodes=1
# Fewer GPUs on the sbatch line: the ranks follow (SLURM_GPUS_PER_NODE).
submit medium_on_4 t6_medium_h100 --gpus-per-node=4 --ntasks-per-node=4

field() { timeout 20 scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
all_done() {
    local s
    for s in "${!jobs[@]}"; do
        case "$(field "${jobs[$s]}" JobState)" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) ;; *) return 1 ;; esac
    done
}
t=120
until all_done; do
    [ "$t" -gt 0 ] || fail "jobs did not end within 120 s: $(squeue -h -o '%i %j %T %r' | tr '\n' ';')"
    sleep 1
    t=$((t - 1))
done

check() { # check LABEL NAME RANKS CORES DECK
    local s=$1 name=$2 n=$3 cores=$4 deck=$5 j=${jobs[$1]} run r cvds=
    run=$work/runs/$name-$j
    [ "$(field "$j" JobState)" = COMPLETED ] && [ "$(field "$j" ExitCode)" = 0:0 ] ||
        fail "$s: job $j ended $(field "$j" JobState) $(field "$j" ExitCode)"
    [ "$(ls "$run"/rank.* 2>/dev/null | wc -l)" -eq "$n" ] || fail "$s: $(ls "$run"/rank.* 2>/dev/null | wc -l) ranks ran, expected $n"
    for r in $(seq 0 $((n - 1))); do
        f=$run/rank.$r
        [ -f "$f" ] || fail "$s: no rank $r"
        grep -qx "ntasks=$n" "$f" || fail "$s rank $r: $(grep ntasks "$f")"
        grep -qx "omp=$cores" "$f" || fail "$s rank $r: $(grep omp= "$f"), expected $cores"
        grep -qx "nvls=0" "$f" || fail "$s rank $r: NCCL_NVLS_ENABLE $(grep nvls= "$f")"
        grep -qx "cvd=[0-9]" "$f" || fail "$s rank $r: CUDA_VISIBLE_DEVICES '$(sed -n 's/^cvd=//p' "$f")' is not one GPU"
        cvds+="$(sed -n 's/^cvd=//p' "$f")"$'\n'
        grep -qx "arg=$srcdir/$deck" "$f" || fail "$s rank $r: deck is not $deck"
        grep -qx "arg=output.run_dir=$run" "$f" || fail "$s rank $r: run dir is not $run"
        grep -qx "arg=backend.device=cuda" "$f" || fail "$s rank $r: backend.device=cuda missing"
        grep -qx "arg=output.resume=auto" "$f" || fail "$s rank $r: output.resume=auto missing"
    done
    [ "$(printf '%s' "$cvds" | sort -u | wc -l)" -eq "$n" ] || fail "$s: ranks share GPUs: $(printf '%s' "$cvds" | tr '\n' ' ')"
    echo "ok: $s: $n ranks, one GPU each ($(printf '%s' "$cvds" | sort -n | tr '\n' ' ')), $cores threads, $deck"
}
check t6_small_a100 t6-small 4 8 input/t6_small.cfg
check t6_medium_h100 t6-medium 8 12 input/t6_medium.cfg
check t6_large_h100 t6-large 8 12 input/t6_large.cfg
check t6_xl_h100_multinode t6-xl 8 12 input/t6_xl.cfg
check medium_on_4 t6-medium 4 12 input/t6_medium.cfg
echo "PASS: the GPU job scripts run one rank per GPU on a (fake) 8-GPU Slurm node"
