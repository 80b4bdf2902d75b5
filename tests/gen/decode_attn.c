/* decode_attn.c -- the CPU decode attention ops against straightforward references:
 * decode_attention_tpa (factor space: the query meets B̃_K first, K and V are never
 * formed) equals attention over K and V materialized from the factors by the formula
 * of backend.h; decode_attention_kv equals a plain softmax(q K^T / sqrt(dh)) V with
 * grouped heads; MLA's absorbed form (W_UK folded into the query, decode_attention_mla
 * over the latent cache, W_UV after) equals attention over K = [W_UK c, k_R] and
 * V = W_UV c. Random data, rows of different lengths, ranks 1..3; fp32 <= 1e-5. */
#include "../model/tmodel.h"

/* Materializing reference: K, V of row b from the factors, then softmax attention. */
static void ref_tpa(float *out, const float *q, const float *ak, const float *bk, const float *av, const float *bv,
                    const int32_t *lens, int B, int M, int h, int RK, int RV, int dh)
{
    float *K = t6_malloc(sizeof(float) * M * h * dh), *Vv = t6_malloc(sizeof(float) * M * h * dh);
    double *s = t6_malloc(sizeof(double) * M);
    for (int b = 0; b < B; b++) {
        const int L = lens[b];
        for (int t = 0; t < L; t++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < dh; j++) {
                    double kk = 0, vv = 0;
                    for (int r = 0; r < RK; r++)
                        kk += (double)ak[(((size_t)b * M + t) * RK + r) * h + i] * bk[(((size_t)b * M + t) * RK + r) * dh + j];
                    for (int r = 0; r < RV; r++)
                        vv += (double)av[(((size_t)b * M + t) * RV + r) * h + i] * bv[(((size_t)b * M + t) * RV + r) * dh + j];
                    K[((size_t)t * h + i) * dh + j] = (float)(kk / RK);
                    Vv[((size_t)t * h + i) * dh + j] = (float)(vv / RV);
                }
        for (int i = 0; i < h; i++) {
            const float *qi = q + ((size_t)b * h + i) * dh;
            double mx = -INFINITY, sum = 0;
            for (int t = 0; t < L; t++) {
                double d = 0;
                for (int j = 0; j < dh; j++) d += (double)qi[j] * K[((size_t)t * h + i) * dh + j];
                s[t] = d / sqrt((double)dh);
                if (s[t] > mx) mx = s[t];
            }
            for (int t = 0; t < L; t++) sum += (s[t] = exp(s[t] - mx));
            for (int j = 0; j < dh; j++) {
                double o = 0;
                for (int t = 0; t < L; t++) o += s[t] / sum * Vv[((size_t)t * h + i) * dh + j];
                out[((size_t)b * h + i) * dh + j] = (float)o;
            }
        }
    }
    free(K);
    free(Vv);
    free(s);
}

static void ref_kv(float *out, const float *q, const float *k, const float *v, const int32_t *lens, int B, int M,
                   int h, int G, int dh)
{
    double *s = t6_malloc(sizeof(double) * M);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++) {
            const int g = i / (h / G), L = lens[b];
            const float *qi = q + ((size_t)b * h + i) * dh;
            double mx = -INFINITY, sum = 0;
            for (int t = 0; t < L; t++) {
                double d = 0;
                for (int j = 0; j < dh; j++) d += (double)qi[j] * k[(((size_t)b * M + t) * G + g) * dh + j];
                s[t] = d / sqrt((double)dh);
                if (s[t] > mx) mx = s[t];
            }
            for (int t = 0; t < L; t++) sum += (s[t] = exp(s[t] - mx));
            for (int j = 0; j < dh; j++) {
                double o = 0;
                for (int t = 0; t < L; t++) o += s[t] / sum * v[(((size_t)b * M + t) * G + g) * dh + j];
                out[((size_t)b * h + i) * dh + j] = (float)o;
            }
        }
    free(s);
}

static void fill(float *x, size_t n, uint64_t stream, float scale)
{
    t6_rng r;
    t6_rng_init(&r, 5, stream);
    for (size_t i = 0; i < n; i++) x[i] = scale * (float)(2.0 * t6_rng_next_u01(&r) - 1.0);
}

/* MLA, materialising: per head i, K_t = [W_UK_i c_t, k_R,t], V_t = W_UV_i c_t and the
 * query [q_nope, q_R] (kvb = kv_b's weight, rows i*(dn+dv) + [0, dn) = W_UK_i, the next
 * dv rows = W_UV_i); softmax(q . K_t / sqrt(dn + dr)) V, out (B, h, dv), in double. */
