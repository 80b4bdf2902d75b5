/* kvcache.c -- the KV cache of generation (kvcache.h): allocation of the per-layer
 * caches and the decode workspace, the reordered A-factor weights, and the prefill
 * that copies what the model's forward computes for the prompts into the cache, layer
 * by layer, in groups of rows. */
#include "kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "mla_decode.h"
#include "model.h"
#include "params.h"
#include "util.h"

size_t t6_kvcache_bytes_per_token_layer(const t6_model_config *cfg, size_t elem_bytes)
{
    return (size_t)t6_kv_cache_numbers_per_token_layer(cfg) * elem_bytes;
}

static void *act_alloc(t6_kvcache *kv, size_t n) { return kv->be->ops->alloc(kv->be, (n ? n : 1) * kv->be->act_bytes); }

/* W_A (h*R x d, row i*R + r) -> rows r*h + i, into a new compute-type buffer. */
static void *reorder_a(t6_kvcache *kv, const float *host_params, const t6_param_info *t, int h, int R)
{
    const int d = t->cols;
    float *tmp = t6_malloc(sizeof(float) * (size_t)h * R * d);
    for (int i = 0; i < h; i++)
        for (int r = 0; r < R; r++)
            memcpy(tmp + ((size_t)r * h + i) * d, host_params + t->offset + ((size_t)i * R + r) * d, sizeof(float) * d);
    void *w = act_alloc(kv, (size_t)h * R * d);
    kv->be->ops->act_from_float(kv->be, w, tmp, (size_t)h * R * d);
    free(tmp);
    return w;
}

t6_kvcache *t6_kvcache_create(t6_model *m, int B, int M_max)
{
    const t6_param_layout *pl = t6_model_layout(m);
    const t6_model_config *c = &pl->cfg;
    T6_CHECK(B > 0 && M_max > 0 && M_max <= c->block_size, NULL,
             "kv cache: %d rows of %d tokens (allowed: rows >= 1, 1..block_size = %d tokens)", B, M_max, c->block_size);
    const t6_ops *ops = t6_model_backend(m)->ops;
    T6_CHECK(ops->rope_fwd_pos && ops->cache_scatter && ops->decode_attention_tpa && ops->decode_attention_kv,
             "use backend.device = \"cpu\", or a build whose CUDA backend has kernels/decode.cu",
             "kv cache: this backend has no generation ops (rope_fwd_pos, cache_scatter, decode attention)");
    T6_CHECK(c->attention != T6_ATTN_MLA || ops->decode_attention_mla,
             "use backend.device = \"cpu\", or a build whose CUDA backend has kernels/decode_mla.cu",
             "kv cache: this backend has no MLA decode op (decode_attention_mla)");
    t6_kvcache *kv = t6_calloc(1, sizeof *kv);
    kv->cfg = *c;
    kv->be = t6_model_backend(m);
    kv->B = B;
    kv->M_max = M_max;
    kv->factored = c->attention == T6_ATTN_TPA || c->attention == T6_ATTN_TPA_KVONLY;
    kv->mla = c->attention == T6_ATTN_MLA;
    kv->G = c->attention == T6_ATTN_MQA ? 1 : c->attention == T6_ATTN_GQA ? c->n_kv_head : c->n_head;
    const int h = c->n_head, dh = c->head_dim, d = c->n_embd, RK = c->k_rank, RV = c->v_rank, L = c->n_layer;
    const size_t slots = (size_t)B * M_max;
    float *host = kv->factored ? t6_malloc(pl->n_params * sizeof(float)) : NULL;
    if (host) t6_model_get_params(m, host);
    kv->layers = t6_calloc((size_t)(L > 0 ? L : 1), sizeof *kv->layers);
    for (int l = 0; l < L; l++) {
        t6_kv_layer *cl = &kv->layers[l];
        if (kv->factored) {
            cl->ak = act_alloc(kv, slots * RK * h);
            cl->bk = act_alloc(kv, slots * RK * dh);
            cl->av = act_alloc(kv, slots * RV * h);
            cl->bv = act_alloc(kv, slots * RV * dh);
            cl->wak = reorder_a(kv, host, &pl->tensors[pl->layers[l].w_a_k], h, RK);
            cl->wav = reorder_a(kv, host, &pl->tensors[pl->layers[l].w_a_v], h, RV);
        } else if (!kv->mla) {   /* mla: t6_mla_kvcache_alloc below */
            cl->k = act_alloc(kv, slots * kv->G * dh);
            cl->v = act_alloc(kv, slots * kv->G * dh);
        }
    }
    free(host);
    if (kv->mla) t6_mla_kvcache_alloc(kv, m);
    kv->cache_bytes = t6_kvcache_bytes_per_token_layer(c, kv->be->act_bytes) * slots * (size_t)L;

    const t6_ops *op = kv->be->ops;
    kv->ints = op->alloc(kv->be, (size_t)3 * B * sizeof(int32_t));
    kv->tok = kv->ints;
    kv->pos = kv->ints + B;
    kv->lens = kv->ints + 2 * B;
    kv->ints_host = t6_malloc((size_t)3 * B * sizeof(int32_t));
    kv->zeros = op->alloc(kv->be, (size_t)M_max * sizeof(int32_t));   /* alloc zero-fills */
    const int R = RK > RV ? RK : RV, hl = t6_model_hidden_ld(m);
    kv->x = act_alloc(kv, (size_t)B * d);
    kv->xm = act_alloc(kv, (size_t)B * d);
    kv->ln = act_alloc(kv, (size_t)B * d);
    kv->rstd = op->alloc(kv->be, (size_t)B * sizeof(float));
    if (c->attention == T6_ATTN_TPA) {
        kv->aq = act_alloc(kv, (size_t)B * h * c->q_rank);
        kv->bq = act_alloc(kv, (size_t)B * c->q_rank * dh);
    }
    kv->q = act_alloc(kv, (size_t)B * h * dh);
    if (kv->factored) {
        kv->fa = act_alloc(kv, (size_t)B * R * h);
        kv->fb = act_alloc(kv, (size_t)B * R * dh);
    } else if (!kv->mla) {
        kv->k = act_alloc(kv, (size_t)B * kv->G * dh);
        kv->v = act_alloc(kv, (size_t)B * kv->G * dh);
    }
    kv->y = act_alloc(kv, (size_t)B * h * dh);
    kv->h1 = act_alloc(kv, (size_t)B * hl);
    kv->h2 = act_alloc(kv, (size_t)B * hl);
    kv->g = act_alloc(kv, (size_t)B * hl);
    kv->logits = act_alloc(kv, (size_t)B * c->vocab_size);
    return kv;
}

