/* identities.c -- exact properties of the model, on the CPU backend:
 *  - the paper's Section 4 identity: TPA with ranks = h and A factors fixed to scaled
 *    basis vectors (A[i,r] = R * delta_ir, cancelling the 1/R) and B factors equal to
 *    the MHA projections reproduces MHA attention, forward and backward;
 *  - RoPE: <rope_t(a), rope_s(b)> depends only on t - s; rope_bwd inverts rope_fwd;
 *    the sign convention of the spec at one position against a double computation;
 *  - causality: changing token t+1 leaves the logits at positions <= t unchanged;
 *  - GQA with G = h is MHA (same parameters, same function); GQA/MQA with G < h equal
 *    MHA whose K/V heads are copies of the shared ones (head i reads kv head i/(h/G));
 *  - attention and cross-entropy ops against naive double-precision versions;
 *  - AdamW, sum_squares and scale against scalar double formulas. */
#include "tmodel.h"

static double maxabs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void fill(float *x, size_t n, uint64_t seed, float s)
{
    t6_rng r;
    t6_rng_init(&r, seed, 3);
    for (size_t i = 0; i < n; i++) x[i] = s * (float)(2.0 * t6_rng_next_u01(&r) - 1.0);
}

/* ---- Section 4: TPA with basis-vector A factors == MHA ---- */
static void test_tpa_contains_mha(t6_backend *be)
{
    const t6_ops *op = be->ops;
    const int B = 2, T = 7, h = 3, dh = 8, d = 10, N = B * T, R = h;
    float *n = t6_malloc(sizeof(float) * N * d), *Wq = t6_malloc(sizeof(float) * h * dh * d);
    float *Wk = t6_malloc(sizeof(float) * h * dh * d), *Wv = t6_malloc(sizeof(float) * h * dh * d);
    fill(n, (size_t)N * d, 1, 1.0f);
    fill(Wq, (size_t)h * dh * d, 2, 0.5f);
    fill(Wk, (size_t)h * dh * d, 3, 0.5f);
    fill(Wv, (size_t)h * dh * d, 4, 0.5f);
    const size_t HD = (size_t)N * h * dh;
    float *q = t6_calloc(HD, 4), *k = t6_calloc(HD, 4), *v = t6_calloc(HD, 4), *y = t6_calloc(HD, 4);
    float *bq = t6_calloc(HD, 4), *bk = t6_calloc(HD, 4), *bv = t6_calloc(HD, 4);
    float *q2 = t6_calloc(HD, 4), *k2 = t6_calloc(HD, 4), *v2 = t6_calloc(HD, 4), *y2 = t6_calloc(HD, 4);
    float *lse = t6_calloc((size_t)B * h * T, 4), *lse2 = t6_calloc((size_t)B * h * T, 4);
    float *A = t6_calloc((size_t)N * h * R, 4);
    for (int t = 0; t < N; t++)
        for (int i = 0; i < h; i++) A[((size_t)t * h + i) * R + i] = (float)R;

    /* MHA: q = rope(n Wq^T), k = rope(n Wk^T), v = n Wv^T */
    op->matmul_fwd(be, q, h * dh, n, d, Wq, N, d, h * dh, 0);
    op->matmul_fwd(be, k, h * dh, n, d, Wk, N, d, h * dh, 0);
    op->matmul_fwd(be, v, h * dh, n, d, Wv, N, d, h * dh, 0);
    op->rope_fwd(be, q, B, T, h, dh, 10000.0);
    op->rope_fwd(be, k, B, T, h, dh, 10000.0);
    op->attention_fwd(be, y, lse, q, k, v, B, T, h, h, dh);
    /* TPA: B factors from the same weights (W_B = W), RoPE on B, then A·B/R */
    op->matmul_fwd(be, bq, R * dh, n, d, Wq, N, d, R * dh, 0);
    op->matmul_fwd(be, bk, R * dh, n, d, Wk, N, d, R * dh, 0);
    op->matmul_fwd(be, bv, R * dh, n, d, Wv, N, d, R * dh, 0);
    op->rope_fwd(be, bq, B, T, R, dh, 10000.0);
    op->rope_fwd(be, bk, B, T, R, dh, 10000.0);
    op->tpa_product_fwd(be, q2, A, bq, N, h, R, dh);
    op->tpa_product_fwd(be, k2, A, bk, N, h, R, dh);
    op->tpa_product_fwd(be, v2, A, bv, N, h, R, dh);
    op->attention_fwd(be, y2, lse2, q2, k2, v2, B, T, h, h, dh);
    tm_check(maxabs_diff(y, y2, HD) <= 1e-6, "section 4: TPA(A = R*basis, B = MHA projections) == MHA attention (max diff %.2e)",
             maxabs_diff(y, y2, HD));

    /* backward: dW_B of TPA == dW of MHA for the same upstream gradient */
    float *dy = t6_malloc(sizeof(float) * HD);
    fill(dy, HD, 5, 1.0f);
    float *dq = t6_calloc(HD, 4), *dk = t6_calloc(HD, 4), *dv = t6_calloc(HD, 4);
    float *dWm = t6_calloc((size_t)3 * h * dh * d, 4), *dWt = t6_calloc((size_t)3 * h * dh * d, 4);
    float *dA = t6_calloc((size_t)N * h * R, 4), *dB = t6_calloc(HD, 4);
    const size_t WN = (size_t)h * dh * d;
    op->attention_bwd(be, dq, dk, dv, dy, y, lse, q, k, v, B, T, h, h, dh);
    op->rope_bwd(be, dq, B, T, h, dh, 10000.0);
    op->rope_bwd(be, dk, B, T, h, dh, 10000.0);
    op->matmul_bwd(be, NULL, d, dWm, dq, h * dh, n, d, Wq, N, d, h * dh, 0);
    op->matmul_bwd(be, NULL, d, dWm + WN, dk, h * dh, n, d, Wk, N, d, h * dh, 0);
    op->matmul_bwd(be, NULL, d, dWm + 2 * WN, dv, h * dh, n, d, Wv, N, d, h * dh, 0);
    op->attention_bwd(be, dq, dk, dv, dy, y2, lse2, q2, k2, v2, B, T, h, h, dh);
    float *dsrc[3] = {dq, dk, dv};
    float *bsrc[3] = {bq, bk, bv};
    for (int w = 0; w < 3; w++) {
        op->tpa_product_bwd(be, dA, dB, dsrc[w], A, bsrc[w], N, h, R, dh);
        if (w < 2) op->rope_bwd(be, dB, B, T, R, dh, 10000.0);
        op->matmul_bwd(be, NULL, d, dWt + w * WN, dB, R * dh, n, d, Wq, N, d, R * dh, 0);
    }
    const double gd = maxabs_diff(dWm, dWt, 3 * WN);
    tm_check(gd <= 1e-5, "section 4: gradients of W_B (TPA) == gradients of W_Q, W_K, W_V (MHA) (max diff %.2e)", gd);

    free(n); free(Wq); free(Wk); free(Wv); free(q); free(k); free(v); free(y); free(bq); free(bk); free(bv);
    free(q2); free(k2); free(v2); free(y2); free(lse); free(lse2); free(A); free(dy); free(dq); free(dk);
    free(dv); free(dWm); free(dWt); free(dA); free(dB);
}

