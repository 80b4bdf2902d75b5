/* model_mem.c -- the memory a model would allocate, without allocating it (t6 --check,
 * t6_model_memory_estimate): the model is created on a "meta" backend, as PyTorch's meta
 * device does, whose alloc hands out distinct addresses that are never dereferenced and
 * counts their sizes in the backend's tracker. The model's own creation code runs, so
 * the estimate is the allocation itself, not a second formula that could drift from it
 * (tests/model/recompute.c compares it with a real CPU model). */
#include "model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct { uintptr_t next; } meta_impl;

static void *meta_alloc(t6_backend *be, size_t bytes)
{
    meta_impl *im = be->impl;
    void *p = (void *)im->next;
    im->next += (bytes + 255) / 256 * 256 + 256;   /* distinct, aligned, never touched */
    t6_memtrack_add(be->mem, p, bytes);
    return p;
}

static void meta_free(t6_backend *be, void *p) { t6_memtrack_remove(be->mem, p); }
static void meta_nop_bytes(t6_backend *be, void *p, size_t bytes) { (void)be; (void)p; (void)bytes; }
static void meta_nop_copy(t6_backend *be, void *d, const void *s, size_t bytes)
{
    (void)be; (void)d; (void)s; (void)bytes;
}
static void meta_sync(t6_backend *be) { (void)be; }

/* Memory ops only: creating and destroying a model calls nothing else. */
static const t6_ops meta_ops = {
    .alloc = meta_alloc,
    .free = meta_free,
    .zero = meta_nop_bytes,
    .to_device = meta_nop_copy,
    .to_host = meta_nop_copy,
    .sync = meta_sync,
};

void t6_model_memory_estimate(const t6_model_config *cfg, t6_backend_kind device, t6_precision precision, int B,
                              int T, t6_recompute recompute, t6_model_mem *out)
{
    t6_backend be;
    meta_impl im = {(uintptr_t)1 << 32};
    memset(&be, 0, sizeof be);
    be.ops = &meta_ops;
    be.kind = device;
    be.precision = precision;
    /* as the backends set them: the CPU computes in fp32 on the master weights; CUDA
     * keeps a compute copy in the activation type */
    be.act_bytes = device == T6_BACKEND_CUDA && precision == T6_PREC_BF16 ? 2 : 4;
    be.weights_are_master = device == T6_BACKEND_CPU;
    be.device_index = -1;
    be.impl = &im;
    be.mem = t6_memtrack_new();
    t6_model_opts o = {recompute};
    t6_model *m = t6_model_create_opts(cfg, &be, B, T, &o);
    t6_model_memory(m, out);
    t6_model_destroy(m);
    t6_memtrack_free(be.mem);
}
