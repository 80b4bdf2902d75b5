/* cpu_attention.c -- exact causal softmax attention on the CPU, forward and backward.
 * q: (B,T,h,dh); k, v: (B,T,G,dh), query head i reads kv head i / (h/G); out (B,T,h,dh);
 * lse (B,h,T) = log sum_s exp(score_s) of the scaled scores, kept for the backward.
 *
 * Work is split by (batch, query head); within one, queries go in blocks of QB rows
 * and each block is three small matrix products (S = Q K^T over the keys it can see,
 * softmax by rows, O = P V) on the calling thread (t6_cpu_gemm_serial: OpenBLAS or the
 * blocked tiles). The backward recomputes P = exp(scale S - lse) per block:
 *   dP = dO V^T,  dS = P (dP - D) with D_t = dO_t·O_t,
 *   dQ = scale dS K,  dK_i += scale dS^T Q,  dV_i += P^T dO   (per query head i),
 * and a last pass sums the per-head dK_i, dV_i of each kv group in head order, so no two
 * threads ever add into one element and the result is the same for any thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"
#include "util.h"

enum { QB = 64 };   /* query rows per block: QB x T scores per thread */

void t6_cpu_attention_fwd(t6_backend *be, void *out_, float *lse, const void *q_, const void *k_,
                          const void *v_, int B, int T, int h, int G, int dh)
{
    T6_CHECK(G > 0 && h % G == 0, NULL, "attention: %d query heads not divisible by %d kv heads", h, G);
    float *out = out_;
    const float *q = q_, *k = k_, *v = v_;
    const int hpg = h / G;
    const float scale = 1.0f / sqrtf((float)dh);
    const long ldq = (long)h * dh, ldk = (long)G * dh;
    const long tasks = (long)B * h;
#pragma omp parallel if (tasks > 1)
    {
        float *S = t6_malloc(sizeof(float) * QB * (size_t)T);
#pragma omp for schedule(dynamic, 1)
        for (long task = 0; task < tasks; task++) {
            const int b = (int)(task / h), i = (int)(task % h), g = i / hpg;
            const float *Q = q + (size_t)b * T * ldq + (size_t)i * dh;
            const float *K = k + (size_t)b * T * ldk + (size_t)g * dh;
            const float *V = v + (size_t)b * T * ldk + (size_t)g * dh;
            float *O = out + (size_t)b * T * ldq + (size_t)i * dh;
            float *L = lse + ((size_t)b * h + i) * T;
            for (int r0 = 0; r0 < T; r0 += QB) {
                const int rows = T - r0 < QB ? T - r0 : QB, nk = r0 + rows;   /* keys 0..nk-1 */
                /* S = Q_blk K^T */
                t6_cpu_gemm_serial(be, rows, nk, dh, Q + r0 * ldq, ldq, 1, K, 1, ldk, S, nk, 0);
                for (int r = 0; r < rows; r++) {
                    const int t = r0 + r;
                    float *row = S + (size_t)r * nk;
                    float mx = -INFINITY;
                    for (int s = 0; s <= t; s++) mx = fmaxf(mx, row[s] * scale);
                    float sum = 0.0f;
                    for (int s = 0; s <= t; s++) {
                        row[s] = expf(row[s] * scale - mx);
                        sum += row[s];
                    }
                    for (int s = 0; s <= t; s++) row[s] /= sum;
                    for (int s = t + 1; s < nk; s++) row[s] = 0.0f;   /* causal mask */
                    L[t] = mx + logf(sum);
                }
                /* O_blk = P V */
                t6_cpu_gemm_serial(be, rows, dh, nk, S, nk, 1, V, ldk, 1, O + r0 * ldq, ldq, 0);
            }
        }
        free(S);
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
    const long ldq = (long)h * dh, ldk = (long)G * dh;
    const long tasks = (long)B * h;
    /* per query head dK_i, dV_i laid out like q: (B, T, h, dh) */
    float *dkh = t6_cpu_tmp_alloc(be, (size_t)B * T * ldq * sizeof(float));
    float *dvh = t6_cpu_tmp_alloc(be, (size_t)B * T * ldq * sizeof(float));
#pragma omp parallel if (tasks > 1)
    {
        float *P = t6_malloc(sizeof(float) * QB * (size_t)T);
        float *dS = t6_malloc(sizeof(float) * QB * (size_t)T);
#pragma omp for schedule(dynamic, 1)
        for (long task = 0; task < tasks; task++) {
            const int b = (int)(task / h), i = (int)(task % h), g = i / hpg;
            const size_t qo = (size_t)b * T * ldq + (size_t)i * dh, ko = (size_t)b * T * ldk + (size_t)g * dh;
            const float *Q = q + qo, *O = out + qo, *dO = dout + qo, *K = k + ko, *V = v + ko;
            float *dQ = dq + qo, *dKh = dkh + qo, *dVh = dvh + qo;
            const float *L = lse + ((size_t)b * h + i) * T;
            for (int r0 = 0; r0 < T; r0 += QB) {
                const int rows = T - r0 < QB ? T - r0 : QB, nk = r0 + rows;
                t6_cpu_gemm_serial(be, rows, nk, dh, Q + r0 * ldq, ldq, 1, K, 1, ldk, P, nk, 0);
                t6_cpu_gemm_serial(be, rows, nk, dh, dO + r0 * ldq, ldq, 1, V, 1, ldk, dS, nk, 0);
                for (int r = 0; r < rows; r++) {
                    const int t = r0 + r;
                    float *p = P + (size_t)r * nk, *ds = dS + (size_t)r * nk;
                    const float *dot = dO + t * ldq, *ot = O + t * ldq;
                    float Dt = 0.0f;
                    for (int j = 0; j < dh; j++) Dt += dot[j] * ot[j];
                    for (int s = 0; s <= t; s++) {
                        p[s] = expf(p[s] * scale - L[t]);
                        ds[s] = p[s] * (ds[s] - Dt) * scale;   /* scale folded in for dQ, dK */
                    }
                    for (int s = t + 1; s < nk; s++) p[s] = ds[s] = 0.0f;
                }
                /* dQ_blk = dS K;  dK_i[0:nk] += dS^T Q_blk;  dV_i[0:nk] += P^T dO_blk */
                t6_cpu_gemm_serial(be, rows, dh, nk, dS, nk, 1, K, ldk, 1, dQ + r0 * ldq, ldq, 0);
                t6_cpu_gemm_serial(be, nk, dh, rows, dS, 1, nk, Q + r0 * ldq, ldq, 1, dKh, ldq, 1);
                t6_cpu_gemm_serial(be, nk, dh, rows, P, 1, nk, dO + r0 * ldq, ldq, 1, dVh, ldq, 1);
            }
        }
        free(P);
        free(dS);
    }
    /* dK, dV of kv head g = sum over its query heads, in head order */
    const long krows = (long)B * T * G;
#pragma omp parallel for schedule(static) if (krows * dh >= T6_CPU_PAR_MIN)
    for (long row = 0; row < krows; row++) {
        const long bt = row / G;
        const int g = (int)(row % G);
        float *dkr = dk + (size_t)row * dh, *dvr = dv + (size_t)row * dh;
        const float *sk = dkh + (size_t)bt * ldq + (size_t)g * hpg * dh;
        const float *sv = dvh + (size_t)bt * ldq + (size_t)g * hpg * dh;
        memcpy(dkr, sk, sizeof(float) * dh);
        memcpy(dvr, sv, sizeof(float) * dh);
        for (int e = 1; e < hpg; e++)
            for (int j = 0; j < dh; j++) {
                dkr[j] += sk[(size_t)e * dh + j];
                dvr[j] += sv[(size_t)e * dh + j];
            }
    }
    t6_cpu_tmp_free(be, dkh);
    t6_cpu_tmp_free(be, dvh);
}
