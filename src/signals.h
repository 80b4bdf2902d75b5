/* signals.h -- stopping a run by signal. SIGUSR1, SIGTERM, SIGHUP and a first SIGINT
 * ask the run to stop: the handler only sets a flag, and the loops poll it at points
 * where stopping is clean (the training loop checkpoints at the next step boundary
 * and exits 0 with status "stopped <step>"; the batch system's way of saying "your
 * time is up, save and requeue"). A second SIGINT aborts at once (exit 130): the
 * handler removes the checkpoint being written, writes "failed <step>: aborted by a
 * second SIGINT" to the status file, and _exits. A SIGHUP ignored when t6 starts
 * (nohup) stays ignored.
 *
 * For every long loop (evaluation, generation, task evaluation, ...): call
 * t6_stop_requested() once per batch / token / item and, when it is non-zero, finish
 * the current unit, skip the rest, report the partial result as interrupted (never
 * as a complete one), and return to the caller, which ends the job. It is a read of
 * one sig_atomic_t: cheap enough for any loop. Under MPI the ranks must still agree
 * before any collective that depends on it (t6_dist_any, as the training loop does),
 * since a signal may reach the ranks at different times. */
#ifndef T6_SIGNALS_H
#define T6_SIGNALS_H

/* Installs the handlers (idempotent). */
void t6_signals_install(void);
/* The line a first SIGINT prints on stderr (the default speaks of the training
 * loop's checkpoint). note must stay valid (a string literal): the handler writes it. */
void t6_signals_set_sigint_note(const char *note);
/* The signal that asked to stop (SIGUSR1, SIGTERM, SIGHUP, SIGINT), or 0. */
int t6_stop_requested(void);
/* The older name of t6_stop_requested. */
int t6_signals_stop_requested(void);

/* What the second-SIGINT abort touches, set by the run directory's owner (rank 0).
 * The paths are copied; NULL clears. Only async-signal-safe calls use them. */
void t6_signals_set_abort_status(const char *status_path);
void t6_signals_set_abort_step(long step);
/* A file to remove on abort: the checkpoint temp file while it is being written. */
void t6_signals_set_abort_temp(const char *path);

/* Test only: sleeps the milliseconds in the environment variable env_name (nothing
 * when unset or not positive), called once per step / batch / token of a long loop
 * so that a test's signal lands inside it (T6_TEST_STEP_DELAY_MS per training step,
 * T6_TEST_EVAL_DELAY_MS per evaluation batch (val loss and task requests),
 * T6_TEST_GEN_DELAY_MS per generated token; tests/train/signals.sh). */
void t6_test_delay(const char *env_name);

#endif