void t6_kvcache_destroy(t6_kvcache *kv)
{
    if (!kv) return;
    t6_backend *be = kv->be;
    if (kv->mla) t6_mla_kvcache_free(kv);
#define FREE(p) do { if (p) be->ops->free(be, (void *)(p)); } while (0)
    for (int l = 0; l < kv->cfg.n_layer; l++) {
        t6_kv_layer *cl = &kv->layers[l];
        FREE(cl->ak); FREE(cl->bk); FREE(cl->av); FREE(cl->bv); FREE(cl->k); FREE(cl->v);
        FREE(cl->wak); FREE(cl->wav);
    }
    if (kv->graph) be->ops->graph_free(be, kv->graph);
    FREE(kv->ints); FREE(kv->zeros);
    FREE(kv->x); FREE(kv->xm); FREE(kv->ln); FREE(kv->rstd); FREE(kv->aq); FREE(kv->bq); FREE(kv->q);
    FREE(kv->k); FREE(kv->v); FREE(kv->fa); FREE(kv->fb); FREE(kv->y);
    FREE(kv->h1); FREE(kv->h2); FREE(kv->g); FREE(kv->logits); FREE(kv->pre);
#undef FREE
    free(kv->ints_host);
    free(kv->layers);
    free(kv);
}

/* Rows of src (nr x T records of `width`, row stride width) into positions 0..T-1 of
 * cache rows b0 .. b0+nr-1: one cache_scatter per batch row, viewing that row's T
 * positions as T "rows" of a cache of one position each (pos = 0). */
static void copy_prefix(t6_kvcache *kv, void *cache, const void *src, int b0, int nr, int T, int width)
{
    t6_backend *be = kv->be;
    for (int b = 0; b < nr; b++)
        be->ops->cache_scatter(be, t6_act_at(be, cache, (size_t)(b0 + b) * kv->M_max * width),
                               t6_act_at(be, (void *)src, (size_t)b * T * width), width, kv->zeros, T, 1, width);
}

typedef struct {
    t6_kvcache *kv;
    int b0, nr, T;               /* the group of rows in the forward now */
} prefill_ctx;

