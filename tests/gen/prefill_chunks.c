/* prefill_chunks.c -- the memory-lean prefill of generation is exact (fp32, CPU):
 *  - an inference-only model (t6_model_create_inference: no gradients, one layer's
 *    activations shared by all layers, logits of the scored rows only) gives the
 *    training model's forward logits at each row's last prompt position;
 *  - the prefill chunked over rows (groups of 1 and of 2 rows out of 3, the model
 *    created for that many rows) writes the same cache and the same logits as the
 *    prefill of all rows at once, and the decode steps after it agree;
 * all to <= 1e-5 relative (fp32 rounding: see below);
 * for every attention type with a KV cache, prompts of three different lengths; and
 * the inference model's full forward (job eval) = the training model's for every type. */
#include "../model/tmodel.h"

#include "kvcache.h"

enum { B = 3, T = 9, STEPS = 3 };

/* largest |a - b| relative to the largest |b| */
static double rel(const float *a, const float *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs((double)a[i] - b[i]);
        if (e > num) num = e;
        if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
    }
    return num / (den > 0 ? den : 1.0);
}

/* Every cache buffer of kv as host floats, concatenated (n floats). */
static float *cache_dump(t6_kvcache *kv, size_t *n)
{
    const t6_model_config *c = &kv->cfg;
    const size_t slots = (size_t)kv->B * kv->M_max;
    const size_t per = kv->mla        ? slots * ((size_t)c->kv_lora_rank + c->qk_rope_head_dim)
                       : kv->factored ? slots * ((size_t)c->k_rank + c->v_rank) * (c->n_head + c->head_dim)
                                      : slots * 2 * (size_t)kv->G * c->head_dim;
    float *out = t6_malloc(sizeof(float) * per * c->n_layer);
    float *p = out;
    for (int l = 0; l < c->n_layer; l++) {
        t6_kv_layer *cl = &kv->layers[l];
        void *bufs[4] = {cl->ak, cl->bk, cl->av, cl->bv};
        size_t w[4] = {(size_t)c->k_rank * c->n_head, (size_t)c->k_rank * c->head_dim, (size_t)c->v_rank * c->n_head,
                       (size_t)c->v_rank * c->head_dim};
        if (kv->mla) {   /* one latent record [c_kv, k_R] per token */
            bufs[0] = cl->ckv; bufs[1] = bufs[2] = bufs[3] = NULL;
            w[0] = (size_t)c->kv_lora_rank + c->qk_rope_head_dim;
        } else if (!kv->factored) {
            bufs[0] = cl->k; bufs[1] = cl->v; bufs[2] = bufs[3] = NULL;
            w[0] = w[1] = (size_t)kv->G * c->head_dim;
        }
        for (int i = 0; i < 4; i++) {
            if (!bufs[i]) continue;
            kv->be->ops->act_to_float(kv->be, p, bufs[i], slots * w[i]);
            p += slots * w[i];
        }
    }
    *n = (size_t)(p - out);
    return out;
}

/* Prefill of the prompts on a model made for `rows` rows, then STEPS greedy-free decode
 * steps feeding fixed tokens; the logits of the prefill (B x V) and of every step. */
static void run(const t6_model_config *c, t6_backend *be, const float *host, int rows, const int32_t *tok,
                const int *lens, float *lg_pre, float *lg_dec, float **cache, size_t *ncache)
{
    const int V = c->vocab_size;
    t6_model *m = t6_model_create_inference(c, be, rows, T, rows);
    tm_check(t6_model_grads(m) == NULL, "%s: an inference model has no gradient buffer", t6_attn_name(c->attention));
    t6_model_set_params(m, host);
    t6_kvcache *kv = t6_kvcache_create(m, B, T + STEPS);
    t6_kvcache_prefill(kv, m, tok, lens, B, T, lg_pre);
    *cache = cache_dump(kv, ncache);
    for (int s = 0; s < STEPS; s++) {
        int32_t st[B], sp[B];
        for (int b = 0; b < B; b++) {
            st[b] = (7 * s + 3 * b + 1) % V;
            sp[b] = lens[b] + s;
        }
        t6_model_decode_step(m, kv, st, sp, lg_dec + (size_t)s * B * V);
    }
    t6_kvcache_destroy(kv);
    t6_model_destroy(m);
}

