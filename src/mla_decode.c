/* mla_decode.c -- generation with MLA (mla_decode.h): the latent KV cache, its prefill
 * from the training forward, and the absorbed decode step over the backend's ops.
 *
 * Absorption (DeepSeek-V2 §2.1.2): with W_UK_i, W_UV_i the k_nope and v rows of kv_b for
 * head i, W_Q_i the nope rows of q_b and W_QR_i its rope rows, and c_proj_i the columns
 * of c_proj that head i's values meet,
 *   q_lat,i = W_UK_i^T q_nope,i = (W_UK_i^T W_Q_i) c_q      -> one matrix per layer
 *   x_mid  += sum_i c_proj_i W_UV_i o_lat,i = W_O o_lat    -> one matrix per layer
 * so the cache creates, per layer, from the model's current fp32 parameters:
 *   wq (h (d_c + d_R) x d'_c): for head i the rows [W_UK_i^T W_Q_i (d_c rows), W_QR_i (d_R)]
 *   wo (d x h d_c):            column block i = c_proj_i W_UV_i
 * and a decode step per layer runs the reference's query latent (q_a, q_a_layernorm),
 * qq = c_q wq^T (B, h, d_c + d_R) -- each head's [q_lat, q_R] in one GEMM --, RoPE on
 * the q_R parts at the row's position, the key path (kv_a; kv_a_layernorm on the latent;
 * RoPE on the shared k_R) appending [c_kv, k_R] to the cache, decode_attention_mla
 * (scale 1/sqrt(dh + d_R)) to o_lat (B, h, d_c), and x_mid = x + o_lat wo^T. Two GEMMs
 * replace q_b, 2h per-head products and c_proj; the absorbed matrices cost
 * h (d_c + d_R) d'_c + d h d_c numbers per layer (mla_small: 4.5M, 2.6x the four they
 * replace), read once per step whatever the batch -- fewer launches and bytes at small
 * batch than per-head products. K and V of the heads are never formed. */
#include "mla_decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "kvcache.h"
#include "model.h"
#include "params.h"
#include "util.h"

struct t6_mla_ws {
    void *cq, *cqn;          /* (B, d'_c) query latent and its norm */
    float *rstd;             /* (B) */
    void *qq;                /* (B, h, d_c+dR) absorbed queries [q_lat, q_R] */
    void *pe;                /* (B*h, dR) the queries' rope parts; (B, dR) k_R */
    void *ckv;               /* (B, d_c+dR) kv_a's output */
    void *lat, *latn;        /* (B, d_c) latent and its norm */
    void *rec;               /* (B, d_c+dR) the new token's cache record */
    void *olat;              /* (B, h, d_c) attention output in the latent space */
    void *pre;               /* prefill records (B*T, d_c+dR) */
    size_t pre_elems;
};

static void *act_alloc(t6_backend *be, size_t n) { return be->ops->alloc(be, (n ? n : 1) * be->act_bytes); }

/* The absorbed matrices of one layer (see the top of the file), fp32 on the host. */
static void absorb(const t6_model_config *c, const float *qb, const float *kvb, const float *cproj, float *wq, float *wo)
{
    const int h = c->n_head, dn = c->head_dim, dr = c->qk_rope_head_dim, dv = c->v_head_dim;
    const int dc = c->kv_lora_rank, dq = c->q_lora_rank, d = c->n_embd, W = dc + dr, dha = dn + dr, dkvh = dn + dv;
#pragma omp parallel for schedule(static)
    for (long row = 0; row < (long)h * W; row++) {
        const int i = (int)(row / W), k = (int)(row % W);
        float *o = wq + (size_t)row * dq;
        if (k >= dc) {   /* q_R rows: q_b's rope row k - d_c of head i, as it is */
            memcpy(o, qb + ((size_t)i * dha + dn + k - dc) * dq, sizeof(float) * dq);
            continue;
        }
        for (int x = 0; x < dq; x++) o[x] = 0.0f;
        for (int j = 0; j < dn; j++) {   /* sum_j W_UK_i[j, k] W_Q_i[j, :] */
            const float a = kvb[((size_t)i * dkvh + j) * dc + k], *qr = qb + ((size_t)i * dha + j) * dq;
            for (int x = 0; x < dq; x++) o[x] += a * qr[x];
        }
    }
#pragma omp parallel for schedule(static)
    for (int r = 0; r < d; r++) {
        float *o = wo + (size_t)r * h * dc;
        for (size_t x = 0; x < (size_t)h * dc; x++) o[x] = 0.0f;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < dv; j++) {   /* sum_j c_proj[r, i dv + j] W_UV_i[j, :] */
                const float a = cproj[(size_t)r * h * dv + (size_t)i * dv + j];
                const float *v = kvb + ((size_t)i * dkvh + dn + j) * dc;
                for (int k = 0; k < dc; k++) o[(size_t)i * dc + k] += a * v[k];
            }
    }
}