/* The model's layer hook: layer l's factors (or K/V) of the group's rows into the cache. */
static void prefill_layer(void *ctx, t6_model *m, int l)
{
    const prefill_ctx *p = ctx;
    t6_kvcache *kv = p->kv;
    t6_backend *be = kv->be;
    const t6_model_config *c = &kv->cfg;
    const int h = c->n_head, dh = c->head_dim, d = c->n_embd, RK = c->k_rank, RV = c->v_rank;
    const int n = p->nr * p->T;
    t6_attn_view av;
    t6_model_attn_view(m, l, &av);
    t6_kv_layer *cl = &kv->layers[l];
    if (kv->mla) {
        t6_mla_prefill_layer(kv, m, l, p->b0, p->nr, p->T);
    } else if (kv->factored) {
        /* A factors in the cache's (rank, head) order: one small projection of the
         * normalized prompt rows with the reordered weights; B factors as computed */
        be->ops->matmul_fwd(be, kv->pre, RK * h, av.ln1, d, cl->wak, n, d, RK * h, 0);
        copy_prefix(kv, cl->ak, kv->pre, p->b0, p->nr, p->T, RK * h);
        be->ops->matmul_fwd(be, kv->pre, RV * h, av.ln1, d, cl->wav, n, d, RV * h, 0);
        copy_prefix(kv, cl->av, kv->pre, p->b0, p->nr, p->T, RV * h);
        copy_prefix(kv, cl->bk, av.bk, p->b0, p->nr, p->T, RK * dh);
        copy_prefix(kv, cl->bv, av.bv, p->b0, p->nr, p->T, RV * dh);
    } else {
        copy_prefix(kv, cl->k, av.k, p->b0, p->nr, p->T, kv->G * dh);
        copy_prefix(kv, cl->v, av.v, p->b0, p->nr, p->T, kv->G * dh);
    }
    /* every buffer of the forward exists by now: a sample of the prefill's peak */
    const size_t used = be->ops->mem_in_use(be);
    if (used > kv->mem_peak) kv->mem_peak = used;
}

void t6_kvcache_prefill(t6_kvcache *kv, t6_model *m, const int32_t *tokens, const int *lens, int B, int T,
                        float *logits_host)
{
    const t6_model_config *c = &kv->cfg;
    t6_backend *be = kv->be;
    const int h = c->n_head, RK = c->k_rank, RV = c->v_rank, V = c->vocab_size;
    T6_CHECK(B >= 1 && B <= kv->B && T >= 1 && T <= kv->M_max, NULL,
             "prefill: %d rows of %d tokens do not fit the cache of %d rows of %d", B, T, kv->B, kv->M_max);
    for (int b = 0; b < B; b++)
        T6_CHECK(lens[b] >= 1 && lens[b] <= T, NULL, "prefill: row %d has %d prompt tokens (allowed: 1..%d)", b, lens[b], T);
    const int cap = t6_model_capacity(m) / T;
    T6_CHECK(cap >= 1, NULL, "prefill: a row of %d tokens does not fit a model of %d tokens", T, t6_model_capacity(m));
    /* as many rows as the model holds tokens and logit rows for (a later batch of
     * shorter prompts than the one the model was sized for fits more rows) */
    int rows_per = cap < B ? cap : B;
    if (rows_per > t6_model_logit_rows(m)) rows_per = t6_model_logit_rows(m);
    const size_t need = (size_t)rows_per * T * (RK > RV ? RK : RV) * h;
    if (kv->factored && need > kv->pre_elems) {
        if (kv->pre) be->ops->free(be, kv->pre);
        kv->pre = act_alloc(kv, need);
        kv->pre_elems = need;
    }
    int32_t *last = t6_malloc(sizeof(int32_t) * (size_t)rows_per);
    prefill_ctx pc = {kv, 0, 0, T};
    t6_model_set_layer_hook(m, prefill_layer, &pc);
    for (int b0 = 0; b0 < B; b0 += rows_per) {
        const int nr = B - b0 < rows_per ? B - b0 : rows_per;
        T6_CHECK(t6_model_set_shape(m, nr, T) == 0, NULL, "generate: a prefill of %d x %d does not fit the model", nr, T);
        pc.b0 = b0;
        pc.nr = nr;
        for (int b = 0; b < nr; b++) last[b] = b * T + lens[b0 + b] - 1;
        t6_model_forward_rows(m, tokens + (size_t)b0 * T, last, nr, logits_host + (size_t)b0 * V);
    }
    t6_model_set_layer_hook(m, NULL, NULL);
    free(last);
    kv->graph_warm = 0;   /* the prefill may have changed GEMM plans: one unrecorded step first */
}
