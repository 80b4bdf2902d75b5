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
#include "memtrack.h"

typedef struct t6_backend t6_backend;

typedef struct t6_ops {
    /* ---- memory ----
     * alloc and free are the backend's allocation functions for the model's and the
     * optimizer's buffers; they and every buffer a backend allocates for itself
     * (workspaces, scratch, padded copies) are counted in be->mem (t6_backend_mem_stats). */
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

    /* MLA's decode in the latent space (src/mla_decode.c, kernels/decode_mla.cu): one
     * shared "KV head" per batch row whose cached records are [c_kv (d_c), k_R (d_R)]
     * (the normalised latent and the rotated shared rope key). q (B, h, d_c + d_R) act
     * holds each head's absorbed query [W_UK^T q_nope, q_R]; cache (B, M_max, d_c + d_R) act.
     * s[t,i] = scale * q[b,i,:] . cache[b,t,:] over t < lens[b]; p = softmax_t s;
     * out[b,i,:] (B, h, d_c) act = sum_t p[t,i] cache[b,t,0:d_c]. */
    void (*decode_attention_mla)(t6_backend *be, void *out, const void *q, const void *cache, const int32_t *lens,
                                 int B, int M_max, int h, int d_c, int d_R, float scale);

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
     * dw's row sum is deterministic: its order depends on N only (the CPU sums rows in
     * order n = 0..N-1, CUDA in fixed row chunks, then the chunks in order). */
    void (*rmsnorm_w_bwd)(t6_backend *be, void *dinp, float *dw, const void *dout, const void *inp, const void *w,
                          const float *rstd, int N, int d);

    /* ---- graphs: record a fixed sequence of ops once, replay it many times (the decode
     *      step of generation, doc/generate.md "CUDA graphs"). The ops recorded must not
     *      synchronise, copy to or from the host, or grow the backend's scratch: run the
     *      same sequence once unrecorded first (scratch, GEMM plans), and read anything
     *      that changes between replays (positions, lengths) from device memory. ----
     * graph_begin: start recording the ops queued from now on (they do not run); 0 when
     * the backend cannot record (the CPU's): the caller runs the ops itself. */
    int (*graph_begin)(t6_backend *be);
    /* stop recording; a replayable graph, or NULL (recording failed: a warning says why) */
    void *(*graph_end)(t6_backend *be);
    /* replay; -1 without running anything when a buffer the graph refers to was
     * reallocated since it was recorded (the backend's scratch grew): record it again */
    int (*graph_launch)(t6_backend *be, void *graph);
    void (*graph_free)(t6_backend *be, void *graph);

    /* ---- bytes of memory in use now, for the peaks generation reports: on CUDA the
     *      device's (total - free: every allocation on it, the CUDA context included), on
     *      the CPU the process's resident set; 0 when unknown. Does not synchronise. ---- */
    size_t (*mem_in_use)(t6_backend *be);

    /* ---- the residual add fused with the RMSNorm after it (model.c's layer forward):
     *      x += y (x is the residual stream, N x d act), then out = rmsnorm(x) and
     *      rstd as rmsnorm_fwd, computed from x as stored (after its rounding to the
     *      act type), so it equals add_inplace followed by rmsnorm_fwd exactly. ---- */
    void (*add_rmsnorm_fwd)(t6_backend *be, void *x, const void *y, void *out, float *rstd, int N, int d);
    /* ---- TPA's fused factor projection straight to Q, K, V and back (model.c's training
     *      path; doc/model.md "TPA"): fac as for tpa_split (N = B*T rows at row stride ld,
     *      position n % T, pad columns never read); q, k, v (N, h, dh) act.
     * fwd: the same values as tpa_split followed by tpa_product_fwd for Q (A_Q, B_Q), K
     *      (A_K, B_K) and V (A_V, B_V), B_Q and B_K rotated (and, in bf16, rounded as
     *      tpa_split stores them), without writing the six factors anywhere. ---- */
    void (*tpa_qkv_fwd)(t6_backend *be, void *q, void *k, void *v, const void *fac, int ld, int B, int T, int h,
                        int RQ, int RK, int RV, int dh, double base);
    /* bwd: dfac (same row stride ld; OVERWRITTEN, pad columns not written; must not be
     *      fac) = the gradient of the fused rows from dq, dk, dv: the three
     *      tpa_product_bwd followed by tpa_join, with the rotated factors rebuilt from
     *      fac. Deterministic (no atomics): each dfac element is computed by one thread. */
    void (*tpa_qkv_bwd)(t6_backend *be, void *dfac, const void *dq, const void *dk, const void *dv,
                        const void *fac, int ld, int B, int T, int h, int RQ, int RK, int RV, int dh, double base);
    /* ---- MLA's head split and its backward (model.c mla_qkv_forward/backward), one pass
     *      each in place of per-head copy_rows chains and RoPE calls. Rows n < N = B*T at
     *      position n % T, heads i < h, head size dha = dn + dr (dr even), dvh <= dha;
     *      kv (N, h*(dn+dvh)) is kv_b's output, [k_nope dn, v dvh] per head; kpe row n at
     *      kpe + n*ld_kpe (dr elements: kv_a's shared rotary key, not rotated yet).
     * mla_split: q (N, h*dha) in place: each head's last dr columns rotated (rope_fwd's
     *   math over dr); k[n,i,:] = [kv[n,i,0:dn], rope(kpe[n])] (the one rotated key in
     *   every head); v[n,i,:] = [kv[n,i,dn:dn+dvh], 0 up to dha] (the attention's padding).
     * mla_join (its backward): dq in place, each head's last dr columns rotated back
     *   (rope_bwd's); dkv[n,i,:] = [dk[n,i,0:dn], dv[n,i,0:dvh]]; dkpe[n*ld_dkpe + 0:dr]
     *   (overwritten) = rope_bwd(sum over heads i = 0..h-1 in order of dk[n,i,dn:dha]),
     *   the sum in fp32. ---- */
    void (*mla_split)(t6_backend *be, void *q, void *k, void *v, const void *kv, const void *kpe, int ld_kpe, int B, int T, int h, int dn, int dr, int dvh, double base);
    void (*mla_join)(t6_backend *be, void *dq, void *dkv, void *dkpe, int ld_dkpe, const void *dk, const void *dv, int B, int T, int h, int dn, int dr, int dvh, double base);
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
    t6_memtrack *mem;            /* bytes allocated on the device through this backend (memtrack.h) */
};

