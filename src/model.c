/* model.c -- the T6 model of ../shared/spec/t6-model.md (TPA, TPA-KVonly, MHA, MQA,
 * GQA), forward and backward, written once over the backend's ops table (backend.h).
 *
 *   x0 = wte[idx]
 *   per layer:  x = x + W_O attn(rmsnorm(x));   x = x + W_3 (silu(W_1 n) * (W_2 n)), n = rmsnorm(x)
 *   logits = rmsnorm(x) @ wte^T;  loss = mean CE over targets != -1
 *
 * Activation buffers are in the backend's act type (t6_act_at for pointer arithmetic);
 * parameters, gradients, rstd and lse are float. The logits buffer (B*T*V) is turned
 * into dlogits in place by the cross-entropy op, so it is the largest buffer, once.
 *
 * The SwiGLU activations (h1, h2, g and their gradients) are kept with a row stride of
 * hid_ld = round_up(mlp_hidden, 8) elements: floor(8d/3) is rarely a multiple of 8
 * (2730 at d = 1024), and bf16 rows of such a width are not 16-byte aligned, which
 * cuBLASLt's fast kernels need; with the padded stride the CUDA GEMMs read and write
 * these buffers in place instead of through padded copies (doc/performance.md). The
 * pad columns start zero (alloc zero-fills), the matmuls leave them zero (backend.h),
 * and the SwiGLU ops run over the whole N*hid_ld elements, which keeps them zero
 * (silu(0) * 0 = 0, and the backward of a zero pad with a zero gradient is 0). The
 * parameters are untouched: W_1, W_2, W_3 stay dense (hidden x d, d x hidden).
 *
 * Activation recomputation (train.recompute, doc/training.md "Memory"): each layer's
 * buffers fall into three groups (alloc_layer_groups). With "none" every layer owns all
 * three; with "attention" it owns its attention inputs (the projections' outputs) and
 * its MLP's, and one shared copy holds the attention outputs (and TPA's materialized
 * Q/K/V) that the backward recomputes for the layer at hand (attention_rerun); with
 * "block" every layer uses the one shared set, the residual stream keeps only the
 * layers' inputs, and the backward reruns the layer's forward first. The forward code
 * is the same for all three (the layer_acts pointers alias the shared set), and the
 * rerun computes the same values with the same ops, so the gradients are bitwise those
 * of "none" (tests/model/recompute.c). */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kvcache.h"
#include "mla_decode.h"
#include "rng.h"
#include "util.h"

/* Activations of one layer kept for the backward pass. Unused ones stay NULL. */
typedef struct {
    void *ln1, *ln2;              /* rmsnorm outputs (N, d) */
    float *rstd1, *rstd2;         /* (N) */
    void *aq, *ak, *av;           /* TPA A factors (N, h*R) */
    void *bq, *bk, *bv;           /* TPA B factors (N, R*dh), bq/bk after RoPE */
    void *fac;                    /* TPA, training model: the fused factor rows instead of the six
                                   * factors (N, fac_ld), no RoPE (tpa_fused_* below) */
    void *q, *k, *v;              /* (N, h*dh), (N, G*dh), (N, G*dh); q, k after RoPE */
    void *y;                      /* attention output (N, h*dh) */
    float *lse;                   /* (B, h, T) */
    void *h1, *h2, *g;            /* SwiGLU: W_1 n, W_2 n, silu(h1)*h2 (N, hidden), row stride hid_ld */
    /* MLA: cq = q_a ln1 (N, d'_c), cqn its norm; ckv = kv_a ln1 (N, d_c + dR); lat the
     * latent part of ckv (N, d_c), latn its norm; kv = kv_b latn (N, h*(dh+dv));
     * yv the attention output's value columns (N, h*dv) */
    void *cq, *cqn, *ckv, *lat, *latn, *kv, *yv;
    float *rstd_q, *rstd_kv;
} layer_acts;

/* Every buffer of layer_acts, for sharing and freeing (keep in step with the struct). */
#define LAYER_ACT_FIELDS(X)                                                                          \
    X(ln1) X(ln2) X(rstd1) X(rstd2) X(aq) X(ak) X(av) X(bq) X(bk) X(bv) X(fac) X(q) X(k) X(v) X(y) X(lse) \
    X(h1) X(h2) X(g) X(cq) X(cqn) X(ckv) X(lat) X(latn) X(kv) X(yv) X(rstd_q) X(rstd_kv)

struct t6_model {
    t6_model_config cfg;
    t6_backend *be;
    const t6_ops *ops;
    t6_param_layout layout;
    int B, T, N;
    int n_cap;                    /* B*T the buffers were allocated for (t6_model_set_shape) */
    int G;                        /* kv heads seen by the attention op */
    int dha;                      /* head size seen by the attention op: head_dim, or MLA's dh + dR */
    int hid_ld;                   /* row stride of the SwiGLU activations: round_up(mlp_hidden, 8) */
    /* TPA's six factor projections as one GEMM (see tpa_fused_* below): the fused
     * output (N, fac_w) at row stride fac_ld = round_up(fac_w, 8), one scratch buffer
     * shared by all layers (forward output, then the backward's gradient of it);
     * fac_off[0..5] = column offsets of A_Q, A_K, A_V, B_Q, B_K, B_V. */
    int fac_w, fac_ld, fac_off[6];
    void *fac;
    int tpa_fused;                /* TPA training model: tpa_qkv_fwd/bwd from the kept fused rows */
    void *view_f[6];              /* fused TPA: the six factors split for t6_model_attn_view, on demand */

    float *params, *grads;        /* fp32 master and gradients (device) */
    t6_grad_ready_fn grad_hook;   /* t6_model_set_grad_hook */
    void *grad_hook_arg;
    void *wcompute;               /* compute copy of the weights (== params on the CPU) */

    int32_t *tokens, *targets;    /* device copies of the last batch */
    int n_valid;                  /* targets != -1 in the last forward */
    int ready_for_backward;

    void *resid;                  /* residual stream: (2L+1) slices of (N, d); L+1 with recompute block */
    layer_acts *acts;             /* L entries */
    t6_recompute recompute;       /* what the forward keeps for the backward (t6_model_opts) */
    layer_acts shared;            /* the one copy of what the layers recompute (recompute != none) */
    void *xmid;                   /* recompute block: the one x_mid slice (N, d) */
    int shared_layer;             /* layer whose activations the shared buffers hold now, -1: none */
    t6_model_mem mem;             /* bytes by use, measured at creation (t6_model_memory) */
    void *lnf;                    /* final rmsnorm (N, d) */
    float *rstdf;
    void *logits;                 /* (N, V); dlogits after a forward for backward */
    float *losses;                /* (N) per-row losses (device) */
    float *losses_host;

    /* backward scratch (act type) */
    void *dresid, *dln, *dy, *dq, *dk, *dv;
    void *da_q, *da_k, *da_v, *db_q, *db_k, *db_v;
    void *dh1, *dh2, *dg;         /* (N, hidden), row stride hid_ld */
    /* MLA backward scratch: dyv (N, h*dv), dkv (N, h*(dh+dv)), and the gradients of the
     * latents */
    void *dyv, *dkv, *dlatn, *dlat, *dckv, *dcqn, *dcq;

    /* inference mode (t6_model_create_inference): no gradients or backward scratch,
     * acts[l] all alias acts[0], resid holds 2 slices, logits hold logit_cap rows */
    int inference;
    int logit_cap;
    void *lnrows;                 /* (logit_cap, d): the rows t6_model_forward_rows scores */
    t6_layer_hook hook;           /* called after each layer's forward (the prefill's cache copy) */
    void *hook_ctx;
};

/* ---- helpers ---- */

static void *act_alloc(t6_model *m, size_t n) { return m->ops->alloc(m->be, n * m->be->act_bytes); }
static void *act_at(const t6_model *m, void *p, size_t i) { return t6_act_at(m->be, p, i); }

/* Weight of tensor `idx` in the compute copy, and its gradient. */
static const void *W(const t6_model *m, int idx)
{
    const t6_param_info *t = &m->layout.tensors[idx];
    if (m->be->weights_are_master) return m->params + t->offset;
    return t6_act_at(m->be, m->wcompute, t->offset);
}
static float *dW(const t6_model *m, int idx) { return m->grads + m->layout.tensors[idx].offset; }

