# t6-job.sh -- the logic every job script in jobs/ shares, sourced by them (bash).
# A job script only states its resources (#SBATCH / #PBS lines) and its defaults
# (deck, GPUs per node), then calls t6_job_main. The scripts work from a checkout
# (jobs/ beside input/ and the build) and from an installed tree ($(datadir)/t6/jobs
# beside $(datadir)/t6/input, t6 in $(bindir)). This file:
#   1. finds the working folder (T6_HOME: a checkout, or the submit directory), the t6
#      binary and the deck;
#   2. picks a run directory that stays the same when the job is requeued, so that
#      t6's output.resume=auto finds the checkpoints of the previous attempt;
#   3. sets CPU affinity / OpenMP / NCCL variables;
#   4. builds the launch line: srun (Slurm), mpirun (PBS, or T6_LAUNCHER=mpirun) or
#      plain t6 (one process) -- one MPI rank per GPU, or per CPU task when
#      T6_GPUS_PER_NODE=0 (the CPU test in tests/jobs/ runs these same scripts so);
#   5. runs it in the background and forwards SIGUSR1/SIGTERM (the batch system's
#      "time is nearly up") to it; t6 checkpoints and exits 0 with "stopped <step>" in
#      <run_dir>/t6.status;
#   6. reads t6.status: "finished" ends the job, "stopped" requeues it (Slurm:
#      scontrol requeue; PBS: a dependent resubmission), anything else fails it.
# Every variable it reads is listed in doc/running.md; all start with T6_.

# The jobs folder this helper belongs to (a checkout's jobs/, or the installed one).
T6_JOBS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

t6_log() { echo "t6-job: $*" >&2; }
t6_die() { echo "t6-job: error: $*" >&2; exit 1; }

# Shell-quoted rendering of a command, for the log and for T6_DRY_RUN.
t6_quote() {
    local a out=
    for a in "$@"; do out+="$(printf '%q' "$a") "; done
    echo "${out% }"
}

# ---------------------------------------------------------------------------------
# Where we are: scheduler, checkout, binary, deck
# ---------------------------------------------------------------------------------
t6_job_detect() {
    if [ -n "${T6_SCHEDULER:-}" ]; then
        :
    elif [ -n "${SLURM_JOB_ID:-}" ]; then
        T6_SCHEDULER=slurm
    elif [ -n "${PBS_JOBID:-}" ]; then
        T6_SCHEDULER=pbs
    else
        T6_SCHEDULER=none
    fi
    T6_JOB_ID=
    case "$T6_SCHEDULER" in
    slurm) T6_JOB_ID=$SLURM_JOB_ID ;;
    pbs) T6_JOB_ID=${PBS_JOBID%%.*} ;;
    none) T6_JOB_ID=local-$(date +%Y%m%d-%H%M%S)-$$ ;;
    esac
    T6_JOB_NAME=${T6_JOB_NAME:-${SLURM_JOB_NAME:-${PBS_JOBNAME:-t6}}}
}

t6_job_find_binary() {
    if [ -n "${T6_BIN:-}" ]; then
        [ -x "$T6_BIN" ] || command -v "$T6_BIN" >/dev/null ||
            t6_die "T6_BIN=$T6_BIN is not an executable"
        return
    fi
    t6_job_find_program t6 || t6_die "no t6 binary: looked at ${T6_PLACES[*]} and PATH;" \
        "set T6_BIN=/path/to/t6 (or module load t6)"
    T6_BIN=$T6_FOUND
}

# t6_job_find_program NAME: sets T6_FOUND to the first executable NAME of, in order,
# an out-of-tree build directory of the checkout (build/ is what README uses), an
# in-tree build, the bindir of an installed helper's own prefix
# ($(datadir)/t6/jobs/../../../bin: the t6 of the same installation, wherever the
# tree was staged or moved), then PATH. Fails when there is none; T6_PLACES then
# lists the places looked at.
t6_job_find_program() {
    local c
    T6_PLACES=("$T6_HOME/build/$1" "$T6_HOME/$1")
    if [ "$T6_JOBS_DIR" != "$T6_HOME/jobs" ] && c=$(cd "$T6_JOBS_DIR/../../.." 2>/dev/null && pwd); then
        T6_PLACES+=("$c/bin/$1")
    fi
    for c in "${T6_PLACES[@]}"; do
        [ -f "$c" ] && [ -x "$c" ] && { T6_FOUND=$c; return 0; }
    done
    T6_FOUND=$(command -v "$1")
}

