/* convert.cu -- fp32 master -> compute copy, and host float arrays <-> act buffers
 * (through a device scratch of floats, converted on the GPU). */
#include "cuda_common.cuh"

template <typename T>
__global__ void k_from_float(T *dst, const float *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        t6_st(dst + i, src[i]);
}

template <typename T>
__global__ void k_to_float(float *dst, const T *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = t6_ld(src + i);
}

static unsigned grid_for(size_t n) { unsigned b = t6_blocks(n, 256); return b > 65535u * 4 ? 65535u * 4 : b; }

void t6_cuda_params_to_compute(t6_backend *be, void *compute, const float *master, size_t n)
{
    if (!n || compute == (const void *)master) return;
    T6_ACT_DISPATCH(be, T, {
        k_from_float<T><<<grid_for(n), 256, 0, cu_stream(be)>>>((T *)compute, master, n);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_act_from_float(t6_backend *be, void *act, const float *host, size_t n)
{
    if (!n) return;
    if (!cu_bf16(be)) {
        CUDA_CHECK(cudaMemcpyAsync(act, host, n * sizeof(float), cudaMemcpyHostToDevice, cu_stream(be)));
        CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));
        return;
    }
    float *tmp = (float *)t6_cuda_scratch(be, n * sizeof(float));
    CUDA_CHECK(cudaMemcpyAsync(tmp, host, n * sizeof(float), cudaMemcpyHostToDevice, cu_stream(be)));
    k_from_float<__nv_bfloat16><<<grid_for(n), 256, 0, cu_stream(be)>>>((__nv_bfloat16 *)act, tmp, n);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));
}

void t6_cuda_act_to_float(t6_backend *be, float *host, const void *act, size_t n)
{
    if (!n) return;
    if (!cu_bf16(be)) {
        CUDA_CHECK(cudaMemcpyAsync(host, act, n * sizeof(float), cudaMemcpyDeviceToHost, cu_stream(be)));
        CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));
        return;
    }
    float *tmp = (float *)t6_cuda_scratch(be, n * sizeof(float));
    k_to_float<__nv_bfloat16><<<grid_for(n), 256, 0, cu_stream(be)>>>(tmp, (const __nv_bfloat16 *)act, n);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cudaMemcpyAsync(host, tmp, n * sizeof(float), cudaMemcpyDeviceToHost, cu_stream(be)));
    CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));
}