void t6_mla_kvcache_alloc(t6_kvcache *kv, t6_model *m)
{
    const t6_param_layout *pl = t6_model_layout(m);
    const t6_model_config *c = &pl->cfg;
    t6_backend *be = kv->be;
    const int B = kv->B, h = c->n_head, dr = c->qk_rope_head_dim, d = c->n_embd;
    const int dc = c->kv_lora_rank, dq = c->q_lora_rank, W = dc + dr;
    const size_t slots = (size_t)B * kv->M_max, nwq = (size_t)h * W * dq, nwo = (size_t)d * h * dc;
    float *host = t6_malloc(pl->n_params * sizeof(float));
    t6_model_get_params(m, host);
    float *wq = t6_malloc(sizeof(float) * nwq), *wo = t6_malloc(sizeof(float) * nwo);
    for (int l = 0; l < c->n_layer; l++) {
        t6_kv_layer *cl = &kv->layers[l];
        const t6_layer_params *lp = &pl->layers[l];
        cl->ckv = act_alloc(be, slots * W);
        absorb(c, host + pl->tensors[lp->q_b].offset, host + pl->tensors[lp->kv_b].offset,
               host + pl->tensors[lp->attn_proj].offset, wq, wo);
        cl->wq = act_alloc(be, nwq);
        be->ops->act_from_float(be, cl->wq, wq, nwq);
        cl->wo = act_alloc(be, nwo);
        be->ops->act_from_float(be, cl->wo, wo, nwo);
    }
    free(wq);
    free(wo);
    free(host);
    t6_mla_ws *w = t6_calloc(1, sizeof *w);
    w->cq = act_alloc(be, (size_t)B * dq);
    w->cqn = act_alloc(be, (size_t)B * dq);
    w->rstd = be->ops->alloc(be, (size_t)B * sizeof(float));
    w->qq = act_alloc(be, (size_t)B * h * W);
    w->pe = act_alloc(be, (size_t)B * h * dr);
    w->ckv = act_alloc(be, (size_t)B * W);
    w->lat = act_alloc(be, (size_t)B * dc);
    w->latn = act_alloc(be, (size_t)B * dc);
    w->rec = act_alloc(be, (size_t)B * W);
    w->olat = act_alloc(be, (size_t)B * h * dc);
    kv->mla_ws = w;
}

void t6_mla_kvcache_free(t6_kvcache *kv)
{
    t6_backend *be = kv->be;
#define FREE(p) do { if (p) be->ops->free(be, (void *)(p)); } while (0)
    for (int l = 0; l < kv->cfg.n_layer; l++) {
        FREE(kv->layers[l].ckv);
        FREE(kv->layers[l].wq);
        FREE(kv->layers[l].wo);
        kv->layers[l].ckv = kv->layers[l].wq = kv->layers[l].wo = NULL;
    }
    t6_mla_ws *w = kv->mla_ws;
    if (w) {
        FREE(w->cq); FREE(w->cqn); FREE(w->rstd); FREE(w->qq); FREE(w->pe); FREE(w->ckv); FREE(w->lat);
        FREE(w->latn); FREE(w->rec); FREE(w->olat); FREE(w->pre);
        free(w);
    }
#undef FREE
    kv->mla_ws = NULL;
}

void t6_mla_prefill_layer(t6_kvcache *kv, t6_model *m, int l, int b0, int B, int T)
{
    const t6_model_config *c = &kv->cfg;
    t6_backend *be = kv->be;
    t6_mla_ws *w = kv->mla_ws;
    const int h = c->n_head, dn = c->head_dim, dr = c->qk_rope_head_dim, dc = c->kv_lora_rank, W = dc + dr;
    const int dha = dn + dr, N = B * T;
    if ((size_t)N * W > w->pre_elems) {
        if (w->pre) be->ops->free(be, w->pre);
        w->pre = act_alloc(be, (size_t)N * W);
        w->pre_elems = (size_t)N * W;
    }
    t6_attn_view av;
    t6_model_attn_view(m, l, &av);
    /* records [normalised latent, k_R]: k_R rotated as the forward left it in head 0's
     * key (every head holds the same copy) */
    be->ops->copy_rows(be, w->pre, W, av.latn, dc, N, dc, 0);
    be->ops->copy_rows(be, t6_act_at(be, w->pre, dc), W, t6_act_at(be, (void *)av.k, dn), h * dha, N, dr, 0);
    void *cache = kv->layers[l].ckv;
    for (int b = 0; b < B; b++)
        be->ops->cache_scatter(be, t6_act_at(be, cache, (size_t)(b0 + b) * kv->M_max * W),
                               t6_act_at(be, w->pre, (size_t)b * T * W), W, kv->zeros, T, 1, W);
}

static void rows_fwd(t6_backend *be, void *out, const void *inp, const void *w, int n, int C, int OC)
{
    be->ops->matmul_fwd(be, out, OC, inp, C, w, n, C, OC, 0);
}

