/* cuda_common.cuh -- what every kernel file of the CUDA backend shares: the private
 * backend state (device, stream, cuBLASLt handle and workspace, scratch buffers), the
 * float/bf16 load-store helpers the templated kernels use, and the per-op entry points
 * the ops table (cuda_backend.cu) is assembled from. */
#ifndef T6_CUDA_COMMON_CUH
#define T6_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cublasLt.h>

#include "cuda_check.h"

extern "C" {
#include "backend.h"
}

typedef struct ncclComm *ncclComm_t_fwd;

typedef struct {
    int device;
    cudaStream_t stream;
    cublasLtHandle_t lt;
    void *lt_workspace;
    size_t lt_workspace_bytes;
    /* scratch for conversions and reductions, grown on demand (never shrinks) */
    void *scratch;
    size_t scratch_bytes;
    void *scratch2;                /* second scratch (embedding sort) */
    size_t scratch2_bytes;
    double *red_partials;          /* sum_squares partials (device) */
    double *red_host;              /* pinned result */
    void *nccl_comm;               /* ncclComm_t when initialised */
    int nccl_world;
    cudaStream_t nccl_stream;      /* side stream of the bucketed gradient reduction (nccl.cu) */
    cudaEvent_t nccl_ev_main, nccl_ev_side;
    void *rope_tab;                /* float2 cos/sin table (rope.cu) */
    int rope_T, rope_dh;
    double rope_base;
    void *lt_cache;                /* cuBLASLt plans per shape (matmul.cu) */
    unsigned long buf_epoch;       /* bumped when a scratch/pad buffer is reallocated (graph.cu) */
    const char *decode_path;       /* the last decode attention's path (decode.cu; benches report it) */
    int decode_grid[3];            /* ... its blocks per row, warps per block (0: generic), tokens per split */
} t6_cuda_impl;

static inline t6_cuda_impl *cu_impl(t6_backend *be) { return (t6_cuda_impl *)be->impl; }
static inline cudaStream_t cu_stream(t6_backend *be) { return cu_impl(be)->stream; }
static inline int cu_bf16(const t6_backend *be) { return be->act_bytes == 2; }

/* The backend's device allocator (cuda_backend.cu): every device buffer goes through
 * these, so t6_backend_mem_stats counts it. Fatal, naming the sizes, when the device is
 * full. dev_free synchronises the device (cudaFree); the async pair is stream-ordered. */
void *t6_cuda_dev_alloc(t6_backend *be, size_t bytes);
void t6_cuda_dev_free(t6_backend *be, void *p);
void *t6_cuda_dev_alloc_async(t6_backend *be, size_t bytes);
void t6_cuda_dev_free_async(t6_backend *be, void *p);

/* Device scratch of at least `bytes` (contents undefined; stream-ordered reuse). */
void *t6_cuda_scratch(t6_backend *be, size_t bytes);
void *t6_cuda_scratch2(t6_backend *be, size_t bytes);

/* Element conversions used by the templates: compute always in float. */
__device__ __forceinline__ float t6_ld(const float *p) { return *p; }
__device__ __forceinline__ float t6_ld(const __nv_bfloat16 *p) { return __bfloat162float(*p); }
__device__ __forceinline__ void t6_st(float *p, float v) { *p = v; }
__device__ __forceinline__ void t6_st(__nv_bfloat16 *p, float v) { *p = __float2bfloat16(v); }
/* two consecutive elements; p must be aligned to 2 elements */
__device__ __forceinline__ void t6_st2(float *p, float a, float b) { *(float2 *)p = make_float2(a, b); }
__device__ __forceinline__ void t6_st2(__nv_bfloat16 *p, float a, float b)
{
    *(__nv_bfloat162 *)p = __floats2bfloat162_rn(a, b);
}
__device__ __forceinline__ float t6_cvt(float v) { return v; }
__device__ __forceinline__ float t6_cvt(__nv_bfloat16 v) { return __bfloat162float(v); }

