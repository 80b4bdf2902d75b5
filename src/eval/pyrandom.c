/* pyrandom.c -- CPython's Mersenne Twister and the Random methods lm-eval relies on
 * (see pyrandom.h). The generator is the MT19937 reference code's recurrence; the
 * seeding, bit extraction and sampling follow CPython's _randommodule.c and
 * random.py so that the same seed gives the same choices as Python. */
#include "eval/pyrandom.h"

#include <math.h>
#include <stdlib.h>

#include "util.h"

enum { MT_N = 624, MT_M = 397 };

static void init_genrand(t6_pyrandom *r, uint32_t s)
{
    r->mt[0] = s;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = MT_N;
}

static void init_by_array(t6_pyrandom *r, const uint32_t *key, int len)
{
    init_genrand(r, 19650218u);
    int i = 1, j = 0;
    for (int k = MT_N > len ? MT_N : len; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= MT_N) { r->mt[0] = r->mt[MT_N - 1]; i = 1; }
        if (j >= len) j = 0;
    }
    for (int k = MT_N - 1; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= MT_N) { r->mt[0] = r->mt[MT_N - 1]; i = 1; }
    }
    r->mt[0] = 0x80000000u;
}

void t6_pyrandom_seed(t6_pyrandom *r, uint64_t seed)
{
    /* CPython: the absolute value of the int as little-endian 32-bit words, at least one */
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    init_by_array(r, key, key[1] ? 2 : 1);
}

uint32_t t6_pyrandom_u32(t6_pyrandom *r)
{
    static const uint32_t mag01[2] = {0u, 0x9908b0dfu};
    uint32_t y;
    if (r->mti >= MT_N) {
        int kk;
        for (kk = 0; kk < MT_N - MT_M; kk++) {
            y = (r->mt[kk] & 0x80000000u) | (r->mt[kk + 1] & 0x7fffffffu);
            r->mt[kk] = r->mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 1u];
        }
        for (; kk < MT_N - 1; kk++) {
            y = (r->mt[kk] & 0x80000000u) | (r->mt[kk + 1] & 0x7fffffffu);
            r->mt[kk] = r->mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 1u];
        }
        y = (r->mt[MT_N - 1] & 0x80000000u) | (r->mt[0] & 0x7fffffffu);
        r->mt[MT_N - 1] = r->mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1u];
        r->mti = 0;
    }
    y = r->mt[r->mti++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

uint32_t t6_pyrandom_getrandbits(t6_pyrandom *r, int k)
{
    if (k <= 0) return 0;   /* Python 3.9+: getrandbits(0) == 0 without drawing */
    return t6_pyrandom_u32(r) >> (32 - k);
}

uint32_t t6_pyrandom_randbelow(t6_pyrandom *r, uint32_t n)
{
    int k = 0;   /* n.bit_length() */
    for (uint32_t v = n; v; v >>= 1) k++;
    uint32_t x = t6_pyrandom_getrandbits(r, k);
    while (x >= n) x = t6_pyrandom_getrandbits(r, k);
    return x;
}

double t6_pyrandom_random(t6_pyrandom *r)
{
    uint32_t a = t6_pyrandom_u32(r) >> 5, b = t6_pyrandom_u32(r) >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

int t6_pyrandom_sample(t6_pyrandom *r, size_t n, size_t k, size_t *out)
{
    if (k > n) return -1;
    if (n > UINT32_MAX) t6_fatal("pyrandom: population of %zu is too large", n);
    size_t setsize = 21;   /* size of a small set minus size of an empty list */
    if (k > 5) setsize += (size_t)pow(4.0, ceil(log((double)(k * 3)) / log(4.0)));
    if (n <= setsize) {
        /* an n-length list is smaller than a k-length set */
        size_t *pool = t6_malloc((n ? n : 1) * sizeof *pool);
        for (size_t i = 0; i < n; i++) pool[i] = i;
        for (size_t i = 0; i < k; i++) {
            size_t j = t6_pyrandom_randbelow(r, (uint32_t)(n - i));
            out[i] = pool[j];
            pool[j] = pool[n - i - 1];   /* move non-selected item into vacancy */
        }
        free(pool);
    } else {
        for (size_t i = 0; i < k; i++) {
            size_t j;
            int seen;
            do {
                j = t6_pyrandom_randbelow(r, (uint32_t)n);
                seen = 0;
                for (size_t q = 0; q < i; q++)
                    if (out[q] == j) { seen = 1; break; }
            } while (seen);
            out[i] = j;
        }
    }
    return 0;
}

void t6_pyrandom_shuffle(t6_pyrandom *r, size_t *x, size_t n)
{
    for (size_t i = n; i-- > 1;) {
        size_t j = t6_pyrandom_randbelow(r, (uint32_t)(i + 1));
        size_t t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}