# T6_DECK: an absolute path; else relative to T6_HOME (the submit directory: a
# deck copied there and edited), else in its input/ (a checkout); else, a bare name
# is left to t6, which looks in $T6_DECK_PATH and the installed input folder
# (`t6 --deck-path`), and the pre-flight `t6 --check` refuses it if not found.
t6_job_find_deck() {
    [ -n "${T6_DECK:-}" ] || t6_die "T6_DECK is not set (the job script sets a default)"
    case "$T6_DECK" in
    /*) [ -r "$T6_DECK" ] || t6_die "deck $T6_DECK not found" ;;
    *)
        if [ -r "$T6_HOME/$T6_DECK" ]; then
            T6_DECK=$T6_HOME/$T6_DECK
        elif [ -r "$T6_HOME/input/$T6_DECK" ]; then
            T6_DECK=$T6_HOME/input/$T6_DECK
        else
            case "$T6_DECK" in
            */*) t6_die "deck $T6_DECK not found (relative to T6_HOME=$T6_HOME or its input/)" ;;
            esac
            t6_log "deck $T6_DECK: not in $T6_HOME or $T6_HOME/input; t6 looks for it in" \
                "$("$T6_BIN" --deck-path 2>/dev/null | tr '\n' ' ')"
        fi
        ;;
    esac
}