/* Linear layers on dense activations (row stride = width; only the MLP uses strides). */
static void dense_fwd(const t6_model *m, void *out, const void *inp, const void *w, int C, int OC)
{
    m->ops->matmul_fwd(m->be, out, OC, inp, C, w, m->N, C, OC, 0);
}
static void dense_bwd(const t6_model *m, void *dinp, float *dw, const void *dout, const void *inp, const void *w,
                      int C, int OC, int accumulate_dinp)
{
    m->ops->matmul_bwd(m->be, dinp, C, dw, dout, OC, inp, C, w, m->N, C, OC, accumulate_dinp);
}

/* Residual stream slice s: s = 2l is the input of layer l's attention block, 2l+1 the
 * input of its MLP block, 2L the input of the final norm. With recompute "block" only
 * the even slices are kept; every odd one is the shared x_mid the rerun rewrites. */
static void *resid_at(const t6_model *m, int s)
{
    /* inference: x (even) and x_mid (odd) alternate in two slices; a layer's output
     * overwrites its input, which nothing reads any more (layer_forward) */
    if (m->inference) s &= 1;
    const size_t slice = (size_t)m->N * m->cfg.n_embd;
    if (m->recompute == T6_RECOMPUTE_BLOCK) return s % 2 ? m->xmid : act_at(m, m->resid, (size_t)(s / 2) * slice);
    return act_at(m, m->resid, (size_t)s * slice);
}

static int kv_heads(const t6_model_config *c)
{
    switch (c->attention) {
    case T6_ATTN_MHA: case T6_ATTN_TPA: case T6_ATTN_TPA_KVONLY: case T6_ATTN_MLA: return c->n_head;
    case T6_ATTN_MQA: return 1;
    case T6_ATTN_GQA: return c->n_kv_head;
    }
    return c->n_head;
}

static int is_tpa(const t6_model_config *c) { return c->attention == T6_ATTN_TPA; }
static int is_kvonly(const t6_model_config *c) { return c->attention == T6_ATTN_TPA_KVONLY; }
static int is_mla(const t6_model_config *c) { return c->attention == T6_ATTN_MLA; }
static int is_mha_family(const t6_model_config *c) { return !is_tpa(c) && !is_kvonly(c) && !is_mla(c); }

/* ---- activation buffers (by what recomputes them: train.recompute) ---- */

/* The groups of a layer's buffers: the attention block's inputs (its norm and the
 * projections' outputs, which need the GEMMs to rebuild), what the attention computes
 * from them (TPA's Q/K/V products, the attention output and its log-sum-exp), and the
 * MLP block's. */
enum { ACT_ATTN_IN = 1, ACT_ATTN_OUT = 2, ACT_MLP = 4, ACT_ALL = 7 };

/* The groups each layer owns; the others are the shared copy. */
static unsigned owned_groups(t6_recompute r)
{
    return r == T6_RECOMPUTE_NONE ? ACT_ALL : r == T6_RECOMPUTE_ATTENTION ? ACT_ATTN_IN | ACT_MLP : 0;
}

/* Allocates the buffers of `groups` in a (the others are left as they are). */
static void alloc_layer_groups(t6_model *m, layer_acts *a, unsigned groups)
{
    const t6_model_config *c = &m->cfg;
    t6_backend *be = m->be;
    const size_t N = (size_t)m->n_cap;
    const int d = c->n_embd, h = c->n_head, dh = m->dha, G = m->G, hl = m->hid_ld;
    const int RQ = c->q_rank, RK = c->k_rank, RV = c->v_rank;
    const int tpa_kv = is_tpa(c) || is_kvonly(c);
    if (groups & ACT_ATTN_IN) {
        a->ln1 = act_alloc(m, N * d);
        a->rstd1 = m->ops->alloc(be, N * sizeof(float));
        if (m->tpa_fused) {
            a->fac = act_alloc(m, N * m->fac_ld); /* the six factors, unsplit and unrotated */
        } else if (is_tpa(c)) {
            a->aq = act_alloc(m, N * h * RQ);
            a->bq = act_alloc(m, N * RQ * dh);
        } else {
            a->q = act_alloc(m, N * h * dh);      /* projected (MLA: q_b's output, rope part rotated) */
        }
        if (tpa_kv) {
            if (!m->tpa_fused) {   /* (the fused path's factors are in a->fac) */
                a->ak = act_alloc(m, N * h * RK);
                a->av = act_alloc(m, N * h * RV);
                a->bk = act_alloc(m, N * RK * dh);
                a->bv = act_alloc(m, N * RV * dh);
            }
        } else {
            a->k = act_alloc(m, N * G * dh);
            a->v = act_alloc(m, N * G * dh);
        }
        if (is_mla(c)) {
            const int dq_l = c->q_lora_rank, dkv_l = c->kv_lora_rank, dr = c->qk_rope_head_dim;
            a->cq = act_alloc(m, N * dq_l);
            a->cqn = act_alloc(m, N * dq_l);
            a->ckv = act_alloc(m, N * (dkv_l + dr));
            a->lat = act_alloc(m, N * dkv_l);
            a->latn = act_alloc(m, N * dkv_l);
            a->kv = act_alloc(m, N * h * (c->head_dim + c->v_head_dim));
            a->rstd_q = m->ops->alloc(be, N * sizeof(float));
            a->rstd_kv = m->ops->alloc(be, N * sizeof(float));
        }
    }
    if (groups & ACT_ATTN_OUT) {
        if (is_tpa(c)) a->q = act_alloc(m, N * h * dh);
        if (tpa_kv) {
            a->k = act_alloc(m, N * G * dh);
            a->v = act_alloc(m, N * G * dh);
        }
        a->y = act_alloc(m, N * h * dh);
        a->lse = m->ops->alloc(be, N * h * sizeof(float));   /* (B, h, T) */
        if (is_mla(c)) a->yv = act_alloc(m, N * h * c->v_head_dim);
    }
    if (groups & ACT_MLP) {
        a->ln2 = act_alloc(m, N * d);
        a->rstd2 = m->ops->alloc(be, N * sizeof(float));
        a->h1 = act_alloc(m, N * hl);
        a->h2 = act_alloc(m, N * hl);
        a->g = act_alloc(m, N * hl);
    }
}

static size_t mem_now(const t6_model *m)
{
    t6_mem_stats st;
    t6_backend_mem_stats(m->be, &st);
    return st.current;
}

/* What the forward keeps for the backward: the residual stream, each layer's buffers
 * (own or shared by recompute), the final norm, the logits. Sizes recorded in m->mem. */
static void alloc_activations(t6_model *m)
{
    t6_backend *be = m->be;
    const size_t N = (size_t)m->n_cap;
    const int L = m->cfg.n_layer, d = m->cfg.n_embd;
    const unsigned own = owned_groups(m->recompute);
    size_t b0 = mem_now(m);

    const int slices = m->inference ? 2 : m->recompute == T6_RECOMPUTE_BLOCK ? L + 1 : 2 * L + 1;
    m->resid = act_alloc(m, (size_t)slices * N * d);
    if (m->recompute == T6_RECOMPUTE_BLOCK) m->xmid = act_alloc(m, N * d);
    size_t b1 = mem_now(m);
    if (own != ACT_ALL) alloc_layer_groups(m, &m->shared, ACT_ALL & ~own);
    m->mem.recompute = mem_now(m) - b1;
    m->acts = t6_calloc((size_t)(L > 0 ? L : 1), sizeof *m->acts);
    for (int l = 0; l < L; l++) {
        layer_acts *a = &m->acts[l];
        if (m->inference && l > 0) {   /* nothing keeps a layer's activations for a backward */
            *a = m->acts[0];
            continue;
        }
        b1 = mem_now(m);
        alloc_layer_groups(m, a, own);
        if (l == 0) m->mem.per_layer = mem_now(m) - b1;
#define SHARE(f) if (!a->f) a->f = m->shared.f;
        LAYER_ACT_FIELDS(SHARE)
#undef SHARE
    }
    m->shared_layer = -1;
    m->lnf = act_alloc(m, N * d);
    m->rstdf = m->ops->alloc(be, N * sizeof(float));
    b1 = mem_now(m);
    m->logits = act_alloc(m, (size_t)m->logit_cap * m->cfg.vocab_size);
    m->mem.logits = mem_now(m) - b1;
    m->losses = m->ops->alloc(be, N * sizeof(float));
    m->mem.activations = mem_now(m) - b0;
}

