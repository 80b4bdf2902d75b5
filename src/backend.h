/* backend.h -- the table of operations the model is written over. The CPU backend
 * (src/cpu/) implements it in float32 with OpenMP and is the reference; the CUDA
 * backend (kernels/) implements the same table with bf16 activations.
 *
 * Conventions every implementation follows:
 *  - "act" buffers hold activations in the backend's activation type (float on the
 *    CPU, float or bf16 on CUDA: be->act_bytes says which size); parameters,
 *    gradients, optimizer moments, rstd/lse statistics and losses are always float.
 *  - Weights passed to matmul are the backend's compute copy of the parameters
 *    (be->weights_are_master: the fp32 master buffer itself on the CPU).
 *  - Shapes: N = B*T rows; matrices are row-major; a weight W is (out x in) as in
 *    PyTorch, so a linear layer computes out = inp @ W^T.
 *  - Backward ops ACCUMULATE (+=) into parameter gradients and OVERWRITE activation
 *    gradients unless a flag says otherwise, so the model never zeroes act grads.
 *  - All pointers are device pointers of this backend; tokens/targets are int32.
 */
#ifndef T6_BACKEND_H
#define T6_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "deck.h"

typedef struct t6_backend t6_backend;

typedef struct t6_ops {
    /* ---- memory ---- */
    void *(*alloc)(t6_backend *be, size_t bytes);              /* zero-filled */
    void (*free)(t6_backend *be, void *p);
    void (*zero)(t6_backend *be, void *p, size_t bytes);
    void (*to_device)(t6_backend *be, void *dst, const void *src_host, size_t bytes);
    void (*to_host)(t6_backend *be, void *dst_host, const void *src, size_t bytes);
    void (*sync)(t6_backend *be);
    /* fp32 master -> compute copy (bf16 on CUDA); a no-op where they are one buffer */
    void (*params_to_compute)(t6_backend *be, void *compute, const float *master, size_t n);
    /* float host array <-> act buffer (converts to/from bf16 where act is bf16) */
    void (*act_from_float)(t6_backend *be, void *act, const float *host, size_t n);
    void (*act_to_float)(t6_backend *be, float *host, const void *act, size_t n);

    /* ---- embedding: out[n,:] = wte[tokens[n],:] ---- */
    void (*embed_fwd)(t6_backend *be, void *out, const void *wte, const int32_t *tokens, int N, int d);
    void (*embed_bwd)(t6_backend *be, float *dwte, const void *dout, const int32_t *tokens, int N, int d);

    /* ---- RMSNorm without weight: out = x / sqrt(mean(x^2) + eps), eps = FLT_EPSILON ---- */
    void (*rmsnorm_fwd)(t6_backend *be, void *out, float *rstd, const void *inp, int N, int d);
    /* dinp += d(rmsnorm)/dinp^T dout  (ACCUMULATES: dinp is the residual-stream gradient) */
    void (*rmsnorm_bwd)(t6_backend *be, void *dinp, const void *dout, const void *inp,
                        const float *rstd, int N, int d);

    /* ---- linear: out[N,OC] (=|+=) inp[N,C] @ w[OC,C]^T ----
     * The activation operands are row-major with an explicit row stride ("leading
     * dimension", in elements): row n of out starts at out + n*ld_out, and so on;
     * ld >= the row's width (OC for out/dout, C for inp/dinp). The weight w and its
     * gradient dw are always dense (OC x C, row stride C). Columns from the width up
     * to ld are the "pad" (the model keeps the SwiGLU activations at a row stride of
     * round_up(mlp_hidden, 8) so that bf16 rows are 16-byte aligned for cuBLASLt):
     *  - pads of INPUTS are never used as data, but they must hold finite values (a
     *    backend may multiply them by zero: the model keeps them 0);
     *  - pads of OUTPUTS are left as they are, except the alignment pad, columns
     *    [width, min(ld, round_up(width, 8))), where a backend may store 0 (x + 0 when
     *    accumulating), so a pad that is 0 stays 0. Nothing at or beyond
     *    round_up(width, 8) is ever written. */
    void (*matmul_fwd)(t6_backend *be, void *out, int ld_out, const void *inp, int ld_inp, const void *w,
                       int N, int C, int OC, int accumulate);
    /* dinp[N,C] (=|+= by accumulate_dinp) dout @ w; dw[OC,C] += dout^T @ inp.
     * dinp may be NULL (no input gradient wanted). Strides as for matmul_fwd. */
    void (*matmul_bwd)(t6_backend *be, void *dinp, int ld_dinp, float *dw, const void *dout, int ld_dout,
                       const void *inp, int ld_inp, const void *w, int N, int C, int OC, int accumulate_dinp);

    /* ---- RoPE ("halves" layout, base from config) on x laid out (B, T, rows, dh),
     *      position = t; in place. bwd applies the inverse rotation to the gradient. ---- */
    void (*rope_fwd)(t6_backend *be, void *x, int B, int T, int rows, int dh, double base);
    void (*rope_bwd)(t6_backend *be, void *dx, int B, int T, int rows, int dh, double base);

    /* ---- TPA factor product: out[n,i,:] = (1/R) sum_r A[n,i,r] * Bf[n,r,:]
     *      A: (N, h, R), Bf: (N, R, dh), out: (N, h, dh) ---- */
    void (*tpa_product_fwd)(t6_backend *be, void *out, const void *A, const void *Bf,
                            int N, int h, int R, int dh);
    /* dA, dBf overwritten */
    void (*tpa_product_bwd)(t6_backend *be, void *dA, void *dBf, const void *dout,
                            const void *A, const void *Bf, int N, int h, int R, int dh);

    /* ---- TPA's fused factor projection (model.c): fac, N = B*T rows at row stride ld
     *      (row n at position n % T), holds [A_Q | A_K | A_V | B_Q | B_K | B_V] side by
     *      side, widths h*RQ, h*RK, h*RV, RQ*dh, RK*dh, RV*dh; f[0..5] are the six
     *      factors as dense (N, width) buffers in that order.
     * split: f[j] = block j of fac, with RoPE (as rope_fwd, each rank row as if a head)
     *        applied to B_Q and B_K on the way; fac's pad columns are not read. ---- */
    void (*tpa_split)(t6_backend *be, void *const f[6], const void *fac, int ld, int B, int T, int h, int RQ,
                      int RK, int RV, int dh, double base);
    /* join (the split's backward): block j of fac = f[j], with the inverse rotation
     * (rope_bwd) applied to dB_Q and dB_K on the way; fac's pad columns are not written. */
    void (*tpa_join)(t6_backend *be, void *fac, int ld, const void *const f[6], int B, int T, int h, int RQ,
                     int RK, int RV, int dh, double base);

    /* ---- causal softmax attention, scale 1/sqrt(dh).
     *      q: (B,T,h,dh); k, v: (B,T,G,dh) with query head i using kv head i/(h/G);
     *      out: (B,T,h,dh); lse: (B,h,T) log-sum-exp of the scaled scores (for bwd). ---- */
    void (*attention_fwd)(t6_backend *be, void *out, float *lse, const void *q, const void *k,
                          const void *v, int B, int T, int h, int G, int dh);
    /* dq, dk, dv overwritten */
    void (*attention_bwd)(t6_backend *be, void *dq, void *dk, void *dv, const void *dout,
                          const void *out, const float *lse, const void *q, const void *k,
                          const void *v, int B, int T, int h, int G, int dh);

    /* ---- generation (doc/generate.md): one new token per batch row over a KV cache.
     *      int32 arrays are device int32; act = the backend's activation type. ---- */
    /* RoPE ("halves" layout, as rope_fwd) on x (N, rows, dh) where row n is at position pos[n]. In place. */
    void (*rope_fwd_pos)(t6_backend *be, void *x, const int32_t *pos, int N, int rows, int dh, double base);
    /* Scatter one token's record per batch row into a cache: for n < N and j < width,
     * cache[((size_t)n * M_max + pos[n]) * width + j] = src[(size_t)n * ld_src + j]. act dtype. */
    void (*cache_scatter)(t6_backend *be, void *cache, const void *src, int ld_src, const int32_t *pos,
                          int N, int M_max, int width);

    /* Single-query attention of one new token per batch row over a TPA factor cache, never
     * forming K or V. q: (B, h, dh) act, RoPE applied. Cache, per layer, act dtype:
     *   ak (B, M_max, R_K, h), bk (B, M_max, R_K, dh) RoPE already applied,
     *   av (B, M_max, R_V, h), bv (B, M_max, R_V, dh).
     * K[t,i,:] = (1/R_K) sum_r ak[t,r,i] bk[t,r,:];  V[t,i,:] = (1/R_V) sum_r av[t,r,i] bv[t,r,:].
     * Row b attends over t < lens[b] (lens includes the new token, already written).
     * scores scale 1/sqrt(dh); out (B, h, dh) act. */
    void (*decode_attention_tpa)(t6_backend *be, void *out, const void *q, const void *ak, const void *bk,
                                 const void *av, const void *bv, const int32_t *lens,
                                 int B, int M_max, int h, int R_K, int R_V, int dh);

    /* The same over a plain K/V cache (MHA/MQA/GQA, and TPA-KVonly only if it materialises):
     * k, v (B, M_max, G, dh) act, K rotated; query head i uses kv head i / (h / G). */
    void (*decode_attention_kv)(t6_backend *be, void *out, const void *q, const void *k, const void *v,
                                const int32_t *lens, int B, int M_max, int h, int G, int dh);

    /* ---- SwiGLU: out = silu(h1) * h2, elementwise over n ---- */
    void (*swiglu_fwd)(t6_backend *be, void *out, const void *h1, const void *h2, size_t n);
    void (*swiglu_bwd)(t6_backend *be, void *dh1, void *dh2, const void *dout,
                       const void *h1, const void *h2, size_t n);

    /* ---- x += y (residual stream) ---- */
    void (*add_inplace)(t6_backend *be, void *x, const void *y, size_t n);

    /* ---- softmax cross-entropy over V logits per row. losses[n] = -log p[target];
     *      rows with target -1 get loss 0. When grad_scale != 0 the logits are
     *      overwritten by grad_scale * (softmax - onehot) (0 for ignored rows), so no
     *      probability tensor is ever kept. ---- */
    void (*cross_entropy)(t6_backend *be, float *losses, void *logits, const int32_t *targets,
                          int N, int V, float grad_scale);

    /* ---- optimizer and norms over fp32 buffers ---- */
    /* AdamW (decoupled decay, bias-corrected, PyTorch order):
     *   g = grad * grad_scale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     *   p -= lr * wd * p; p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
     * and refreshes the compute copy (may be NULL when weights_are_master). */
    void (*adamw)(t6_backend *be, float *param, void *compute, const float *grad, float *m, float *v,
                  size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                  long step, float grad_scale);
    double (*sum_squares)(t6_backend *be, const float *x, size_t n);   /* result on host */
    void (*scale)(t6_backend *be, float *x, float s, size_t n);

    /* ---- MLA's building blocks (model.c, attention "mla") ---- */
    /* Strided block copy of act elements: for r < rows, j < width,
     * dst[r*ld_dst + j] (= or += by accumulate) src[r*ld_src + j]. dst and src do not overlap. */
    void (*copy_rows)(t6_backend *be, void *dst, int ld_dst, const void *src, int ld_src, int rows, int width,
                      int accumulate);
    /* RMSNorm with a weight and a given eps (DeepSeek / LLaMA RMSNorm):
     *   out = x * r * w, r = 1/sqrt(mean(x^2) + eps); rstd[n] = r. w: compute weights (d). */
    void (*rmsnorm_w_fwd)(t6_backend *be, void *out, float *rstd, const void *inp, const void *w, int N, int d,
                          float eps);
    /* dinp (OVERWRITTEN) = r * (w*dy) - (r^3/d) x sum_j (w*dy)_j x_j;  dw[j] += sum_n dy[n,j] x[n,j] r[n].
     * dw sums its rows in order n = 0..N-1 (deterministic). */
    void (*rmsnorm_w_bwd)(t6_backend *be, void *dinp, float *dw, const void *dout, const void *inp, const void *w,
                          const float *rstd, int N, int d);
} t6_ops;