# T6_JOB_SCRIPT (PBS resubmission): absolute, or relative to T6_HOME (a copy in the
# submit directory), its jobs/ (a checkout) or this helper's jobs folder (installed).
t6_job_script_path() {
    local s=${T6_JOB_SCRIPT:-} c
    case "$s" in /* | "") echo "$s"; return ;; esac
    for c in "$T6_HOME/$s" "$T6_HOME/jobs/$s" "$T6_JOBS_DIR/$s" "$T6_JOBS_DIR/$(basename "$s")"; do
        [ -r "$c" ] && { echo "$c"; return; }
    done
    echo "$T6_HOME/$s"
}

# Environment modules (Lmod or Tcl modules) named in T6_MODULES, e.g.
# T6_MODULES="cuda/12.4 openmpi/4.1.6 hdf5/1.14". Site setup can also go in a file
# named by T6_ENV_FILE, sourced before anything else.
t6_job_modules() {
    if [ -n "${T6_ENV_FILE:-}" ]; then
        [ -r "$T6_ENV_FILE" ] || t6_die "T6_ENV_FILE=$T6_ENV_FILE cannot be read"
        # shellcheck disable=SC1090
        . "$T6_ENV_FILE"
    fi
    [ -n "${T6_MODULES:-}" ] || return 0
    if ! type module >/dev/null 2>&1; then
        local f
        for f in /etc/profile.d/lmod.sh /etc/profile.d/modules.sh \
            /usr/share/lmod/lmod/init/bash /usr/share/modules/init/bash; do
            # shellcheck disable=SC1090
            [ -r "$f" ] && { . "$f"; break; }
        done
    fi
    type module >/dev/null 2>&1 || t6_die "T6_MODULES is set but no 'module' command exists on $(hostname)"
    # shellcheck disable=SC2086
    module load $T6_MODULES || t6_die "module load $T6_MODULES failed"
}

# ---------------------------------------------------------------------------------
# Layout: nodes, ranks, GPUs, CPUs
# ---------------------------------------------------------------------------------
# t6_job_count NAME MIN: the variable NAME, when set and not empty, must be a whole
# number >= MIN; otherwise the job fails naming it (instead of a bash arithmetic error,
# or a typo silently replaced by a default).
t6_job_count() {
    local v=${!1:-}
    [ -n "$v" ] || return 0
    case "$v" in *[!0-9]*) t6_die "$1=$v is not a whole number (>= $2)" ;; esac
    [ "$((10#$v))" -ge "$2" ] || t6_die "$1=$v: must be at least $2"
    printf -v "$1" '%d' "$((10#$v))"   # "08" would be octal to bash's arithmetic
}

t6_job_layout() {
    local nodes= cpus_node= n
    # What the user gives is checked; what the scheduler gives is trusted.
    for n in T6_NODES T6_TASKS_PER_NODE T6_CPUS_PER_TASK T6_OMP_THREADS; do t6_job_count "$n" 1; done
    for n in T6_RESTART_COUNT T6_MAX_RESTARTS T6_TIME_LIMIT T6_SIGNAL_MARGIN; do t6_job_count "$n" 0; done
    case "$T6_SCHEDULER" in
    slurm)
        nodes=${SLURM_JOB_NUM_NODES:-${SLURM_NNODES:-1}}
        # SLURM_JOB_CPUS_PER_NODE looks like "96(x2)" or "48,32"; the first count.
        cpus_node=${SLURM_JOB_CPUS_PER_NODE:-}
        cpus_node=${cpus_node%%[(,]*}
        ;;
    pbs)
        # A named node file that cannot be read would silently make a multi-node job
        # a one-node one (and, below, leave mpirun without a host file).
        [ -z "${PBS_NODEFILE:-}" ] || [ -r "$PBS_NODEFILE" ] ||
            t6_die "PBS_NODEFILE=$PBS_NODEFILE cannot be read (the hosts of this job); set T6_NODES and T6_MPIRUN_ARGS by hand to run without it"
        if [ -n "${PBS_NODEFILE:-}" ] && [ -r "$PBS_NODEFILE" ]; then
            nodes=$(sort -u "$PBS_NODEFILE" | grep -c .)
            # Torque lists a host once per core; PBS Pro once per MPI process.
            cpus_node=${PBS_NUM_PPN:-${NCPUS:-}}
        fi
        ;;
    esac
    T6_NODES=${T6_NODES:-${nodes:-1}}
    [ -n "$cpus_node" ] || cpus_node=$(nproc 2>/dev/null || echo 1)

    T6_GPUS_PER_NODE=${T6_GPUS_PER_NODE:-0}
    # Slurm writes typed requests as "h100:8".
    local gpus_given=$T6_GPUS_PER_NODE
    T6_GPUS_PER_NODE=${T6_GPUS_PER_NODE##*:}
    case "$T6_GPUS_PER_NODE" in '' | *[!0-9]*) t6_die "T6_GPUS_PER_NODE=$gpus_given is not a count (N, or TYPE:N as Slurm writes it)" ;; esac
    T6_GPUS_PER_NODE=$((10#$T6_GPUS_PER_NODE))
    if [ -z "${T6_TASKS_PER_NODE:-}" ]; then
        # One rank per GPU; without GPUs what the scheduler gave (or one).
        if [ "$T6_GPUS_PER_NODE" -gt 0 ]; then
            T6_TASKS_PER_NODE=$T6_GPUS_PER_NODE
        else
            T6_TASKS_PER_NODE=${SLURM_NTASKS_PER_NODE:-1}
        fi
    fi
    if [ -z "${T6_CPUS_PER_TASK:-}" ]; then
        if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then
            T6_CPUS_PER_TASK=$SLURM_CPUS_PER_TASK
        else
            T6_CPUS_PER_TASK=$((cpus_node / T6_TASKS_PER_NODE))
        fi
    fi
    [ "$T6_CPUS_PER_TASK" -ge 1 ] 2>/dev/null || T6_CPUS_PER_TASK=1
    T6_NTASKS=$((T6_NODES * T6_TASKS_PER_NODE))

    if [ -z "${T6_BACKEND:-}" ]; then
        if [ "$T6_GPUS_PER_NODE" -gt 0 ]; then T6_BACKEND=cuda; else T6_BACKEND=cpu; fi
    fi
    if [ -z "${T6_LAUNCHER:-}" ]; then
        case "$T6_SCHEDULER" in
        slurm) T6_LAUNCHER=srun ;;
        pbs) T6_LAUNCHER=mpirun ;;
        none) if [ "$T6_NTASKS" -gt 1 ]; then T6_LAUNCHER=mpirun; else T6_LAUNCHER=none; fi ;;
        esac
    fi
}

# OpenMP threads = the cores each rank owns, pinned close to it. NCCL: see
# doc/running.md ("NCCL settings"); every value can be overridden from the
# submitting shell because only unset variables get a default here.
t6_job_environment() {
    export OMP_NUM_THREADS=${T6_OMP_THREADS:-$T6_CPUS_PER_TASK}
    export OMP_PLACES=${OMP_PLACES:-cores}
    export OMP_PROC_BIND=${OMP_PROC_BIND:-close}
    if [ "$T6_BACKEND" = cuda ]; then
        # NVLink SHARP (multicast) all-reduce: off unless the site enables it, since
        # it needs the fabric manager / IMEX set up right and misbehaves otherwise.
        export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0}
        export NCCL_DEBUG=${NCCL_DEBUG:-WARN}
        # Multi-node: NCCL picks InfiniBand/RoCE itself; NCCL_SOCKET_IFNAME and
        # NCCL_IB_HCA are left to the site (doc/running.md).
    fi
}

# ---------------------------------------------------------------------------------
# Run directory, stable across requeues
# ---------------------------------------------------------------------------------
t6_job_run_dir() {
    if [ -z "${T6_RUN_DIR:-}" ]; then
        # SLURM_JOB_ID survives `scontrol requeue`, so the requeued job finds the
        # same directory. (PBS resubmissions pass T6_RUN_DIR on explicitly.)
        T6_RUN_DIR=${T6_RUN_ROOT:-$T6_HOME/runs}/${T6_JOB_NAME}-${T6_JOB_ID}
    fi
    case "$T6_RUN_DIR" in /*) ;; *) T6_RUN_DIR=$T6_HOME/$T6_RUN_DIR ;; esac
    # A dry run leaves nothing behind (not even an empty run directory).
    [ "${T6_DRY_RUN:-0}" = 1 ] && return 0
    mkdir -p "$T6_RUN_DIR" || t6_die "cannot create run directory $T6_RUN_DIR"
}

# t6_job_run_dir_busy: true (0) when a live t6 holds <run_dir>/t6.lock (flock, the
# lock t6 itself takes), printing its holder line. Checked before the launch, so that
# a second job on the same run directory neither moves the live run's t6.status away
# nor starts, and after it, so that a t6 refused by the lock is never judged by the
# other run's status ("stopped" would requeue this job, "finished" end it with 0).
# Where flock(1) is missing or the file system has no flock, t6's own check decides.
t6_job_run_dir_busy() {
    local lock=$T6_RUN_DIR/t6.lock
    [ -e "$lock" ] && command -v flock >/dev/null 2>&1 || return 1
    flock -n -E 99 "$lock" true 2>/dev/null
    [ $? -eq 99 ] || return 1
    tr '\n' ' ' <"$lock" 2>/dev/null | sed 's/ *$//'
    return 0
}

# ---------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------
t6_job_t6_args() {
    local resume=${T6_RESUME:-auto}
    # A requeued or resubmitted attempt continues from the newest checkpoint, whatever
    # the first attempt started from (a T6_RESUME path would throw the progress away).
    if [ "${SLURM_RESTART_COUNT:-${T6_RESTART_COUNT:-0}}" -gt 0 ] && [ "$resume" != auto ]; then
        t6_log "restart: output.resume=auto instead of T6_RESUME=$resume"
        resume=auto
    fi
    T6_ARGS=("$T6_BIN" "$T6_DECK"
        --set "output.run_dir=$T6_RUN_DIR"
        --set "output.resume=$resume"
        --set "backend.device=$T6_BACKEND")
    # The paper decks ask for bf16, which only the CUDA backend has; a CPU run of the
    # same deck (T6_GPUS_PER_NODE=0) gets fp32 unless T6_PRECISION says otherwise.
    if [ -n "${T6_PRECISION:-}" ]; then
        T6_ARGS+=(--set "backend.precision=$T6_PRECISION")
    elif [ "$T6_BACKEND" = cpu ]; then
        T6_ARGS+=(--set "backend.precision=fp32")
    fi
    [ -n "${T6_MAX_STEPS:-}" ] && T6_ARGS+=(--set "train.max_steps=$T6_MAX_STEPS")
    local kv
    # T6_EXTRA_SET: whitespace-separated section.key=value overrides.
    for kv in ${T6_EXTRA_SET:-}; do
        case "$kv" in *.*=*) ;; *) t6_die "T6_EXTRA_SET item '$kv' is not section.key=value" ;; esac
        T6_ARGS+=(--set "$kv")
    done
    # Arguments given to the job script itself go to t6 as they are.
    T6_ARGS+=("$@")
}

t6_mpi_flavor() {
    if [ -n "${T6_MPI_FLAVOR:-}" ]; then echo "$T6_MPI_FLAVOR"; return; fi
    local v
    v=$("${T6_MPIRUN:-mpirun}" --version 2>&1 | head -n 3)
    case "$v" in
    *"Open MPI"* | *OpenRTE* | *"Open RTE"*) echo openmpi ;;
    *) echo mpich ;; # MPICH, MVAPICH, Intel MPI, HPE/Cray: Hydra options
    esac
}

# t6_job_need_launcher CMD WHAT HINT: the launcher must exist before anything runs;
# otherwise the job would only fail at the launch (exit 127, after t6 --check), and
# the MPI flavour, read from `mpirun --version`, would have been guessed. A dry run
# (e.g. on a login node without MPI) only warns.
t6_job_need_launcher() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "${T6_DRY_RUN:-0}" = 1 ]; then
        t6_log "warning: $2 is not on PATH here; the line below would fail ($3)"
        return 0
    fi
    t6_die "$2: no such command on $(hostname); $3"
}

t6_job_launch_line() {
    LAUNCH=()
    case "$T6_LAUNCHER" in
    srun)
        t6_job_need_launcher srun "srun" "run the script under sbatch, or set T6_LAUNCHER=mpirun"
        LAUNCH=(srun --nodes="$T6_NODES" --ntasks="$T6_NTASKS" --ntasks-per-node="$T6_TASKS_PER_NODE"
            --cpus-per-task="$T6_CPUS_PER_TASK" --cpu-bind=cores --kill-on-bad-exit=1)
        # Each rank sees exactly its GPU (t6 takes local_rank % visible devices).
        [ "$T6_GPUS_PER_NODE" -gt 0 ] && LAUNCH+=(--gpus-per-task=1)
        local mpi=${T6_SRUN_MPI:-}
        if [ -z "$mpi" ]; then
            # PMIx when this Slurm has it (Open MPI 4/5 talk to it directly).
            if srun --mpi=list 2>&1 | grep -q pmix; then mpi=pmix; else mpi=none; fi
        fi
        LAUNCH+=(--mpi="$mpi")
        # shellcheck disable=SC2206
        [ -n "${T6_SRUN_ARGS:-}" ] && LAUNCH+=($T6_SRUN_ARGS)
        ;;
    mpirun)
        local mpirun=${T6_MPIRUN:-mpirun} flavor hostfile=
        t6_job_need_launcher "$mpirun" "T6_MPIRUN=$mpirun" "load the MPI module (T6_MODULES), or set T6_MPIRUN=/path/to/mpirun"
        flavor=$(t6_mpi_flavor)
        if [ -n "${PBS_NODEFILE:-}" ] && [ -r "$PBS_NODEFILE" ]; then
            # One line per node, in PBS's order (the first is the mother superior,
            # where rank 0 should run); ranks per node come from the mapping options.
            hostfile=$T6_RUN_DIR/hosts.$T6_JOB_ID
            awk '!seen[$0]++' "$PBS_NODEFILE" >"$hostfile"
        fi
        case "$flavor" in
        openmpi)
            LAUNCH=("$mpirun" -np "$T6_NTASKS"
                --map-by "ppr:$T6_TASKS_PER_NODE:node:PE=$T6_CPUS_PER_TASK" --bind-to core)
            [ -n "$hostfile" ] && LAUNCH+=(--hostfile "$hostfile")
            local v
            # Open MPI does not pass the environment to remote nodes by itself.
            for v in OMP_NUM_THREADS OMP_PLACES OMP_PROC_BIND PATH LD_LIBRARY_PATH \
                NCCL_NVLS_ENABLE NCCL_DEBUG NCCL_SOCKET_IFNAME NCCL_IB_HCA; do
                [ -n "${!v+x}" ] && LAUNCH+=(-x "$v")
            done
            ;;
        mpich)
            LAUNCH=("$mpirun" -np "$T6_NTASKS" -ppn "$T6_TASKS_PER_NODE" -bind-to "core:$T6_CPUS_PER_TASK")
            [ -n "$hostfile" ] && LAUNCH+=(-f "$hostfile")
            LAUNCH+=(-genvall)
            ;;
        *) t6_die "T6_MPI_FLAVOR=$flavor: openmpi or mpich" ;;
        esac
        # shellcheck disable=SC2206
        [ -n "${T6_MPIRUN_ARGS:-}" ] && LAUNCH+=($T6_MPIRUN_ARGS)
        ;;
    none)
        [ "$T6_NTASKS" -eq 1 ] || t6_die "T6_LAUNCHER=none runs one process, but $T6_NTASKS ranks are asked for"
        ;;
    *) t6_die "T6_LAUNCHER=$T6_LAUNCHER: srun, mpirun or none" ;;
    esac
    LAUNCH+=("${T6_ARGS[@]}")
}

# ---------------------------------------------------------------------------------
# Run, forward signals, decide
# ---------------------------------------------------------------------------------
T6_CHILD=
T6_SIGNALLED=
t6_job_forward() {
    # The batch shell got $1 (Slurm --signal=B:USR1@..., PBS, a user's scancel -b):
    # pass it on to the launcher, which passes it to every rank. SIGTERM is passed on
    # as SIGUSR1 so that srun/mpirun do not start killing ranks themselves; t6 treats
    # both the same way (checkpoint, exit 0).
    T6_SIGNALLED=$1
    if [ -n "$T6_CHILD" ] && kill -0 "$T6_CHILD" 2>/dev/null; then
        t6_log "got SIG$1 at $(date '+%F %T'); asking t6 (pid $T6_CHILD) to checkpoint and stop"
        kill -USR1 "$T6_CHILD" 2>/dev/null
    else
        # Before the launch (or after t6 has ended): remembered, so that t6 is not
        # started and the job is requeued as it is.
        t6_log "got SIG$1 at $(date '+%F %T') with no t6 running"
    fi
}

t6_job_requeue() {
    local restarts=${SLURM_RESTART_COUNT:-${T6_RESTART_COUNT:-0}}
    local max=${T6_MAX_RESTARTS:-50}
    if [ "${T6_REQUEUE:-1}" = 0 ]; then
        t6_log "stopped at $1; T6_REQUEUE=0, not requeueing (resume by resubmitting with T6_RUN_DIR=$T6_RUN_DIR)"
        return 0
    fi
    if [ "$restarts" -ge "$max" ]; then
        t6_log "stopped at $1 after $restarts restarts (T6_MAX_RESTARTS=$max); not requeueing"
        return 1
    fi
    case "$T6_SCHEDULER" in
    slurm)
        t6_log "requeueing job $SLURM_JOB_ID (restart $((restarts + 1))); it resumes from $T6_RUN_DIR"
        echo "$(date '+%F %T') job $T6_JOB_ID requeue (restart $((restarts + 1)))" >>"$T6_RUN_DIR/jobs.log"
        if ! scontrol requeue "$SLURM_JOB_ID"; then
            t6_log "scontrol requeue failed (cancelled job, or JobRequeue disabled);" \
                "resume with: T6_RUN_DIR=$T6_RUN_DIR sbatch <the same script>"
            return 1
        fi
        ;;
    pbs)
        # PBS Pro and Torque only let operators qrerun; the portable way is a new job
        # that waits for this one and reuses the run directory.
        local script vars v
        script=$(t6_job_script_path)
        [ -r "$script" ] || { t6_log "T6_JOB_SCRIPT not readable ('$script'); resubmit by hand with T6_RUN_DIR=$T6_RUN_DIR"; return 1; }
        vars="T6_RUN_DIR=$T6_RUN_DIR,T6_RESTART_COUNT=$((restarts + 1)),T6_HOME=$T6_HOME"
        for v in $(compgen -v T6_); do
            case "$v" in
            T6_RUN_DIR | T6_RESTART_COUNT | T6_HOME) ;;
            T6_DECK | T6_BIN | T6_BACKEND | T6_GPUS_PER_NODE | T6_TASKS_PER_NODE | T6_CPUS_PER_TASK | \
                T6_EXTRA_SET | T6_MAX_STEPS | T6_MODULES | T6_ENV_FILE | T6_LAUNCHER | T6_MPIRUN | \
                T6_MPIRUN_ARGS | T6_MPI_FLAVOR | T6_TIME_LIMIT | T6_SIGNAL_MARGIN | T6_MAX_RESTARTS)
                [ -n "${!v}" ] && vars+=",$v=${!v}" ;;
            esac
        done
        t6_log "resubmitting $script after job $PBS_JOBID (restart $((restarts + 1)))"
        echo "$(date '+%F %T') job $T6_JOB_ID resubmit (restart $((restarts + 1)))" >>"$T6_RUN_DIR/jobs.log"
        (cd "$T6_HOME" && ${T6_QSUB:-qsub} -W "depend=afterany:$PBS_JOBID" -v "$vars" "$script") ||
            { t6_log "qsub failed; resubmit by hand with T6_RUN_DIR=$T6_RUN_DIR"; return 1; }
        ;;
    none)
        t6_log "stopped at $1; no batch system: run again with T6_RUN_DIR=$T6_RUN_DIR to resume"
        ;;
    esac
    return 0
}

# PBS has no advance-warning signal: the wall-time limit (qstat, else the job
# script's "#PBS -l walltime=" line) in seconds, or nothing.
t6_pbs_walltime() {
    local w=
    if command -v qstat >/dev/null 2>&1; then
        w=$(qstat -f "$PBS_JOBID" 2>/dev/null | sed -n 's/^ *Resource_List.walltime = *//p' | head -n 1)
    fi
    if [ -z "$w" ]; then
        local script
        script=$(t6_job_script_path)
        [ -r "$script" ] && w=$(sed -n 's/^#PBS .*walltime=\([0-9:]*\).*/\1/p' "$script" | head -n 1)
    fi
    [ -n "$w" ] || return 0
    # [[HH:]MM:]SS -> seconds
    echo "$w" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}