static void free_activations(t6_model *m)
{
    t6_backend *be = m->be;
    void (*fr)(t6_backend *, void *) = m->ops->free;
    const int owners = m->inference && m->cfg.n_layer > 1 ? 1 : m->cfg.n_layer;   /* inference: one set */
    for (int l = 0; m->acts && l < owners; l++) {
        layer_acts *a = &m->acts[l];
#define FREE_OWN(f) if (a->f && (void *)a->f != (void *)m->shared.f) fr(be, (void *)a->f);
        LAYER_ACT_FIELDS(FREE_OWN)
#undef FREE_OWN
    }
#define FREE_SHARED(f) if (m->shared.f) fr(be, (void *)m->shared.f);
    LAYER_ACT_FIELDS(FREE_SHARED)
#undef FREE_SHARED
    free(m->acts);
    m->acts = NULL;
    if (m->resid) fr(be, m->resid);
    if (m->xmid) fr(be, m->xmid);
    if (m->lnf) fr(be, m->lnf);
    if (m->rstdf) fr(be, m->rstdf);
    if (m->logits) fr(be, m->logits);
    if (m->losses) fr(be, m->losses);
}

/* ---- creation ---- */

static t6_model *model_create(const t6_model_config *cfg, t6_backend *be, int B, int T, int inference,
                              int logit_rows, const t6_model_opts *opts)
{
    T6_CHECK(B > 0 && T > 0, NULL, "model: micro-batch %d and sequence length %d must be positive", B, T);
    T6_CHECK(T <= cfg->block_size, "lower train.seq_len or raise model.block_size",
             "model: sequence length %d exceeds block_size %d", T, cfg->block_size);
    T6_CHECK(cfg->head_dim % 2 == 0 || cfg->attention == T6_ATTN_MLA, NULL, "model: head_dim %d must be even for RoPE",
             cfg->head_dim);
    t6_model *m = t6_calloc(1, sizeof *m);
    m->cfg = *cfg;
    m->be = be;
    m->ops = be->ops;
    m->B = B;
    m->T = T;
    m->N = B * T;
    m->n_cap = m->N;
    m->recompute = opts ? opts->recompute : T6_RECOMPUTE_NONE;
    m->G = kv_heads(cfg);
    T6_CHECK(m->G > 0 && cfg->n_head % m->G == 0, "model.n_kv_head must divide model.n_head",
             "model: %d query heads are not divisible into %d kv heads", cfg->n_head, m->G);
    t6_param_layout_init(&m->layout, cfg);

    const size_t N = (size_t)m->N;
    const int d = cfg->n_embd, h = cfg->n_head;
    /* MLA attends with query/key heads of head_dim + qk_rope_head_dim and values
     * zero-padded to that size (doc/model.md); everything else with head_dim */
    const int dh = is_mla(cfg) ? cfg->head_dim + cfg->qk_rope_head_dim : cfg->head_dim;
    m->dha = dh;
    const int hid = cfg->mlp_hidden, G = m->G;
    const int dq_l = cfg->q_lora_rank, dkv_l = cfg->kv_lora_rank, dr = cfg->qk_rope_head_dim, dv = cfg->v_head_dim;
    const int dnope = cfg->head_dim;
    const int RQ = cfg->q_rank, RK = cfg->k_rank, RV = cfg->v_rank;
    T6_CHECK(hid > 0, NULL, "model: mlp_hidden not set (floor(8*d/3) = %d expected)", 8 * d / 3);
    const int hid_ld = (hid + 7) / 8 * 8;
    m->hid_ld = hid_ld;
    if (is_tpa(cfg)) {
        const int wid[6] = {h * RQ, h * RK, h * RV, RQ * dh, RK * dh, RV * dh};
        for (int j = 0; j < 6; j++) {
            m->fac_off[j] = m->fac_w;
            m->fac_w += wid[j];
        }
        m->fac_ld = (m->fac_w + 7) / 8 * 8;
    }

    const size_t mem0 = mem_now(m);
    m->inference = inference;
    /* the inference model keeps the split factors: generation's prefill copies B_K, B_V
     * (t6_model_attn_view) and decode runs the per-projection ops */
    m->tpa_fused = is_tpa(cfg) && !inference;
    m->logit_cap = inference && logit_rows > 0 && logit_rows < m->N ? logit_rows : m->N;
    m->params = m->ops->alloc(be, m->layout.n_params * sizeof(float));
    m->grads = inference ? NULL : m->ops->alloc(be, m->layout.n_params * sizeof(float));
    m->wcompute = be->weights_are_master ? (void *)m->params
                                         : m->ops->alloc(be, m->layout.n_params * be->act_bytes);
    m->tokens = m->ops->alloc(be, N * sizeof(int32_t));
    m->targets = m->ops->alloc(be, N * sizeof(int32_t));
    m->mem.weights = mem_now(m) - mem0;

    alloc_activations(m);
    /* the fused factor projection's output, scratch of every layer's forward and (as
     * the joined factor gradients) backward; the inference model's forward needs it too */
    if (is_tpa(cfg)) m->fac = act_alloc(m, N * m->fac_ld);
    m->losses_host = t6_calloc(N, sizeof(float));
    if (inference) {
        m->lnrows = act_alloc(m, (size_t)m->logit_cap * d);
        return m;
    }

    m->dresid = act_alloc(m, N * d);
    m->dln = act_alloc(m, N * d);
    m->dy = act_alloc(m, N * h * dh);
    m->dq = act_alloc(m, N * h * dh);
    m->dk = act_alloc(m, N * G * dh);
    m->dv = act_alloc(m, N * G * dh);
    if (!is_mha_family(cfg) && !is_tpa(cfg)) {   /* TPA's factor gradients never leave tpa_qkv_bwd */
        m->da_k = act_alloc(m, N * h * RK);
        m->da_v = act_alloc(m, N * h * RV);
        m->db_k = act_alloc(m, N * RK * dh);
        m->db_v = act_alloc(m, N * RV * dh);
    }
    if (is_mla(cfg)) {
        m->dyv = act_alloc(m, N * h * dv);
        m->dkv = act_alloc(m, N * h * (dnope + dv));
        m->dlatn = act_alloc(m, N * dkv_l);
        m->dlat = act_alloc(m, N * dkv_l);
        m->dckv = act_alloc(m, N * (dkv_l + dr));
        m->dcqn = act_alloc(m, N * dq_l);
        m->dcq = act_alloc(m, N * dq_l);
    }
    m->dh1 = act_alloc(m, N * hid_ld);
    m->dh2 = act_alloc(m, N * hid_ld);
    m->dg = act_alloc(m, N * hid_ld);
    m->mem.total = mem_now(m) - mem0;
    m->mem.scratch = m->mem.total - m->mem.weights - m->mem.activations;
    return m;
}

t6_model *t6_model_create(const t6_model_config *cfg, t6_backend *be, int B, int T)
{
    return model_create(cfg, be, B, T, 0, 0, NULL);
}

t6_model *t6_model_create_opts(const t6_model_config *cfg, t6_backend *be, int B, int T, const t6_model_opts *opts)
{
    return model_create(cfg, be, B, T, 0, 0, opts);
}

/* Inference-only: no gradients, no backward buffers, no recomputation. */
t6_model *t6_model_create_inference(const t6_model_config *cfg, t6_backend *be, int B, int T, int logit_rows)
{
    return model_create(cfg, be, B, T, 1, logit_rows, NULL);
}

void t6_model_set_layer_hook(t6_model *m, t6_layer_hook fn, void *ctx)
{
    m->hook = fn;
    m->hook_ctx = ctx;
}

void t6_model_destroy(t6_model *m)
{
    if (!m) return;
    t6_backend *be = m->be;
    void (*fr)(t6_backend *, void *) = m->ops->free;
#define FREE(p) do { if (p) fr(be, (void *)(p)); } while (0)
    free_activations(m);
    FREE(m->dresid); FREE(m->dln); FREE(m->dy); FREE(m->dq); FREE(m->dk); FREE(m->dv);
    FREE(m->da_q); FREE(m->da_k); FREE(m->da_v); FREE(m->db_q); FREE(m->db_k); FREE(m->db_v);
    FREE(m->dh1); FREE(m->dh2); FREE(m->dg);
    FREE(m->dyv); FREE(m->dkv); FREE(m->dlatn); FREE(m->dlat); FREE(m->dckv);
    FREE(m->dcqn); FREE(m->dcq); FREE(m->lnrows); FREE(m->fac);
    for (int j = 0; j < 6; j++) FREE(m->view_f[j]);
    FREE(m->tokens); FREE(m->targets);
    if (m->wcompute != (void *)m->params) FREE(m->wcompute);
    FREE(m->params); FREE(m->grads);
#undef FREE
    free(m->losses_host);
    t6_param_layout_free(&m->layout);
    free(m);
}