/* ---- RoPE ---- */
static void test_rope(t6_backend *be)
{
    const int T = 40, dh = 16;
    float a[16], b[16];
    fill(a, dh, 6, 1.0f);
    fill(b, dh, 7, 1.0f);
    float *qa = t6_malloc(sizeof(float) * T * dh), *kb = t6_malloc(sizeof(float) * T * dh);
    for (int t = 0; t < T; t++) {
        memcpy(qa + t * dh, a, sizeof a);
        memcpy(kb + t * dh, b, sizeof b);
    }
    be->ops->rope_fwd(be, qa, 1, T, 1, dh, 10000.0);
    be->ops->rope_fwd(be, kb, 1, T, 1, dh, 10000.0);
    double worst = 0.0;
    for (int t = 0; t < 12; t++)
        for (int s = 0; s < 12; s++)
            for (int delta = 1; delta < T - 12; delta += 5) {
                double d0 = 0, d1 = 0;
                for (int j = 0; j < dh; j++) {
                    d0 += (double)qa[t * dh + j] * kb[s * dh + j];
                    d1 += (double)qa[(t + delta) * dh + j] * kb[(s + delta) * dh + j];
                }
                worst = fmax(worst, fabs(d0 - d1));
            }
    tm_check(worst <= 2e-5, "RoPE: <rope_t(a), rope_s(b)> depends on t - s only (max deviation %.2e)", worst);
    /* sign convention at t = 5 against double */
    const int t = 5, half = dh / 2;
    double err = 0.0;
    for (int i = 0; i < half; i++) {
        const double ang = t * pow(10000.0, -2.0 * i / dh);
        const double y1 = a[i] * cos(ang) + a[i + half] * sin(ang);
        const double y2 = -a[i] * sin(ang) + a[i + half] * cos(ang);
        err = fmax(err, fmax(fabs(y1 - qa[t * dh + i]), fabs(y2 - qa[t * dh + half + i])));
    }
    tm_check(err <= 1e-6, "RoPE: halves layout, y1 = x1 cos + x2 sin, y2 = -x1 sin + x2 cos (max err %.2e)", err);
    tm_check(maxabs_diff(qa, a, dh) == 0.0, "RoPE: position 0 is the identity");
    be->ops->rope_bwd(be, qa, 1, T, 1, dh, 10000.0);
    double inv = 0.0;
    for (int tt = 0; tt < T; tt++) inv = fmax(inv, maxabs_diff(qa + tt * dh, a, dh));
    tm_check(inv <= 1e-6, "RoPE: rope_bwd is the inverse (transpose) of rope_fwd (max err %.2e)", inv);
    free(qa);
    free(kb);
}