# ---------------------------------------------------------------------------------
# Pictures: curves and a summary of the run at the end of every attempt
# ---------------------------------------------------------------------------------
# t6-plot (beside the t6 binary, or on PATH) draws <run_dir>/curves.png and prints a
# summary into the job log when gnuplot is on the node; T6_PLOT=0 turns it off. A
# failure here never changes the job's outcome.
t6_job_render() {
    [ "${T6_PLOT:-1}" = 0 ] && return 0
    local plot bin_dir
    bin_dir=$(dirname "$(command -v "$T6_BIN" 2>/dev/null || echo "$T6_BIN")")
    if [ -x "$bin_dir/t6-plot" ]; then plot=$bin_dir/t6-plot
    elif command -v t6-plot >/dev/null 2>&1; then plot=$(command -v t6-plot)
    else t6_log "no t6-plot beside $T6_BIN or on PATH: no curves drawn"; return 0; fi
    [ -f "$T6_RUN_DIR/metrics.h5" ] || return 0
    "$plot" --summary "$T6_RUN_DIR" >&2 || true
    if command -v gnuplot >/dev/null 2>&1 || [ -n "${T6_GNUPLOT:-}" ]; then
        "$plot" "$T6_RUN_DIR" -o "$T6_RUN_DIR/curves.png" --x tokens >&2 ||
            t6_log "t6-plot could not draw the curves (above); the run is not affected"
    else
        t6_log "gnuplot not on this node (package gnuplot-nox): no curves drawn; later: t6-plot $T6_RUN_DIR -o curves.png"
    fi
    return 0
}

