/* memtrack.c -- the allocation counter of the backends (memtrack.h): a hash table
 * from pointer to size (open addressing, linear probing, deletion by backward shift,
 * so no tombstones pile up over millions of scratch allocations), and the running
 * current/peak sums. */
#include "memtrack.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

typedef struct { uintptr_t key; size_t bytes; } slot;   /* key 0 = empty */

struct t6_memtrack {
    slot *tab;
    size_t cap;      /* a power of two */
    size_t used;
    t6_mem_stats st;
};

static size_t hash_ptr(uintptr_t k, size_t cap)
{
    /* allocations are aligned: the low bits carry nothing; a multiplicative hash mixes the rest */
    return (size_t)((k >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

t6_memtrack *t6_memtrack_new(void)
{
    t6_memtrack *t = t6_calloc(1, sizeof *t);
    t->cap = 256;
    t->tab = t6_calloc(t->cap, sizeof *t->tab);
    return t;
}

void t6_memtrack_free(t6_memtrack *t)
{
    if (!t) return;
    free(t->tab);
    free(t);
}

static void insert(slot *tab, size_t cap, uintptr_t key, size_t bytes)
{
    size_t i = hash_ptr(key, cap);
    while (tab[i].key) i = (i + 1) & (cap - 1);
    tab[i].key = key;
    tab[i].bytes = bytes;
}

void t6_memtrack_add(t6_memtrack *t, const void *p, size_t bytes)
{
    if (!t || !p) return;
    if (2 * (t->used + 1) > t->cap) {   /* keep the load under 1/2 */
        size_t ncap = 2 * t->cap;
        slot *nt = t6_calloc(ncap, sizeof *nt);
        for (size_t i = 0; i < t->cap; i++)
            if (t->tab[i].key) insert(nt, ncap, t->tab[i].key, t->tab[i].bytes);
        free(t->tab);
        t->tab = nt;
        t->cap = ncap;
    }
    insert(t->tab, t->cap, (uintptr_t)p, bytes);
    t->used++;
    t->st.current += bytes;
    t->st.allocs++;
    if (t->st.current > t->st.peak) t->st.peak = t->st.current;
}

size_t t6_memtrack_remove(t6_memtrack *t, const void *p)
{
    if (!t || !p) return 0;
    const uintptr_t key = (uintptr_t)p;
    size_t i = hash_ptr(key, t->cap);
    while (t->tab[i].key && t->tab[i].key != key) i = (i + 1) & (t->cap - 1);
    if (!t->tab[i].key) return 0;
    const size_t bytes = t->tab[i].bytes;
    /* backward-shift deletion: move later members of the probe run into the hole when
     * their home slot does not lie (cyclically) between the hole and themselves */
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & (t->cap - 1);
        if (!t->tab[j].key) break;
        size_t home = hash_ptr(t->tab[j].key, t->cap);
        int between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            t->tab[hole] = t->tab[j];
            hole = j;
        }
    }
    t->tab[hole].key = 0;
    t->tab[hole].bytes = 0;
    t->used--;
    t->st.current -= bytes;
    return bytes;
}

void t6_memtrack_get(const t6_memtrack *t, t6_mem_stats *out)
{
    if (!t) {
        out->current = out->peak = 0;
        out->allocs = 0;
        return;
    }
    *out = t->st;
}

void t6_memtrack_reset_peak(t6_memtrack *t)
{
    if (t) t->st.peak = t->st.current;
}

char *t6_fmt_mem(char *buf, size_t len, size_t bytes)
{
    static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 4) { v /= 1024.0; u++; }
    if (u == 0) snprintf(buf, len, "%zu bytes", bytes);
    else snprintf(buf, len, "%.2f %s", v, unit[u]);
    return buf;
}
