#!/usr/bin/env bash
# slurm-local.sh -- a real, throw-away, single-host Slurm cluster for tests and for
# trying the job scripts in jobs/ on a laptop: munged with a freshly generated key,
# slurmctld and slurmd (Debian's slurm-wlm), one CPU node = this host, configuration,
# state, spool, logs and sockets all inside one temporary directory. No systemd and no
# cgroups confining jobs (proctrack/linuxproc, task/affinity), so it runs inside
# containers as well as on a fresh Debian 12 machine. Outside that directory only
# slurmd's own cgroup (cgroup v2 hosts: system.slice/*slurmstepd.scope) is created.
#
#   tools/slurm-local.sh start [DIR]   start everything, wait until the node is idle;
#                                      prints DIR (created with mktemp when not given)
#                                      on stdout; `. DIR/env.sh` points sbatch/squeue/...
#                                      at it (SLURM_CONF).
#   tools/slurm-local.sh stop DIR      stop the daemons started by `start DIR` (by the
#                                      pids they recorded) and remove DIR.
#   tools/slurm-local.sh status DIR    sinfo/squeue of that cluster.
#
# Must run as root (slurmd starts jobs as their owners). Exit status 77 with a line
# "SKIP: ..." on stderr when the daemons cannot run here (not root, packages missing,
# daemons refusing to start), so tests can report a skip, not a pass.
# Environment: T6_SLURM_CPUS (CPUs of the node, default nproc), T6_SLURM_GPUS (GPUs
# the node claims to have, default 0: empty files stand in for the devices, for
# checking the GPU scripts' resource requests and GPU binding), T6_SLURM_MEM_MB (memory it claims, default the
# host's), T6_SLURM_TIMEOUT (seconds to wait for the node, default 60),
# T6_SLURM_KEEP=1 (stop keeps DIR). A node claiming more than the host has is
# accepted (SlurmdParameters=config_overrides): jobs then share the real cores.
set -u

prog=slurm-local.sh
say() { echo "$prog: $*" >&2; }
skip() { echo "SKIP: $prog: $*" >&2; exit 77; }
die() { echo "$prog: error: $*" >&2; exit 1; }

sbin_path() {
    # Debian installs the daemons in /usr/sbin, which a non-login root shell may lack.
    local c
    for c in "$@"; do
        command -v "$c" 2>/dev/null && return 0
        [ -x "/usr/sbin/$c" ] && { echo "/usr/sbin/$c"; return 0; }
    done
    return 1
}

port_free() {
    # A port is taken when something accepts a connection on it.
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_ports() {
    # Two consecutive free ports in 20000-39999; random start so that several
    # clusters (parallel make check) do not collide.
    local i p
    for i in $(seq 1 50); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 20000))
        if port_free "$p" && port_free "$((p + 1))"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