t6_job_main() {
    set -u
    # From the start: Slurm's warning signal may come at any time, and bash's default
    # for SIGUSR1 would end the script without a requeue.
    trap 't6_job_forward USR1' USR1
    trap 't6_job_forward TERM' TERM
    trap 't6_job_forward INT' INT
    t6_job_detect
    T6_HOME=${T6_HOME:-${SLURM_SUBMIT_DIR:-${PBS_O_WORKDIR:-$PWD}}}
    T6_HOME=$(cd "$T6_HOME" && pwd) || t6_die "T6_HOME=$T6_HOME does not exist"
    t6_job_modules
    t6_job_find_binary
    t6_job_find_deck
    t6_job_layout
    t6_job_environment
    t6_job_run_dir
    t6_job_t6_args "$@"
    t6_job_launch_line

    t6_log "job $T6_JOB_ID ($T6_SCHEDULER) on $(hostname): $T6_NODES node(s) x $T6_TASKS_PER_NODE rank(s)," \
        "$T6_GPUS_PER_NODE GPU(s)/node, $T6_CPUS_PER_TASK CPU(s)/rank, backend $T6_BACKEND," \
        "restart ${SLURM_RESTART_COUNT:-${T6_RESTART_COUNT:-0}}"
    t6_log "run dir $T6_RUN_DIR"
    t6_log "launch: $(t6_quote "${LAUNCH[@]}")"
    if [ "${T6_DRY_RUN:-0}" = 1 ]; then
        t6_quote "${LAUNCH[@]}"
        return 0
    fi

    local holder
    if holder=$(t6_job_run_dir_busy); then
        t6_die "run directory $T6_RUN_DIR is in use by another t6 ($holder); wait for it to end," \
            "or give this job another T6_RUN_DIR"
    fi
    # Validate the deck for this world size before asking for the GPUs' time.
    if [ "${T6_PRECHECK:-1}" = 1 ]; then
        "${T6_ARGS[0]}" --check "${T6_ARGS[@]:1}" --ranks "$T6_NTASKS" >"$T6_RUN_DIR/check.$T6_JOB_ID.txt" 2>&1 ||
            { cat "$T6_RUN_DIR/check.$T6_JOB_ID.txt" >&2; t6_die "t6 --check rejected the deck (above)"; }
    fi

    # A status left by the previous attempt must not be mistaken for this one's.
    local status_file=$T6_RUN_DIR/t6.status
    [ -e "$status_file" ] && mv -f "$status_file" "$status_file.prev"
    echo "$(date '+%F %T') job $T6_JOB_ID start on $(hostname) (restart ${SLURM_RESTART_COUNT:-${T6_RESTART_COUNT:-0}})" \
        >>"$T6_RUN_DIR/jobs.log"

    if [ -n "$T6_SIGNALLED" ]; then
        t6_log "asked to stop before t6 started; requeueing without running it"
        echo "$(date '+%F %T') job $T6_JOB_ID stopped before launch" >>"$T6_RUN_DIR/jobs.log"
        t6_job_requeue "before-launch" || return 1
        return 0
    fi
    local watchdog=
    [ -z "${T6_TIME_LIMIT:-}" ] && [ "$T6_SCHEDULER" = pbs ] && T6_TIME_LIMIT=$(t6_pbs_walltime)
    if [ -n "${T6_TIME_LIMIT:-}" ]; then
        # Schedulers without Slurm's --signal (PBS): signal ourselves a margin before
        # the wall-time limit so that the checkpoint is written in time.
        local delay=$((T6_TIME_LIMIT - ${T6_SIGNAL_MARGIN:-300}))
        [ "$delay" -lt 1 ] && delay=1
        # The sleep is killed with the watchdog (no day-long orphan after the job).
        (
            trap 'kill "$sp" 2>/dev/null; exit 0' TERM
            sleep "$delay" &
            sp=$!
            wait "$sp" && kill -USR1 $$
        ) &
        watchdog=$!
    fi
    "${LAUNCH[@]}" &
    T6_CHILD=$!
    local rc=0
    # `wait` returns early (>128) whenever a trapped signal arrives; wait again until
    # the launcher has really exited.
    while :; do
        wait "$T6_CHILD"
        rc=$?
        kill -0 "$T6_CHILD" 2>/dev/null || break
    done
    [ -n "$watchdog" ] && { kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null; }

    local status=
    if holder=$(t6_job_run_dir_busy); then
        # Another job got the lock first (both passed the check above at once).
        echo "$(date '+%F %T') job $T6_JOB_ID end rc=$rc: run directory in use by another t6" >>"$T6_RUN_DIR/jobs.log"
        t6_die "t6 exited with $rc; run directory $T6_RUN_DIR is in use by another t6 ($holder):" \
            "its t6.status is not this job's; not requeueing"
    fi
    [ -r "$status_file" ] && read -r status <"$status_file"
    t6_log "launcher exited with $rc; t6.status: '${status:-<none>}'"
    echo "$(date '+%F %T') job $T6_JOB_ID end rc=$rc status='${status:-}'" >>"$T6_RUN_DIR/jobs.log"
    case "$status" in finished* | stopped*) t6_job_render ;; esac
    case "$status" in
    finished*)
        t6_log "finished; metrics in $T6_RUN_DIR"
        return 0
        ;;
    stopped*)
        t6_job_requeue "${status#stopped }" || return 1
        return 0
        ;;
    *)
        [ "$rc" -ne 0 ] || rc=1
        t6_log "t6 did not finish (status '${status:-none}'); see the log above and $T6_RUN_DIR"
        return "$rc"
        ;;
    esac
}

