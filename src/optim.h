/* optim.h -- AdamW exactly as the reference (one parameter group: every parameter,
 * embeddings included, is decayed; PyTorch's decoupled-decay, bias-corrected update
 * as documented for t6_ops.adamw in backend.h), with global-norm gradient clipping
 * as torch.nn.utils.clip_grad_norm_ computes it. */
#ifndef T6_OPTIM_H
#define T6_OPTIM_H

#include <stddef.h>

#include "backend.h"
#include "deck.h"

typedef struct {
    t6_backend *be;
    t6_optim_config cfg;
    size_t n;          /* parameters */
    float *m, *v;      /* first and second moments (device, fp32) */
    long t;            /* AdamW updates taken (bias correction uses t+1 for the next one) */
} t6_optim;

typedef struct {
    double grad_norm;  /* global L2 norm of the gradient before clipping */
    int clipped;       /* 1 when the gradient was scaled down */
    double lr;
} t6_optim_stats;

void t6_optim_init(t6_optim *o, t6_backend *be, const t6_optim_config *cfg, size_t n);
void t6_optim_free(t6_optim *o);

/* Clips (by scaling inside the update, the gradient buffer is left as is) and
 * applies one AdamW update with learning rate lr. `compute` is the backend's
 * compute copy of the weights, or NULL when the caller refreshes it. */
void t6_optim_step(t6_optim *o, float *params, void *compute, const float *grads, double lr,
                   t6_optim_stats *st);
/* The same in two halves, so a caller can look at the gradient norm before deciding
 * to update (the divergence guard): t6_optim_grad_norm, then t6_optim_apply with
 * that norm. A step that is never applied leaves parameters, moments and t as they
 * were. */
double t6_optim_grad_norm(const t6_optim *o, const float *grads);
void t6_optim_apply(t6_optim *o, float *params, void *compute, const float *grads, double lr,
                    double grad_norm, t6_optim_stats *st);

/* Host copies of the moments (n floats each) and the update counter, for
 * checkpoints: callers go through these rather than the backend's ops table. */
void t6_optim_get_moments(const t6_optim *o, float *m, float *v, long *t);
void t6_optim_set_moments(t6_optim *o, const float *m, const float *v, long t);

/* Global L2 norm of n device floats. */
double t6_optim_norm(t6_backend *be, const float *x, size_t n);

#endif
