/* rmsnorm.cu -- RMSNorm without weight, eps = FLT_EPSILON: one block per row, the
 * sum of squares in fp32. The backward ACCUMULATES into dinp (the residual-stream
 * gradient): dx += r*dy - x r^3 mean(dy*x). */
#include "cuda_common.cuh"

#include <float.h>

template <typename T>
__global__ void k_rmsnorm_fwd(T *out, float *rstd, const T *inp, int d)
{
    size_t row = blockIdx.x;
    const T *x = inp + row * d;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) { float v = t6_ld(x + j); ss += v * v; }
    ss = t6_block_sum(ss);
    float r = rsqrtf(ss / d + FLT_EPSILON);
    for (int j = threadIdx.x; j < d; j += blockDim.x) t6_st(out + row * d + j, t6_ld(x + j) * r);
    if (threadIdx.x == 0) rstd[row] = r;
}

template <typename T>
__global__ void k_rmsnorm_bwd(T *dinp, const T *dout, const T *inp, const float *rstd, int d)
{
    size_t row = blockIdx.x;
    const T *x = inp + row * d, *dy = dout + row * d;
    float dot = 0.0f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) dot += t6_ld(dy + j) * t6_ld(x + j);
    dot = t6_block_sum(dot);
    float r = rstd[row];
    float c = r * r * r * dot / d;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        T *p = dinp + row * d + j;
        t6_st(p, t6_ld(p) + r * t6_ld(dy + j) - c * t6_ld(x + j));
    }
}

/* bf16 rows with d % 8 == 0 and d <= 2048: one warp per row, the row held in
 * registers as 16-byte vectors (one read of x for the forward, x and dy once each for
 * the backward). */
#define RMS_MAXV 8
__device__ __forceinline__ void unpack8f(const uint4 &u, float f[8])
{
    const __nv_bfloat162 *p = (const __nv_bfloat162 *)&u;
#pragma unroll
    for (int k = 0; k < 4; k++) { float2 t = __bfloat1622float2(p[k]); f[2 * k] = t.x; f[2 * k + 1] = t.y; }
}
__device__ __forceinline__ uint4 pack8f(const float f[8])
{
    uint4 u;
    __nv_bfloat162 *p = (__nv_bfloat162 *)&u;
#pragma unroll
    for (int k = 0; k < 4; k++) p[k] = __floats2bfloat162_rn(f[2 * k], f[2 * k + 1]);
    return u;
}

__global__ void k_rmsnorm_fwd8(uint4 *out, float *rstd, const uint4 *inp, int N, int d)
{
    int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= N) return;
    int nv = d / 8;
    const uint4 *x = inp + (size_t)row * nv;
    uint4 xv[RMS_MAXV];
    float ss = 0.0f;
#pragma unroll
    for (int k = 0; k < RMS_MAXV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            xv[k] = x[v];
            float f[8];
            unpack8f(xv[k], f);
#pragma unroll
            for (int e = 0; e < 8; e++) ss += f[e] * f[e];
        }
    }
    ss = t6_warp_sum(ss);
    float r = rsqrtf(ss / d + FLT_EPSILON);
#pragma unroll
    for (int k = 0; k < RMS_MAXV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            float f[8];
            unpack8f(xv[k], f);
#pragma unroll
            for (int e = 0; e < 8; e++) f[e] *= r;
            out[(size_t)row * nv + v] = pack8f(f);
        }
    }
    if (lane == 0) rstd[row] = r;
}

__global__ void k_rmsnorm_bwd8(uint4 *dinp, const uint4 *dout, const uint4 *inp, const float *rstd, int N, int d)
{
    int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= N) return;
    int nv = d / 8;
    size_t base = (size_t)row * nv;
    uint4 xv[RMS_MAXV], gv[RMS_MAXV];
    float dot = 0.0f;
#pragma unroll
    for (int k = 0; k < RMS_MAXV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            xv[k] = inp[base + v];
            gv[k] = dout[base + v];
            float a[8], g[8];
            unpack8f(xv[k], a);
            unpack8f(gv[k], g);
#pragma unroll
            for (int e = 0; e < 8; e++) dot += a[e] * g[e];
        }
    }
    dot = t6_warp_sum(dot);
    float r = rstd[row];
    float c = r * r * r * dot / d;
#pragma unroll
    for (int k = 0; k < RMS_MAXV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            float a[8], g[8], o[8];
            unpack8f(xv[k], a);
            unpack8f(gv[k], g);
            unpack8f(dinp[base + v], o);
#pragma unroll
            for (int e = 0; e < 8; e++) o[e] += r * g[e] - c * a[e];
            dinp[base + v] = pack8f(o);
        }
    }
}

static int rms_vec_ok(const t6_backend *be, int d, const void *const *p, int np)
{
    if (!cu_bf16(be) || d % 8 || d > 8 * 32 * RMS_MAXV) return 0;
    for (int k = 0; k < np; k++)
        if ((uintptr_t)p[k] & 15) return 0;
    return 1;
}

static int threads_for(int d) { int t = ((d + 31) / 32) * 32; return t > 1024 ? 1024 : (t < 32 ? 32 : t); }

void t6_cuda_rmsnorm_fwd(t6_backend *be, void *out, float *rstd, const void *inp, int N, int d)
{
    if (N <= 0) return;
    const void *p[] = {out, inp};
    if (rms_vec_ok(be, d, p, 2)) {
        k_rmsnorm_fwd8<<<(N + 7) / 8, 256, 0, cu_stream(be)>>>((uint4 *)out, rstd, (const uint4 *)inp, N, d);
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_rmsnorm_fwd<T><<<N, threads_for(d / 2 > 32 ? d / 2 : d), 0, cu_stream(be)>>>((T *)out, rstd, (const T *)inp, d);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_rmsnorm_bwd(t6_backend *be, void *dinp, const void *dout, const void *inp,
                         const float *rstd, int N, int d)
{
    if (N <= 0) return;
    const void *p[] = {dinp, dout, inp};
    if (rms_vec_ok(be, d, p, 3)) {
        k_rmsnorm_bwd8<<<(N + 7) / 8, 256, 0, cu_stream(be)>>>((uint4 *)dinp, (const uint4 *)dout, (const uint4 *)inp,
                                                               rstd, N, d);
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_rmsnorm_bwd<T><<<N, threads_for(d / 2 > 32 ? d / 2 : d), 0, cu_stream(be)>>>((T *)dinp, (const T *)dout,
                                                                               (const T *)inp, rstd, d);
        CUDA_CHECK_LAUNCH();
    });
}