__device__ __forceinline__ float t6_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float t6_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Block-wide sum for blockDim.x a multiple of 32 (<= 1024); every thread gets it. */
__device__ __forceinline__ float t6_block_sum(float v)
{
    __shared__ float part[32];
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = t6_warp_sum(v);
    __syncthreads();              /* part[] may still be read by a previous call */
    if (lane == 0) part[wid] = v;
    __syncthreads();
    v = lane < nw ? part[lane] : 0.0f;
    return t6_warp_sum(v);
}
__device__ __forceinline__ float t6_block_max(float v)
{
    __shared__ float partm[32];
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = t6_warp_max(v);
    __syncthreads();
    if (lane == 0) partm[wid] = v;
    __syncthreads();
    v = lane < nw ? partm[lane] : -INFINITY;
    return t6_warp_max(v);
}

static inline unsigned t6_blocks(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    if (b > 0x7fffffffu) b = 0x7fffffffu;
    return (unsigned)(b ? b : 1);
}

/* ---- per-op entry points (one file each, named like src/cpu/ counterparts) ---- */
void t6_cuda_embed_fwd(t6_backend *be, void *out, const void *wte, const int32_t *tokens, int N, int d);
void t6_cuda_embed_bwd(t6_backend *be, float *dwte, const void *dout, const int32_t *tokens, int N, int d);
void t6_cuda_rmsnorm_fwd(t6_backend *be, void *out, float *rstd, const void *inp, int N, int d);
void t6_cuda_rmsnorm_bwd(t6_backend *be, void *dinp, const void *dout, const void *inp,
                         const float *rstd, int N, int d);
void t6_cuda_add_rmsnorm_fwd(t6_backend *be, void *x, const void *y, void *out, float *rstd, int N, int d);
void t6_cuda_matmul_fwd(t6_backend *be, void *out, int ld_out, const void *inp, int ld_inp, const void *w,
                        int N, int C, int OC, int accumulate);
void t6_cuda_matmul_bwd(t6_backend *be, void *dinp, int ld_dinp, float *dw, const void *dout, int ld_dout,
                        const void *inp, int ld_inp, const void *w, int N, int C, int OC, int accumulate_dinp);
void t6_cuda_rope_fwd(t6_backend *be, void *x, int B, int T, int rows, int dh, double base);
void t6_cuda_rope_bwd(t6_backend *be, void *dx, int B, int T, int rows, int dh, double base);
void t6_cuda_tpa_product_fwd(t6_backend *be, void *out, const void *A, const void *Bf,
                             int N, int h, int R, int dh);
void t6_cuda_tpa_product_bwd(t6_backend *be, void *dA, void *dBf, const void *dout,
                             const void *A, const void *Bf, int N, int h, int R, int dh);
void t6_cuda_tpa_split(t6_backend *be, void *const f[6], const void *fac, int ld, int B, int T, int h, int RQ,
                       int RK, int RV, int dh, double base);
void t6_cuda_tpa_join(t6_backend *be, void *fac, int ld, const void *const f[6], int B, int T, int h, int RQ,
                      int RK, int RV, int dh, double base);
void t6_cuda_tpa_qkv_fwd(t6_backend *be, void *q, void *k, void *v, const void *fac, int ld, int B, int T, int h,
                         int RQ, int RK, int RV, int dh, double base);
void t6_cuda_tpa_qkv_bwd(t6_backend *be, void *dfac, const void *dq, const void *dk, const void *dv,
                         const void *fac, int ld, int B, int T, int h, int RQ, int RK, int RV, int dh, double base);
/* rope.cu's cos/sin table [t][i] (float2) for (T, dh, base), built on first use */
const float2 *t6_cuda_rope_table(t6_backend *be, int T, int dh, double base);
void t6_cuda_attention_fwd(t6_backend *be, void *out, float *lse, const void *q, const void *k,
                           const void *v, int B, int T, int h, int G, int dh);
void t6_cuda_attention_bwd(t6_backend *be, void *dq, void *dk, void *dv, const void *dout,
                           const void *out, const float *lse, const void *q, const void *k,
                           const void *v, int B, int T, int h, int G, int dh);