/* ---- causality over the whole model ---- */
static void test_causality(void)
{
    for (int ai = 0; ai < TM_N_TYPES; ai++) {
        const t6_model_config c = tm_tiny_config(tm_all_types[ai]);
        t6_backend *be = tm_cpu_backend(0);
        const int B = 2, T = 9, N = B * T, V = c.vocab_size;
        t6_model *m = t6_model_create(&c, be, B, T);
        float *p = t6_malloc(t6_model_layout(m)->n_params * sizeof(float));
        tm_random_params(m, 21, 0.4f, p);
        int32_t x[18];
        tm_random_tokens(x, N, V, 3, 1);
        float *l0 = t6_malloc(sizeof(float) * N * V), *l1 = t6_malloc(sizeof(float) * N * V);
        t6_model_forward(m, x, NULL, 0, 0.0f);
        t6_model_get_logits(m, l0);
        int ok = 1, changed = 1;
        for (int tt = 0; tt + 1 < T; tt++) {
            int32_t x2[18];
            memcpy(x2, x, sizeof x);
            for (int b = 0; b < B; b++) x2[b * T + tt + 1] = (x[b * T + tt + 1] + 1 + tt) % V;
            t6_model_forward(m, x2, NULL, 0, 0.0f);
            t6_model_get_logits(m, l1);
            for (int b = 0; b < B; b++) {
                const size_t off = (size_t)b * T * V;
                if (memcmp(l0 + off, l1 + off, sizeof(float) * (tt + 1) * V) != 0) ok = 0;
                if (maxabs_diff(l0 + off + (size_t)(tt + 1) * V, l1 + off + (size_t)(tt + 1) * V, V) == 0.0) changed = 0;
            }
        }
        tm_check(ok && changed, "causality (%s): changing token t+1 leaves logits <= t bitwise unchanged%s",
                 t6_attn_name(c.attention), changed ? "" : " [but did not change logits at t+1]");
        free(p); free(l0); free(l1);
        t6_model_destroy(m);
        t6_backend_destroy(be);
    }
}

/* ---- GQA / MQA against MHA with copied K/V heads ---- */
static void run_model(t6_model *m, const float *p, const int32_t *x, const int32_t *y, float *loss, float *g)
{
    t6_model_set_params(m, p);
    t6_model_zero_grad(m);
    *loss = t6_model_forward(m, x, y, 1, 1.0f);
    t6_model_backward(m);
    t6_model_get_grads(m, g);
}