static void ref_mla(float *out, const float *qn, const float *qr, const float *lat, const float *kr, const float *kvb,
                    const int32_t *lens, int B, int M, int h, int dn, int dr, int dc, int dv)
{
    double *s = t6_malloc(sizeof(double) * M), *K = t6_malloc(sizeof(double) * (dn + dr));
    double *Vv = t6_malloc(sizeof(double) * (size_t)M * dv);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++) {
            const int L = lens[b];
            double mx = -INFINITY, sum = 0;
            for (int t = 0; t < L; t++) {
                const float *c = lat + ((size_t)b * M + t) * dc;
                for (int j = 0; j < dn + dv; j++) {
                    double acc = 0;
                    for (int k = 0; k < dc; k++) acc += (double)kvb[((size_t)i * (dn + dv) + j) * dc + k] * c[k];
                    if (j < dn) K[j] = acc;
                    else Vv[(size_t)t * dv + j - dn] = acc;
                }
                for (int j = 0; j < dr; j++) K[dn + j] = kr[((size_t)b * M + t) * dr + j];
                double d = 0;
                for (int j = 0; j < dn; j++) d += (double)qn[((size_t)b * h + i) * dn + j] * K[j];
                for (int j = 0; j < dr; j++) d += (double)qr[((size_t)b * h + i) * dr + j] * K[dn + j];
                s[t] = d / sqrt((double)(dn + dr));
                if (s[t] > mx) mx = s[t];
            }
            for (int t = 0; t < L; t++) sum += (s[t] = exp(s[t] - mx));
            for (int j = 0; j < dv; j++) {
                double o = 0;
                for (int t = 0; t < L; t++) o += s[t] / sum * Vv[(size_t)t * dv + j];
                out[((size_t)b * h + i) * dv + j] = (float)o;
            }
        }
    free(s);
    free(K);
    free(Vv);
}

/* MLA, absorbed (the algebra of src/mla_decode.c): qq_i = [W_UK_i^T q_nope, q_R] over
 * the cache records [c_t, k_R,t], decode_attention_mla in the latent space, then
 * y_i = W_UV_i o_lat. */
static void absorbed_mla(t6_backend *be, float *out, const float *qn, const float *qr, const float *lat,
                         const float *kr, const float *kvb, const int32_t *lens, int B, int M, int h, int dn, int dr,
                         int dc, int dv)
{
    const int W = dc + dr;
    float *cache = t6_malloc(sizeof(float) * B * M * W), *qq = t6_malloc(sizeof(float) * B * h * W);
    float *olat = t6_malloc(sizeof(float) * B * h * dc);
    for (size_t t = 0; t < (size_t)B * M; t++) {
        memcpy(cache + t * W, lat + t * dc, sizeof(float) * dc);
        memcpy(cache + t * W + dc, kr + t * dr, sizeof(float) * dr);
    }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++) {
            float *q = qq + ((size_t)b * h + i) * W;
            for (int k = 0; k < dc; k++) {
                float acc = 0;
                for (int j = 0; j < dn; j++) acc += qn[((size_t)b * h + i) * dn + j] * kvb[((size_t)i * (dn + dv) + j) * dc + k];
                q[k] = acc;
            }
            memcpy(q + dc, qr + ((size_t)b * h + i) * dr, sizeof(float) * dr);
        }
    be->ops->decode_attention_mla(be, olat, qq, cache, lens, B, M, h, dc, dr, 1.0f / sqrtf((float)(dn + dr)));
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < dv; j++) {
                float acc = 0;
                for (int k = 0; k < dc; k++)
                    acc += kvb[((size_t)i * (dn + dv) + dn + j) * dc + k] * olat[((size_t)b * h + i) * dc + k];
                out[((size_t)b * h + i) * dv + j] = acc;
            }
    free(cache);
    free(qq);
    free(olat);
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double e = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs((double)a[i] - b[i]) > e) e = fabs((double)a[i] - b[i]);
        if (fabs((double)b[i]) > m) m = fabs((double)b[i]);
    }
    return e / (m > 0 ? m : 1);
}

