/* cpu_decode.c -- the generation ops of the CPU backend (backend.h, doc/generate.md):
 * RoPE at per-row positions, the scatter of one token per batch row into a KV cache,
 * and single-query attention over a cache: in factor space for TPA (never forming K
 * or V) and over plain K/V for the MHA family.
 *
 * TPA decode for batch row b, with L = lens[b] cached tokens (paper §3.3):
 *   S1[t,r,i] = B̃_K[t,r,:] · q[i,:]            one GEMM (L*R_K x dh) (dh x h): the query
 *                                               is contracted with B̃_K first;
 *   s[t,i]    = scale/R_K * sum_r A_K[t,r,i] S1[t,r,i]   then with the head factors;
 *   p[.,i]    = softmax_t s[.,i];
 *   out[i,:]  = 1/R_V * sum_{t,r} (p[t,i] A_V[t,r,i]) B_V[t,r,:]   one GEMM (h x L*R_V)(L*R_V x dh).
 * Work is split by batch row only, and each row's sums run in an order fixed by the
 * shapes, so results are the same for any thread count (cpu_ops.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"
#include "util.h"

void t6_cpu_rope_fwd_pos(t6_backend *be, void *x_, const int32_t *pos, int N, int rows, int dh, double base)
{
    T6_CHECK(dh % 2 == 0, NULL, "RoPE needs an even head_dim, got %d", dh);
    float *x = x_;
    const int half = dh / 2;
#pragma omp parallel if ((long)N * rows * dh >= T6_CPU_PAR_MIN)
    {
        float *cs = t6_malloc(sizeof(float) * 2 * (size_t)half);
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            /* the same double-precision angles, rounded to float, as rope_fwd's table */
            for (int i = 0; i < half; i++) {
                const double a = (double)pos[n] * pow(base, -2.0 * i / dh);
                cs[i] = (float)cos(a);
                cs[half + i] = (float)sin(a);
            }
            for (int r = 0; r < rows; r++) {
                float *p = x + ((size_t)n * rows + r) * dh;
                for (int i = 0; i < half; i++) {
                    const float x1 = p[i], x2 = p[i + half], c = cs[i], s = cs[half + i];
                    p[i] = x1 * c + x2 * s;
                    p[i + half] = -x1 * s + x2 * c;
                }
            }
        }
        free(cs);
    }
}

void t6_cpu_cache_scatter(t6_backend *be, void *cache_, const void *src_, int ld_src, const int32_t *pos,
                          int N, int M_max, int width)
{
    float *cache = cache_;
    const float *src = src_;
    for (int n = 0; n < N; n++) {
        T6_CHECK(pos[n] >= 0 && pos[n] < M_max, NULL,
                 "cache_scatter: position %d of row %d outside the cache of %d tokens", pos[n], n, M_max);
        memcpy(cache + ((size_t)n * M_max + pos[n]) * width, src + (size_t)n * ld_src, sizeof(float) * width);
    }
}

/* Softmax over t of s[t*h + i] for every head i (t < L), in place. */
static void softmax_columns(float *s, int L, int h)
{
    for (int i = 0; i < h; i++) {
        float mx = -INFINITY;
        for (int t = 0; t < L; t++) mx = fmaxf(mx, s[(size_t)t * h + i]);
        float sum = 0.0f;
        for (int t = 0; t < L; t++) {
            float e = expf(s[(size_t)t * h + i] - mx);
            s[(size_t)t * h + i] = e;
            sum += e;
        }
        for (int t = 0; t < L; t++) s[(size_t)t * h + i] /= sum;
    }
}

