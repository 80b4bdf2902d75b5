/* gradsync.h -- the gradient reduction of a data-parallel step, in buckets that leave
 * while the backward still runs, and the shards of ZeRO-1 (train.zero, train.bucket_mb;
 * doc/running.md "Ranks, ZeRO-1 and buckets").
 *
 * Shards: rank r owns the element range [off[r], off[r+1]) of the flat parameter
 * vector, n/W elements each (the first n mod W ranks one more), whatever the tensor
 * boundaries. Buckets: ranges of bucket_mb MB (2^20 bytes) of fp32 gradient counted down from the
 * top of the vector, because the backward finishes the last layer's gradients first
 * (model.h, t6_model_set_grad_hook); they are launched in that fixed order as soon as
 * they are final, on the last micro-step only.
 *
 * Each bucket is reduce-scattered: the owner of each element receives every rank's
 * value of it. On the CPU backend (MPI) the owner then adds them in rank order
 * 0, 1, ..., W-1, so the sums do not depend on the bucket size, on timing or on the
 * MPI library, and zero = 0 and zero = 1 reduce to the same bits. zero = 0 then
 * all-gathers the summed gradient (every rank updates everything); zero = 1 leaves
 * it on the owners, which update their shard and all-gather the parameters
 * (t6_gradsync_gather_params). On CUDA NCCL carries the same collectives on a side
 * stream (zero = 0: ncclAllReduce per bucket, as DDP). */
#ifndef T6_GRADSYNC_H
#define T6_GRADSYNC_H

#include <stddef.h>

#include "backend.h"
#include "dist.h"

typedef struct t6_gradsync t6_gradsync;

/* For gradients grads[0..n) (device) of this backend. bucket_mb 0: one pass after
 * the backward (still in pieces of at most 8M elements). */
t6_gradsync *t6_gradsync_create(t6_dist *d, t6_backend *be, float *grads, size_t n, double bucket_mb, int zero);
void t6_gradsync_destroy(t6_gradsync *g);

/* This rank's shard [*off, *off + *cnt) (the whole vector for one rank). */
void t6_gradsync_shard(const t6_gradsync *g, size_t *off, size_t *cnt);

/* Arms the hook for the backward that follows (the step's last micro-step). */
void t6_gradsync_arm(t6_gradsync *g);
/* The model's gradient hook (t6_grad_ready_fn, arg = the t6_gradsync): gradients
 * [lo, n) are final; launches every armed bucket inside, in order. */
void t6_gradsync_ready(void *g, size_t lo);
/* Launches what is left, waits for every bucket and sums: afterwards this rank's
 * shard of grads holds the sum over ranks (zero = 0: all of grads does). */
void t6_gradsync_finish(t6_gradsync *g);

/* Global L2 norm of the reduced gradient: each rank's sum of squares of its shard,
 * combined in rank order (the same for zero 0 and 1; for one rank, the norm of the
 * whole vector as before). */
double t6_gradsync_grad_norm(t6_gradsync *g);

/* zero = 1, after the update of each rank's shard: every rank gets every shard of
 * params (device fp32) in place. */
void t6_gradsync_gather_params(t6_gradsync *g, float *params);

/* zero = 1, checkpoints: every rank's shard reaches rank 0. On rank 0 host is the
 * whole array (n floats, its own shard already in place); on rank r it holds the
 * shard alone, which begins at element shard_off of the vector. Collective. */
void t6_gradsync_gather_host(t6_gradsync *g, float *host, size_t shard_off);

/* Shard figures for `t6 --check --ranks W` without any process: elements of the
 * largest shard. */
size_t t6_shard_max(size_t n, int world);

#endif
