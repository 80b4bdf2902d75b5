/* mla_decode.c -- generation with MLA (mla_decode.h): the latent KV cache, its prefill
 * from the training forward, and the absorbed decode step over the backend's ops.
 *
 * Per layer the step runs the reference's query path (q_a, q_a_layernorm, q_b, RoPE on
 * each head's d_R part at the row's position) and key path (kv_a; kv_a_layernorm on the
 * latent; RoPE on the shared k_R), appends [c_kv, k_R] to the cache, then:
 *   qq[b,i,:] = [W_UK_i^T q_nope[b,i,:], q_R[b,i,:]]   h small GEMMs with the transposed
 *                                                       W_UK blocks (one per head);
 *   o_lat     = decode_attention_mla(qq, cache)         (B, h, d_c), scale 1/sqrt(dh + d_R);
 *   yv[b,i,:] = W_UV_i o_lat[b,i,:]                      h small GEMMs on kv_b's v rows;
 *   x_mid     = x + c_proj yv,  then the MLP as in model.c.
 * The per-head GEMMs write into row-strided buffers; a backend may zero an output's
 * alignment pad (backend.h), i.e. up to round_up(d_c, 8) or round_up(d_v, 8) columns
 * of a head: the heads are written in increasing order and q_R after all of them, so
 * such a pad only ever lands on columns written later within a row; across rows it
 * could not, so on CUDA d_c and d_v must be multiples of 8 (the pad is then empty;
 * checked at creation; every preset qualifies). The CPU backend never writes pads. */
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
    void *qf;                /* (B, h*(dh+dR)) q_b's output, per head [q_nope, q_R] */
    void *pe;                /* (B*h, dR) the query's rope parts; (B, dR) k_R */
    void *ckv;               /* (B, d_c+dR) kv_a's output */
    void *lat, *latn;        /* (B, d_c) latent and its norm */
    void *rec;               /* (B, d_c+dR) the new token's cache record */
    void *qq;                /* (B, h, d_c+dR) absorbed queries */
    void *olat;              /* (B, h, d_c) attention output in the latent space */
    void *yv;                /* (B, h*dv) per-head values after W_UV */
    void *pre;               /* prefill records (B*T, d_c+dR) */
    size_t pre_elems;
};

static void *act_alloc(t6_backend *be, size_t n) { return be->ops->alloc(be, (n ? n : 1) * be->act_bytes); }

void t6_mla_kvcache_alloc(t6_kvcache *kv, t6_model *m)
{
    const t6_param_layout *pl = t6_model_layout(m);
    const t6_model_config *c = &pl->cfg;
    t6_backend *be = kv->be;
    const int B = kv->B, h = c->n_head, dn = c->head_dim, dr = c->qk_rope_head_dim, dv = c->v_head_dim;
    const int dc = c->kv_lora_rank, dq = c->q_lora_rank, W = dc + dr, dkvh = dn + dv;
    T6_CHECK(be->kind == T6_BACKEND_CPU || (dc % 8 == 0 && dv % 8 == 0),
             "use multiples of 8 (every preset does), or backend.device = \"cpu\"",
             "kv cache: MLA generation on this backend needs model.kv_lora_rank (%d) and model.v_head_dim (%d) "
             "to be multiples of 8", dc, dv);
    const size_t slots = (size_t)B * kv->M_max;
    /* W_UK_i^T: (d_c, dh) blocks from kv_b's k_nope rows, in the compute type */
    float *host = t6_malloc(pl->n_params * sizeof(float));
    t6_model_get_params(m, host);
    float *tmp = t6_malloc(sizeof(float) * (size_t)h * dc * dn);
    for (int l = 0; l < c->n_layer; l++) {
        t6_kv_layer *cl = &kv->layers[l];
        cl->ckv = act_alloc(be, slots * W);
        const float *kvb = host + pl->tensors[pl->layers[l].kv_b].offset;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < dn; j++)
                for (int k = 0; k < dc; k++)
                    tmp[((size_t)i * dc + k) * dn + j] = kvb[((size_t)i * dkvh + j) * dc + k];
        cl->wuk = act_alloc(be, (size_t)h * dc * dn);
        be->ops->act_from_float(be, cl->wuk, tmp, (size_t)h * dc * dn);
    }
    free(tmp);
    free(host);
    t6_mla_ws *w = t6_calloc(1, sizeof *w);
    w->cq = act_alloc(be, (size_t)B * dq);
    w->cqn = act_alloc(be, (size_t)B * dq);
    w->rstd = be->ops->alloc(be, (size_t)B * sizeof(float));
    w->qf = act_alloc(be, (size_t)B * h * (dn + dr));
    w->pe = act_alloc(be, (size_t)B * h * dr);
    w->ckv = act_alloc(be, (size_t)B * W);
    w->lat = act_alloc(be, (size_t)B * dc);
    w->latn = act_alloc(be, (size_t)B * dc);
    w->rec = act_alloc(be, (size_t)B * W);
    w->qq = act_alloc(be, (size_t)B * h * W);
    w->olat = act_alloc(be, (size_t)B * h * dc);
    w->yv = act_alloc(be, (size_t)B * h * dv);
    kv->mla_ws = w;
}