struct t6_backend {
    const t6_ops *ops;
    t6_backend_kind kind;
    t6_precision precision;
    size_t act_bytes;            /* 4 (float) or 2 (bf16) */
    int weights_are_master;      /* 1: compute weights == fp32 master params */
    int device_index;            /* CUDA device, -1 on CPU */
    double peak_flops;           /* dense peak FLOP/s of the device at this precision, for MFU; 0 = unknown */
    void *impl;                  /* backend-private state (cuBLASLt handles, streams...) */
};

/* Creates the backend a deck asks for; fatal with a clear message when it was not
 * compiled in (e.g. backend.device = "cuda" in a build without CUDA). */
t6_backend *t6_backend_create(const t6_backend_config *cfg, int local_rank);
void t6_backend_destroy(t6_backend *be);

/* Pointer to element `index` of an act buffer. */
static inline void *t6_act_at(const t6_backend *be, void *p, size_t index)
{
    return (char *)p + index * be->act_bytes;
}

/* Backend constructors (each in its own directory). */
t6_backend *t6_cpu_backend_create(const t6_backend_config *cfg);
void t6_cpu_backend_destroy(t6_backend *be);
/* The backends' constant ops tables, for the test that every slot is set (usable
 * without a device: nothing is initialized). */
const t6_ops *t6_cpu_ops_table(void);
#ifdef T6_HAVE_CUDA
const t6_ops *t6_cuda_ops_table(void);
t6_backend *t6_cuda_backend_create(const t6_backend_config *cfg, int local_rank);
void t6_cuda_backend_destroy(t6_backend *be);
/* NCCL gradient all-reduce for the CUDA backend; MPI (dist.c) starts it by
 * broadcasting the unique id that rank 0 gets. */
size_t t6_cuda_nccl_id_size(void);
void t6_cuda_nccl_get_id(void *id);
void t6_cuda_nccl_init(t6_backend *be, const void *id, int rank, int world);
void t6_cuda_nccl_allreduce_sum(t6_backend *be, float *buf, size_t n);
#endif

#endif
