/* rundir.h -- ownership of a run directory by one t6 process (rank 0 of a training
 * job): the lock file <run_dir>/t6.lock, the status file <run_dir>/t6.status, and
 * the rule for temporary files left behind. doc/running.md ("What happens when
 * things go wrong") states the guarantees, doc/formats/rundir.md the two files.
 *
 * Lock: flock(LOCK_EX) on t6.lock, which holds "pid P", "host H" and "started T"
 * lines while held and is emptied (not removed: removing a flock'ed file lets two
 * processes lock two different files) on release. A second run on the directory is
 * refused, naming the holder. A lock whose holder died (kill -9, node reboot) is
 * taken over with a warning; so is one still flock'ed but naming a dead process on
 * this host (an orphaned child kept the descriptor). Where flock is not supported
 * (some parallel file systems without the flock mount option) the recorded pid and
 * host decide: a live process on this host, or any process on another host, keeps
 * the directory.
 *
 * Status: one line, replaced atomically: "running <step>", "stopped <step>",
 * "finished <step>" or "failed <step>: <reason>". A fatal error writes "failed"
 * from a t6_fatal hook, any other exit without a final state from an atexit hook;
 * a second SIGINT from the signal handler (signals.h). */
#ifndef T6_RUNDIR_H
#define T6_RUNDIR_H

typedef struct {
    char dir[4096];
    char lock_path[4200], status_path[4200];
    int lock_fd;       /* -1: not locked */
    int status_on;     /* this process writes the status file */
    int final;         /* a final state was written: nothing overwrites it */
    long step;         /* the step of the last status line */
    int hook;          /* t6_fatal hook handle */
} t6_rundir;

/* Locks dir (which must exist) for this process; fatal, naming the holder, when
 * another live run holds it. rd is then owned by the caller until t6_rundir_close
 * and must stay at the same address (hooks point to it). */
void t6_rundir_lock(t6_rundir *rd, const char *dir);
/* Starts writing <dir>/t6.status: registers the failure hooks (t6_fatal, atexit,
 * second SIGINT). Call after t6_rundir_lock. */
void t6_rundir_status_start(t6_rundir *rd);
/* Writes "<state> <step>"; final states (stopped, finished) are fsync'd and end the
 * status file's life for this process. */
void t6_rundir_status(t6_rundir *rd, const char *state, long step, int final);
/* Records the step without writing the file: the step a failure or an abort names. */
void t6_rundir_note_step(t6_rundir *rd, long step);
/* Writes the final "failed <step>: <reason>" (newlines in reason become spaces). */
void t6_rundir_fail(t6_rundir *rd, const char *reason);
/* Releases the lock (empties t6.lock) and unregisters the hooks. */
void t6_rundir_close(t6_rundir *rd);

/* For a temporary file named "<anything>.tmp.<pid>": 1 when that pid is a live
 * process other than this one (its writer may still be writing: leave the file),
 * 0 when the pid is dead or ours, -1 when the name has no pid suffix. */
int t6_temp_writer_alive(const char *name);
/* Removes the "*.tmp.<pid>" files of dir whose writer is dead, with a warning each
 * (what = "a checkpoint", "a status file", ...). Returns the number removed. */
int t6_clean_temp_files(const char *dir, const char *prefix, const char *what);

#endif
