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

static int threads_for(int d) { int t = ((d + 31) / 32) * 32; return t > 1024 ? 1024 : (t < 32 ? 32 : t); }

void t6_cuda_rmsnorm_fwd(t6_backend *be, void *out, float *rstd, const void *inp, int N, int d)
{
    if (N <= 0) return;
    T6_ACT_DISPATCH(be, T, {
        k_rmsnorm_fwd<T><<<N, threads_for(d / 2 > 32 ? d / 2 : d), 0, cu_stream(be)>>>((T *)out, rstd, (const T *)inp, d);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_rmsnorm_bwd(t6_backend *be, void *dinp, const void *dout, const void *inp,
                         const float *rstd, int N, int d)
{
    if (N <= 0) return;
    T6_ACT_DISPATCH(be, T, {
        k_rmsnorm_bwd<T><<<N, threads_for(d / 2 > 32 ? d / 2 : d), 0, cu_stream(be)>>>((T *)dinp, (const T *)dout,
                                                                               (const T *)inp, rstd, d);
        CUDA_CHECK_LAUNCH();
    });
}
