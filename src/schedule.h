/* schedule.h -- the learning-rate schedules of optim.schedule: cosine (the
 * reference's), WSD (warmup-stable-decay) and constant, each after a linear warmup
 * from 0. */
#ifndef T6_SCHEDULE_H
#define T6_SCHEDULE_H

#include "deck.h"

/* Learning rate of the update made at iteration `it` (0-based: the first
 * optimizer step uses it = 0, so its lr is 0 when warmup_steps > 0, as in the
 * reference's lr * it / warmup). */
double t6_schedule_lr(const t6_optim_config *o, long it);

#endif
