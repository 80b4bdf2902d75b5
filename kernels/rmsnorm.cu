/* rmsnorm.cu -- RMSNorm without weight, eps = FLT_EPSILON, and its fusion with the
 * residual add before it (add_rmsnorm_fwd: x += y; out = rmsnorm(x)). The backward
 * ACCUMULATES into dinp (the residual-stream gradient): dx += r*dy - x r^3 mean(dy*x),
 * which is the residual add of the backward already fused (there is no weight, so no
 * weight-gradient reduction).
 *
 * Two paths: bf16 rows with d % 8 == 0, d <= 2048 and 16-byte aligned buffers go
 * through one-warp-per-row kernels that hold the row in registers as 16-byte vectors,
 * templated on the vectors per lane (d = 768: 3) so no registers are spent on absent
 * ones; every load of a row (x, dy, the old dinp, rstd) is issued before the warp's
 * reduction, so each warp has all its reads in flight at once (the aim is the HBM
 * rate; doc/cuda.md "RMSNorm and the residual" has the byte count). Everything else (fp32, odd d) goes through block-per-row kernels, and
 * add_rmsnorm_fwd there through add_inplace + rmsnorm_fwd (not a speed path). Both
 * paths sum in one fixed order, so results do not depend on the launch. */
#include "cuda_common.cuh"

#include <float.h>

/* ---- generic: one block per row ---- */

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

/* ---- bf16 vector path: one warp per row, NV 16-byte vectors per lane ---- */
#define RMS_MAXV 8
#define RMS_THREADS 256
/* Blocks per SM the register budget must allow (ptxas -v, sm_90, no spills): 32 warps
 * per SM (<= 64 registers) for the forward with NV <= 4 and the backward with NV <= 3
 * (d <= 768), 24 (<= 80) for the backward's NV = 4, 16 for NV = 5. The kernels before
 * these took 152 registers in the backward for every d (8 warps per SM) and read dinp
 * only after the reduction: ~100 us a call at N = 24576, d = 768 on an H200 (the
 * profile of issue #13) against ~31 us for its 151 MB at 4.8 TB/s. */
#define RMS_FWD_MIN_BLOCKS(NV) ((NV) <= 4 ? 4 : 2)
#define RMS_BWD_MIN_BLOCKS(NV) ((NV) <= 3 ? 4 : (NV) == 4 ? 3 : (NV) == 5 ? 2 : 1)
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

/* The vector as it is, but ptxas cannot see that: unpacking it again after the
 * reduction is then cheaper for it than keeping the first unpacking's floats live
 * across it (which took 3x the registers of the vectors themselves, and spilled). */
__device__ __forceinline__ uint4 opaque(uint4 u)
{
    asm volatile("" : "+r"(u.x), "+r"(u.y), "+r"(u.z), "+r"(u.w));
    return u;
}

/* lane's k-th vector is v = lane + 32 k (coalesced: a warp reads 512 contiguous bytes) */
template <int NV, bool ADD>
__global__ void __launch_bounds__(RMS_THREADS, RMS_FWD_MIN_BLOCKS(NV)) k_rmsnorm_fwd8(uint4 *out, float *rstd, uint4 *inp,
                                                              const uint4 *addend, int N, int d)
{
    int row = blockIdx.x * (RMS_THREADS >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= N) return;
    int nv = d / 8;
    size_t base = (size_t)row * nv;
    uint4 xv[NV], yv[NV];
#pragma unroll
    for (int k = 0; k < NV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            xv[k] = inp[base + v];
            if (ADD) yv[k] = __ldcs(addend + base + v);   /* read once: stream past L2 */
        }
    }
    float ss = 0.0f;
#pragma unroll
    for (int k = 0; k < NV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            float f[8];
            unpack8f(xv[k], f);
            if (ADD) {
                float g[8];
                unpack8f(yv[k], g);
#pragma unroll
                for (int e = 0; e < 8; e++) f[e] += g[e];
                xv[k] = pack8f(f);            /* the stored sum, rounded ... */
                inp[base + v] = xv[k];
                unpack8f(xv[k], f);           /* ... is what gets normalised */
            }
#pragma unroll
            for (int e = 0; e < 8; e++) ss += f[e] * f[e];
        }
    }
    ss = t6_warp_sum(ss);
    float r = rsqrtf(ss / d + FLT_EPSILON);
#pragma unroll
    for (int k = 0; k < NV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            float f[8];
            unpack8f(xv[k], f);
#pragma unroll
            for (int e = 0; e < 8; e++) f[e] *= r;
            out[base + v] = pack8f(f);
        }
    }
    if (lane == 0) rstd[row] = r;
}