const t6_param_layout *t6_model_layout(const t6_model *m) { return &m->layout; }
t6_backend *t6_model_backend(const t6_model *m) { return m->be; }
float *t6_model_params(t6_model *m) { return m->params; }
float *t6_model_grads(t6_model *m) { return m->grads; }

/* ---- parameters ---- */

void *t6_model_compute_weights(t6_model *m)
{
    return m->wcompute == (void *)m->params ? NULL : m->wcompute;
}

void t6_model_sync_compute_weights(t6_model *m)
{
    m->ops->params_to_compute(m->be, m->wcompute, m->params, m->layout.n_params);
}

/* U(-b, b) from the counter-based RNG (rng.h): stream = tensor index in the layout,
 * counter = element index, value = b * (2u - 1) rounded to float. init_fill where b = 0
 * (0, or 1 for MLA's norm weights). */
void t6_model_init_params(t6_model *m, uint64_t seed)
{
    const t6_param_layout *pl = &m->layout;
    size_t max_numel = 0;
    for (int ti = 0; ti < pl->n_tensors; ti++)
        if (pl->tensors[ti].numel > max_numel) max_numel = pl->tensors[ti].numel;
    float *host = t6_malloc(max_numel * sizeof(float) + 1);
    for (int ti = 0; ti < pl->n_tensors; ti++) {
        const t6_param_info *t = &pl->tensors[ti];
        const double b = t->init_bound;
        const uint64_t key = t6_rng_key(seed, (uint64_t)ti);
        const long n = (long)t->numel;
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++)
            host[i] = b == 0.0 ? t->init_fill : (float)(b * (2.0 * t6_rng_u01(t6_rng_u64_key(key, (uint64_t)i)) - 1.0));
        m->ops->to_device(m->be, m->params + t->offset, host, t->numel * sizeof(float));
    }
    free(host);
    t6_model_sync_compute_weights(m);
}

void t6_model_get_params(t6_model *m, float *host)
{
    m->ops->to_host(m->be, host, m->params, m->layout.n_params * sizeof(float));
}

void t6_model_set_params(t6_model *m, const float *host)
{
    m->ops->to_device(m->be, m->params, host, m->layout.n_params * sizeof(float));
    t6_model_sync_compute_weights(m);
}

void t6_model_get_grads(t6_model *m, float *host)
{
    T6_CHECK(m->grads, NULL, "model: the gradients of an inference-only model");
    m->ops->to_host(m->be, host, m->grads, m->layout.n_params * sizeof(float));
}

void t6_model_set_grad_hook(t6_model *m, t6_grad_ready_fn fn, void *arg)
{
    m->grad_hook = fn;
    m->grad_hook_arg = arg;
}

/* First parameter offset of layer l: its tensors, and every later layer's, lie above it. */
static size_t layer_lo(const t6_model *m, int l)
{
    size_t lo = m->layout.n_params;
    for (int i = 0; i < m->layout.n_tensors; i++)
        if (m->layout.tensors[i].layer == l && m->layout.tensors[i].offset < lo) lo = m->layout.tensors[i].offset;
    return lo;
}

void t6_model_zero_grad(t6_model *m)
{
    if (!m->grads) return;   /* inference-only */
    m->ops->zero(m->be, m->grads, m->layout.n_params * sizeof(float));
}

/* ---- forward ---- */

/* ---- TPA's six factor projections as one GEMM ----
 * W_A_q, W_A_k, W_A_v, W_B_q, W_B_k, W_B_v are consecutive in the parameter buffer
 * (params.c), i.e. one (fac_w x d) weight whose output is the six factors side by
 * side. One GEMM of that width replaces six skinny ones (output widths such as 204
 * and 68, which also needed padded copies on CUDA: doc/performance.md).
 * Training model (m->tpa_fused): the GEMM writes the layer's a->fac, kept for the
 * backward, and tpa_qkv_fwd goes from it straight to Q, K, V (RoPE on B_Q, B_K inside
 * the op), so the six factors are never written; the backward's tpa_qkv_bwd rebuilds
 * them from a->fac and writes the joined gradient of the fused rows (inverse RoPE
 * included) into m->fac, the scratch the one matmul_bwd reads (dln and the six weight
 * gradients, which are consecutive in the gradient buffer too). Recompute "attention"
 * reruns tpa_qkv_fwd from a->fac (ACT_ATTN_IN), "block" reruns the GEMM too.
 * Inference model: the GEMM writes the scratch m->fac, tpa_split takes it apart into
 * the layer's six factor buffers (RoPE on B_Q, B_K on the way) and the products read
 * those: the generation prefill's layer hook copies B_K, B_V from them (attn view) and
 * decode uses the per-projection ops.
 * The ZeRO-1 grad hook runs after the layer's backward, when the fused matmul_bwd has
 * written all six weight gradients. */
static void tpa_check_adjacent(const t6_model *m, const t6_layer_params *lp)
{
    const int idx[6] = {lp->w_a_q, lp->w_a_k, lp->w_a_v, lp->w_b_q, lp->w_b_k, lp->w_b_v};
    const t6_param_info *t = m->layout.tensors;
    for (int j = 1; j < 6; j++)
        T6_CHECK(t[idx[j]].offset == t[idx[j - 1]].offset + t[idx[j - 1]].numel, NULL,
                 "model: TPA factor weights %s and %s are not adjacent (fused projection)",
                 t[idx[j - 1]].name, t[idx[j]].name);
}

static void tpa_fused_fwd(t6_model *m, layer_acts *a, const t6_layer_params *lp)
{
    const t6_model_config *c = &m->cfg;
    const int N = m->N, d = c->n_embd, ld = m->fac_ld;
    tpa_check_adjacent(m, lp);
    if (m->tpa_fused) {
        m->ops->matmul_fwd(m->be, a->fac, ld, a->ln1, d, W(m, lp->w_a_q), N, d, m->fac_w, 0);
        m->ops->tpa_qkv_fwd(m->be, a->q, a->k, a->v, a->fac, ld, m->B, m->T, c->n_head, c->q_rank, c->k_rank,
                            c->v_rank, c->head_dim, c->rope_base);
        return;
    }
    m->ops->matmul_fwd(m->be, m->fac, ld, a->ln1, d, W(m, lp->w_a_q), N, d, m->fac_w, 0);
    void *const dst[6] = {a->aq, a->ak, a->av, a->bq, a->bk, a->bv};
    m->ops->tpa_split(m->be, dst, m->fac, ld, m->B, m->T, c->n_head, c->q_rank, c->k_rank, c->v_rank, c->head_dim,
                      c->rope_base);
}

/* From dq, dk, dv (overwritten by the attention backward) to dln (overwritten) and the
 * six weight gradients, on the training model: tpa_qkv_bwd writes the gradient of the
 * fused rows into the scratch m->fac (its pad columns are never written: 0 from the
 * allocation, finite as matmul_bwd wants: backend.h). */
static void tpa_fused_bwd(t6_model *m, layer_acts *a, const t6_layer_params *lp)
{
    const t6_model_config *c = &m->cfg;
    const int N = m->N, d = c->n_embd, ld = m->fac_ld;
    T6_CHECK(m->tpa_fused, NULL, "model: TPA backward on a model without the fused path");
    m->ops->tpa_qkv_bwd(m->be, m->fac, m->dq, m->dk, m->dv, a->fac, ld, m->B, m->T, c->n_head, c->q_rank, c->k_rank,
                        c->v_rank, c->head_dim, c->rope_base);
    m->ops->matmul_bwd(m->be, m->dln, d, dW(m, lp->w_a_q), m->fac, ld, a->ln1, d, W(m, lp->w_a_q), N, d,
                       m->fac_w, 0);
}

