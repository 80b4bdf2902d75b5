/* rng.c -- the sequential face of the counter-based generator of rng.h. */
#include "rng.h"

#include <math.h>

void t6_rng_init(t6_rng *r, uint64_t seed, uint64_t stream)
{
    r->key = t6_rng_key(seed, stream);
    r->counter = 0;
}

uint64_t t6_rng_next_u64(t6_rng *r) { return t6_rng_u64_key(r->key, r->counter++); }

double t6_rng_next_u01(t6_rng *r) { return t6_rng_u01(t6_rng_next_u64(r)); }

uint64_t t6_rng_next_below(t6_rng *r, uint64_t n)
{
    /* reject the top sliver of 2^64 that would bias the modulo */
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = t6_rng_next_u64(r); while (x >= limit);
    return x % n;
}

double t6_rng_next_normal(t6_rng *r)
{
    double u1 = t6_rng_next_u01(r), u2 = t6_rng_next_u01(r);
    if (u1 <= 0.0) u1 = 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
