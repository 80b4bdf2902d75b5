/* cpu_ops.h -- the CPU backend's implementations of the ops table (backend.h), one
 * file per family of ops: cpu_backend.c (memory, create/destroy, elementwise),
 * cpu_matmul.c, cpu_attention.c, cpu_norm_rope.c (embedding, RMSNorm, RoPE),
 * cpu_tpa.c (factor products), cpu_mla.c (MLA's head split and join), cpu_decode.c (generation: KV-cache ops; cpu_decode_mla.c
 * for MLA's latent cache), cpu_loss.c (softmax cross-entropy), cpu_optim.c
 * (AdamW, sum of squares, scale).
 *
 * Determinism rule for every op here: each output element is computed by exactly one
 * thread in an order fixed by the shapes alone (never by the thread count), so that
 * results are bitwise identical for any OMP_NUM_THREADS. Reductions over a dimension
 * that is split among threads are therefore avoided (we split the OUTPUT instead). */
#ifndef T6_CPU_OPS_H
#define T6_CPU_OPS_H

#include "backend.h"

/* Elementwise loops shorter than this run on one thread (a parallel region costs a few
 * microseconds; the split never changes what each element computes). */
#define T6_CPU_PAR_MIN 32768

/* Private state of the CPU backend. */
typedef struct {
    int threads;        /* OpenMP threads used by the ops (0: OpenMP default) */
    int use_blas;       /* 1 when matmuls go through OpenBLAS */
    int blas_threaded;  /* 1: OpenBLAS's own threads (not bitwise across thread counts; benchmarks) */
} t6_cpu_impl;

/* Large temporaries of an op (zero-filled), counted like the model's buffers so the
 * peak (t6_backend_mem_stats) includes them; host thread only, outside parallel regions. */
void *t6_cpu_tmp_alloc(t6_backend *be, size_t bytes);
void t6_cpu_tmp_free(t6_backend *be, void *p);

/* cpu_matmul.c */
void t6_cpu_matmul_fwd(t6_backend *be, void *out, int ld_out, const void *inp, int ld_inp, const void *w,
                       int N, int C, int OC, int accumulate);
void t6_cpu_matmul_bwd(t6_backend *be, void *dinp, int ld_dinp, float *dw, const void *dout, int ld_dout,
                       const void *inp, int ld_inp, const void *w, int N, int C, int OC, int accumulate_dinp);
/* The hand-written path, callable directly (benchmarks, tests): C[M,Nn] (=|+=)
 * sum_k A(m,k) B(k,n) with A(m,k) = A[m*a_rs + k*a_cs], B(k,n) = B[k*b_rs + n*b_cs]. */
void t6_cpu_gemm_blocked(int M, int Nn, int K, const float *A, long a_rs, long a_cs,
                         const float *B, long b_rs, long b_cs, float *Cm, long ldc, int accumulate);
/* The same product on the calling thread only (for use inside parallel regions). */
void t6_cpu_gemm_serial(const t6_backend *be, int M, int Nn, int K, const float *A, long a_rs, long a_cs,
                        const float *B, long b_rs, long b_cs, float *Cm, long ldc, int accumulate);
/* Route matmuls through BLAS (when compiled in) or the blocked loops. */
void t6_cpu_set_use_blas(t6_backend *be, int use_blas);

/* cpu_norm_rope.c */
void t6_cpu_embed_fwd(t6_backend *be, void *out, const void *wte, const int32_t *tokens, int N, int d);
void t6_cpu_embed_bwd(t6_backend *be, float *dwte, const void *dout, const int32_t *tokens, int N, int d);
void t6_cpu_rmsnorm_fwd(t6_backend *be, void *out, float *rstd, const void *inp, int N, int d);
void t6_cpu_rmsnorm_bwd(t6_backend *be, void *dinp, const void *dout, const void *inp,
                        const float *rstd, int N, int d);
void t6_cpu_add_rmsnorm_fwd(t6_backend *be, void *x, const void *y, void *out, float *rstd, int N, int d);
void t6_cpu_rmsnorm_w_fwd(t6_backend *be, void *out, float *rstd, const void *inp, const void *w, int N, int d,
                          float eps);
void t6_cpu_rmsnorm_w_bwd(t6_backend *be, void *dinp, float *dw, const void *dout, const void *inp, const void *w,
                          const float *rstd, int N, int d);
void t6_cpu_rope_fwd(t6_backend *be, void *x, int B, int T, int rows, int dh, double base);
void t6_cpu_rope_bwd(t6_backend *be, void *dx, int B, int T, int rows, int dh, double base);
/* RoPE's angles for positions 0..T-1 (t6_malloc'd, free() it), in double rounded to
 * float: row t holds dh/2 cosines then dh/2 sines; shared with cpu_tpa.c and cpu_mla.c
 * so the fused TPA and MLA ops rotate exactly as rope_fwd */