/* q, k, v of one layer from its normalized input a->ln1, per attention type. */
static void qkv_forward(t6_model *m, int l)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    const t6_layer_params *lp = &m->layout.layers[l];
    layer_acts *a = &m->acts[l];
    const int N = m->N, B = m->B, T = m->T, d = c->n_embd, h = c->n_head, dh = c->head_dim;
    const double base = c->rope_base;

    if (is_tpa(c)) {
        /* the six factor projections in one GEMM; RoPE on B_Q and B_K (each rank row as
         * if a head); the training model's q, k, v come out of it directly */
        tpa_fused_fwd(m, a, lp);
        if (m->tpa_fused) return;
        op->tpa_product_fwd(be, a->q, a->aq, a->bq, N, h, c->q_rank, dh);
    } else {
        /* standard query projection with RoPE on q (TPA-KVonly and the MHA family) */
        dense_fwd(m, a->q, a->ln1, W(m, lp->w_q), d, h * dh);
        op->rope_fwd(be, a->q, B, T, h, dh, base);
    }
    if (is_mha_family(c)) {
        dense_fwd(m, a->k, a->ln1, W(m, lp->w_k), d, m->G * dh);
        dense_fwd(m, a->v, a->ln1, W(m, lp->w_v), d, m->G * dh);
        op->rope_fwd(be, a->k, B, T, m->G, dh, base);
    } else {
        if (!is_tpa(c)) {   /* TPA-KVonly; TPA's came from tpa_fused_fwd, rotated */
            dense_fwd(m, a->ak, a->ln1, W(m, lp->w_a_k), d, h * c->k_rank);
            dense_fwd(m, a->av, a->ln1, W(m, lp->w_a_v), d, h * c->v_rank);
            dense_fwd(m, a->bk, a->ln1, W(m, lp->w_b_k), d, c->k_rank * dh);
            dense_fwd(m, a->bv, a->ln1, W(m, lp->w_b_v), d, c->v_rank * dh);
            op->rope_fwd(be, a->bk, B, T, c->k_rank, dh, base);
        }
        op->tpa_product_fwd(be, a->k, a->ak, a->bk, N, h, c->k_rank, dh);
        op->tpa_product_fwd(be, a->v, a->av, a->bv, N, h, c->v_rank, dh);
    }
}

/* MLA's q, k, v (doc/model.md "MLA"): q = q_b(norm_w(q_a ln1)) per head [dh nope, dR rope];
 * ckv = kv_a ln1 = [latent d_c, k_pe dR]; kv = kv_b(norm_w(latent)) per head [dh k_nope, dv v];
 * RoPE on q's rope part and on k_pe (frequencies over dR); k = [k_nope, k_pe shared by
 * all heads]; v zero-padded from dv to dh + dR: the last three in one op (mla_split).
 * The attention output's pad columns are 0 as v's are. */
static void mla_qkv_forward(t6_model *m, int l)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    const t6_layer_params *lp = &m->layout.layers[l];
    layer_acts *a = &m->acts[l];
    const int N = m->N, B = m->B, T = m->T, d = c->n_embd, h = c->n_head, dha = m->dha;
    const int dq_l = c->q_lora_rank, dkv_l = c->kv_lora_rank, dr = c->qk_rope_head_dim, dv = c->v_head_dim;
    const int dnope = c->head_dim, dkvh = dnope + dv;
    const float eps = 1e-6f;   /* the reference RMSNorm's default */

    dense_fwd(m, a->cq, a->ln1, W(m, lp->q_a), d, dq_l);
    op->rmsnorm_w_fwd(be, a->cqn, a->rstd_q, a->cq, W(m, lp->q_a_norm), N, dq_l, eps);
    dense_fwd(m, a->q, a->cqn, W(m, lp->q_b), dq_l, h * dha);

    dense_fwd(m, a->ckv, a->ln1, W(m, lp->kv_a), d, dkv_l + dr);
    op->copy_rows(be, a->lat, dkv_l, a->ckv, dkv_l + dr, N, dkv_l, 0);
    op->rmsnorm_w_fwd(be, a->latn, a->rstd_kv, a->lat, W(m, lp->kv_a_norm), N, dkv_l, eps);
    dense_fwd(m, a->kv, a->latn, W(m, lp->kv_b), dkv_l, h * dkvh);
    /* q's rope part rotated in place; k = [k_nope, rotated k_pe]; v padded */
    op->mla_split(be, a->q, a->k, a->v, a->kv, act_at(m, a->ckv, dkv_l), dkv_l + dr, B, T, h, dnope, dr, dv,
                  c->rope_base);
}

/* Whether layer l's input norm (ln1, rstd1) is made by layer l-1's closing residual
 * add (add_rmsnorm_fwd) rather than by layer l itself: only where the two layers' ln1
 * are distinct buffers, since layer l-1's (a shared copy under recompute "block") is
 * still read after its forward (the prefill's layer hook, the rerun). */
static int ln1_from_prev(const t6_model *m, int l)
{
    return l > 0 && m->acts[l].ln1 != m->acts[l - 1].ln1;
}

/* rerun (recompute "block", from the backward): everything but the MLP's output
 * projection and the residual add, whose result x_out is the next layer's kept input. */
static void layer_forward(t6_model *m, int l, int rerun)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    const t6_layer_params *lp = &m->layout.layers[l];
    layer_acts *a = &m->acts[l];
    const int N = m->N, d = c->n_embd, h = c->n_head, dh = c->head_dim, hid = c->mlp_hidden, hl = m->hid_ld;
    void *x = resid_at(m, 2 * l), *xm = resid_at(m, 2 * l + 1), *xo = resid_at(m, 2 * l + 2);

    /* x_mid = x + W_O attn(rmsnorm(x)) */
    if (rerun || !ln1_from_prev(m, l)) op->rmsnorm_fwd(be, a->ln1, a->rstd1, x, N, d);
    if (is_mla(c)) {
        mla_qkv_forward(m, l);
        op->attention_fwd(be, a->y, a->lse, a->q, a->k, a->v, m->B, m->T, h, m->G, m->dha);
        op->copy_rows(be, a->yv, c->v_head_dim, a->y, m->dha, N * h, c->v_head_dim, 0);
        dense_fwd(m, xm, a->yv, W(m, lp->attn_proj), h * c->v_head_dim, d);
    } else {
        qkv_forward(m, l);
        op->attention_fwd(be, a->y, a->lse, a->q, a->k, a->v, m->B, m->T, h, m->G, dh);
        dense_fwd(m, xm, a->y, W(m, lp->attn_proj), h * dh, d);
    }

    /* x_out = x_mid + W_3 (silu(W_1 n) * W_2 n), n = rmsnorm(x_mid), the residual add
     * fused with the norm (one pass over x_mid); hidden rows at stride hl, the SwiGLU
     * over the pads too (they stay 0: see the top of the file) */
    op->add_rmsnorm_fwd(be, xm, x, a->ln2, a->rstd2, N, d);
    op->matmul_fwd(be, a->h1, hl, a->ln2, d, W(m, lp->fc1), N, d, hid, 0);
    op->matmul_fwd(be, a->h2, hl, a->ln2, d, W(m, lp->fc2), N, d, hid, 0);
    op->swiglu_fwd(be, a->g, a->h1, a->h2, (size_t)N * hl);
    if (rerun) return;
    op->matmul_fwd(be, xo, d, a->g, hl, W(m, lp->mlp_proj), N, hid, d, 0);
    if (l + 1 < c->n_layer && ln1_from_prev(m, l + 1)) {
        layer_acts *an = &m->acts[l + 1];
        op->add_rmsnorm_fwd(be, xo, xm, an->ln1, an->rstd1, N, d);   /* and the next layer's input norm */
    } else {
        op->add_inplace(be, xo, xm, (size_t)N * d);
    }
}

/* Embedding and every layer (the hook after each) up to the final residual. */
static void forward_body(t6_model *m, const int32_t *tokens)
{
    const int N = m->N, d = m->cfg.n_embd, V = m->cfg.vocab_size;
    for (int n = 0; n < N; n++)
        T6_CHECK(tokens[n] >= 0 && tokens[n] < V, "the corpus vocabulary must fit model.vocab_size",
                 "token %d at position %d is outside the vocabulary of %d", tokens[n], n, V);
    m->ops->to_device(m->be, m->tokens, tokens, (size_t)N * sizeof(int32_t));
    m->ops->embed_fwd(m->be, resid_at(m, 0), W(m, m->layout.wte), m->tokens, N, d);
    for (int l = 0; l < m->cfg.n_layer; l++) {
        layer_forward(m, l, 0);
        if (m->hook) m->hook(m->hook_ctx, m, l);
    }
    m->shared_layer = m->cfg.n_layer - 1;   /* the shared buffers (recompute) hold the last layer's activations */
}

