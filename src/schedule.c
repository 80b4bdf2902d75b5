/* schedule.c -- learning-rate schedules (see schedule.h and doc/training.md). */
#include "schedule.h"

#include <math.h>

double t6_schedule_lr(const t6_optim_config *o, long it)
{
    const double lr = o->lr, min_lr = o->min_lr;
    const long warm = o->warmup_steps, decay = o->decay_steps;
    /* 1) linear warmup from 0 (reference: learning_rate * it / warmup_iters) */
    if (warm > 0 && it < warm) return lr * (double)it / (double)warm;
    switch (o->schedule) {
    case T6_SCHED_CONSTANT:
        return lr;
    case T6_SCHED_WSD: {
        /* stable at lr, then linear decay to min_lr over the last wsd_decay_frac of
         * decay_steps, min_lr afterwards */
        double start = (double)decay - o->wsd_decay_frac * (double)decay;
        if (start < (double)warm) start = (double)warm;
        if ((double)it < start) return lr;
        if (it >= decay) return min_lr;
        double r = ((double)it - start) / ((double)decay - start);
        return lr + r * (min_lr - lr);
    }
    case T6_SCHED_COSINE:
    default: {
        /* 2) past decay_steps: min_lr; 3) in between: cosine from lr down to min_lr */
        if (it > decay) return min_lr;
        if (decay <= warm) return min_lr;
        double r = (double)(it - warm) / (double)(decay - warm);
        double coeff = 0.5 * (1.0 + cos(M_PI * r));
        return min_lr + coeff * (lr - min_lr);
    }
    }
}
