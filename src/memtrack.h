/* memtrack.h -- counts the bytes a backend has allocated, current and peak, the way
 * PyTorch's torch.cuda.memory_allocated / max_memory_allocated do: what the program
 * asked for through its allocation functions, not what the device reports as used
 * (cudaMemGetInfo also counts the CUDA context, the libraries' own pools and other
 * processes). Each backend owns one tracker (t6_backend.mem) and calls it from its one
 * allocation function and its one free function (doc/performance.md, "Memory").
 *
 * Sizes are the bytes requested, before any rounding by the allocator. A tracker is
 * used by the host thread that drives its backend only (no locking). */
#ifndef T6_MEMTRACK_H
#define T6_MEMTRACK_H

#include <stddef.h>

typedef struct {
    size_t current;       /* bytes allocated and not yet freed */
    size_t peak;          /* largest `current` since creation or the last reset */
    long long allocs;     /* allocations made since creation */
} t6_mem_stats;

typedef struct t6_memtrack t6_memtrack;

t6_memtrack *t6_memtrack_new(void);
void t6_memtrack_free(t6_memtrack *t);
/* Records an allocation of `bytes` at p (p non-NULL and not already recorded). */
void t6_memtrack_add(t6_memtrack *t, const void *p, size_t bytes);
/* Forgets p and returns its size; 0 for NULL or a pointer never recorded. */
size_t t6_memtrack_remove(t6_memtrack *t, const void *p);
void t6_memtrack_get(const t6_memtrack *t, t6_mem_stats *out);
/* peak = current (PyTorch's reset_peak_memory_stats). */
void t6_memtrack_reset_peak(t6_memtrack *t);

/* "1.50 GiB", "12.3 MiB", "512 bytes": binary units, as PyTorch's memory summaries. */
char *t6_fmt_mem(char *buf, size_t len, size_t bytes);

#endif
