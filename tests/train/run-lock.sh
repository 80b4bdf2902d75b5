#!/bin/sh
# run-lock.sh -- issue #10 item 2: one t6 per run directory. A second run on a busy
# run_dir is refused, naming the holder (pid, host, start), and disturbs nothing of
# the first (before the fix both ran and the second replaced the first's files); a
# lock left by a killed run, or still held but naming a dead process of this host, is
# taken over with a warning; temporary files are removed only when their writer is
# dead. T6_TEST_STEP_DELAY_MS (test only) keeps the first run busy.
. "$(dirname "$0")/common.sh"
command -v flock >/dev/null 2>&1 || { echo "SKIP: flock(1) (util-linux) not installed"; exit 77; }
HOST=$(hostname)

# a pid that is certainly dead: a child that has exited and been reaped
dead_pid() { sh -c 'exit 0' & _p=$!; wait $_p; echo $_p; }
# hold_lock FILE: a background sleep that holds flock(LOCK_EX) on FILE (pid in $!;
# killing it releases the lock and leaves no process behind)
hold_lock() { ( exec 9>>"$1"; flock -x 9; exec sleep 60 ) & }

# ---- a second run on a busy run_dir is refused ------------------------------------------
# The first run is stopped by SIGTERM once the second has been refused: a fixed number
# of slow steps raced the second run's start on a loaded machine (the second came after
# the first had finished and resumed its checkpoint).
R="$TMP/busy"
T6_TEST_STEP_DELAY_MS=150 "$T6" "$DEMO" $TINY --set output.run_dir="$R" --set train.max_steps=100000 \
    >"$R.first.log" 2>&1 &
first=$!
wait_for "the first run to start" grep -qs "^running" "$R/t6.status"
grep -q "^pid $first\$" "$R/t6.lock" && ok "t6.lock names the holder's pid" || bad "t6.lock: $(cat "$R/t6.lock")"
grep -q "^host $HOST\$" "$R/t6.lock" && ok "t6.lock names the host" || bad "t6.lock has no host line"
grep -q "^started [0-9-]*T[0-9:]*Z\$" "$R/t6.lock" && ok "t6.lock has the start time" || bad "t6.lock has no start time"
tiny "$R" 20; rc=$?
[ "$rc" -ne 0 ] && ok "the second run exits $rc" || bad "the second run was accepted"
expect_grep "the refusal names the holder" "is in use by t6 pid $first on host $HOST (started " "$R.log"
kill -0 $first 2>/dev/null && ok "the first run still runs" || bad "the first run died"
kill -TERM $first
wait $first
expect_eq "the first run exits 0 (stopped by SIGTERM)" "$?" 0
st=$(status_of "$R")
case "$st" in "stopped "*) ok "the first run's status: $st" ;; *) bad "the first run's status: $st" ;; esac
expect_eq "the first run's metrics are whole" "$(rows "$R/metrics.h5" /train/step)" "${st#stopped }"
expect_eq "the lock is released (emptied) at the end" "$(cat "$R/t6.lock")" ""

# ---- a lock left by a killed run is taken over with a warning --------------------------
R="$TMP/killed"
T6_TEST_STEP_DELAY_MS=150 "$T6" "$DEMO" $TINY --set output.run_dir="$R" --set train.max_steps=100000 \
    >"$R.first.log" 2>&1 &
victim=$!
wait_for "the run to start" grep -qs "^running" "$R/t6.status"
kill -9 $victim; wait $victim 2>/dev/null
grep -q "^pid $victim\$" "$R/t6.lock" && ok "kill -9 leaves the lock file naming pid $victim" || bad "lock file: $(cat "$R/t6.lock")"
tiny "$R" 6
expect_eq "the next run starts and finishes" "$?" 0
expect_grep "the take-over is reported" "warning: taking over the lock '$R/t6.lock' of t6 pid $victim on host $HOST" "$R.log"

# ---- still flock'ed, but naming a dead process of this host: taken over -----------------
R="$TMP/orphan"
mkdir -p "$R"
gone=$(dead_pid)
printf 'pid %s\nhost %s\nstarted 2020-01-01T00:00:00Z\n' "$gone" "$HOST" >"$R/t6.lock"
hold_lock "$R/t6.lock"
holder=$!
wait_for "flock(1) to take the lock" sh -c "! flock -n -x '$R/t6.lock' true"
tiny "$R" 6
expect_eq "a lock held for a dead pid is taken over" "$?" 0
expect_grep "with a warning naming the dead pid" "of t6 pid $gone on host $HOST" "$R.log"
kill $holder 2>/dev/null; wait $holder 2>/dev/null

# ---- still flock'ed and naming a live process: refused ---------------------------------
R="$TMP/live"
mkdir -p "$R"
hold_lock "$R/t6.lock"
alive=$!
printf 'pid %s\nhost %s\nstarted 2020-01-01T00:00:00Z\n' "$alive" "$HOST" >"$R/t6.lock"
wait_for "flock(1) to take the lock" sh -c "! flock -n -x '$R/t6.lock' true"
tiny "$R" 6; rc=$?
[ "$rc" -ne 0 ] && ok "a lock held by a live process is respected" || bad "the run took a live lock"
expect_grep "the refusal names pid, host and start" \
    "is in use by t6 pid $alive on host $HOST (started 2020-01-01T00:00:00Z)" "$R.log"
[ ! -e "$R/t6.status" ] && ok "the refused run wrote no status" || bad "the refused run wrote t6.status: $(status_of "$R")"
kill $alive 2>/dev/null; wait $alive 2>/dev/null

# ---- temporary files: removed only when their writer is dead ---------------------------
R="$TMP/temps"
mkdir -p "$R/checkpoints"
sleep 60 &
writer=$!
gone=$(dead_pid)
: >"$R/checkpoints/.ckpt_00000003.h5.tmp.$writer"
: >"$R/checkpoints/.ckpt_00000004.h5.tmp.$gone"
: >"$R/t6.status.tmp.$gone"
tiny "$R" 2
expect_eq "the run with leftovers exits 0" "$?" 0
[ -e "$R/checkpoints/.ckpt_00000003.h5.tmp.$writer" ] && ok "a live writer's temp file is left alone" \
    || bad "a live writer's temp file was removed"
expect_grep "and reported" "leaving '$R/checkpoints/.ckpt_00000003.h5.tmp.$writer'" "$R.log"
[ ! -e "$R/checkpoints/.ckpt_00000004.h5.tmp.$gone" ] && ok "a dead writer's temp checkpoint is removed" \
    || bad "a dead writer's temp checkpoint is still there"
[ ! -e "$R/t6.status.tmp.$gone" ] && ok "a dead writer's temp status file is removed" \
    || bad "a dead writer's temp status file is still there"
kill $writer 2>/dev/null; wait $writer 2>/dev/null
finish
