/* tpa_product.cu -- the TPA factor product out[n,i,:] = (1/R) sum_r A[n,i,r] Bf[n,r,:]
 * (A: (N,h,R), Bf: (N,R,dh), out: (N,h,dh)) and its backward. One block per token:
 * the token's factors (h*R + R*dh numbers) sit in shared memory, so every output is a
 * short R-term dot product; the backward computes dA (h*R dots over dh) and dBf (R*dh
 * dots over h) from the same staged token. */
#include "cuda_common.cuh"

template <typename T>
__global__ void k_tpa_fwd(T *out, const T *A, const T *Bf, int h, int R, int dh)
{
    extern __shared__ float sm[];
    float *sA = sm, *sB = sm + h * R;
    size_t n = blockIdx.x;
    for (int j = threadIdx.x; j < h * R; j += blockDim.x) sA[j] = t6_ld(A + n * h * R + j);
    for (int j = threadIdx.x; j < R * dh; j += blockDim.x) sB[j] = t6_ld(Bf + n * R * dh + j);
    __syncthreads();
    float invR = 1.0f / R;
    for (int e = threadIdx.x; e < h * dh; e += blockDim.x) {
        int i = e / dh, j = e - i * dh;
        float acc = 0.0f;
        for (int r = 0; r < R; r++) acc += sA[i * R + r] * sB[r * dh + j];
        t6_st(out + n * h * dh + e, acc * invR);
    }
}

template <typename T>
__global__ void k_tpa_bwd(T *dA, T *dBf, const T *dout, const T *A, const T *Bf, int h, int R, int dh)
{
    extern __shared__ float sm[];
    float *sA = sm, *sB = sm + h * R, *sG = sB + R * dh;
    size_t n = blockIdx.x;
    for (int j = threadIdx.x; j < h * R; j += blockDim.x) sA[j] = t6_ld(A + n * h * R + j);
    for (int j = threadIdx.x; j < R * dh; j += blockDim.x) sB[j] = t6_ld(Bf + n * R * dh + j);
    for (int j = threadIdx.x; j < h * dh; j += blockDim.x) sG[j] = t6_ld(dout + n * h * dh + j);
    __syncthreads();
    float invR = 1.0f / R;
    /* dA[i,r] = sum_j G[i,j] B[r,j]: one warp per (i, r), lanes along j (no bank
     * conflicts: a thread-per-output loop would stride sG by dh, one bank) */
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int e = warp; e < h * R; e += nw) {
        int i = e / R, r = e - i * R;
        float acc = 0.0f;
        for (int j = lane; j < dh; j += 32) acc += sG[i * dh + j] * sB[r * dh + j];
        acc = t6_warp_sum(acc);
        if (lane == 0) t6_st(dA + n * h * R + e, acc * invR);
    }
    for (int e = threadIdx.x; e < R * dh; e += blockDim.x) {      /* dB[r,j] = sum_i A[i,r] G[i,j] */
        int r = e / dh, j = e - r * dh;
        float acc = 0.0f;
        for (int i = 0; i < h; i++) acc += sA[i * R + r] * sG[i * dh + j];
        t6_st(dBf + n * R * dh + e, acc * invR);
    }
}

void t6_cuda_tpa_product_fwd(t6_backend *be, void *out, const void *A, const void *Bf,
                             int N, int h, int R, int dh)
{
    if (N <= 0) return;
    size_t smem = (size_t)(h * R + R * dh) * sizeof(float);
    T6_ACT_DISPATCH(be, T, {
        k_tpa_fwd<T><<<N, 256, smem, cu_stream(be)>>>((T *)out, (const T *)A, (const T *)Bf, h, R, dh);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_tpa_product_bwd(t6_backend *be, void *dA, void *dBf, const void *dout,
                             const void *A, const void *Bf, int N, int h, int R, int dh)
{
    if (N <= 0) return;
    size_t smem = (size_t)(h * R + R * dh + h * dh) * sizeof(float);
    T6_CHECK(smem <= 48 * 1024, "TPA with fewer heads or a smaller rank", "tpa_product_bwd: h=%d R=%d dh=%d needs %zu bytes of shared memory (max 49152)", h, R, dh, smem);
    T6_ACT_DISPATCH(be, T, {
        k_tpa_bwd<T><<<N, 256, smem, cu_stream(be)>>>((T *)dA, (T *)dBf, (const T *)dout, (const T *)A,
                                                      (const T *)Bf, h, R, dh);
        CUDA_CHECK_LAUNCH();
    });
}
