/* train.h -- the jobs `t6 DECK` runs: training (with periodic evaluation,
 * checkpoints and metrics) and stand-alone evaluation. */
#ifndef T6_TRAIN_H
#define T6_TRAIN_H

#include "deck.h"

/* Runs deck->job. Initializes MPI itself when built with MPI. Returns the process
 * exit status (0 on success, including a clean stop on SIGUSR1/SIGTERM). */
int t6_job_run(t6_deck *deck);

#endif
