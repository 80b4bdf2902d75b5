/* mla.cu -- the CUDA forms of MLA's building blocks (backend.h; CPU forms in
 * src/cpu/cpu_backend.c (copy_rows) and src/cpu/cpu_norm_rope.c (rmsnorm_w)):
 *  - copy_rows: strided block copy/accumulate of act rows (head splits and joins;
 *    16-byte units when the rows allow);
 *  - rmsnorm_w: RMSNorm with a weight and eps, one block per row; the weight gradient
 *    is a column sum in two passes (row chunks, then the chunks in order), so it is
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

/* A plain copy whose rows are whole 16-byte units (row bytes, strides and pointers
 * multiples of 16): the rows as uint4s, a flat index over (row, unit). MLA's copies of
 * 64-column heads out of 96-column ones take this path in bf16 and fp32 alike. */
__global__ void k_copy_rows16(uint4 *dst, int ld_dst, const uint4 *src, int ld_src, int rows, int w16)
{
    const unsigned total = (unsigned)rows * (unsigned)w16;
    for (unsigned idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x) {
        const unsigned r = idx / (unsigned)w16, c = idx - r * (unsigned)w16;
        dst[(size_t)r * ld_dst + c] = src[(size_t)r * ld_src + c];
    }
}

void t6_cuda_copy_rows(t6_backend *be, void *dst, int ld_dst, const void *src, int ld_src, int rows, int width,
                       int accumulate)
{
    if (rows <= 0 || width <= 0) return;
    const size_t es = be->act_bytes;
    if (!accumulate && (width * es) % 16 == 0 && (ld_dst * es) % 16 == 0 && (ld_src * es) % 16 == 0 &&
        (uintptr_t)dst % 16 == 0 && (uintptr_t)src % 16 == 0 && (size_t)rows * (width * es / 16) < (1u << 31)) {
        const int w16 = (int)(width * es / 16);
        const size_t total = (size_t)rows * w16;
        unsigned g = t6_blocks(total, 256);
        if (g > 65535u * 8) g = 65535u * 8;
        k_copy_rows16<<<g, 256, 0, cu_stream(be)>>>((uint4 *)dst, (int)(ld_dst * es / 16), (const uint4 *)src,
                                                   (int)(ld_src * es / 16), rows, w16);
        CUDA_CHECK_LAUNCH();
        return;
    }
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

/* dw[j] += sum_n dy[n,j] x[n,j] r[n], in two deterministic passes. The first pass was
 * once the whole op: one thread per column walking all N rows, i.e. d threads (2 to 4
 * blocks at d_c = 256, d'_c = 512) each making N dependent round trips to memory:
 * milliseconds per call at N = 24k, a third of MLA small's step, and invisible in the
 * per-op profile. Now pass 1 gives each block a 32-column tile and a chunk of rows
 * (8 row lanes, each walking its rows in order; the lanes summed in lane order) and
 * writes one partial per (chunk, column); pass 2 sums the chunks in order. The chunking
 * depends on N only, so the result is bitwise the same on every run. */
#define DW_LANES 8
#define DW_MAX_CHUNKS 128

static int dw_chunks(int N)
{
    int p = (N + 255) / 256;   /* ~256 rows (32 per lane) per chunk at least */
    return p < 1 ? 1 : (p > DW_MAX_CHUNKS ? DW_MAX_CHUNKS : p);
}

template <typename T>
__global__ void k_rmsnorm_w_dw_part(float *part, const T *dout, const T *inp, const float *rstd, int N, int d,
                                    int rows_per_chunk)
{
    __shared__ float acc_s[DW_LANES][32];
    const int j = blockIdx.x * 32 + threadIdx.x, lane = threadIdx.y;
    const int r0 = blockIdx.y * rows_per_chunk, r1 = min(N, r0 + rows_per_chunk);
    float acc = 0.0f;
    if (j < d)
        for (int n = r0 + lane; n < r1; n += DW_LANES)
            acc += t6_ld(dout + (size_t)n * d + j) * t6_ld(inp + (size_t)n * d + j) * rstd[n];
    acc_s[lane][threadIdx.x] = acc;
    __syncthreads();
    if (lane == 0 && j < d) {
        float s = acc_s[0][threadIdx.x];
        for (int k = 1; k < DW_LANES; k++) s += acc_s[k][threadIdx.x];
        part[(size_t)blockIdx.y * d + j] = s;
    }
}

__global__ void k_rmsnorm_w_dw_sum(float *dw, const float *part, int chunks, int d)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= d) return;
    float s = 0.0f;
    for (int p = 0; p < chunks; p++) s += part[(size_t)p * d + j];
    dw[j] += s;
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
        const int chunks = dw_chunks(N), rows_per_chunk = (N + chunks - 1) / chunks;
        float *part = (float *)t6_cuda_scratch(be, (size_t)chunks * d * sizeof(float));
        k_rmsnorm_w_dw_part<T><<<dim3((d + 31) / 32, chunks), dim3(32, DW_LANES), 0, cu_stream(be)>>>(
            part, (const T *)dout, (const T *)inp, rstd, N, d, rows_per_chunk);
        CUDA_CHECK_LAUNCH();
        k_rmsnorm_w_dw_sum<<<t6_blocks((size_t)d, 128), 128, 0, cu_stream(be)>>>(dw, part, chunks, d);
        CUDA_CHECK_LAUNCH();
    });
}
