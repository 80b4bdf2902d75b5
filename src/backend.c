/* backend.c -- picks the backend a deck asks for (CPU always, CUDA when built). */
#include "config.h"   /* T6_HAVE_CUDA */
#include "backend.h"

#include "util.h"

t6_backend *t6_backend_create(const t6_backend_config *cfg, int local_rank)
{
    switch (cfg->device) {
    case T6_BACKEND_CPU:
        return t6_cpu_backend_create(cfg);
    case T6_BACKEND_CUDA:
#ifdef T6_HAVE_CUDA
        return t6_cuda_backend_create(cfg, local_rank);
#else
        t6_fatal_hint("rebuild with ./configure --with-cuda, or set backend.device = \"cpu\"",
                      "backend.device = \"cuda\" but this t6 was built without CUDA");
#endif
    }
    t6_fatal("internal: unknown backend %d", (int)cfg->device);
}

void t6_backend_destroy(t6_backend *be)
{
    if (!be) return;
#ifdef T6_HAVE_CUDA
    if (be->kind == T6_BACKEND_CUDA) { t6_cuda_backend_destroy(be); return; }
#endif
    t6_cpu_backend_destroy(be);
}

void t6_backend_mem_stats(const t6_backend *be, t6_mem_stats *out)
{
    t6_memtrack_get(be ? be->mem : NULL, out);
}

void t6_backend_mem_reset_peak(t6_backend *be)
{
    if (be) t6_memtrack_reset_peak(be->mem);
}