float *t6_cpu_rope_table(int T, int dh, double base);
/* one head vector (2 x half) rotated by +angle (sign 1, rope_fwd) or -angle (sign -1,
 * rope_bwd) at the table row cs (half cosines, half sines); dst may be src. The one
 * rotation rope_fwd/bwd and the fused TPA and MLA ops share, so they agree bitwise. */
void t6_cpu_rope_rotate(float *dst, const float *src, const float *cs, int half, float sign);

/* cpu_tpa.c */
void t6_cpu_tpa_product_fwd(t6_backend *be, void *out, const void *A, const void *Bf,
                            int N, int h, int R, int dh);
void t6_cpu_tpa_product_bwd(t6_backend *be, void *dA, void *dBf, const void *dout,
                            const void *A, const void *Bf, int N, int h, int R, int dh);
void t6_cpu_tpa_split(t6_backend *be, void *const f[6], const void *fac, int ld, int B, int T, int h, int RQ,
                      int RK, int RV, int dh, double base);
void t6_cpu_tpa_join(t6_backend *be, void *fac, int ld, const void *const f[6], int B, int T, int h, int RQ,
                     int RK, int RV, int dh, double base);
void t6_cpu_tpa_qkv_fwd(t6_backend *be, void *q, void *k, void *v, const void *fac, int ld, int B, int T, int h,
                        int RQ, int RK, int RV, int dh, double base);
void t6_cpu_tpa_qkv_bwd(t6_backend *be, void *dfac, const void *dq, const void *dk, const void *dv, const void *fac,
                        int ld, int B, int T, int h, int RQ, int RK, int RV, int dh, double base);

/* cpu_mla.c */
void t6_cpu_mla_split(t6_backend *be, void *q, void *k, void *v, const void *kv, const void *kpe, int ld_kpe, int B,
                      int T, int h, int dn, int dr, int dvh, double base);
void t6_cpu_mla_join(t6_backend *be, void *dq, void *dkv, void *dkpe, int ld_dkpe, const void *dk, const void *dv,
                     int B, int T, int h, int dn, int dr, int dvh, double base);

/* cpu_attention.c */
void t6_cpu_attention_fwd(t6_backend *be, void *out, float *lse, const void *q, const void *k,
                          const void *v, int B, int T, int h, int G, int dh);
void t6_cpu_attention_bwd(t6_backend *be, void *dq, void *dk, void *dv, const void *dout,
                          const void *out, const float *lse, const void *q, const void *k,
                          const void *v, int B, int T, int h, int G, int dh);

/* cpu_decode.c */
void t6_cpu_rope_fwd_pos(t6_backend *be, void *x, const int32_t *pos, int N, int rows, int dh, double base);
void t6_cpu_cache_scatter(t6_backend *be, void *cache, const void *src, int ld_src, const int32_t *pos,
                          int N, int M_max, int width);
void t6_cpu_decode_attention_tpa(t6_backend *be, void *out, const void *q, const void *ak, const void *bk,
                                 const void *av, const void *bv, const int32_t *lens,
                                 int B, int M_max, int h, int R_K, int R_V, int dh);
void t6_cpu_decode_attention_kv(t6_backend *be, void *out, const void *q, const void *k, const void *v,
                                const int32_t *lens, int B, int M_max, int h, int G, int dh);
/* cpu_decode_mla.c */
void t6_cpu_decode_attention_mla(t6_backend *be, void *out, const void *q, const void *cache, const int32_t *lens,
                                 int B, int M_max, int h, int d_c, int d_R, float scale);

/* cpu_backend.c (elementwise) */
void t6_cpu_swiglu_fwd(t6_backend *be, void *out, const void *h1, const void *h2, size_t n);
void t6_cpu_swiglu_bwd(t6_backend *be, void *dh1, void *dh2, const void *dout,
                       const void *h1, const void *h2, size_t n);
void t6_cpu_add_inplace(t6_backend *be, void *x, const void *y, size_t n);

/* cpu_loss.c */
void t6_cpu_cross_entropy(t6_backend *be, float *losses, void *logits, const int32_t *targets,
                          int N, int V, float grad_scale);

/* cpu_optim.c */
void t6_cpu_adamw(t6_backend *be, float *param, void *compute, const float *grad, float *m, float *v,
                  size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                  long step, float grad_scale);
double t6_cpu_sum_squares(t6_backend *be, const float *x, size_t n);
void t6_cpu_scale(t6_backend *be, float *x, float s, size_t n);

#endif