void t6_cuda_rope_fwd_pos(t6_backend *be, void *x, const int32_t *pos, int N, int rows, int dh, double base);
void t6_cuda_cache_scatter(t6_backend *be, void *cache, const void *src, int ld_src, const int32_t *pos,
                           int N, int M_max, int width);
void t6_cuda_decode_attention_tpa(t6_backend *be, void *out, const void *q, const void *ak, const void *bk,
                                  const void *av, const void *bv, const int32_t *lens,
                                  int B, int M_max, int h, int R_K, int R_V, int dh);
void t6_cuda_decode_attention_kv(t6_backend *be, void *out, const void *q, const void *k, const void *v,
                                 const int32_t *lens, int B, int M_max, int h, int G, int dh);
void t6_cuda_decode_attention_mla(t6_backend *be, void *out, const void *q, const void *cache, const int32_t *lens,
                                  int B, int M_max, int h, int d_c, int d_R, float scale);
void t6_cuda_swiglu_fwd(t6_backend *be, void *out, const void *h1, const void *h2, size_t n);
void t6_cuda_swiglu_bwd(t6_backend *be, void *dh1, void *dh2, const void *dout,
                        const void *h1, const void *h2, size_t n);
void t6_cuda_add_inplace(t6_backend *be, void *x, const void *y, size_t n);
void t6_cuda_cross_entropy(t6_backend *be, float *losses, void *logits, const int32_t *targets,
                           int N, int V, float grad_scale);
void t6_cuda_adamw(t6_backend *be, float *param, void *compute, const float *grad, float *m, float *v,
                   size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                   long step, float grad_scale);
double t6_cuda_sum_squares(t6_backend *be, const float *x, size_t n);
void t6_cuda_scale(t6_backend *be, float *x, float s, size_t n);
void t6_cuda_copy_rows(t6_backend *be, void *dst, int ld_dst, const void *src, int ld_src, int rows, int width,
                       int accumulate);
void t6_cuda_mla_split(t6_backend *be, void *q, void *k, void *v, const void *kv, const void *kpe, int ld_kpe, int B,
                       int T, int h, int dn, int dr, int dvh, double base);
void t6_cuda_mla_join(t6_backend *be, void *dq, void *dkv, void *dkpe, int ld_dkpe, const void *dk, const void *dv,
                      int B, int T, int h, int dn, int dr, int dvh, double base);
void t6_cuda_rmsnorm_w_fwd(t6_backend *be, void *out, float *rstd, const void *inp, const void *w, int N, int d,
                           float eps);
void t6_cuda_rmsnorm_w_bwd(t6_backend *be, void *dinp, float *dw, const void *dout, const void *inp, const void *w,
                           const float *rstd, int N, int d);
/* graphs (graph.cu): the ops table's graph_* slots, and the call every reallocation of
 * a backend-owned buffer (scratch, GEMM pads, RoPE table) makes first: it marks the
 * recorded graphs stale, and refuses (fatal) a reallocation while a graph is recorded */
int t6_cuda_graph_begin(t6_backend *be);
void *t6_cuda_graph_end(t6_backend *be);
int t6_cuda_graph_launch(t6_backend *be, void *graph);
void t6_cuda_graph_free(t6_backend *be, void *graph);
void t6_cuda_buffers_changed(t6_backend *be);
void t6_cuda_params_to_compute(t6_backend *be, void *compute, const float *master, size_t n);
void t6_cuda_act_from_float(t6_backend *be, void *act, const float *host, size_t n);
void t6_cuda_act_to_float(t6_backend *be, float *host, const void *act, size_t n);
void t6_cuda_matmul_init(t6_backend *be);
void t6_cuda_matmul_destroy(t6_backend *be);
void t6_cuda_nccl_destroy(t6_backend *be);

/* Dispatch on the act type: calls F<float> or F<__nv_bfloat16>. */
#define T6_ACT_DISPATCH(be, T, ...)                                    \
    do {                                                               \
        if (cu_bf16(be)) { typedef __nv_bfloat16 T; __VA_ARGS__; }     \
        else { typedef float T; __VA_ARGS__; }                         \
    } while (0)

#endif
