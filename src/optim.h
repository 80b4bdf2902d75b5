/* optim.h -- AdamW exactly as the reference (one parameter group: every parameter,
 * embeddings included, is decayed; PyTorch's decoupled-decay, bias-corrected update
 * as documented for t6_ops.adamw in backend.h), with global-norm gradient clipping
 * as torch.nn.utils.clip_grad_norm_ computes it.
 *
 * ZeRO-1 (train.zero, src/gradsync.h): an optimizer may own only the element range
 * [off, off + cnt) of the flat parameter vector; it allocates moments for that range
 * alone and updates only it. The decay applies to every element alike (one group),
 * so a range that cuts through a tensor needs no per-element mask. */
#ifndef T6_OPTIM_H
#define T6_OPTIM_H

#include <stddef.h>

#include "backend.h"
#include "deck.h"

typedef struct {
    t6_backend *be;
    t6_optim_config cfg;
    size_t n;          /* parameters */
    size_t off, cnt;   /* the range this optimizer updates (all of it: 0, n) */
    float *m, *v;      /* first and second moments of the range (device, fp32, cnt each) */
    long t;            /* AdamW updates taken (bias correction uses t+1 for the next one) */
} t6_optim;

typedef struct {
    double grad_norm;  /* global L2 norm of the gradient before clipping */
    int clipped;       /* 1 when the gradient was scaled down */
    double lr;
} t6_optim_stats;

void t6_optim_init(t6_optim *o, t6_backend *be, const t6_optim_config *cfg, size_t n);
/* The same for the shard [off, off + cnt) of the n parameters (ZeRO-1). */
void t6_optim_init_shard(t6_optim *o, t6_backend *be, const t6_optim_config *cfg, size_t n, size_t off, size_t cnt);
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

/* Host copies of the moments (arrays of n floats each, of which the shard's range
 * [off, off + cnt) is read or written) and the update counter, for checkpoints:
 * callers go through these rather than the backend's ops table. */
void t6_optim_get_moments(const t6_optim *o, float *m, float *v, long *t);
void t6_optim_set_moments(t6_optim *o, const float *m, const float *v, long t);
/* The shard's moments alone (cnt floats each). */
void t6_optim_get_moments_shard(const t6_optim *o, float *m, float *v);

/* Global L2 norm of n device floats. t6_optim_grad_norm and t6_optim_step take the
 * norm of the whole gradient buffer (one process); a sharded run passes the norm over
 * ranks (t6_gradsync_grad_norm) to t6_optim_apply. */
double t6_optim_norm(t6_backend *be, const float *x, size_t n);

#endif
