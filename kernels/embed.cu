/* embed.cu -- token embedding. Forward gathers rows of the compute copy of wte.
 * Backward is deterministic: the (token, position) pairs are sorted by token with a
 * stable radix sort (CUB), then each distinct token's rows are summed in position
 * order by one block and added once to the fp32 gradient -- no float atomics, so the
 * same batch gives the same bits every run. */
#include "cuda_common.cuh"

#include <cub/device/device_radix_sort.cuh>

template <typename T>
__global__ void k_embed_fwd(T *out, const T *wte, const int32_t *tokens, int N, int d)
{
    size_t total = (size_t)N * d;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t n = i / d;
        int j = (int)(i - n * d);
        out[i] = wte[(size_t)tokens[n] * d + j];
    }
}

__global__ void k_iota(int32_t *p, int N)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < N) p[i] = i;
}

/* one block per sorted position; only the first position of each token run works */
template <typename T>
__global__ void k_embed_bwd(float *dwte, const T *dout, const int32_t *skeys, const int32_t *sidx, int N, int d)
{
    int p = blockIdx.x;
    int tok = skeys[p];
    if (p > 0 && skeys[p - 1] == tok) return;
    int end = p + 1;
    while (end < N && skeys[end] == tok) end++;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float acc = 0.0f;
        for (int q = p; q < end; q++) acc += t6_ld(dout + (size_t)sidx[q] * d + j);
        dwte[(size_t)tok * d + j] += acc;
    }
}

void t6_cuda_embed_fwd(t6_backend *be, void *out, const void *wte, const int32_t *tokens, int N, int d)
{
    size_t total = (size_t)N * d;
    if (!total) return;
    unsigned g = t6_blocks(total, 256);
    if (g > 65535u * 4) g = 65535u * 4;
    T6_ACT_DISPATCH(be, T, {
        k_embed_fwd<T><<<g, 256, 0, cu_stream(be)>>>((T *)out, (const T *)wte, tokens, N, d);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_embed_bwd(t6_backend *be, float *dwte, const void *dout, const int32_t *tokens, int N, int d)
{
    if (N <= 0) return;
    size_t temp = 0;
    CUDA_CHECK(cub::DeviceRadixSort::SortPairs(NULL, temp, (const int32_t *)NULL, (int32_t *)NULL,
                                               (const int32_t *)NULL, (int32_t *)NULL, N, 0, 31,
                                               cu_stream(be)));
    size_t ints = (size_t)N * sizeof(int32_t);
    size_t off = (3 * ints + 255) & ~(size_t)255;
    char *buf = (char *)t6_cuda_scratch2(be, off + temp);
    int32_t *idx = (int32_t *)buf, *skeys = (int32_t *)(buf + ints), *sidx = (int32_t *)(buf + 2 * ints);
    k_iota<<<t6_blocks(N, 256), 256, 0, cu_stream(be)>>>(idx, N);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cub::DeviceRadixSort::SortPairs(buf + off, temp, tokens, skeys, idx, sidx, N, 0, 31,
                                               cu_stream(be)));
    int th = d >= 256 ? 256 : ((d + 31) / 32) * 32;
    T6_ACT_DISPATCH(be, T, {
        k_embed_bwd<T><<<N, th, 0, cu_stream(be)>>>(dwte, (const T *)dout, skeys, sidx, N, d);
        CUDA_CHECK_LAUNCH();
    });
}