void t6_mla_kvcache_free(t6_kvcache *kv)
{
    t6_backend *be = kv->be;
#define FREE(p) do { if (p) be->ops->free(be, (void *)(p)); } while (0)
    for (int l = 0; l < kv->cfg.n_layer; l++) {
        FREE(kv->layers[l].ckv);
        FREE(kv->layers[l].wuk);
        kv->layers[l].ckv = kv->layers[l].wuk = NULL;
    }
    t6_mla_ws *w = kv->mla_ws;
    if (w) {
        FREE(w->cq); FREE(w->cqn); FREE(w->rstd); FREE(w->qf); FREE(w->pe); FREE(w->ckv); FREE(w->lat);
        FREE(w->latn); FREE(w->rec); FREE(w->qq); FREE(w->olat); FREE(w->yv); FREE(w->pre);
        free(w);
    }
#undef FREE
    kv->mla_ws = NULL;
}

void t6_mla_prefill_layer(t6_kvcache *kv, t6_model *m, int l, int B, int T)
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
        be->ops->cache_scatter(be, t6_act_at(be, cache, (size_t)b * kv->M_max * W),
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
    const int dv = c->v_head_dim, dc = c->kv_lora_rank, dq = c->q_lora_rank, W = dc + dr, dha = dn + dr;
    const float eps = 1e-6f;   /* the reference RMSNorm's default, as in model.c */
    const double base = c->rope_base;

    op->rmsnorm_fwd(be, kv->ln, kv->rstd, kv->x, B, d);
    /* query: q_b(norm(q_a ln)), RoPE on each head's rope part at the row's position */
    rows_fwd(be, w->cq, kv->ln, t6_model_weight(m, lp->q_a), B, d, dq);
    op->rmsnorm_w_fwd(be, w->cqn, w->rstd, w->cq, t6_model_weight(m, lp->q_a_norm), B, dq, eps);
    rows_fwd(be, w->qf, w->cqn, t6_model_weight(m, lp->q_b), B, dq, h * dha);
    op->copy_rows(be, w->pe, dr, t6_act_at(be, w->qf, dn), dha, B * h, dr, 0);
    op->rope_fwd_pos(be, w->pe, kv->pos, B, h, dr, base);
    /* absorbed queries: W_UK_i^T q_nope per head, then the rotated q_R beside them */
    for (int i = 0; i < h; i++)
        op->matmul_fwd(be, t6_act_at(be, w->qq, (size_t)i * W), h * W, t6_act_at(be, w->qf, (size_t)i * dha), h * dha,
                       t6_act_at(be, cl->wuk, (size_t)i * dc * dn), B, dn, dc, 0);
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

    op->decode_attention_mla(be, w->olat, w->qq, cl->ckv, kv->lens, B, M, h, dc, dr, 1.0f / sqrtf((float)dha));

    /* values: W_UV_i o_lat per head (kv_b's rows i*(dh+dv)+dh ..), then c_proj */
    const void *kvb = t6_model_weight(m, lp->kv_b);
    for (int i = 0; i < h; i++)
        op->matmul_fwd(be, t6_act_at(be, w->yv, (size_t)i * dv), h * dv, t6_act_at(be, w->olat, (size_t)i * dc), h * dc,
                       t6_act_at(be, (void *)kvb, ((size_t)i * (dn + dv) + dn) * dc), B, dc, dv, 0);
    rows_fwd(be, kv->xm, w->yv, t6_model_weight(m, lp->attn_proj), B, h * dv, d);
    op->add_inplace(be, kv->xm, kv->x, (size_t)B * d);
}

void t6_mla_decode_step(t6_model *m, t6_kvcache *kv, const int32_t *tokens, const int32_t *pos, float *logits_host)
{
    const t6_param_layout *pl = t6_model_layout(m);
    const t6_model_config *c = &pl->cfg;
    t6_backend *be = kv->be;
    const t6_ops *op = be->ops;
    const int B = kv->B, M = kv->M_max, d = c->n_embd, V = c->vocab_size, hid = c->mlp_hidden;
    const int hl = t6_model_hidden_ld(m);
    int32_t *lens = t6_malloc((size_t)B * sizeof(int32_t));
    for (int b = 0; b < B; b++) {
        T6_CHECK(tokens[b] >= 0 && tokens[b] < V, NULL, "decode: token %d of row %d outside the vocabulary of %d",
                 tokens[b], b, V);
        T6_CHECK(pos[b] >= 0 && pos[b] < M, NULL, "decode: position %d of row %d outside the cache of %d", pos[b], b, M);
        lens[b] = pos[b] + 1;
    }
    op->to_device(be, kv->tok, tokens, (size_t)B * sizeof(int32_t));
    op->to_device(be, kv->pos, pos, (size_t)B * sizeof(int32_t));
    op->to_device(be, kv->lens, lens, (size_t)B * sizeof(int32_t));
    free(lens);

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
    op->act_to_float(be, logits_host, kv->logits, (size_t)B * V);
}
