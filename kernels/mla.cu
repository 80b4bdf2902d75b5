/* mla.cu -- the CUDA forms of MLA's building blocks (backend.h; CPU forms in
 * src/cpu/cpu_backend.c (copy_rows) and src/cpu/cpu_norm_rope.c (rmsnorm_w)):
 *  - copy_rows: strided block copy/accumulate of act rows (head splits and joins);
 *  - rmsnorm_w: RMSNorm with a weight and eps, one block per row; the weight gradient
 *    is a column sum done by a second kernel that walks the rows in order, so it is
 *    deterministic (no atomics). */
#include "cuda_common.cuh"

/* rows over blockIdx.y (grid-stride), columns over x: no per-element division (a
 * 64-bit one per element made this copy integer-bound at the sizes of TPA's factors) */
template <typename T>
__global__ void k_copy_rows(T *dst, int ld_dst, const T *src, int ld_src, int rows, int width, int accumulate)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= width) return;
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        T *d = dst + (size_t)r * ld_dst + j;
        float v = t6_ld(src + (size_t)r * ld_src + j);
        t6_st(d, accumulate ? t6_ld(d) + v : v);
    }
}

void t6_cuda_copy_rows(t6_backend *be, void *dst, int ld_dst, const void *src, int ld_src, int rows, int width,
                       int accumulate)
{
    if (rows <= 0 || width <= 0) return;
    const int bx = width >= 256 ? 256 : (width + 31) / 32 * 32;
    dim3 grid((width + bx - 1) / bx, rows < 65535 ? rows : 65535);
    T6_ACT_DISPATCH(be, T, {
        k_copy_rows<T><<<grid, bx, 0, cu_stream(be)>>>((T *)dst, ld_dst, (const T *)src, ld_src, rows, width,
                                                      accumulate);
        CUDA_CHECK_LAUNCH();
    });
}

template <typename T>
__global__ void k_rmsnorm_w_fwd(T *out, float *rstd, const T *inp, const T *w, int d, float eps)
{
    size_t row = blockIdx.x;
    const T *x = inp + row * d;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) { float v = t6_ld(x + j); ss += v * v; }
    ss = t6_block_sum(ss);
    float r = rsqrtf(ss / d + eps);
    for (int j = threadIdx.x; j < d; j += blockDim.x) t6_st(out + row * d + j, t6_ld(x + j) * r * t6_ld(w + j));
    if (threadIdx.x == 0) rstd[row] = r;
}

template <typename T>
__global__ void k_rmsnorm_w_bwd(T *dinp, const T *dout, const T *inp, const T *w, const float *rstd, int d)
{
    size_t row = blockIdx.x;
    const T *x = inp + row * d, *dy = dout + row * d;
    float dot = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) dot += t6_ld(w + j) * t6_ld(dy + j) * t6_ld(x + j);
    dot = t6_block_sum(dot);
    float r = rstd[row];
    float c = r * r * r * dot / d;
    for (int j = threadIdx.x; j < d; j += blockDim.x)
        t6_st(dinp + row * d + j, r * t6_ld(w + j) * t6_ld(dy + j) - c * t6_ld(x + j));
}

/* dw[j] += sum_n dy[n,j] x[n,j] r[n]: one thread per column, rows in order. */
template <typename T>
__global__ void k_rmsnorm_w_dw(float *dw, const T *dout, const T *inp, const float *rstd, int N, int d)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= d) return;
    float acc = 0.0f;
    for (int n = 0; n < N; n++) acc += t6_ld(dout + (size_t)n * d + j) * t6_ld(inp + (size_t)n * d + j) * rstd[n];
    dw[j] += acc;
}

static int rows_threads(int d) { int t = ((d + 31) / 32) * 32; return t > 1024 ? 1024 : (t < 32 ? 32 : t); }

void t6_cuda_rmsnorm_w_fwd(t6_backend *be, void *out, float *rstd, const void *inp, const void *w, int N, int d,
                           float eps)
{
    if (N <= 0) return;
    T6_ACT_DISPATCH(be, T, {
        k_rmsnorm_w_fwd<T><<<N, rows_threads(d / 2 > 32 ? d / 2 : d), 0, cu_stream(be)>>>(
            (T *)out, rstd, (const T *)inp, (const T *)w, d, eps);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_rmsnorm_w_bwd(t6_backend *be, void *dinp, float *dw, const void *dout, const void *inp, const void *w,
                           const float *rstd, int N, int d)
{
    if (N <= 0) return;
    T6_ACT_DISPATCH(be, T, {
        k_rmsnorm_w_bwd<T><<<N, rows_threads(d / 2 > 32 ? d / 2 : d), 0, cu_stream(be)>>>(
            (T *)dinp, (const T *)dout, (const T *)inp, (const T *)w, rstd, d);
        CUDA_CHECK_LAUNCH();
        k_rmsnorm_w_dw<T><<<t6_blocks((size_t)d, 128), 128, 0, cu_stream(be)>>>(dw, (const T *)dout, (const T *)inp,
                                                                                 rstd, N, d);
        CUDA_CHECK_LAUNCH();
    });
}