int main(void)
{
    for (int ti = 0; ti < TM_N_DECODE_TYPES; ti++) {
        const t6_attn_type a = tm_all_types[ti];
        const t6_model_config c = tm_tiny_config(a);
        const int V = c.vocab_size;
        const char *name = t6_attn_name(a);
        t6_backend *be = tm_cpu_backend(2);

        /* the reference: the training model's full forward */
        t6_model *full = t6_model_create(&c, be, B, T);
        float *host = t6_malloc(t6_model_layout(full)->n_params * sizeof(float));
        tm_random_params(full, 31 + ti, 0.4f, host);
        int32_t tok[B * T];
        tm_random_tokens(tok, B * T, V, 5, (uint64_t)a);
        const int lens[B] = {9, 4, 1};
        for (int b = 0; b < B; b++)
            for (int t = lens[b]; t < T; t++) tok[b * T + t] = 0;   /* right padding */
        t6_model_forward(full, tok, NULL, 0, 0.0f);
        float *ref = t6_malloc(sizeof(float) * B * T * V);
        t6_model_get_logits(full, ref);

        float *pre[3], *dec[3], *cache[3];
        size_t nc[3];
        const int rows[3] = {B, 1, 2};
        for (int k = 0; k < 3; k++) {
            pre[k] = t6_malloc(sizeof(float) * B * V);
            dec[k] = t6_malloc(sizeof(float) * STEPS * B * V);
            run(&c, be, host, rows[k], tok, lens, pre[k], dec[k], &cache[k], &nc[k]);
        }
        /* not bitwise: the CPU matmul's summation order depends on how many rows it is
         * given (its tiling, OpenBLAS's kernels), so regrouping rows moves results by
         * float rounding (measured <= 4e-7 relative); 1e-5 as tests/gen/incremental */
        double worst = 0.0;
        for (int b = 0; b < B; b++) {
            const double e = rel(pre[0] + (size_t)b * V, ref + ((size_t)b * T + lens[b] - 1) * V, V);
            if (e > worst) worst = e;
        }
        tm_check(worst <= 1e-5, "%s: the inference model's prefill logits = the training forward's at each row's last "
                 "prompt token (rel err %.2e)", name, worst);
        for (int k = 1; k < 3; k++) {
            const double ec = nc[k] == nc[0] ? rel(cache[k], cache[0], nc[0]) : INFINITY;
            const double ep = rel(pre[k], pre[0], (size_t)B * V), ed = rel(dec[k], dec[0], (size_t)STEPS * B * V);
            tm_check(ec <= 1e-5, "%s: prefill in groups of %d row(s) writes the cache of all %d rows at once "
                     "(%zu numbers, rel err %.2e)", name, rows[k], B, nc[0], ec);
            tm_check(ep <= 1e-5, "%s: prefill in groups of %d row(s): the same last-token logits (rel err %.2e)", name,
                     rows[k], ep);
            tm_check(ed <= 1e-5, "%s: prefill in groups of %d row(s): the same logits in %d decode steps after it "
                     "(rel err %.2e)", name, rows[k], STEPS, ed);
        }
        /* the cache holds something: a check that compares zeros would mean nothing */
        double s = 0.0;
        for (size_t i = 0; i < nc[0]; i++) s += fabs(cache[0][i]);
        tm_check(s > 0.0, "%s: the cache is not all zeros (sum |x| = %.3g)", name, s);
        for (int k = 0; k < 3; k++) { free(pre[k]); free(dec[k]); free(cache[k]); }
        free(ref);
        free(host);
        t6_model_destroy(full);
        t6_backend_destroy(be);
    }
    /* job = "eval" runs the inference model with all logits (logit_rows 0): the same
     * logits and loss as the training model, every attention type (MLA too) */
    for (int ti = 0; ti < TM_N_TYPES; ti++) {
        const t6_attn_type a = tm_all_types[ti];
        const t6_model_config c = tm_tiny_config(a);
        const int V = c.vocab_size;
        t6_backend *be = tm_cpu_backend(2);
        t6_model *full = t6_model_create(&c, be, B, T), *inf = t6_model_create_inference(&c, be, B, T, 0);
        float *host = t6_malloc(t6_model_layout(full)->n_params * sizeof(float));
        tm_random_params(full, 77 + ti, 0.4f, host);
        t6_model_set_params(inf, host);
        int32_t tok[B * T], tgt[B * T];
        tm_random_tokens(tok, B * T, V, 9, (uint64_t)a);
        tm_random_tokens(tgt, B * T, V, 10, (uint64_t)a);
        const float l1 = t6_model_forward(full, tok, tgt, 0, 0.0f), l2 = t6_model_forward(inf, tok, tgt, 0, 0.0f);
        float *r1 = t6_malloc(sizeof(float) * B * T * V), *r2 = t6_malloc(sizeof(float) * B * T * V);
        t6_model_get_logits(full, r1);
        t6_model_get_logits(inf, r2);
        tm_check(l1 == l2 && memcmp(r1, r2, sizeof(float) * B * T * V) == 0,
                 "%s: the inference model's full forward (job eval) = the training model's: loss %.6f vs %.6f, "
                 "logits bitwise", t6_attn_name(a), l1, l2);
        free(r1); free(r2); free(host);
        t6_model_destroy(inf);
        t6_model_destroy(full);
        t6_backend_destroy(be);
    }
    return tm_finish("prefill_chunks");
}
