/* attention.cu -- causal softmax attention, flash-style: tiled over keys with an
 * online softmax, so no T x T matrix ever exists in memory; the forward keeps the
 * per-row log-sum-exp for the backward, which recomputes the probabilities tile by
 * tile. Layouts: q, out (B,T,h,dh); k, v (B,T,G,dh), query head i reads kv head
 * i/(h/G); lse (B,h,T). Scale 1/sqrt(dh).
 *
 * This file holds the generic path (any act type, dh in {16,32,64,96}): one thread per
 * query row (forward, dQ) or key row (dK/dV), tiles staged in shared memory as float.
 * The backward is split into a dQ kernel (per query row) and a dK/dV kernel (per key
 * row, summing the query heads of its GQA group in a fixed order), so every output is
 * written by exactly one thread: deterministic, no atomics. The bf16 tensor-core path
 * for dh 64, 96 and 128 lives in attention_mma.cu and is used when it applies (bf16
 * acts, aligned tensors, T6_ATTN_MMA_DH64_ONLY unset for 96/128); dh 128 exists only
 * there. */
#include "cuda_common.cuh"

#include <math.h>

#define ATT_BQ 64   /* query rows per block (forward, dQ) */
#define ATT_BK 32   /* keys per shared-memory tile */

int t6_cuda_attention_mma_fwd(t6_backend *be, void *out, float *lse, const void *q, const void *k,
                              const void *v, int B, int T, int h, int G, int dh);
int t6_cuda_attention_mma_bwd(t6_backend *be, void *dq, void *dk, void *dv, const void *dout, const float *lse,
                              const float *D, const void *q, const void *k, const void *v, int B, int T, int h,
                              int G, int dh);

template <typename T, int DH>
__global__ void __launch_bounds__(ATT_BQ) k_attn_fwd(T *out, float *lse, const T *q, const T *k, const T *v,
                                                     int T_, int h, int G, float scale)
{
    __shared__ float sK[ATT_BK][DH], sV[ATT_BK][DH];
    int b = blockIdx.z, i = blockIdx.y, g = i / (h / G);
    int t = blockIdx.x * ATT_BQ + threadIdx.x;
    bool valid = t < T_;
    float qr[DH], acc[DH];
    const T *qp = q + (((size_t)b * T_ + (valid ? t : 0)) * h + i) * DH;
#pragma unroll
    for (int j = 0; j < DH; j++) { qr[j] = t6_ld(qp + j) * scale; acc[j] = 0.0f; }
    float m = -INFINITY, l = 0.0f;
    int kend = min(T_, (blockIdx.x + 1) * ATT_BQ);
    for (int k0 = 0; k0 < kend; k0 += ATT_BK) {
        __syncthreads();
        for (int e = threadIdx.x; e < ATT_BK * DH; e += ATT_BQ) {
            int r = e / DH, j = e % DH, s = k0 + r;
            size_t off = (((size_t)b * T_ + s) * G + g) * DH + j;
            sK[r][j] = s < T_ ? t6_ld(k + off) : 0.0f;
            sV[r][j] = s < T_ ? t6_ld(v + off) : 0.0f;
        }
        __syncthreads();
        int smax = min(ATT_BK, (valid ? t : -1) - k0 + 1);   /* keys s <= t */
        for (int r = 0; r < smax; r++) {
            float sc = 0.0f;
#pragma unroll
            for (int j = 0; j < DH; j++) sc += qr[j] * sK[r][j];
            float mn = fmaxf(m, sc);
            float corr = expf(m - mn), p = expf(sc - mn);
            l = l * corr + p;
#pragma unroll
            for (int j = 0; j < DH; j++) acc[j] = acc[j] * corr + p * sV[r][j];
            m = mn;
        }
    }
    if (!valid) return;
    float inv = 1.0f / l;
    T *op = out + (((size_t)b * T_ + t) * h + i) * DH;
#pragma unroll
    for (int j = 0; j < DH; j++) t6_st(op + j, acc[j] * inv);
    lse[((size_t)b * h + i) * T_ + t] = m + logf(l);
}

/* D[b,i,t] = sum_j dout * out, one warp per row */
template <typename T>
__global__ void k_attn_dot(float *D, const T *dout, const T *out, int B, int T_, int h, int dh)
{
    size_t row = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (row >= (size_t)B * T_ * h) return;
    float acc = 0.0f;
    for (int j = lane; j < dh; j += 32) acc += t6_ld(dout + row * dh + j) * t6_ld(out + row * dh + j);
    acc = t6_warp_sum(acc);
    if (lane == 0) {
        size_t bt = row / h;
        int i = (int)(row % h);
        size_t b = bt / T_, t = bt % T_;
        D[(b * h + i) * T_ + t] = acc;
    }
}