template <int NV>
__global__ void __launch_bounds__(RMS_THREADS, RMS_BWD_MIN_BLOCKS(NV)) k_rmsnorm_bwd8(uint4 *dinp, const uint4 *dout, const uint4 *inp,
                                                              const float *rstd, int N, int d)
{
    int row = blockIdx.x * (RMS_THREADS >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= N) return;
    int nv = d / 8;
    size_t base = (size_t)row * nv;
    /* all of the row's reads first: x and dy are read once (streamed), the old dinp
     * is rewritten below and read again by the next op (cached) */
    const float r = rstd[row];
    uint4 xv[NV], gv[NV], ov[NV];
#pragma unroll
    for (int k = 0; k < NV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            xv[k] = __ldcs(inp + base + v);
            gv[k] = __ldcs(dout + base + v);
            ov[k] = dinp[base + v];
        }
    }
    float dot = 0.0f;
#pragma unroll
    for (int k = 0; k < NV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            float a[8], g[8];
            unpack8f(xv[k], a);
            unpack8f(gv[k], g);
#pragma unroll
            for (int e = 0; e < 8; e++) dot += a[e] * g[e];
        }
    }
    dot = t6_warp_sum(dot);
    float c = r * r * r * dot / d;
#pragma unroll
    for (int k = 0; k < NV; k++) {
        int v = lane + 32 * k;
        if (v < nv) {
            float a[8], g[8], o[8];
            unpack8f(opaque(xv[k]), a);
            unpack8f(opaque(gv[k]), g);
            unpack8f(ov[k], o);
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
static unsigned rms_grid(int N) { return (unsigned)((N + (RMS_THREADS >> 5) - 1) / (RMS_THREADS >> 5)); }

/* vectors per lane for a row of d bf16 (1..RMS_MAXV) */
static int rms_nv(int d) { return (d / 8 + 31) / 32; }

#define RMS_NV_CASES(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)

template <bool ADD>
static void fwd8_launch(t6_backend *be, void *out, float *rstd, void *x, const void *y, int N, int d)
{
    switch (rms_nv(d)) {
#define FWD8_CASE(V)                                                                                           \
    case V:                                                                                                    \
        k_rmsnorm_fwd8<V, ADD><<<rms_grid(N), RMS_THREADS, 0, cu_stream(be)>>>((uint4 *)out, rstd, (uint4 *)x, \
                                                                               (const uint4 *)y, N, d);        \
        break;
        RMS_NV_CASES(FWD8_CASE)
#undef FWD8_CASE
    }
    CUDA_CHECK_LAUNCH();
}

void t6_cuda_rmsnorm_fwd(t6_backend *be, void *out, float *rstd, const void *inp, int N, int d)
{
    if (N <= 0) return;
    const void *p[] = {out, inp};
    if (rms_vec_ok(be, d, p, 2)) {
        fwd8_launch<false>(be, out, rstd, (void *)inp, NULL, N, d);   /* ADD = false never writes inp */
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_rmsnorm_fwd<T><<<N, threads_for(d / 2 > 32 ? d / 2 : d), 0, cu_stream(be)>>>((T *)out, rstd, (const T *)inp, d);
        CUDA_CHECK_LAUNCH();
    });
}

/* Fused on the vector path; elsewhere (fp32, odd d, a misaligned buffer) the two ops
 * themselves, so the result is theirs exactly whichever path each would take. */
void t6_cuda_add_rmsnorm_fwd(t6_backend *be, void *x, const void *y, void *out, float *rstd, int N, int d)
{
    if (N <= 0) return;
    const void *p[] = {out, x, y};
    if (rms_vec_ok(be, d, p, 3)) {
        fwd8_launch<true>(be, out, rstd, x, y, N, d);
        return;
    }
    t6_cuda_add_inplace(be, x, y, (size_t)N * d);
    t6_cuda_rmsnorm_fwd(be, out, rstd, x, N, d);
}

void t6_cuda_rmsnorm_bwd(t6_backend *be, void *dinp, const void *dout, const void *inp,
                         const float *rstd, int N, int d)
{
    if (N <= 0) return;
    const void *p[] = {dinp, dout, inp};
    if (rms_vec_ok(be, d, p, 3)) {
        switch (rms_nv(d)) {
#define BWD8_CASE(V)                                                                                              \
    case V:                                                                                                       \
        k_rmsnorm_bwd8<V><<<rms_grid(N), RMS_THREADS, 0, cu_stream(be)>>>((uint4 *)dinp, (const uint4 *)dout,     \
                                                                          (const uint4 *)inp, rstd, N, d);        \
        break;
            RMS_NV_CASES(BWD8_CASE)
#undef BWD8_CASE
        }
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_rmsnorm_bwd<T><<<N, threads_for(d / 2 > 32 ? d / 2 : d), 0, cu_stream(be)>>>((T *)dinp, (const T *)dout,
                                                                               (const T *)inp, rstd, d);
        CUDA_CHECK_LAUNCH();
    });
}
