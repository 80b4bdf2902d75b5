/* swiglu.cu -- out = silu(h1) * h2 and its backward, elementwise; the residual-stream
 * add (x += y) lives here too as the other elementwise op. */
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

static unsigned grid_for(size_t n) { unsigned b = t6_blocks(n, 256); return b > 65535u * 4 ? 65535u * 4 : b; }

void t6_cuda_swiglu_fwd(t6_backend *be, void *out, const void *h1, const void *h2, size_t n)
{
    if (!n) return;
    T6_ACT_DISPATCH(be, T, {
        k_swiglu_fwd<T><<<grid_for(n), 256, 0, cu_stream(be)>>>((T *)out, (const T *)h1, (const T *)h2, n);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_swiglu_bwd(t6_backend *be, void *dh1, void *dh2, const void *dout,
                        const void *h1, const void *h2, size_t n)
{
    if (!n) return;
    T6_ACT_DISPATCH(be, T, {
        k_swiglu_bwd<T><<<grid_for(n), 256, 0, cu_stream(be)>>>((T *)dh1, (T *)dh2, (const T *)dout,
                                                                 (const T *)h1, (const T *)h2, n);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_add_inplace(t6_backend *be, void *x, const void *y, size_t n)
{
    if (!n) return;
    T6_ACT_DISPATCH(be, T, {
        k_add<T><<<grid_for(n), 256, 0, cu_stream(be)>>>((T *)x, (const T *)y, n);
        CUDA_CHECK_LAUNCH();
    });
}
