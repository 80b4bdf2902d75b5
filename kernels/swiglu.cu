/* swiglu.cu -- out = silu(h1) * h2 and its backward, elementwise; the residual-stream
 * add (x += y) lives here too as the other elementwise op. bf16 buffers whose length
 * is a multiple of 8 go through 16-byte vector paths. */
#include "cuda_common.cuh"

template <typename T>
__global__ void k_swiglu_fwd(T *out, const T *h1, const T *h2, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float a = t6_ld(h1 + i), b = t6_ld(h2 + i);
        float s = 1.0f / (1.0f + expf(-a));
        t6_st(out + i, a * s * b);
    }
}

template <typename T>
__global__ void k_swiglu_bwd(T *dh1, T *dh2, const T *dout, const T *h1, const T *h2, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float a = t6_ld(h1 + i), b = t6_ld(h2 + i), g = t6_ld(dout + i);
        float s = 1.0f / (1.0f + expf(-a));
        /* d silu(a)/da = s (1 + a (1 - s)) */
        t6_st(dh1 + i, g * b * s * (1.0f + a * (1.0f - s)));
        t6_st(dh2 + i, g * a * s);
    }
}

template <typename T>
__global__ void k_add(T *x, const T *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        t6_st(x + i, t6_ld(x + i) + t6_ld(y + i));
}

/* bf16 fast path: 8 elements (16 bytes) per thread per access */
__device__ __forceinline__ void unpack8(const uint4 &u, float f[8])
{
    const __nv_bfloat162 *p = (const __nv_bfloat162 *)&u;
#pragma unroll
    for (int k = 0; k < 4; k++) { float2 t = __bfloat1622float2(p[k]); f[2 * k] = t.x; f[2 * k + 1] = t.y; }
}
__device__ __forceinline__ uint4 pack8(const float f[8])
{
    uint4 u;
    __nv_bfloat162 *p = (__nv_bfloat162 *)&u;
#pragma unroll
    for (int k = 0; k < 4; k++) p[k] = __floats2bfloat162_rn(f[2 * k], f[2 * k + 1]);
    return u;
}

__global__ void k_swiglu_fwd8(uint4 *out, const uint4 *h1, const uint4 *h2, size_t n8)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n8; i += (size_t)gridDim.x * blockDim.x) {
        float a[8], b[8], o[8];
        unpack8(h1[i], a);
        unpack8(h2[i], b);
#pragma unroll
        for (int k = 0; k < 8; k++) o[k] = a[k] / (1.0f + __expf(-a[k])) * b[k];
        out[i] = pack8(o);
    }
}

__global__ void k_swiglu_bwd8(uint4 *dh1, uint4 *dh2, const uint4 *dout, const uint4 *h1, const uint4 *h2, size_t n8)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n8; i += (size_t)gridDim.x * blockDim.x) {
        float a[8], b[8], g[8], d1[8], d2[8];
        unpack8(h1[i], a);
        unpack8(h2[i], b);
        unpack8(dout[i], g);
#pragma unroll
        for (int k = 0; k < 8; k++) {
            float s = 1.0f / (1.0f + __expf(-a[k]));
            d1[k] = g[k] * b[k] * s * (1.0f + a[k] * (1.0f - s));
            d2[k] = g[k] * a[k] * s;
        }
        dh1[i] = pack8(d1);
        dh2[i] = pack8(d2);
    }
}

__global__ void k_add8(uint4 *x, const uint4 *y, size_t n8)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n8; i += (size_t)gridDim.x * blockDim.x) {
        float a[8], b[8];
        unpack8(x[i], a);
        unpack8(y[i], b);
#pragma unroll
        for (int k = 0; k < 8; k++) a[k] += b[k];
        x[i] = pack8(a);
    }
}

static int vec8_ok(const t6_backend *be, size_t n, const void *const *p, int np)
{
    if (!cu_bf16(be) || n % 8) return 0;
    for (int k = 0; k < np; k++)
        if ((uintptr_t)p[k] & 15) return 0;
    return 1;
}

static unsigned grid_for(size_t n) { unsigned b = t6_blocks(n, 256); return b > 65535u * 4 ? 65535u * 4 : b; }

void t6_cuda_swiglu_fwd(t6_backend *be, void *out, const void *h1, const void *h2, size_t n)
{
    if (!n) return;
    const void *p[] = {out, h1, h2};
    if (vec8_ok(be, n, p, 3)) {
        k_swiglu_fwd8<<<grid_for(n / 8), 256, 0, cu_stream(be)>>>((uint4 *)out, (const uint4 *)h1, (const uint4 *)h2, n / 8);
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_swiglu_fwd<T><<<grid_for(n), 256, 0, cu_stream(be)>>>((T *)out, (const T *)h1, (const T *)h2, n);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_swiglu_bwd(t6_backend *be, void *dh1, void *dh2, const void *dout,
                        const void *h1, const void *h2, size_t n)
{
    if (!n) return;
    const void *p[] = {dh1, dh2, dout, h1, h2};
    if (vec8_ok(be, n, p, 5)) {
        k_swiglu_bwd8<<<grid_for(n / 8), 256, 0, cu_stream(be)>>>((uint4 *)dh1, (uint4 *)dh2, (const uint4 *)dout,
                                                                  (const uint4 *)h1, (const uint4 *)h2, n / 8);
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_swiglu_bwd<T><<<grid_for(n), 256, 0, cu_stream(be)>>>((T *)dh1, (T *)dh2, (const T *)dout,
                                                                 (const T *)h1, (const T *)h2, n);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_add_inplace(t6_backend *be, void *x, const void *y, size_t n)
{
    if (!n) return;
    const void *p[] = {x, y};
    if (vec8_ok(be, n, p, 2)) {
        k_add8<<<grid_for(n / 8), 256, 0, cu_stream(be)>>>((uint4 *)x, (const uint4 *)y, n / 8);
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_add<T><<<grid_for(n), 256, 0, cu_stream(be)>>>((T *)x, (const T *)y, n);
        CUDA_CHECK_LAUNCH();
    });
}