void t6_model_forward_rows(t6_model *m, const int32_t *tokens, const int32_t *rows, int n_rows, float *logits_host)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const int N = m->N, d = m->cfg.n_embd, V = m->cfg.vocab_size;
    T6_CHECK(n_rows >= 1 && n_rows <= m->logit_cap, NULL, "model: logits of %d rows (this model holds 1..%d)", n_rows,
             m->logit_cap);
    for (int i = 0; i < n_rows; i++)
        T6_CHECK(rows[i] >= 0 && rows[i] < N, NULL, "model: logits row %d of %d", rows[i], N);
    if (!m->lnrows) m->lnrows = act_alloc(m, (size_t)m->logit_cap * d);   /* a training model's, on first use */
    forward_body(m, tokens);
    /* gather the wanted rows of the final residual (runs of consecutive rows at once),
     * then the final norm and the tied lm_head on those rows only */
    void *xf = resid_at(m, 2 * m->cfg.n_layer);
    for (int i = 0; i < n_rows;) {
        int j = i + 1;
        while (j < n_rows && rows[j] == rows[j - 1] + 1) j++;
        op->copy_rows(be, act_at(m, m->lnrows, (size_t)i * d), d, act_at(m, xf, (size_t)rows[i] * d), d, j - i, d, 0);
        i = j;
    }
    op->rmsnorm_fwd(be, m->lnf, m->rstdf, m->lnrows, n_rows, d);
    op->matmul_fwd(be, m->logits, V, m->lnf, d, W(m, m->layout.wte), n_rows, d, V, 0);
    m->ready_for_backward = 0;
    op->act_to_float(be, logits_host, m->logits, (size_t)n_rows * V);
}

float t6_model_forward(t6_model *m, const int32_t *tokens, const int32_t *targets,
                       int for_backward, float grad_scale)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    const int N = m->N, d = c->n_embd, V = c->vocab_size, L = c->n_layer;

    T6_CHECK(!for_backward || targets, NULL, "model: a forward for backward needs targets");
    T6_CHECK(!for_backward || !m->inference, NULL, "model: a forward for backward on an inference-only model");
    T6_CHECK(m->logit_cap >= N, NULL,
             "model: the logits of all %d rows from an inference model of %d logit rows (t6_model_forward_rows)", N,
             m->logit_cap);
    forward_body(m, tokens);
    op->rmsnorm_fwd(be, m->lnf, m->rstdf, resid_at(m, 2 * L), N, d);
    dense_fwd(m, m->logits, m->lnf, W(m, m->layout.wte), d, V);   /* tied lm_head */

    m->ready_for_backward = 0;
    if (!targets) return 0.0f;

    int n_valid = 0;
    for (int n = 0; n < N; n++) {
        T6_CHECK(targets[n] >= -1 && targets[n] < V, "the corpus vocabulary must fit model.vocab_size",
                 "target %d at position %d is outside the vocabulary of %d", targets[n], n, V);
        n_valid += targets[n] != -1;
    }
    m->n_valid = n_valid;
    op->to_device(be, m->targets, targets, (size_t)N * sizeof(int32_t));
    /* d(grad_scale * mean loss)/d logit = grad_scale / n_valid * (p - onehot) */
    float row_scale = 0.0f;
    if (for_backward) {
        T6_CHECK(grad_scale != 0.0f, NULL, "model: forward for backward with grad_scale 0");
        if (n_valid > 0) row_scale = grad_scale / (float)n_valid;
    }
    op->cross_entropy(be, m->losses, m->logits, m->targets, N, V, row_scale);
    if (for_backward && n_valid == 0) op->zero(be, m->logits, (size_t)N * V * be->act_bytes);
    m->ready_for_backward = for_backward;

    op->to_host(be, m->losses_host, m->losses, (size_t)N * sizeof(float));
    if (n_valid == 0) return NAN;
    double sum = 0.0;
    for (int n = 0; n < N; n++) sum += m->losses_host[n];
    return (float)(sum / n_valid);
}

/* ---- backward ---- */

/* From dq, dk, dv (overwritten by the attention backward) to the parameter gradients
 * and dln = dL/d ln1 (overwritten). */
static void qkv_backward(t6_model *m, int l)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    const t6_layer_params *lp = &m->layout.layers[l];
    layer_acts *a = &m->acts[l];
    const int N = m->N, B = m->B, T = m->T, d = c->n_embd, h = c->n_head, dh = c->head_dim;
    const double base = c->rope_base;

    if (is_tpa(c)) {
        /* straight to the gradient of the fused rows, then one GEMM pair */
        tpa_fused_bwd(m, a, lp);
        return;
    }
    op->rope_bwd(be, m->dq, B, T, h, dh, base);
    dense_bwd(m, m->dln, dW(m, lp->w_q), m->dq, a->ln1, W(m, lp->w_q), d, h * dh, 0);
    if (is_mha_family(c)) {
        op->rope_bwd(be, m->dk, B, T, m->G, dh, base);
        dense_bwd(m, m->dln, dW(m, lp->w_k), m->dk, a->ln1, W(m, lp->w_k), d, m->G * dh, 1);
        dense_bwd(m, m->dln, dW(m, lp->w_v), m->dv, a->ln1, W(m, lp->w_v), d, m->G * dh, 1);
    } else {
        op->tpa_product_bwd(be, m->da_k, m->db_k, m->dk, a->ak, a->bk, N, h, c->k_rank, dh);
        op->tpa_product_bwd(be, m->da_v, m->db_v, m->dv, a->av, a->bv, N, h, c->v_rank, dh);
        op->rope_bwd(be, m->db_k, B, T, c->k_rank, dh, base);
        dense_bwd(m, m->dln, dW(m, lp->w_a_k), m->da_k, a->ln1, W(m, lp->w_a_k), d, h * c->k_rank, 1);
        dense_bwd(m, m->dln, dW(m, lp->w_a_v), m->da_v, a->ln1, W(m, lp->w_a_v), d, h * c->v_rank, 1);
        dense_bwd(m, m->dln, dW(m, lp->w_b_k), m->db_k, a->ln1, W(m, lp->w_b_k), d, c->k_rank * dh, 1);
        dense_bwd(m, m->dln, dW(m, lp->w_b_v), m->db_v, a->ln1, W(m, lp->w_b_v), d, c->v_rank * dh, 1);
    }
}

/* MLA: from dq, dk, dv (attention backward, head size dh + dR) to the parameter
 * gradients and dln (overwritten); the reverse of mla_qkv_forward. */
static void mla_qkv_backward(t6_model *m, int l)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    const t6_layer_params *lp = &m->layout.layers[l];
    layer_acts *a = &m->acts[l];
    const int N = m->N, B = m->B, T = m->T, d = c->n_embd, h = c->n_head, dha = m->dha;
    const int dq_l = c->q_lora_rank, dkv_l = c->kv_lora_rank, dr = c->qk_rope_head_dim, dv = c->v_head_dim;
    const int dnope = c->head_dim, dkvh = dnope + dv;

    /* un-rotate the rope part of dq; dkv = [dk_nope, dv] per head; dk_pe = the sum over
     * heads, rotated back, straight into its columns of dckv */
    op->mla_join(be, m->dq, m->dkv, act_at(m, m->dckv, dkv_l), dkv_l + dr, m->dk, m->dv, B, T, h, dnope, dr, dv,
                 c->rope_base);
    /* query path: q_b, the norm and q_a */
    dense_bwd(m, m->dcqn, dW(m, lp->q_b), m->dq, a->cqn, W(m, lp->q_b), dq_l, h * dha, 0);
    op->rmsnorm_w_bwd(be, m->dcq, dW(m, lp->q_a_norm), m->dcqn, a->cq, W(m, lp->q_a_norm), a->rstd_q, N, dq_l);
    dense_bwd(m, m->dln, dW(m, lp->q_a), m->dcq, a->ln1, W(m, lp->q_a), d, dq_l, 0);

    /* key/value path: kv_b, the latent's norm, then kv_a over [d latent, dk_pe] */
    dense_bwd(m, m->dlatn, dW(m, lp->kv_b), m->dkv, a->latn, W(m, lp->kv_b), dkv_l, h * dkvh, 0);
    op->rmsnorm_w_bwd(be, m->dlat, dW(m, lp->kv_a_norm), m->dlatn, a->lat, W(m, lp->kv_a_norm), a->rstd_kv, N,
                      dkv_l);
    op->copy_rows(be, m->dckv, dkv_l + dr, m->dlat, dkv_l, N, dkv_l, 0);
    dense_bwd(m, m->dln, dW(m, lp->kv_a), m->dckv, a->ln1, W(m, lp->kv_a), d, dkv_l + dr, 1);
}

/* recompute "attention": the attention of layer l from its kept inputs into the shared
 * buffers, with the same ops as the forward (qkv_forward's TPA products, then
 * layer_forward's attention call), so the values are bitwise the forward's. TPA's
 * fused factor rows are kept inputs (the GEMM's output): tpa_qkv_fwd, no GEMM here. */