template <typename T, int DH>
__global__ void __launch_bounds__(ATT_BQ) k_attn_dq(T *dq, const T *dout, const float *lse, const float *D,
                                                    const T *q, const T *k, const T *v,
                                                    int T_, int h, int G, float scale)
{
    __shared__ float sK[ATT_BK][DH], sV[ATT_BK][DH];
    int b = blockIdx.z, i = blockIdx.y, g = i / (h / G);
    int t = blockIdx.x * ATT_BQ + threadIdx.x;
    bool valid = t < T_;
    int tt = valid ? t : 0;
    float qr[DH], dor[DH], dqr[DH];
    size_t rowoff = (((size_t)b * T_ + tt) * h + i) * DH;
#pragma unroll
    for (int j = 0; j < DH; j++) { qr[j] = t6_ld(q + rowoff + j) * scale; dor[j] = t6_ld(dout + rowoff + j); dqr[j] = 0.0f; }
    float L = lse[((size_t)b * h + i) * T_ + tt], Dt = D[((size_t)b * h + i) * T_ + tt];
    int kend = min(T_, (blockIdx.x + 1) * ATT_BQ);
    for (int k0 = 0; k0 < kend; k0 += ATT_BK) {
        __syncthreads();
        for (int e = threadIdx.x; e < ATT_BK * DH; e += ATT_BQ) {
            int r = e / DH, j = e % DH, s = k0 + r;
            size_t off = (((size_t)b * T_ + s) * G + g) * DH + j;
            sK[r][j] = s < T_ ? t6_ld(k + off) : 0.0f;
            sV[r][j] = s < T_ ? t6_ld(v + off) : 0.0f;
        }
        __syncthreads();
        int smax = min(ATT_BK, (valid ? t : -1) - k0 + 1);
        for (int r = 0; r < smax; r++) {
            float sc = 0.0f, dp = 0.0f;
#pragma unroll
            for (int j = 0; j < DH; j++) { sc += qr[j] * sK[r][j]; dp += dor[j] * sV[r][j]; }
            float p = expf(sc - L);
            float ds = p * (dp - Dt) * scale;
#pragma unroll
            for (int j = 0; j < DH; j++) dqr[j] += ds * sK[r][j];
        }
    }
    if (!valid) return;
#pragma unroll
    for (int j = 0; j < DH; j++) t6_st(dq + rowoff + j, dqr[j]);
}

/* one thread per key row s of kv head g; loops over the query heads of the group */
#define ATT_BKV 32
template <typename T, int DH>
__global__ void __launch_bounds__(ATT_BKV) k_attn_dkv(T *dk, T *dv, const T *dout, const float *lse, const float *D,
                                                      const T *q, const T *k, const T *v,
                                                      int T_, int h, int G, float scale)
{
    /* query tile: ATT_BK rows, halved for dh > 64 (MLA's 96) to stay in 48 KB of static shared memory */
    constexpr int QB = DH > 64 ? ATT_BK / 2 : ATT_BK;
    __shared__ float sKr[ATT_BKV][DH + 1], sVr[ATT_BKV][DH + 1];
    __shared__ float sQ[QB][DH], sO[QB][DH], sL[QB], sD[QB];
    int b = blockIdx.z, g = blockIdx.y, hpg = h / G;
    int s0 = blockIdx.x * ATT_BKV;
    int s = s0 + threadIdx.x;
    bool valid = s < T_;
    for (int e = threadIdx.x; e < ATT_BKV * DH; e += ATT_BKV) {
        int r = e / DH, j = e % DH, ss = s0 + r;
        size_t off = (((size_t)b * T_ + ss) * G + g) * DH + j;
        sKr[r][j] = ss < T_ ? t6_ld(k + off) : 0.0f;
        sVr[r][j] = ss < T_ ? t6_ld(v + off) : 0.0f;
    }
    float dkr[DH], dvr[DH];
#pragma unroll
    for (int j = 0; j < DH; j++) { dkr[j] = 0.0f; dvr[j] = 0.0f; }
    for (int ii = 0; ii < hpg; ii++) {
        int i = g * hpg + ii;
        for (int t0 = s0; t0 < T_; t0 += QB) {
            __syncthreads();
            for (int e = threadIdx.x; e < QB * DH; e += ATT_BKV) {
                int r = e / DH, j = e % DH, t = t0 + r;
                size_t off = (((size_t)b * T_ + t) * h + i) * DH + j;
                sQ[r][j] = t < T_ ? t6_ld(q + off) * scale : 0.0f;
                sO[r][j] = t < T_ ? t6_ld(dout + off) : 0.0f;
            }
            for (int r = threadIdx.x; r < QB; r += ATT_BKV) {
                int t = t0 + r;
                sL[r] = t < T_ ? lse[((size_t)b * h + i) * T_ + t] : INFINITY;
                sD[r] = t < T_ ? D[((size_t)b * h + i) * T_ + t] : 0.0f;
            }
            __syncthreads();
            if (!valid) continue;
            int rstart = max(0, s - t0), rend = min(QB, T_ - t0);
            for (int r = rstart; r < rend; r++) {
                float sc = 0.0f, dp = 0.0f;
#pragma unroll
                for (int j = 0; j < DH; j++) { sc += sQ[r][j] * sKr[threadIdx.x][j]; dp += sO[r][j] * sVr[threadIdx.x][j]; }
                float p = expf(sc - sL[r]);
                float ds = p * (dp - sD[r]);
#pragma unroll
                for (int j = 0; j < DH; j++) { dvr[j] += p * sO[r][j]; dkr[j] += ds * sQ[r][j]; }
            }
        }
    }
    if (!valid) return;
    size_t off = (((size_t)b * T_ + s) * G + g) * DH;
#pragma unroll
    for (int j = 0; j < DH; j++) { t6_st(dk + off + j, dkr[j]); t6_st(dv + off + j, dvr[j]); }
}

