/* pyrandom.h -- Python's `random.Random` in C, bit for bit: the MT19937 generator seeded
 * as CPython seeds it from an int (init_by_array over the int's 32-bit words), and the
 * algorithms of Random.getrandbits, _randbelow, sample and shuffle (CPython 3.9-3.12).
 * lm-evaluation-harness draws few-shot examples with random.Random(1234).sample, so
 * reproducing the stream reproduces its few-shot prompts. */
#ifndef T6_EVAL_PYRANDOM_H
#define T6_EVAL_PYRANDOM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t mt[624];
    int mti;
} t6_pyrandom;

/* random.Random(seed) for a non-negative integer seed */
void t6_pyrandom_seed(t6_pyrandom *r, uint64_t seed);
uint32_t t6_pyrandom_u32(t6_pyrandom *r);
/* getrandbits(k), 0 <= k <= 32 */
uint32_t t6_pyrandom_getrandbits(t6_pyrandom *r, int k);
/* _randbelow(n), n >= 1 */
uint32_t t6_pyrandom_randbelow(t6_pyrandom *r, uint32_t n);
/* random() in [0, 1) */
double t6_pyrandom_random(t6_pyrandom *r);
/* sample(range(n), k): the k selected indices, in Python's order, into out[0..k).
 * Returns -1 when k > n (Python raises ValueError). */
int t6_pyrandom_sample(t6_pyrandom *r, size_t n, size_t k, size_t *out);
/* shuffle(x) of the index array x[0..n) */
void t6_pyrandom_shuffle(t6_pyrandom *r, size_t *x, size_t n);

#endif