int main(void)
{
    t6_backend *be = tm_cpu_backend(2);
    const int B = 3, M = 37, h = 5, dh = 8;
    const int32_t lens[3] = {37, 1, 20};
    float *q = t6_malloc(sizeof(float) * B * h * dh), *out = t6_malloc(sizeof(float) * B * h * dh);
    float *want = t6_malloc(sizeof(float) * B * h * dh);
    fill(q, (size_t)B * h * dh, 1, 1.5f);
    for (int RK = 1; RK <= 3; RK++)
        for (int RV = 1; RV <= 3; RV += 2) {
            float *ak = t6_malloc(sizeof(float) * B * M * RK * h), *bk = t6_malloc(sizeof(float) * B * M * RK * dh);
            float *av = t6_malloc(sizeof(float) * B * M * RV * h), *bv = t6_malloc(sizeof(float) * B * M * RV * dh);
            fill(ak, (size_t)B * M * RK * h, 2, 2.0f);
            fill(bk, (size_t)B * M * RK * dh, 3, 2.0f);
            fill(av, (size_t)B * M * RV * h, 4, 1.0f);
            fill(bv, (size_t)B * M * RV * dh, 5, 1.0f);
            be->ops->decode_attention_tpa(be, out, q, ak, bk, av, bv, lens, B, M, h, RK, RV, dh);
            ref_tpa(want, q, ak, bk, av, bv, lens, B, M, h, RK, RV, dh);
            double e = max_rel(out, want, (size_t)B * h * dh);
            tm_check(e <= 1e-5, "decode_attention_tpa R_K=%d R_V=%d equals the materializing reference (rel %.2e)", RK,
                     RV, e);
            free(ak); free(bk); free(av); free(bv);
        }
    for (int G = 1; G <= 5; G += 4) {
        float *k = t6_malloc(sizeof(float) * B * M * G * dh), *v = t6_malloc(sizeof(float) * B * M * G * dh);
        fill(k, (size_t)B * M * G * dh, 6, 1.0f);
        fill(v, (size_t)B * M * G * dh, 7, 1.0f);
        be->ops->decode_attention_kv(be, out, q, k, v, lens, B, M, h, G, dh);
        ref_kv(want, q, k, v, lens, B, M, h, G, dh);
        double e = max_rel(out, want, (size_t)B * h * dh);
        tm_check(e <= 1e-5, "decode_attention_kv G=%d equals the reference (rel %.2e)", G, e);
        free(k); free(v);
    }
    /* MLA: attention in the latent space equals attention over materialised K and V,
     * at odd sizes (d_c 9, d_R 4, dh 6, dv 5) and at a preset's (d_c 256, d_R 32, 64, 64) */
    const int mla_sz[2][4] = {{6, 4, 9, 5}, {64, 32, 256, 64}};
    for (int z = 0; z < 2; z++) {
        const int dn = mla_sz[z][0], dr = mla_sz[z][1], dc = mla_sz[z][2], dv = mla_sz[z][3];
        float *qn = t6_malloc(sizeof(float) * B * h * dn), *qr = t6_malloc(sizeof(float) * B * h * dr);
        float *lat = t6_malloc(sizeof(float) * B * M * dc), *kr = t6_malloc(sizeof(float) * B * M * dr);
        float *kvb = t6_malloc(sizeof(float) * h * (dn + dv) * dc);
        float *y = t6_malloc(sizeof(float) * B * h * dv), *yref = t6_malloc(sizeof(float) * B * h * dv);
        fill(qn, (size_t)B * h * dn, 11, 1.5f);
        fill(qr, (size_t)B * h * dr, 12, 1.5f);
        fill(lat, (size_t)B * M * dc, 13, 1.0f);
        fill(kr, (size_t)B * M * dr, 14, 1.0f);
        fill(kvb, (size_t)h * (dn + dv) * dc, 15, 1.0f / sqrtf((float)dc));
        absorbed_mla(be, y, qn, qr, lat, kr, kvb, lens, B, M, h, dn, dr, dc, dv);
        ref_mla(yref, qn, qr, lat, kr, kvb, lens, B, M, h, dn, dr, dc, dv);
        double e = max_rel(y, yref, (size_t)B * h * dv);
        tm_check(e <= 1e-5, "decode_attention_mla (absorbed, d_c %d d_R %d dh %d dv %d) equals attention over "
                 "materialised K, V (rel %.2e)", dc, dr, dn, dv, e);
        free(qn); free(qr); free(lat); free(kr); free(kvb); free(y); free(yref);
    }
    /* rope_fwd_pos at positions (3, 0, 9) equals rope_fwd of a sequence at those t */
    {
        const int rows = 2, T = 10;
        float *seq = t6_malloc(sizeof(float) * T * rows * dh), *x = t6_malloc(sizeof(float) * 3 * rows * dh);
        fill(seq, (size_t)T * rows * dh, 8, 1.0f);
        const int32_t pos[3] = {3, 0, 9};
        for (int n = 0; n < 3; n++) memcpy(x + n * rows * dh, seq + pos[n] * rows * dh, sizeof(float) * rows * dh);
        be->ops->rope_fwd(be, seq, 1, T, rows, dh, 10000.0);
        be->ops->rope_fwd_pos(be, x, pos, 3, rows, dh, 10000.0);
        int same = 1;
        for (int n = 0; n < 3; n++) same &= memcmp(x + n * rows * dh, seq + pos[n] * rows * dh, sizeof(float) * rows * dh) == 0;
        tm_check(same, "rope_fwd_pos is bitwise rope_fwd at the same positions");
        free(seq);
        free(x);
    }
    /* cache_scatter writes exactly the addressed records */
    {
        float cache[2 * 4 * 3], src[2 * 5];
        for (int i = 0; i < 24; i++) cache[i] = -1.0f;
        for (int i = 0; i < 10; i++) src[i] = (float)i;
        const int32_t pos[2] = {2, 0};
        be->ops->cache_scatter(be, cache, src, 5, pos, 2, 4, 3);
        int ok = 1;
        for (int i = 0; i < 24; i++) {
            float w = -1.0f;
            if (i >= 6 && i < 9) w = (float)(i - 6);            /* row 0, position 2 */
            if (i >= 12 && i < 15) w = (float)(5 + i - 12);    /* row 1, position 0 */
            ok &= cache[i] == w;
        }
        tm_check(ok, "cache_scatter writes row n's first width values at (n, pos[n]) and nothing else");
    }
    free(q); free(out); free(want);
    t6_backend_destroy(be);
    return tm_finish("decode_attn");
}
