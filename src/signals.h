/* signals.h -- SIGUSR1 / SIGTERM ask a run to stop: the handler only sets a flag,
 * the training loop checkpoints at the next step boundary and exits 0 (the batch
 * system's way of saying "your time is up, save and requeue"). */
#ifndef T6_SIGNALS_H
#define T6_SIGNALS_H

/* Installs the handlers (idempotent). */
void t6_signals_install(void);
/* The signal that asked to stop, or 0. */
int t6_signals_stop_requested(void);

#endif