static void test_gqa_equals_mha(void)
{
    t6_backend *be = tm_cpu_backend(0);
    const int B = 2, T = 6, N = B * T;
    t6_model_config cm = tm_tiny_config(T6_ATTN_MHA);
    t6_model *mm = t6_model_create(&cm, be, B, T);
    const t6_param_layout *lm = t6_model_layout(mm);
    float *pm = t6_malloc(lm->n_params * sizeof(float)), *gm = t6_malloc(lm->n_params * sizeof(float));
    int32_t x[12], y[12];
    tm_random_tokens(x, N, cm.vocab_size, 9, 1);
    tm_random_tokens(y, N, cm.vocab_size, 9, 2);

    for (int G = cm.n_head; G >= 1; G /= 2) {
        t6_model_config cg = cm;
        cg.attention = G == 1 ? T6_ATTN_MQA : T6_ATTN_GQA;
        cg.n_kv_head = G;
        t6_model *mg = t6_model_create(&cg, be, B, T);
        const t6_param_layout *lg = t6_model_layout(mg);
        float *pg = t6_malloc(lg->n_params * sizeof(float)), *gg = t6_malloc(lg->n_params * sizeof(float));
        tm_random_params(mg, 40 + G, 0.4f, pg);
        /* the MHA model: same tensors; its K/V head i is a copy of kv head i/(h/G) */
        const int hpg = cm.n_head / G, dh = cm.head_dim, d = cm.n_embd;
        for (int ti = 0; ti < lm->n_tensors; ti++) {
            const t6_param_info *tm = &lm->tensors[ti], *tg = &lg->tensors[ti];
            T6_CHECK(strcmp(tm->name, tg->name) == 0, NULL, "layouts differ");
            const int kv = strstr(tm->name, "attn.c_k.") || strstr(tm->name, "attn.c_v.");
            if (!kv) {
                memcpy(pm + tm->offset, pg + tg->offset, tm->numel * sizeof(float));
                continue;
            }
            for (int i = 0; i < cm.n_head; i++)
                memcpy(pm + tm->offset + (size_t)i * dh * d, pg + tg->offset + (size_t)(i / hpg) * dh * d,
                       sizeof(float) * dh * d);
        }
        float lossm, lossg;
        run_model(mm, pm, x, y, &lossm, gm);
        run_model(mg, pg, x, y, &lossg, gg);
        /* gradient of a shared kv head = sum over the query heads that read it */
        double gerr = 0.0;
        for (int ti = 0; ti < lm->n_tensors; ti++) {
            const t6_param_info *tm = &lm->tensors[ti], *tg = &lg->tensors[ti];
            const int kv = strstr(tm->name, "attn.c_k.") || strstr(tm->name, "attn.c_v.");
            for (size_t e = 0; e < tg->numel; e++) {
                double ref;
                if (!kv) ref = gm[tm->offset + e];
                else {
                    const size_t gi = e / ((size_t)dh * d), rest = e % ((size_t)dh * d);
                    ref = 0.0;
                    for (int i = (int)gi * hpg; i < ((int)gi + 1) * hpg; i++)
                        ref += gm[tm->offset + (size_t)i * dh * d + rest];
                }
                gerr = fmax(gerr, fabs(ref - gg[tg->offset + e]));
            }
        }
        if (G == cm.n_head)
            tm_check(lossm == lossg && gerr == 0.0, "GQA with G = h is MHA: loss %.7f vs %.7f, max grad diff %.2e (bitwise expected)",
                     lossg, lossm, gerr);
        else
            tm_check(fabsf(lossm - lossg) <= 1e-6f && gerr <= 1e-5,
                     "%s G=%d == MHA with copied K/V heads: loss %.7f vs %.7f, max grad diff %.2e",
                     G == 1 ? "MQA" : "GQA", G, lossg, lossm, gerr);
        free(pg); free(gg);
        t6_model_destroy(mg);
    }
    free(pm); free(gm);
    t6_model_destroy(mm);
    t6_backend_destroy(be);
}

