/* tmodel.h -- helpers shared by the model tests: tiny configurations of every
 * attention type, a CPU backend, random parameters and tokens from the project RNG,
 * and PASS/FAIL bookkeeping. Header-only so each test is one program. */
#ifndef T6_TESTS_TMODEL_H
#define T6_TESTS_TMODEL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "params.h"
#include "rng.h"
#include "util.h"

static int tm_failures = 0;

static void tm_check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!ok) tm_failures++;
}

static int tm_finish(const char *name)
{
    if (tm_failures) {
        printf("%s: %d check(s) failed\n", name, tm_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

static const t6_attn_type tm_all_types[] = {T6_ATTN_TPA, T6_ATTN_TPA_KVONLY, T6_ATTN_MHA, T6_ATTN_MQA, T6_ATTN_GQA,
                                            T6_ATTN_MLA};
enum { TM_N_TYPES = 6 };
/* the types with a generation (KV cache) path: all of them (MLA through its latent cache) */
enum { TM_N_DECODE_TYPES = 6 };

/* A tiny model of the given attention type; sizes chosen so that every dimension is
 * distinct (a transposed index shows up as a wrong result, not a coincidence). */
static inline t6_model_config tm_tiny_config(t6_attn_type a)
{
    t6_model_config c;
    memset(&c, 0, sizeof c);
    c.attention = a;
    c.n_layer = 2;
    c.n_embd = 12;
    c.head_dim = 6;
    c.n_head = 4;
    c.q_rank = 3;
    c.k_rank = 2;
    c.v_rank = 1;
    c.n_kv_head = a == T6_ATTN_MQA ? 1 : a == T6_ATTN_GQA ? 2 : c.n_head;
    c.vocab_size = 23;
    c.block_size = 16;
    c.mlp_hidden = 8 * c.n_embd / 3;
    c.rope_base = 10000.0;
    /* MLA: latents 7 (query) and 9 (key/value), rope part 4, values 5 (< 6 + 4: padded) */
    c.q_lora_rank = 7;
    c.kv_lora_rank = 9;
    c.qk_rope_head_dim = 4;
    c.v_head_dim = 5;
    return c;
}

static inline t6_backend *tm_cpu_backend(int threads)
{
    t6_backend_config bc;
    memset(&bc, 0, sizeof bc);
    bc.device = T6_BACKEND_CPU;
    bc.precision = T6_PREC_FP32;
    bc.threads = threads;
    return t6_backend_create(&bc, 0);
}

/* All parameters iid U(-s, s): unlike the reference init (zero W_O and MLP proj) this
 * makes every path of the network carry gradient. */
static inline void tm_random_params(t6_model *m, uint64_t seed, float s, float *host)
{
    const size_t n = t6_model_layout(m)->n_params;
    t6_rng r;
    t6_rng_init(&r, seed, 99);
    for (size_t i = 0; i < n; i++) host[i] = s * (float)(2.0 * t6_rng_next_u01(&r) - 1.0);
    t6_model_set_params(m, host);
}

static inline void tm_random_tokens(int32_t *x, int n, int V, uint64_t seed, uint64_t stream)
{
    t6_rng r;
    t6_rng_init(&r, seed, stream);
    for (int i = 0; i < n; i++) x[i] = (int32_t)t6_rng_next_below(&r, (uint64_t)V);
}

#endif
