/* cpu_attention.c -- exact causal softmax attention on the CPU, forward and backward.
 * q: (B,T,h,dh); k, v: (B,T,G,dh), query head i reads kv head i / (h/G); out (B,T,h,dh);
 * lse (B,h,T) = log sum_s exp(score_s) of the scaled scores, kept for the backward.
 *
 * Backward in two passes so that no two threads ever add into the same element:
 *  1) per query row (b,i,t): dq_t = scale * sum_{s<=t} dS_ts k_s, where
 *     p_ts = exp(score_ts - lse_t), dP_ts = dout_t·v_s, D_t = dout_t·out_t,
 *     dS_ts = p_ts (dP_ts - D_t);
 *  2) per key row (b,g,s): dk_s = scale * sum_{i in g} sum_{t>=s} dS_ts q_t,
 *     dv_s = sum_{i in g} sum_{t>=s} p_ts dout_t (recomputing p and dS). */
#include <math.h>
#include <stdlib.h>

#include "cpu_ops.h"
#include "util.h"

/* Vectorized dot product: the partial-sum order is fixed by the compiled vector
 * width and n, so it never depends on the thread count. */
static inline float dotf(const float *a, const float *b, int n)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}

void t6_cpu_attention_fwd(t6_backend *be, void *out_, float *lse, const void *q_, const void *k_,
                          const void *v_, int B, int T, int h, int G, int dh)
{
    T6_CHECK(G > 0 && h % G == 0, NULL, "attention: %d query heads not divisible by %d kv heads", h, G);
    float *out = out_;
    const float *q = q_, *k = k_, *v = v_;
    const int hpg = h / G;
    const float scale = 1.0f / sqrtf((float)dh);
    const long rows = (long)B * h * T;
#pragma omp parallel
    {
        float *p = t6_malloc(sizeof(float) * (size_t)T);
#pragma omp for schedule(dynamic, 16)
        for (long row = 0; row < rows; row++) {
            const int t = (int)(row % T), i = (int)((row / T) % h), b = (int)(row / ((long)T * h));
            const int g = i / hpg;
            const float *qt = q + (((size_t)b * T + t) * h + i) * dh;
            float mx = -INFINITY;
            for (int s = 0; s <= t; s++) {
                const float *ks = k + (((size_t)b * T + s) * G + g) * dh;
                p[s] = dotf(qt, ks, dh) * scale;
                if (p[s] > mx) mx = p[s];
            }
            float sum = 0.0f;
            for (int s = 0; s <= t; s++) {
                p[s] = expf(p[s] - mx);
                sum += p[s];
            }
            float *ot = out + (((size_t)b * T + t) * h + i) * dh;
            for (int j = 0; j < dh; j++) ot[j] = 0.0f;
            for (int s = 0; s <= t; s++) {
                const float *vs = v + (((size_t)b * T + s) * G + g) * dh;
                const float w = p[s] / sum;
    #pragma omp simd
            for (int j = 0; j < dh; j++) ot[j] += w * vs[j];
            }
            lse[((size_t)b * h + i) * T + t] = mx + logf(sum);
        }
        free(p);
    }
}

void t6_cpu_attention_bwd(t6_backend *be, void *dq_, void *dk_, void *dv_, const void *dout_,
                          const void *out_, const float *lse, const void *q_, const void *k_,
                          const void *v_, int B, int T, int h, int G, int dh)
{
    float *dq = dq_, *dk = dk_, *dv = dv_;
    const float *dout = dout_, *out = out_, *q = q_, *k = k_, *v = v_;
    const int hpg = h / G;
    const float scale = 1.0f / sqrtf((float)dh);
    float *D = t6_malloc(sizeof(float) * (size_t)B * h * T);   /* D[b,i,t] = dout_t·out_t */
    const long qrows = (long)B * h * T;

    /* pass 1: D and dq, one query row per iteration */
#pragma omp parallel for schedule(dynamic, 16)
    for (long row = 0; row < qrows; row++) {
        const int t = (int)(row % T), i = (int)((row / T) % h), b = (int)(row / ((long)T * h));
        const int g = i / hpg;
        const size_t qoff = (((size_t)b * T + t) * h + i) * dh;
        const float *qt = q + qoff, *gt = dout + qoff;
        const float Dt = dotf(gt, out + qoff, dh);
        const float l = lse[((size_t)b * h + i) * T + t];
        D[((size_t)b * h + i) * T + t] = Dt;
        float *dqt = dq + qoff;
        for (int j = 0; j < dh; j++) dqt[j] = 0.0f;
        for (int s = 0; s <= t; s++) {
            const size_t koff = (((size_t)b * T + s) * G + g) * dh;
            const float pts = expf(dotf(qt, k + koff, dh) * scale - l);
            const float dS = pts * (dotf(gt, v + koff, dh) - Dt);
            const float c = dS * scale;
#pragma omp simd
            for (int j = 0; j < dh; j++) dqt[j] += c * k[koff + j];
        }
    }

    /* pass 2: dk and dv, one key row per iteration */
    const long krows = (long)B * G * T;
#pragma omp parallel for schedule(dynamic, 16)
    for (long row = 0; row < krows; row++) {
        const int s = (int)(row % T), g = (int)((row / T) % G), b = (int)(row / ((long)T * G));
        const size_t koff = (((size_t)b * T + s) * G + g) * dh;
        const float *ks = k + koff, *vs = v + koff;
        float *dks = dk + koff, *dvs = dv + koff;
        for (int j = 0; j < dh; j++) dks[j] = dvs[j] = 0.0f;
        for (int i = g * hpg; i < (g + 1) * hpg; i++) {
            for (int t = s; t < T; t++) {
                const size_t qoff = (((size_t)b * T + t) * h + i) * dh;
                const float *qt = q + qoff, *gt = dout + qoff;
                const float l = lse[((size_t)b * h + i) * T + t];
                const float pts = expf(dotf(qt, ks, dh) * scale - l);
                const float dS = pts * (dotf(gt, vs, dh) - D[((size_t)b * h + i) * T + t]);
                const float c = dS * scale;
#pragma omp simd
                for (int j = 0; j < dh; j++) {
                    dks[j] += c * qt[j];
                    dvs[j] += pts * gt[j];
                }
            }
        }
    }
    free(D);
}
