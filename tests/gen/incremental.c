/* incremental.c -- the KV cache is exact: for every attention type, prefill of a
 * prompt plus single-token decode steps give the same next-token logits (fp32,
 * <= 1e-5 relative to the largest logit) as the training forward over the whole
 * sequence, at every position. Two rows with prompts of different lengths share one
 * batch (right-padded prefill, per-row positions in the decode steps). */
#include "../model/tmodel.h"

#include "kvcache.h"

enum { B = 2, T = 12 };

static double rel_err(const float *a, const float *b, int n)
{
    double num = 0.0, den = 0.0;
    for (int i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > num) num = e;
        if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
    }
    return num / (den > 0 ? den : 1.0);
}

static void run(t6_attn_type a, int threads)
{
    t6_model_config c = tm_tiny_config(a);
    t6_backend *be = tm_cpu_backend(threads);
    const int V = c.vocab_size;
    /* the reference: one forward over B full sequences */
    t6_model *full = t6_model_create(&c, be, B, T);
    float *host = t6_malloc(t6_model_layout(full)->n_params * sizeof(float));
    tm_random_params(full, 7, 0.4f, host);
    int32_t tok[B * T];
    tm_random_tokens(tok, B * T, V, 11, (uint64_t)a);
    t6_model_forward(full, tok, NULL, 0, 0.0f);
    float *ref = t6_malloc(sizeof(float) * B * T * V);
    t6_model_get_logits(full, ref);

    /* incremental: row 0 prompts with 5 tokens, row 1 with 2; pads are token 0 */
    const int plen[B] = {5, 2}, P = 5;
    t6_model *gen = t6_model_create(&c, be, B, T);
    t6_model_set_params(gen, host);
    t6_kvcache *kv = t6_kvcache_create(gen, B, T);
    int32_t ptok[B * P];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < P; t++) ptok[b * P + t] = t < plen[b] ? tok[b * T + t] : 0;
    float *lg = t6_malloc(sizeof(float) * B * V);
    t6_kvcache_prefill(kv, gen, ptok, plen, B, P, lg);
    double worst = 0.0;
    for (int b = 0; b < B; b++) {
        double e = rel_err(lg + b * V, ref + ((size_t)b * T + plen[b] - 1) * V, V);
        if (e > worst) worst = e;
    }
    tm_check(worst <= 1e-5, "%s, %d thread(s): prefill logits at the last prompt token, rel err %.2e",
             t6_attn_name(a), threads, worst);
    /* decode steps: each row feeds its next true token at its own position */
    int pos[B] = {plen[0], plen[1]};
    worst = 0.0;
    int steps = 0;
    while (pos[0] < T || pos[1] < T) {
        int32_t st[B], sp[B];
        for (int b = 0; b < B; b++) {
            const int p = pos[b] < T ? pos[b] : T - 1;   /* a finished row repeats its last step */
            st[b] = tok[b * T + p];
            sp[b] = p;
        }
        t6_model_decode_step(gen, kv, st, sp, lg);
        for (int b = 0; b < B; b++) {
            double e = rel_err(lg + b * V, ref + ((size_t)b * T + sp[b]) * V, V);
            if (e > worst) worst = e;
            if (pos[b] < T) pos[b]++;
        }
        steps++;
    }
    tm_check(worst <= 1e-5, "%s, %d thread(s): %d decode steps match the full forward at every position, rel err %.2e",
             t6_attn_name(a), threads, steps, worst);
    /* bytes of the cache: the paper's formula times fp32 */
    size_t want = (size_t)t6_kv_cache_numbers_per_token_layer(&c) * 4 * B * T * c.n_layer;
    tm_check(kv->cache_bytes == want, "%s: cache bytes %zu = numbers/token/layer x 4 x rows x len x layers = %zu",
             t6_attn_name(a), kv->cache_bytes, want);
    free(lg);
    free(ref);
    free(host);
    t6_kvcache_destroy(kv);
    t6_model_destroy(gen);
    t6_model_destroy(full);
    t6_backend_destroy(be);
}

int main(void)
{
    for (int i = 0; i < TM_N_DECODE_TYPES; i++) run(tm_all_types[i], 1);
    run(T6_ATTN_TPA, 2);
    run(T6_ATTN_MLA, 2);
    return tm_finish("incremental");
}