static void check_groups(int h, int G)
{
    T6_CHECK(G > 0 && h % G == 0, "n_head must be a multiple of n_kv_head", "attention: h=%d not divisible by G=%d", h, G);
}

/* the generic kernels' head dims; checked once the tensor-core path has declined
 * (it also takes 128, with bf16 acts) */
static void check_generic_dh(int dh)
{
    T6_CHECK(dh == 16 || dh == 32 || dh == 64 || dh == 96,
             "use head_dim 16, 32 or 64 on CUDA (96: MLA's query/key heads; 128 with bf16 acts only)",
             "attention: head_dim %d not supported by the generic CUDA kernels", dh);
}

#define DH_DISPATCH(dh, ...)                                         \
    switch (dh) {                                                    \
    case 16: { constexpr int DHC = 16; __VA_ARGS__; } break;         \
    case 32: { constexpr int DHC = 32; __VA_ARGS__; } break;         \
    case 96: { constexpr int DHC = 96; __VA_ARGS__; } break;         \
    default: { constexpr int DHC = 64; __VA_ARGS__; } break;         \
    }

void t6_cuda_attention_fwd(t6_backend *be, void *out, float *lse, const void *q, const void *k,
                           const void *v, int B, int T, int h, int G, int dh)
{
    if (B <= 0 || T <= 0) return;
    check_groups(h, G);
    if (t6_cuda_attention_mma_fwd(be, out, lse, q, k, v, B, T, h, G, dh)) return;
    check_generic_dh(dh);
    dim3 grid((T + ATT_BQ - 1) / ATT_BQ, h, B);
    float scale = 1.0f / sqrtf((float)dh);
    T6_ACT_DISPATCH(be, TT, {
        DH_DISPATCH(dh, k_attn_fwd<TT, DHC><<<grid, ATT_BQ, 0, cu_stream(be)>>>((TT *)out, lse, (const TT *)q,
                                                                            (const TT *)k, (const TT *)v, T, h, G, scale));
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_attention_bwd(t6_backend *be, void *dq, void *dk, void *dv, const void *dout,
                           const void *out, const float *lse, const void *q, const void *k,
                           const void *v, int B, int T, int h, int G, int dh)
{
    if (B <= 0 || T <= 0) return;
    check_groups(h, G);
    float scale = 1.0f / sqrtf((float)dh);
    float *D = (float *)t6_cuda_scratch(be, (size_t)B * h * T * sizeof(float));
    size_t rows = (size_t)B * T * h;
    dim3 gq((T + ATT_BQ - 1) / ATT_BQ, h, B), gkv((T + ATT_BKV - 1) / ATT_BKV, G, B);
    T6_ACT_DISPATCH(be, TT, {
        k_attn_dot<TT><<<t6_blocks(rows * 32, 256), 256, 0, cu_stream(be)>>>(D, (const TT *)dout, (const TT *)out, B, T, h, dh);
        CUDA_CHECK_LAUNCH();
        if (t6_cuda_attention_mma_bwd(be, dq, dk, dv, dout, lse, D, q, k, v, B, T, h, G, dh)) break;
        check_generic_dh(dh);
        DH_DISPATCH(dh, k_attn_dq<TT, DHC><<<gq, ATT_BQ, 0, cu_stream(be)>>>((TT *)dq, (const TT *)dout, lse, D,
                                                                         (const TT *)q, (const TT *)k, (const TT *)v,
                                                                         T, h, G, scale));
        CUDA_CHECK_LAUNCH();
        DH_DISPATCH(dh, k_attn_dkv<TT, DHC><<<gkv, ATT_BKV, 0, cu_stream(be)>>>((TT *)dk, (TT *)dv, (const TT *)dout, lse, D,
                                                                            (const TT *)q, (const TT *)k, (const TT *)v,
                                                                            T, h, G, scale));
        CUDA_CHECK_LAUNCH();
    });
}