/* Bytes allocated through the backend, current and peak since creation or the last
 * reset: PyTorch's memory_allocated / max_memory_allocated, not cudaMemGetInfo. The CPU
 * backend counts its buffers and its ops' large temporaries; the CUDA backend every
 * cudaMalloc/cudaMallocAsync it makes (cuBLASLt workspace, scratch, padded GEMM copies,
 * the RoPE table); NCCL's internal buffers are NCCL's and not counted. */
void t6_backend_mem_stats(const t6_backend *be, t6_mem_stats *out);
void t6_backend_mem_reset_peak(t6_backend *be);

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
/* The range collectives of t6_cuda_nccl_range (below; outside the #ifdef because the
 * .cu files see this header without config.h). */
enum { T6_NCCL_ALLREDUCE = 0, T6_NCCL_REDUCE_SHARDS, T6_NCCL_GATHER_SHARDS };
#ifdef T6_HAVE_CUDA
const t6_ops *t6_cuda_ops_table(void);
t6_backend *t6_cuda_backend_create(const t6_backend_config *cfg, int local_rank);
void t6_cuda_backend_destroy(t6_backend *be);
/* NCCL for the CUDA backend; MPI (dist.c) starts it by broadcasting the unique id
 * that rank 0 gets. */
size_t t6_cuda_nccl_id_size(void);
void t6_cuda_nccl_get_id(void *id);
void t6_cuda_nccl_init(t6_backend *be, const void *id, int rank, int world);
/* Range collectives of the bucketed reduction and ZeRO-1 (src/gradsync.c) on buf[lo, hi),
 * shard r being [shard_off[r], shard_off[r+1]): op T6_NCCL_ALLREDUCE (in place),
 * T6_NCCL_REDUCE_SHARDS (each shard's part summed onto its owner, in place there) or
 * T6_NCCL_GATHER_SHARDS (each owner's part broadcast to all). side = 1: on the side
 * stream, after all work enqueued so far on the main one; t6_cuda_nccl_join then
 * orders the main stream after the side stream's work. */
void t6_cuda_nccl_range(t6_backend *be, float *buf, size_t lo, size_t hi, const size_t *shard_off, int op, int side);
void t6_cuda_nccl_join(t6_backend *be);
#endif

#endif