/* x_mid = x + c_proj(attention) of layer l for the kv->B rows (kv->xm). */
static void mla_attn_block(t6_model *m, t6_kvcache *kv, int l)
{
    const t6_param_layout *pl = t6_model_layout(m);
    const t6_model_config *c = &pl->cfg;
    const t6_layer_params *lp = &pl->layers[l];
    t6_backend *be = kv->be;
    const t6_ops *op = be->ops;
    t6_mla_ws *w = kv->mla_ws;
    t6_kv_layer *cl = &kv->layers[l];
    const int B = kv->B, M = kv->M_max, d = c->n_embd, h = c->n_head, dn = c->head_dim, dr = c->qk_rope_head_dim;
    const int dc = c->kv_lora_rank, dq = c->q_lora_rank, W = dc + dr;
    const float eps = 1e-6f;   /* the reference RMSNorm's default, as in model.c */
    const double base = c->rope_base;

    op->rmsnorm_fwd(be, kv->ln, kv->rstd, kv->x, B, d);
    /* absorbed queries [q_lat, q_R] per head from the query latent, RoPE on q_R */
    rows_fwd(be, w->cq, kv->ln, t6_model_weight(m, lp->q_a), B, d, dq);
    op->rmsnorm_w_fwd(be, w->cqn, w->rstd, w->cq, t6_model_weight(m, lp->q_a_norm), B, dq, eps);
    rows_fwd(be, w->qq, w->cqn, cl->wq, B, dq, h * W);
    op->copy_rows(be, w->pe, dr, t6_act_at(be, w->qq, dc), W, B * h, dr, 0);
    op->rope_fwd_pos(be, w->pe, kv->pos, B, h, dr, base);
    op->copy_rows(be, t6_act_at(be, w->qq, dc), W, w->pe, dr, B * h, dr, 0);

    /* this token's record [norm(latent), RoPE(k_R)] into the cache */
    rows_fwd(be, w->ckv, kv->ln, t6_model_weight(m, lp->kv_a), B, d, W);
    op->copy_rows(be, w->lat, dc, w->ckv, W, B, dc, 0);
    op->rmsnorm_w_fwd(be, w->latn, w->rstd, w->lat, t6_model_weight(m, lp->kv_a_norm), B, dc, eps);
    op->copy_rows(be, w->pe, dr, t6_act_at(be, w->ckv, dc), W, B, dr, 0);
    op->rope_fwd_pos(be, w->pe, kv->pos, B, 1, dr, base);
    op->copy_rows(be, w->rec, W, w->latn, dc, B, dc, 0);
    op->copy_rows(be, t6_act_at(be, w->rec, dc), W, w->pe, dr, B, dr, 0);
    op->cache_scatter(be, cl->ckv, w->rec, W, kv->pos, B, M, W);

    op->decode_attention_mla(be, w->olat, w->qq, cl->ckv, kv->lens, B, M, h, dc, dr, 1.0f / sqrtf((float)(dn + dr)));
    /* W_UV and c_proj in one: x_mid = x + o_lat wo^T */
    rows_fwd(be, kv->xm, w->olat, cl->wo, B, h * dc, d);
    op->add_inplace(be, kv->xm, kv->x, (size_t)B * d);
}

void t6_mla_decode_layers(t6_model *m, t6_kvcache *kv)
{
    const t6_param_layout *pl = t6_model_layout(m);
    const t6_model_config *c = &pl->cfg;
    t6_backend *be = kv->be;
    const t6_ops *op = be->ops;
    const int B = kv->B, d = c->n_embd, V = c->vocab_size, hid = c->mlp_hidden;
    const int hl = t6_model_hidden_ld(m);

    op->embed_fwd(be, kv->x, t6_model_weight(m, pl->wte), kv->tok, B, d);
    for (int l = 0; l < c->n_layer; l++) {
        const t6_layer_params *lp = &pl->layers[l];
        mla_attn_block(m, kv, l);
        /* MLP as in model.c's decode step (hidden rows at stride hl, pads stay 0) */
        op->rmsnorm_fwd(be, kv->ln, kv->rstd, kv->xm, B, d);
        op->matmul_fwd(be, kv->h1, hl, kv->ln, d, t6_model_weight(m, lp->fc1), B, d, hid, 0);
        op->matmul_fwd(be, kv->h2, hl, kv->ln, d, t6_model_weight(m, lp->fc2), B, d, hid, 0);
        op->swiglu_fwd(be, kv->g, kv->h1, kv->h2, (size_t)B * hl);
        op->matmul_fwd(be, kv->x, d, kv->g, hl, t6_model_weight(m, lp->mlp_proj), B, hid, d, 0);
        op->add_inplace(be, kv->x, kv->xm, (size_t)B * d);
    }
    op->rmsnorm_fwd(be, kv->ln, kv->rstd, kv->x, B, d);
    rows_fwd(be, kv->logits, kv->ln, t6_model_weight(m, pl->wte), B, d, V);
}