void t6_cpu_decode_attention_tpa(t6_backend *be, void *out_, const void *q_, const void *ak_, const void *bk_,
                                 const void *av_, const void *bv_, const int32_t *lens,
                                 int B, int M_max, int h, int R_K, int R_V, int dh)
{
    float *out = out_;
    const float *q = q_, *ak = ak_, *bk = bk_, *av = av_, *bv = bv_;
    const float scale = 1.0f / sqrtf((float)dh);
    const int R = R_K > R_V ? R_K : R_V;
    for (int b = 0; b < B; b++)
        T6_CHECK(lens[b] >= 1 && lens[b] <= M_max, NULL,
                 "decode attention: row %d attends over %d tokens, the cache holds 1..%d", b, lens[b], M_max);
#pragma omp parallel if (B > 1)
    {
        float *S1 = t6_malloc(sizeof(float) * (size_t)M_max * R * h);   /* (L, R, h): S1, then p * A_V */
        float *s = t6_malloc(sizeof(float) * (size_t)M_max * h);        /* (L, h) scores -> probabilities */
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < B; b++) {
            const int L = lens[b];
            const float *qb = q + (size_t)b * h * dh;
            const float *akb = ak + (size_t)b * M_max * R_K * h, *bkb = bk + (size_t)b * M_max * R_K * dh;
            const float *avb = av + (size_t)b * M_max * R_V * h, *bvb = bv + (size_t)b * M_max * R_V * dh;
            float *ob = out + (size_t)b * h * dh;
            /* S1 = B̃_K q^T: (L*R_K, dh) x (dh, h) */
            t6_cpu_gemm_serial(be, L * R_K, h, dh, bkb, dh, 1, qb, 1, dh, S1, h, 0);
            for (int t = 0; t < L; t++)
                for (int i = 0; i < h; i++) {
                    float acc = 0.0f;
                    for (int r = 0; r < R_K; r++) {
                        const size_t o = ((size_t)t * R_K + r) * h + i;
                        acc += akb[o] * S1[o];
                    }
                    s[(size_t)t * h + i] = acc / (float)R_K * scale;
                }
            softmax_columns(s, L, h);
            /* W[t,r,i] = p[t,i] A_V[t,r,i];  out = W^T B_V / R_V: (h, L*R_V) x (L*R_V, dh) */
            for (int t = 0; t < L; t++)
                for (int r = 0; r < R_V; r++)
                    for (int i = 0; i < h; i++) {
                        const size_t o = ((size_t)t * R_V + r) * h + i;
                        S1[o] = s[(size_t)t * h + i] * avb[o];
                    }
            t6_cpu_gemm_serial(be, h, dh, L * R_V, S1, 1, h, bvb, dh, 1, ob, dh, 0);
            for (int j = 0; j < h * dh; j++) ob[j] /= (float)R_V;
        }
        free(S1);
        free(s);
    }
}

void t6_cpu_decode_attention_kv(t6_backend *be, void *out_, const void *q_, const void *k_, const void *v_,
                                const int32_t *lens, int B, int M_max, int h, int G, int dh)
{
    T6_CHECK(G > 0 && h % G == 0, NULL, "decode attention: %d query heads not divisible by %d kv heads", h, G);
    float *out = out_;
    const float *q = q_, *k = k_, *v = v_;
    const int hpg = h / G;
    const float scale = 1.0f / sqrtf((float)dh);
    for (int b = 0; b < B; b++)
        T6_CHECK(lens[b] >= 1 && lens[b] <= M_max, NULL,
                 "decode attention: row %d attends over %d tokens, the cache holds 1..%d", b, lens[b], M_max);
    const long tasks = (long)B * h;
#pragma omp parallel if (tasks > 1 && (long)B * M_max * h * dh >= T6_CPU_PAR_MIN)
    {
        float *p = t6_malloc(sizeof(float) * (size_t)M_max);
#pragma omp for schedule(static)
        for (long task = 0; task < tasks; task++) {
            const int b = (int)(task / h), i = (int)(task % h), g = i / hpg, L = lens[b];
            const float *qi = q + ((size_t)b * h + i) * dh;
            const float *kb = k + (size_t)b * M_max * G * dh + (size_t)g * dh;
            const float *vb = v + (size_t)b * M_max * G * dh + (size_t)g * dh;
            float *oi = out + ((size_t)b * h + i) * dh;
            float mx = -INFINITY;
            for (int t = 0; t < L; t++) {
                const float *kt = kb + (size_t)t * G * dh;
                float sdot = 0.0f;
                for (int j = 0; j < dh; j++) sdot += qi[j] * kt[j];
                p[t] = sdot * scale;
                mx = fmaxf(mx, p[t]);
            }
            float sum = 0.0f;
            for (int t = 0; t < L; t++) {
                p[t] = expf(p[t] - mx);
                sum += p[t];
            }
            for (int j = 0; j < dh; j++) oi[j] = 0.0f;
            for (int t = 0; t < L; t++) {
                const float w = p[t] / sum, *vt = vb + (size_t)t * G * dh;
                for (int j = 0; j < dh; j++) oi[j] += w * vt[j];
            }
        }
        free(p);
    }
}