static void attention_rerun(t6_model *m, int l)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    layer_acts *a = &m->acts[l];
    const int N = m->N, h = c->n_head, dh = c->head_dim;
    if (m->tpa_fused) {
        op->tpa_qkv_fwd(be, a->q, a->k, a->v, a->fac, m->fac_ld, m->B, m->T, h, c->q_rank, c->k_rank, c->v_rank, dh,
                        c->rope_base);
    } else {
        if (is_tpa(c)) op->tpa_product_fwd(be, a->q, a->aq, a->bq, N, h, c->q_rank, dh);
        if (is_tpa(c) || is_kvonly(c)) {
            op->tpa_product_fwd(be, a->k, a->ak, a->bk, N, h, c->k_rank, dh);
            op->tpa_product_fwd(be, a->v, a->av, a->bv, N, h, c->v_rank, dh);
        }
    }
    op->attention_fwd(be, a->y, a->lse, a->q, a->k, a->v, m->B, m->T, h, m->G, m->dha);
    if (is_mla(c)) op->copy_rows(be, a->yv, c->v_head_dim, a->y, m->dha, N * h, c->v_head_dim, 0);
}

/* Rebuilds what layer l's backward needs and the recompute mode dropped; a no-op when
 * the shared buffers already hold layer l's (the last layer, right after the forward). */
static void recompute_layer(t6_model *m, int l)
{
    if (m->recompute == T6_RECOMPUTE_NONE || m->shared_layer == l) return;
    if (m->recompute == T6_RECOMPUTE_BLOCK) layer_forward(m, l, 1);
    else attention_rerun(m, l);
    m->shared_layer = l;
}

/* m->dresid holds dL/d x_out on entry and dL/d x (the layer input) on return. */
static void layer_backward(t6_model *m, int l)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    const t6_layer_params *lp = &m->layout.layers[l];
    layer_acts *a = &m->acts[l];
    const int N = m->N, d = c->n_embd, h = c->n_head, dh = c->head_dim, hid = c->mlp_hidden, hl = m->hid_ld;
    void *x = resid_at(m, 2 * l), *xm = resid_at(m, 2 * l + 1);

    recompute_layer(m, l);
    /* MLP block (hidden rows at stride hl; the pads of dg, dh1, dh2 stay 0) */
    op->matmul_bwd(be, m->dg, hl, dW(m, lp->mlp_proj), m->dresid, d, a->g, hl, W(m, lp->mlp_proj), N, hid, d, 0);
    op->swiglu_bwd(be, m->dh1, m->dh2, m->dg, a->h1, a->h2, (size_t)N * hl);
    op->matmul_bwd(be, m->dln, d, dW(m, lp->fc1), m->dh1, hl, a->ln2, d, W(m, lp->fc1), N, d, hid, 0);
    op->matmul_bwd(be, m->dln, d, dW(m, lp->fc2), m->dh2, hl, a->ln2, d, W(m, lp->fc2), N, d, hid, 1);
    op->rmsnorm_bwd(be, m->dresid, m->dln, xm, a->rstd2, N, d);   /* + the residual path */

    /* attention block */
    if (is_mla(c)) {
        /* dy's pad columns (dv .. dh+dR of each head) are never written: they stay 0 */
        const int dv = c->v_head_dim;
        dense_bwd(m, m->dyv, dW(m, lp->attn_proj), m->dresid, a->yv, W(m, lp->attn_proj), h * dv, d, 0);
        op->copy_rows(be, m->dy, m->dha, m->dyv, dv, N * h, dv, 0);
        op->attention_bwd(be, m->dq, m->dk, m->dv, m->dy, a->y, a->lse, a->q, a->k, a->v,
                          m->B, m->T, h, m->G, m->dha);
        mla_qkv_backward(m, l);
    } else {
        dense_bwd(m, m->dy, dW(m, lp->attn_proj), m->dresid, a->y, W(m, lp->attn_proj), h * dh, d, 0);
        op->attention_bwd(be, m->dq, m->dk, m->dv, m->dy, a->y, a->lse, a->q, a->k, a->v,
                          m->B, m->T, h, m->G, dh);
        qkv_backward(m, l);
    }
    op->rmsnorm_bwd(be, m->dresid, m->dln, x, a->rstd1, N, d);
}

void t6_model_backward(t6_model *m)
{
    T6_CHECK(!m->inference, NULL, "model: backward of an inference-only model (t6_model_create_inference)");
    T6_CHECK(m->ready_for_backward, NULL,
             "model: backward without a preceding forward(for_backward = 1) on this batch");
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    const int N = m->N, d = c->n_embd, V = c->vocab_size, L = c->n_layer;
    float *dwte = dW(m, m->layout.wte);

    /* lm_head (tied): logits now hold dlogits */
    dense_bwd(m, m->dln, dwte, m->logits, m->lnf, W(m, m->layout.wte), d, V, 0);
    op->zero(be, m->dresid, (size_t)N * d * be->act_bytes);
    op->rmsnorm_bwd(be, m->dresid, m->dln, resid_at(m, 2 * L), m->rstdf, N, d);
    for (int l = L - 1; l >= 0; l--) {
        layer_backward(m, l);
        if (m->grad_hook) m->grad_hook(m->grad_hook_arg, layer_lo(m, l));
    }
    op->embed_bwd(be, dwte, m->dresid, m->tokens, N, d);
    if (m->grad_hook) m->grad_hook(m->grad_hook_arg, 0);
    m->ready_for_backward = 0;   /* dlogits are consumed (the buffer holds gradients) */
}

void t6_model_get_logits(t6_model *m, float *host)
{
    T6_CHECK(m->logit_cap >= m->N, NULL, "model: all logits of an inference model of %d logit rows", m->logit_cap);
    m->ops->act_to_float(m->be, host, m->logits, (size_t)m->N * m->cfg.vocab_size);
}

/* ---- shapes (evaluation, generation), the factors of the last forward, and one
 * decode step of B rows over a KV cache (src/kvcache.h, doc/generate.md) ---- */

int t6_model_set_shape(t6_model *m, int B, int T)
{
    if (B <= 0 || T <= 0 || T > m->cfg.block_size || (long long)B * T > m->n_cap) return -1;
    m->B = B;
    m->T = T;
    m->N = B * T;
    m->ready_for_backward = 0;
    return 0;
}

int t6_model_capacity(const t6_model *m) { return m->n_cap; }
int t6_model_logit_rows(const t6_model *m) { return m->logit_cap; }

void t6_model_get_logits_rows(t6_model *m, size_t row, size_t n, float *host)
{
    const size_t V = (size_t)m->cfg.vocab_size;
    T6_CHECK(m->logit_cap >= m->N, NULL, "model: logit rows of an inference model of %d logit rows", m->logit_cap);
    T6_CHECK(row + n <= (size_t)m->N, NULL, "model: logits rows %zu+%zu of %d", row, n, m->N);
    m->ops->act_to_float(m->be, host, act_at(m, m->logits, row * V), n * V);
}


void t6_model_attn_view(t6_model *m, int l, t6_attn_view *v)
{
    /* with recompute, later layers overwrite the shared buffers during the forward */
    T6_CHECK(m->recompute == T6_RECOMPUTE_NONE, NULL, "model: attention views need train.recompute = \"none\"");
    const layer_acts *a = &m->acts[l];
    v->ln1 = a->ln1;
    v->bk = a->bk;
    v->bv = a->bv;
    v->k = a->k;
    v->v = a->v;
    v->latn = a->latn;
    if (!m->tpa_fused) return;
    /* the training model never forms TPA's factors (tpa_qkv_fwd): split them from the
     * kept fused rows into buffers made on the first view (a prefill from a training
     * model; t6_model_create_inference's model keeps them), valid until the next view */
    const t6_model_config *c = &m->cfg;
    const int h = c->n_head, dh = c->head_dim;
    const int w[6] = {h * c->q_rank, h * c->k_rank, h * c->v_rank, c->q_rank * dh, c->k_rank * dh, c->v_rank * dh};
    if (!m->view_f[0])
        for (int j = 0; j < 6; j++) m->view_f[j] = act_alloc(m, (size_t)m->n_cap * w[j]);
    m->ops->tpa_split(m->be, m->view_f, a->fac, m->fac_ld, m->B, m->T, h, c->q_rank, c->k_rank, c->v_rank, dh,
                      c->rope_base);
    v->bk = m->view_f[4];
    v->bv = m->view_f[5];
}