/* ---- attention and cross-entropy ops against naive double versions ---- */
static void test_ops_naive(t6_backend *be)
{
    /* awkward sizes on purpose: T spans three 64-row query blocks, the last partial */
    const int B = 2, T = 131, h = 6, G = 3, dh = 5;
    const size_t QN = (size_t)B * T * h * dh, KN = (size_t)B * T * G * dh;
    float *q = t6_malloc(QN * 4), *k = t6_malloc(KN * 4), *v = t6_malloc(KN * 4), *o = t6_malloc(QN * 4);
    float *lse = t6_malloc(sizeof(float) * B * h * T);
    fill(q, QN, 11, 2.0f);
    fill(k, KN, 12, 2.0f);
    fill(v, KN, 13, 1.0f);
    be->ops->attention_fwd(be, o, lse, q, k, v, B, T, h, G, dh);
    double err = 0.0, lerr = 0.0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++)
            for (int t = 0; t < T; t++) {
                const int g = i / (h / G);
                double sc[256], mx = -1e300, sum = 0.0;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int j = 0; j < dh; j++)
                        dot += (double)q[(((size_t)b * T + t) * h + i) * dh + j] * k[(((size_t)b * T + s) * G + g) * dh + j];
                    sc[s] = dot / sqrt((double)dh);
                    mx = fmax(mx, sc[s]);
                }
                for (int s = 0; s <= t; s++) sum += exp(sc[s] - mx);
                lerr = fmax(lerr, fabs(mx + log(sum) - lse[((size_t)b * h + i) * T + t]));
                for (int j = 0; j < dh; j++) {
                    double acc = 0.0;
                    for (int s = 0; s <= t; s++) acc += exp(sc[s] - mx) / sum * v[(((size_t)b * T + s) * G + g) * dh + j];
                    err = fmax(err, fabs(acc - o[(((size_t)b * T + t) * h + i) * dh + j]));
                }
            }
    tm_check(err <= 1e-5 && lerr <= 1e-5, "attention op == naive causal softmax in double (out %.2e, lse %.2e)", err, lerr);

    /* backward against the textbook formulas in double */
    float *dout = t6_malloc(QN * 4), *dq = t6_malloc(QN * 4), *dk = t6_malloc(KN * 4), *dv = t6_malloc(KN * 4);
    fill(dout, QN, 15, 1.0f);
    be->ops->attention_bwd(be, dq, dk, dv, dout, o, lse, q, k, v, B, T, h, G, dh);
    double *rdq = t6_calloc(QN, 8), *rdk = t6_calloc(KN, 8), *rdv = t6_calloc(KN, 8), *P = t6_malloc(sizeof(double) * T);
    const double sc = 1.0 / sqrt((double)dh);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++)
            for (int t = 0; t < T; t++) {
                const int g = i / (h / G);
                const size_t qo = (((size_t)b * T + t) * h + i) * dh;
                double mx = -1e300, sum = 0.0, D = 0.0;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int j = 0; j < dh; j++) dot += (double)q[qo + j] * k[(((size_t)b * T + s) * G + g) * dh + j];
                    P[s] = dot * sc;
                    mx = fmax(mx, P[s]);
                }
                for (int s = 0; s <= t; s++) sum += exp(P[s] - mx);
                for (int s = 0; s <= t; s++) P[s] = exp(P[s] - mx) / sum;
                /* D = dout_t . out_t with out_t the exact softmax average */
                for (int j = 0; j < dh; j++) {
                    double oj = 0.0;
                    for (int s = 0; s <= t; s++) oj += P[s] * v[(((size_t)b * T + s) * G + g) * dh + j];
                    D += (double)dout[qo + j] * oj;
                }
                for (int s = 0; s <= t; s++) {
                    const size_t ko = (((size_t)b * T + s) * G + g) * dh;
                    double dp = 0.0;
                    for (int j = 0; j < dh; j++) dp += (double)dout[qo + j] * v[ko + j];
                    const double ds = P[s] * (dp - D) * sc;
                    for (int j = 0; j < dh; j++) {
                        rdq[qo + j] += ds * k[ko + j];
                        rdk[ko + j] += ds * q[qo + j];
                        rdv[ko + j] += P[s] * dout[qo + j];
                    }
                }
            }
    double eq = 0, ek = 0, ev = 0;
    for (size_t x = 0; x < QN; x++) eq = fmax(eq, fabs(rdq[x] - dq[x]));
    for (size_t x = 0; x < KN; x++) {
        ek = fmax(ek, fabs(rdk[x] - dk[x]));
        ev = fmax(ev, fabs(rdv[x] - dv[x]));
    }
    tm_check(eq <= 1e-4 && ek <= 1e-4 && ev <= 1e-4,
             "attention backward == textbook formulas in double, GQA sums over heads (dq %.1e, dk %.1e, dv %.1e)", eq, ek, ev);
    free(dout); free(dq); free(dk); free(dv); free(rdq); free(rdk); free(rdv); free(P);

    const int N = 5, V = 37;
    float *z = t6_malloc(sizeof(float) * N * V), *z0 = t6_malloc(sizeof(float) * N * V), losses[5];
    int32_t tg[5] = {3, -1, 36, 0, 17};
    fill(z0, (size_t)N * V, 14, 8.0f);
    memcpy(z, z0, sizeof(float) * N * V);
    be->ops->cross_entropy(be, losses, z, tg, N, V, 0.5f);
    double cerr = 0.0, gerr = 0.0;
    for (int n = 0; n < N; n++) {
        double mx = -1e300, sum = 0;
        for (int j = 0; j < V; j++) mx = fmax(mx, z0[n * V + j]);
        for (int j = 0; j < V; j++) sum += exp(z0[n * V + j] - mx);
        const double l = mx + log(sum);
        cerr = fmax(cerr, fabs((tg[n] < 0 ? 0.0 : l - z0[n * V + tg[n]]) - losses[n]));
        for (int j = 0; j < V; j++) {
            const double gr = tg[n] < 0 ? 0.0 : 0.5 * (exp(z0[n * V + j] - l) - (j == tg[n]));
            gerr = fmax(gerr, fabs(gr - z[n * V + j]));
        }
    }
    tm_check(cerr <= 1e-5 && gerr <= 1e-6, "cross-entropy op == naive (loss %.2e, grad %.2e; target -1 gives 0)", cerr, gerr);
    free(q); free(k); free(v); free(o); free(lse); free(z); free(z0);
}

