/* norms.cu -- sum of squares of an fp32 buffer (for the global gradient norm) and
 * in-place scaling (clipping). The sum is deterministic: a fixed grid of per-block
 * partials in double, reduced in a fixed order by one block. */
#include "cuda_common.cuh"

#define SS_BLOCKS 1024
#define SS_THREADS 256

__global__ void k_ss_partial(double *partials, const float *x, size_t n)
{
    __shared__ double sh[SS_THREADS];
    double acc = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        double v = x[i];
        acc += v * v;
    }
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) partials[blockIdx.x] = sh[0];
}

__global__ void k_ss_final(double *partials, int n)
{
    __shared__ double sh[SS_THREADS];
    double acc = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) acc += partials[i];
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) partials[0] = sh[0];
}

__global__ void k_scale(float *x, float s, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] *= s;
}

double t6_cuda_sum_squares(t6_backend *be, const float *x, size_t n)
{
    if (!n) return 0.0;
    t6_cuda_impl *im = cu_impl(be);
    k_ss_partial<<<SS_BLOCKS, SS_THREADS, 0, im->stream>>>(im->red_partials, x, n);
    CUDA_CHECK_LAUNCH();
    k_ss_final<<<1, SS_THREADS, 0, im->stream>>>(im->red_partials, SS_BLOCKS);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cudaMemcpyAsync(im->red_host, im->red_partials, sizeof(double), cudaMemcpyDeviceToHost, im->stream));
    CUDA_CHECK(cudaStreamSynchronize(im->stream));
    return *im->red_host;
}

void t6_cuda_scale(t6_backend *be, float *x, float s, size_t n)
{
    if (!n || s == 1.0f) return;
    unsigned g = t6_blocks(n, 256);
    if (g > 132u * 16) g = 132u * 16;
    k_scale<<<g, 256, 0, cu_stream(be)>>>(x, s, n);
    CUDA_CHECK_LAUNCH();
}