const void *t6_model_weight(const t6_model *m, int tensor) { return W(m, tensor); }

/* out (n, OC) = inp (n, C) @ w^T for the n decode rows */
static void rows_fwd(const t6_model *m, void *out, const void *inp, const void *w, int n, int C, int OC)
{
    m->ops->matmul_fwd(m->be, out, OC, inp, C, w, n, C, OC, 0);
}

/* The device work of one decode step, from the tokens, positions and lengths in kv's
 * device buffers to the logits in kv->logits: no host copy, no synchronisation, and
 * nothing that depends on host values that change from step to step, so that it can
 * be recorded once as a graph and replayed (decode_run). */
static void decode_layers(t6_model *m, t6_kvcache *kv)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    const t6_model_config *c = &m->cfg;
    const int B = kv->B, M = kv->M_max, d = c->n_embd, h = c->n_head, dh = c->head_dim, V = c->vocab_size;
    const int hid = c->mlp_hidden, hl = m->hid_ld, G = kv->G, RK = c->k_rank, RV = c->v_rank;
    const double base = c->rope_base;
    if (is_mla(c)) {   /* the latent-space decode (src/mla_decode.c) */
        t6_mla_decode_layers(m, kv);
        return;
    }

    op->embed_fwd(be, kv->x, W(m, m->layout.wte), kv->tok, B, d);
    /* each layer's input norm is made by the previous layer's last residual add (fused) */
    op->rmsnorm_fwd(be, kv->ln, kv->rstd, kv->x, B, d);
    for (int l = 0; l < c->n_layer; l++) {
        const t6_layer_params *lp = &m->layout.layers[l];
        t6_kv_layer *cl = &kv->layers[l];
        /* the query, as in qkv_forward, at each row's own position */
        if (is_tpa(c)) {
            rows_fwd(m, kv->aq, kv->ln, W(m, lp->w_a_q), B, d, h * c->q_rank);
            rows_fwd(m, kv->bq, kv->ln, W(m, lp->w_b_q), B, d, c->q_rank * dh);
            op->rope_fwd_pos(be, kv->bq, kv->pos, B, c->q_rank, dh, base);
            op->tpa_product_fwd(be, kv->q, kv->aq, kv->bq, B, h, c->q_rank, dh);
        } else {
            rows_fwd(m, kv->q, kv->ln, W(m, lp->w_q), B, d, h * dh);
            op->rope_fwd_pos(be, kv->q, kv->pos, B, h, dh, base);
        }
        /* append this token's record, then attend over the cache */
        if (kv->factored) {
            rows_fwd(m, kv->fa, kv->ln, cl->wak, B, d, RK * h);
            op->cache_scatter(be, cl->ak, kv->fa, RK * h, kv->pos, B, M, RK * h);
            rows_fwd(m, kv->fa, kv->ln, cl->wav, B, d, RV * h);
            op->cache_scatter(be, cl->av, kv->fa, RV * h, kv->pos, B, M, RV * h);
            rows_fwd(m, kv->fb, kv->ln, W(m, lp->w_b_k), B, d, RK * dh);
            op->rope_fwd_pos(be, kv->fb, kv->pos, B, RK, dh, base);
            op->cache_scatter(be, cl->bk, kv->fb, RK * dh, kv->pos, B, M, RK * dh);
            rows_fwd(m, kv->fb, kv->ln, W(m, lp->w_b_v), B, d, RV * dh);
            op->cache_scatter(be, cl->bv, kv->fb, RV * dh, kv->pos, B, M, RV * dh);
            op->decode_attention_tpa(be, kv->y, kv->q, cl->ak, cl->bk, cl->av, cl->bv, kv->lens, B, M, h, RK, RV, dh);
        } else {
            rows_fwd(m, kv->k, kv->ln, W(m, lp->w_k), B, d, G * dh);
            rows_fwd(m, kv->v, kv->ln, W(m, lp->w_v), B, d, G * dh);
            op->rope_fwd_pos(be, kv->k, kv->pos, B, G, dh, base);
            op->cache_scatter(be, cl->k, kv->k, G * dh, kv->pos, B, M, G * dh);
            op->cache_scatter(be, cl->v, kv->v, G * dh, kv->pos, B, M, G * dh);
            op->decode_attention_kv(be, kv->y, kv->q, cl->k, cl->v, kv->lens, B, M, h, G, dh);
        }
        rows_fwd(m, kv->xm, kv->y, W(m, lp->attn_proj), B, h * dh, d);
        /* MLP as in layer_forward (hidden rows at stride hl, pads stay 0) */
        op->add_rmsnorm_fwd(be, kv->xm, kv->x, kv->ln, kv->rstd, B, d);
        op->matmul_fwd(be, kv->h1, hl, kv->ln, d, W(m, lp->fc1), B, d, hid, 0);
        op->matmul_fwd(be, kv->h2, hl, kv->ln, d, W(m, lp->fc2), B, d, hid, 0);
        op->swiglu_fwd(be, kv->g, kv->h1, kv->h2, (size_t)B * hl);
        op->matmul_fwd(be, kv->x, d, kv->g, hl, W(m, lp->mlp_proj), B, hid, d, 0);
        /* x += x_mid, and the next layer's input norm (the final norm after the last) */
        op->add_rmsnorm_fwd(be, kv->x, kv->xm, kv->ln, kv->rstd, B, d);
    }
    rows_fwd(m, kv->logits, kv->ln, W(m, m->layout.wte), B, d, V);
}

/* decode_layers, as a replayed graph where kv->use_graphs asks for one and the backend
 * records graphs: one unrecorded step after the cache was created or prefilled (it
 * sizes the backend's scratch and makes the GEMM plans, which must not happen while
 * recording), then the step is recorded once and replayed; recorded again when the
 * backend reports the graph stale (its scratch grew since). */
static void decode_run(t6_model *m, t6_kvcache *kv)
{
    const t6_ops *op = m->ops;
    t6_backend *be = m->be;
    if (!kv->use_graphs) {
        decode_layers(m, kv);
        return;
    }
    if (kv->graph && kv->graph_warm) {
        if (op->graph_launch(be, kv->graph) == 0) {
            kv->graph_steps++;
            return;
        }
    }
    if (kv->graph) {   /* stale (a backend buffer moved), or a prefill came between */
        op->graph_free(be, kv->graph);
        kv->graph = NULL;
        kv->graph_warm = 0;
    }
    if (!kv->graph_warm) {
        decode_layers(m, kv);
        kv->graph_warm = 1;
        return;
    }
    if (!op->graph_begin(be)) {   /* this backend has no graphs: launch as usual from now on */
        kv->use_graphs = 0;
        decode_layers(m, kv);
        return;
    }
    decode_layers(m, kv);   /* recorded, not run */
    kv->graph = op->graph_end(be);
    if (kv->graph && op->graph_launch(be, kv->graph) == 0) {
        kv->graph_steps++;
        return;
    }
    if (kv->graph) op->graph_free(be, kv->graph);
    kv->graph = NULL;
    kv->use_graphs = 0;   /* recording failed (a warning said why): no graphs for this cache */
    decode_layers(m, kv);
}

void t6_model_decode_step(t6_model *m, t6_kvcache *kv, const int32_t *tokens, const int32_t *pos, float *logits_host)
{
    const t6_model_config *c = &m->cfg;
    const int B = kv->B, M = kv->M_max, V = c->vocab_size;
    int32_t *hi = kv->ints_host;   /* tok | pos | lens, as kv->ints on the device */
    for (int b = 0; b < B; b++) {
        T6_CHECK(tokens[b] >= 0 && tokens[b] < V, NULL, "decode: token %d of row %d outside the vocabulary of %d",
                 tokens[b], b, V);
        T6_CHECK(pos[b] >= 0 && pos[b] < M, NULL, "decode: position %d of row %d outside the cache of %d", pos[b], b, M);
        hi[b] = tokens[b];
        hi[B + b] = pos[b];
        hi[2 * B + b] = pos[b] + 1;
    }
    m->ops->to_device(m->be, kv->ints, hi, (size_t)3 * B * sizeof(int32_t));
    decode_run(m, kv);
    m->ops->act_to_float(m->be, logits_host, kv->logits, (size_t)B * V);
}

int t6_model_hidden_ld(const t6_model *m) { return m->hid_ld; }

void t6_model_memory(const t6_model *m, t6_model_mem *out) { *out = m->mem; }
t6_recompute t6_model_recompute(const t6_model *m) { return m->recompute; }
