/* cpu_decode_mla.c -- MLA's decode attention in the latent space on the CPU backend
 * (backend.h decode_attention_mla, doc/generate.md "MLA"): every head of a batch row
 * attends over the same cached records [c_kv (d_c), k_R (d_R)], so for row b with
 * L = lens[b] cached tokens and W = d_c + d_R:
 *   s   = scale * cache_b (L x W) q_b^T (W x h)     one GEMM: all heads at once;
 *   p   = softmax over t, per head;
 *   out = p^T (h x L) cache_b[:, 0:d_c] (L x d_c)   one GEMM over the latent columns.
 * K and V of the heads (W_UK c_kv, W_UV c_kv) are never formed: the caller absorbed
 * W_UK into the query and applies W_UV to the output (src/mla_decode.c). Work is split
 * by batch row only, so the sums run in an order fixed by the shapes (any thread count
 * gives the same result, cpu_ops.h). */
#include <math.h>
#include <stdlib.h>

#include "cpu_ops.h"
#include "util.h"

void t6_cpu_decode_attention_mla(t6_backend *be, void *out_, const void *q_, const void *cache_, const int32_t *lens,
                                 int B, int M_max, int h, int d_c, int d_R, float scale)
{
    T6_CHECK(B > 0 && M_max > 0 && h > 0 && d_c > 0 && d_R >= 0, NULL,
             "decode_attention_mla: bad sizes B=%d M_max=%d h=%d d_c=%d d_R=%d", B, M_max, h, d_c, d_R);
    float *out = out_;
    const float *q = q_, *cache = cache_;
    const int W = d_c + d_R;
    for (int b = 0; b < B; b++)
        T6_CHECK(lens[b] >= 1 && lens[b] <= M_max, NULL,
                 "decode attention (mla): row %d attends over %d tokens, the cache holds 1..%d", b, lens[b], M_max);
#pragma omp parallel if (B > 1)
    {
        float *s = t6_malloc(sizeof(float) * (size_t)M_max * h);   /* (L, h) scores -> probabilities */
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < B; b++) {
            const int L = lens[b];
            const float *cb = cache + (size_t)b * M_max * W, *qb = q + (size_t)b * h * W;
            float *ob = out + (size_t)b * h * d_c;
            t6_cpu_gemm_serial(be, L, h, W, cb, W, 1, qb, 1, W, s, h, 0);
            for (int i = 0; i < h; i++) {
                float mx = -INFINITY, sum = 0.0f;
                for (int t = 0; t < L; t++) mx = fmaxf(mx, s[(size_t)t * h + i] *= scale);
                for (int t = 0; t < L; t++) sum += s[(size_t)t * h + i] = expf(s[(size_t)t * h + i] - mx);
                for (int t = 0; t < L; t++) s[(size_t)t * h + i] /= sum;
            }
            t6_cpu_gemm_serial(be, h, d_c, L, s, 1, h, cb, W, 1, ob, d_c, 0);
        }
        free(s);
    }
}
