/* rng.h -- the counter-based random numbers of T6-C (defined in doc/model.md).
 *
 * Every random number is a pure function of (seed, stream, counter):
 *     key   = mix64(seed ^ mix64(stream + 0x5436c6f6e5436ULL))
 *     u64   = mix64(key + (counter + 1) * 0x9E3779B97F4A7C15)
 * where mix64 is the SplitMix64 output function (Steele, Lea, Flood 2014):
 *     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
 *     z ^ (z >> 31).
 * (u64 is exactly the (counter+1)-th output of a SplitMix64 generator started at key.)
 * A uniform double in [0, 1) takes the top 53 bits: (u64 >> 11) * 2^-53.
 * Because no state is shared, element i of a tensor gets the same number whichever
 * thread computes it, on any backend. The model's initialization uses
 * stream = index of the tensor in the parameter layout, counter = element index. */
#ifndef T6_RNG_H
#define T6_RNG_H

#include <stdint.h>

static inline uint64_t t6_rng_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t t6_rng_key(uint64_t seed, uint64_t stream)
{
    return t6_rng_mix64(seed ^ t6_rng_mix64(stream + 0x5436c6f6e5436ULL));
}

static inline uint64_t t6_rng_u64_key(uint64_t key, uint64_t counter)
{
    return t6_rng_mix64(key + (counter + 1) * 0x9E3779B97F4A7C15ULL);
}

static inline uint64_t t6_rng_u64(uint64_t seed, uint64_t stream, uint64_t counter)
{
    return t6_rng_u64_key(t6_rng_key(seed, stream), counter);
}

/* Uniform on [0, 1) with 53 random bits. */
static inline double t6_rng_u01(uint64_t u64) { return (double)(u64 >> 11) * 0x1.0p-53; }

/* A sequential generator over the same function, for code that wants "the next
 * number" (data sampling, tests): state is (key, counter), trivially saved/restored. */
typedef struct {
    uint64_t key;
    uint64_t counter;
} t6_rng;

void t6_rng_init(t6_rng *r, uint64_t seed, uint64_t stream);
uint64_t t6_rng_next_u64(t6_rng *r);
double t6_rng_next_u01(t6_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias (rejection). */
uint64_t t6_rng_next_below(t6_rng *r, uint64_t n);
/* Standard normal (Box-Muller on two uniforms). */
double t6_rng_next_normal(t6_rng *r);

#endif