# ---------------------------------------------------------------------------------
# t6-prep jobs (CPU only, one process with many threads)
# ---------------------------------------------------------------------------------
t6_prep_main() {
    set -u
    t6_job_detect
    T6_HOME=${T6_HOME:-${SLURM_SUBMIT_DIR:-${PBS_O_WORKDIR:-$PWD}}}
    T6_HOME=$(cd "$T6_HOME" && pwd) || t6_die "T6_HOME=$T6_HOME does not exist"
    t6_job_modules
    local bin=${T6_PREP_BIN:-}
    if [ -z "$bin" ]; then
        t6_job_find_program t6-prep || t6_die "no t6-prep binary: looked at ${T6_PLACES[*]} and PATH;" \
            "set T6_PREP_BIN (or module load t6)"
        bin=$T6_FOUND
    fi
    [ -n "${T6_PREP_INPUT:-}" ] ||
        t6_die "T6_PREP_INPUT is not set: the FineWeb-Edu parquet files or their directory (doc/running.md)"
    local vocab=${T6_VOCAB_DIR:-$T6_HOME/data/gpt2}
    [ -r "$vocab/encoder.json" ] && [ -r "$vocab/vocab.bpe" ] ||
        t6_die "no GPT-2 vocabulary in $vocab (get it with tools/fetch-gpt2-vocab.sh $vocab, or set T6_VOCAB_DIR)"
    local out=${T6_PREP_OUT:-$T6_HOME/data/fineweb_edu}
    local threads=${T6_PREP_THREADS:-${SLURM_CPUS_PER_TASK:-${NCPUS:-$(nproc)}}}
    export OMP_NUM_THREADS=$threads
    local args=("$bin" --vocab "$vocab" -o "$out" --name "${T6_PREP_NAME:-fineweb_edu}"
        --layout "${T6_PREP_LAYOUT:-fineweb}" -j "$threads" --progress-interval 60)
    local a
    # shellcheck disable=SC2206
    [ -n "${T6_PREP_ARGS:-}" ] && args+=($T6_PREP_ARGS)
    # T6_PREP_INPUT may name several files or directories (whitespace-separated).
    for a in $T6_PREP_INPUT; do args+=("$a"); done
    args+=("$@")
    t6_log "prep job $T6_JOB_ID ($T6_SCHEDULER) on $(hostname): $threads threads"
    t6_log "run: $(t6_quote "${args[@]}")"
    if [ "${T6_DRY_RUN:-0}" = 1 ]; then
        t6_quote "${args[@]}"
        return 0
    fi
    "${args[@]}"
}