wait_for() {
    # wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.5 s.
    local t=$1 what=$2 n
    shift 2
    n=$((t * 2))
    while [ "$n" -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
        n=$((n - 1))
    done
    say "timed out after ${t}s waiting for $what"
    return 1
}

show_logs() {
    local f
    for f in "$1"/log/*.log; do
        [ -s "$f" ] || continue
        echo "---- $f (last 25 lines) ----" >&2
        tail -n 25 "$f" >&2
    done
}

kill_pidfile() {
    # kill_pidfile FILE NAME: TERM the recorded pid, wait up to 10 s, then KILL.
    local f=$1 name=$2 pid n
    [ -s "$f" ] || return 0
    pid=$(cat "$f" 2>/dev/null)
    case "$pid" in '' | *[!0-9]*) return 0 ;; esac
    # Only a process still running the daemon we started (pids are reused).
    if ! grep -q "$name" "/proc/$pid/cmdline" 2>/dev/null; then
        rm -f "$f"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    for n in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
        sleep 0.5
    done
    say "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    rm -f "$f"
}

cmd_stop() {
    local dir=${1:-}
    [ -n "$dir" ] || die "usage: $prog stop DIR"
    [ -f "$dir/slurm.conf" ] || { say "$dir holds no cluster of ours; nothing to stop"; return 0; }
    # Jobs first, so slurmstepd processes exit through Slurm rather than be orphaned.
    if [ -f "$dir/env.sh" ] && [ -s "$dir/run/slurmctld.pid" ]; then
        SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --quiet --user=root >/dev/null 2>&1 || true
        sleep 1
    fi
    kill_pidfile "$dir/run/slurmd.pid" slurmd
    kill_pidfile "$dir/run/slurmctld.pid" slurmctld
    kill_pidfile "$dir/run/munged.pid" munged
    # Any job step left behind by a crashed slurmd carries this dir in its spool path.
    local p
    for p in $(pgrep -f "slurmstepd" 2>/dev/null); do
        grep -q "$dir" "/proc/$p/environ" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    if [ "${T6_SLURM_KEEP:-0}" = 1 ]; then
        say "stopped; kept $dir"
    else
        rm -rf "$dir"
        say "stopped; removed $dir"
    fi
}

cmd_status() {
    local dir=${1:-}
    [ -f "$dir/slurm.conf" ] || die "usage: $prog status DIR (a directory made by start)"
    export SLURM_CONF="$dir/slurm.conf"
    sinfo
    squeue
}

cmd_start() {
    local dir=${1:-}
    [ "$(id -u)" -eq 0 ] || skip "must run as root (slurmd launches jobs as their owner)"
    local munged slurmctld slurmd
    munged=$(sbin_path munged) || skip "munged not installed (tools/install-deps.sh installs munge)"
    slurmctld=$(sbin_path slurmctld) || skip "slurmctld not installed (tools/install-deps.sh installs slurm-wlm)"
    slurmd=$(sbin_path slurmd) || skip "slurmd not installed (tools/install-deps.sh installs slurm-wlm)"
    command -v sbatch >/dev/null || skip "sbatch not installed (slurm-client)"
    command -v sinfo >/dev/null || skip "sinfo not installed (slurm-client)"
    # slurmd 22.05 refuses to start without a cgroup filesystem, even with no cgroup
    # plugin configured (seen in a chroot without /sys/fs/cgroup).
    grep -qs ' /sys/fs/cgroup' /proc/mounts ||
        skip "no cgroup filesystem at /sys/fs/cgroup (slurmd needs one to start)"

    if [ -z "$dir" ]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/t6-slurm.XXXXXX") || die "mktemp failed"
    else
        mkdir -p "$dir" || die "cannot create $dir"
    fi
    dir=$(cd "$dir" && pwd)
    chmod 0755 "$dir"
    mkdir -p "$dir/munge" "$dir/run" "$dir/log" "$dir/state" "$dir/spool" "$dir/tmp"
    # munged insists that its key and socket directories are private to it.
    chmod 0700 "$dir/munge"

    local cpus=${T6_SLURM_CPUS:-$(nproc)} gpus=${T6_SLURM_GPUS:-0} mem gres=
    mem=${T6_SLURM_MEM_MB:-$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)}
    [ "$gpus" -gt 0 ] && gres="Gres=gpu:$gpus"
    # CPU binding (task/affinity) needs the CPUs to exist; a node claiming more than
    # the host has runs without it (srun then warns that binding is unsupported).
    local taskplugin=task/affinity
    [ "$cpus" -gt "$(nproc)" ] && taskplugin=task/none
    # The host's real layout (sockets, cores, threads) when no CPU count is forced, so
    # that srun --cpu-bind=cores lays tasks out on the cores that exist.
    local topo="CPUs=${cpus}"
    if [ -z "${T6_SLURM_CPUS:-}" ]; then
        local hw
        hw=$("$slurmd" -C 2>/dev/null | sed -n '1s/^NodeName=[^ ]* //p' | sed 's/ *RealMemory=[0-9]*//')
        case "$hw" in CPUs=*) topo=$hw ;; esac
    fi
    local host node=t6node ports
    host=$(hostname -s 2>/dev/null || hostname)
    ports=$(pick_ports) || die "no free TCP ports found in 20000-39999"

    # --- munge: a new random key, a private socket ------------------------------------
    if command -v mungekey >/dev/null 2>&1 || [ -x /usr/sbin/mungekey ]; then
        "$(sbin_path mungekey)" --create --keyfile="$dir/munge/munge.key" --force >/dev/null 2>&1 ||
            dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    else
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    fi
    chmod 0400 "$dir/munge/munge.key"
    local sock="$dir/munge/munge.socket"
    "$munged" --force --key-file="$dir/munge/munge.key" --socket="$sock" \
        --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed" 2>>"$dir/log/munged.log" ||
        { show_logs "$dir"; skip "munged would not start here (log above)"; }
    wait_for 10 "munged socket" test -S "$sock" || { show_logs "$dir"; cmd_stop "$dir"; skip "munged socket never appeared"; }
    if command -v munge >/dev/null && command -v unmunge >/dev/null; then
        munge --socket="$sock" -n 2>/dev/null | unmunge --socket="$sock" >/dev/null 2>&1 ||
            { show_logs "$dir"; cmd_stop "$dir"; skip "munge credential round-trip failed"; }
    fi

    # --- slurm.conf: one node (this host), one partition -------------------------------
    cat >"$dir/slurm.conf" <<EOF
# Generated by tools/slurm-local.sh for a throw-away single-host cluster.
ClusterName=t6local
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${ports}
SlurmdPort=$((ports + 1))
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it may start again
# (default 120 s); tests requeue jobs, so keep it short.
AuthInfo=socket=${sock},cred_expire=10
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool/slurmd-%n
# Job-private temporary files (the PMIx plugin puts its socket dirs here).
TmpFS=${dir}/tmp
SlurmctldPidFile=${dir}/run/slurmctld.pid
SlurmdPidFile=${dir}/run/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: works in containers and on hosts without a delegated cgroup tree.
ProctrackType=proctrack/linuxproc
TaskPlugin=${taskplugin}
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Requeue is what the job scripts use to survive preemption.
JobRequeue=1
ReturnToService=2
# Short timers: tests wait on the scheduler, never on a human.
SchedulerParameters=sched_interval=2,bf_interval=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=10
MessageTimeout=10
GresTypes=gpu
# The node as configured, even where it claims more CPUs/GPUs than the host has.
SlurmdParameters=config_overrides
NodeName=${node} NodeHostname=${host} NodeAddr=127.0.0.1 ${topo} RealMemory=${mem} ${gres} State=UNKNOWN
PartitionName=local Nodes=${node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    # slurmd (22.05) initializes its cgroup plugin even when no cgroup plugin confines
    # jobs. On a cgroup v2 host it would ask systemd (dbus) for a scope, which a
    # daemon started by hand does not have: IgnoreSystemd makes it create its
    # directory itself. Nothing is constrained.
    cat >"$dir/cgroup.conf" <<EOF
# Generated by tools/slurm-local.sh. Jobs are tracked by proctrack/linuxproc; cgroups
# are only initialized, never used to confine.
CgroupPlugin=autodetect
IgnoreSystemd=yes
ConstrainCores=no
ConstrainDevices=no
ConstrainRAMSpace=no
EOF
    # Fake GPUs: character devices standing in for /dev/nvidiaN (numbered like
    # /dev/null, so nothing can be done with them). Slurm only checks that they are
    # devices; it then hands them out and sets CUDA_VISIBLE_DEVICES as on a GPU node.
    # Where mknod is not allowed, plain files: the counts still work, the binding not.
    : >"$dir/gres.conf"
    if [ "$gpus" -gt 0 ]; then
        mkdir -p "$dir/dev"
        local g
        for g in $(seq 0 $((gpus - 1))); do
            mknod "$dir/dev/nvidia$g" c 1 3 2>/dev/null || : >"$dir/dev/nvidia$g"
        done
        echo "NodeName=${node} Name=gpu File=${dir}/dev/nvidia[0-$((gpus - 1))]" >"$dir/gres.conf"
    fi
    cat >"$dir/env.sh" <<EOF
# Source me: points Slurm's commands at the cluster in $dir.
export SLURM_CONF=$dir/slurm.conf
export T6_SLURM_DIR=$dir
EOF
    export SLURM_CONF="$dir/slurm.conf"

    "$slurmctld" -f "$dir/slurm.conf" -i 2>>"$dir/log/slurmctld.log" ||
        { show_logs "$dir"; cmd_stop "$dir"; skip "slurmctld would not start here (log above)"; }
    wait_for 20 "slurmctld" timeout 5 scontrol ping ||
        { show_logs "$dir"; cmd_stop "$dir"; skip "slurmctld did not answer (log above)"; }
    "$slurmd" -f "$dir/slurm.conf" -N "$node" 2>>"$dir/log/slurmd.log" ||
        { show_logs "$dir"; cmd_stop "$dir"; skip "slurmd would not start here (log above)"; }
    local t=${T6_SLURM_TIMEOUT:-60}
    node_idle() { timeout 5 sinfo -h -n "$node" -o %t | grep -qx idle; }
    if ! wait_for "$t" "node $node to become idle" node_idle; then
        sinfo -N -l >&2
        show_logs "$dir"
        cmd_stop "$dir"
        skip "the local slurmd never registered as idle (log above)"
    fi
    say "cluster up in $dir (ports $ports-$((ports + 1)), node $node, $cpus CPUs, $gpus GPUs)"
    echo "$dir"
}

case "${1:-}" in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
status) shift; cmd_status "$@" ;;
*)
    sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