/* ---- optimizer ops ---- */
static void test_optim_ops(t6_backend *be)
{
    const size_t n = 70001;   /* not a multiple of any chunk */
    float *p = t6_malloc(n * 4), *g = t6_malloc(n * 4), *m = t6_calloc(n, 4), *v = t6_calloc(n, 4);
    double *pd = t6_malloc(n * 8), *md = t6_calloc(n, 8), *vd = t6_calloc(n, 8);
    fill(p, n, 21, 1.0f);
    fill(g, n, 22, 0.1f);
    for (size_t i = 0; i < n; i++) pd[i] = p[i];
    const double lr = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, gs = 0.5;
    for (long step = 1; step <= 3; step++) {
        be->ops->adamw(be, p, NULL, g, m, v, n, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, step, (float)gs);
        for (size_t i = 0; i < n; i++) {
            const double gg = (double)g[i] * gs;
            md[i] = b1 * md[i] + (1 - b1) * gg;
            vd[i] = b2 * vd[i] + (1 - b2) * gg * gg;
            pd[i] -= lr * wd * pd[i];
            pd[i] -= lr * (md[i] / (1 - pow(b1, step))) / (sqrt(vd[i] / (1 - pow(b2, step))) + eps);
        }
    }
    double err = 0.0;
    for (size_t i = 0; i < n; i++) err = fmax(err, fabs(pd[i] - p[i]));
    tm_check(err <= 1e-5, "AdamW op == PyTorch-order formula in double over 3 steps (max |dp| %.2e)", err);
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
    const double got = be->ops->sum_squares(be, g, n);
    tm_check(fabs(got - ss) <= 1e-12 * ss, "sum_squares == double sum (%.12g vs %.12g)", got, ss);
    be->ops->scale(be, g, 2.0f, n);
    tm_check(fabs(be->ops->sum_squares(be, g, n) - 4.0 * ss) <= 1e-9 * ss, "scale by 2 quadruples the sum of squares");
    free(p); free(g); free(m); free(v); free(pd); free(md); free(vd);
}

int main(void)
{
    t6_backend *be = tm_cpu_backend(0);
    test_tpa_contains_mha(be);
    test_rope(be);
    test_ops_naive(be);
    test_optim_ops(be);
    t6_backend_destroy(be);
    test_causality();
    test_gqa_equals_mha();
    return tm_finish("identities");
}
