/* decode_attn.c -- the CPU decode attention ops against straightforward references:
 * decode_attention_tpa (factor space: the query meets B̃_K first, K and V are never
 * formed) equals attention over K and V materialized from the factors by the formula
 * of backend.h; decode_attention_kv equals a plain softmax(q K^T / sqrt(dh)) V with
 * grouped heads. Random data, rows of different lengths, ranks 1..3; fp32 <= 1e-5. */
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
