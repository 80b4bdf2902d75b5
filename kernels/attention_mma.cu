/* attention_mma.cu -- causal flash attention on bf16 tensor cores (mma.sync m16n8k16,
 * fp32 accumulation) for head_dim 64, used whenever the act type is bf16 and dh = 64
 * (every paper config); attention.cu keeps the generic path for the rest.
 *
 * Forward (FlashAttention-2 order): a block owns 64 query rows (4 warps x 16), walks the
 * 64-key tiles up to the diagonal; S = Q K^T stays in registers, the online softmax
 * rescales the output accumulator, and P is fed back as the A operand of P V without
 * leaving registers. The causal diagonal is masked only in the last tile.
 *
 * Backward: two kernels so every output has one writer (deterministic, no atomics):
 *  - dK/dV: a block owns 64 keys of one kv head and walks the query tiles at or after
 *    them, for every query head of the GQA group: S^T = K Q^T, P^T from the saved
 *    log-sum-exp, dV += P^T dO, dP^T = V dO^T, dS^T = P^T (dP^T - D), dK += dS^T Q;
 *  - dQ: a block owns 64 query rows and walks the key tiles: S, P, dP = dO V^T, dS,
 *    dQ += dS K.
 * D = rowsum(dO * O) comes from attention.cu's small kernel.
 *
 * mma.m16n8k16 fragment layout used throughout (g = lane/4, c = lane%4):
 *   A (16x16, row-major): a0 (g, 2c..2c+1), a1 (g+8, 2c..), a2 (g, 2c+8..), a3 (g+8, 2c+8..)
 *   B (16x8, k x n):      b0 (k = 2c..2c+1, n = g), b1 (k = 2c+8.., n = g)
 *   C (16x8 fp32):        c0,c1 (g, 2c..2c+1), c2,c3 (g+8, 2c..2c+1)
 * so B[k][n] = X[n][k] for a row-major X is one 32-bit load of X's row n, and the C
 * tiles 2j, 2j+1 of one product are exactly the A fragment j of the next. Shared tiles
 * use a row pitch of 72 elements (144 B), which spreads those loads over all 32 banks. */
#include "cuda_common.cuh"

#include <math.h>
#include <stdlib.h>

#define FT 64      /* rows per tile (queries or keys) */
#define LDS 72     /* shared row pitch in bf16 elements */
#define DH 64

typedef __nv_bfloat16 bf16;

__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi)
{
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *(uint32_t *)&v;
}

__device__ __forceinline__ uint32_t ld32(const bf16 *p) { return *(const uint32_t *)p; }

/* A fragments (4 k-chunks of 16 over dh = 64) of rows r and r+8 of a row-major matrix
 * in global memory with row stride `stride` elements; rows >= nrows read as zero. */
__device__ __forceinline__ void load_a_rows(uint32_t a[4][4], const bf16 *base, size_t stride, int r, int nrows,
                                            int c)
{
    const bf16 *p0 = base + (size_t)r * stride, *p1 = base + (size_t)(r + 8) * stride;
    bool v0 = r < nrows, v1 = r + 8 < nrows;
#pragma unroll
    for (int kc = 0; kc < 4; kc++) {
        a[kc][0] = v0 ? ld32(p0 + kc * 16 + 2 * c) : 0u;
        a[kc][1] = v1 ? ld32(p1 + kc * 16 + 2 * c) : 0u;
        a[kc][2] = v0 ? ld32(p0 + kc * 16 + 8 + 2 * c) : 0u;
        a[kc][3] = v1 ? ld32(p1 + kc * 16 + 8 + 2 * c) : 0u;
    }
}

/* Stage a 64 x 64 tile (rows r0.., row stride `stride`) into shared memory, row-major
 * (dst) and/or transposed (dstT[d][row]); rows >= nrows become zero. 128 threads. */
__device__ __forceinline__ void stage_tile(bf16 *dst, bf16 *dstT, const bf16 *base, size_t stride, int r0,
                                           int nrows)
{
    for (int e = threadIdx.x; e < FT * (DH / 8); e += blockDim.x) {
        int r = e >> 3, c8 = (e & 7) * 8;
        uint4 val = make_uint4(0, 0, 0, 0);
        if (r0 + r < nrows) val = *(const uint4 *)(base + (size_t)(r0 + r) * stride + c8);
        if (dst) *(uint4 *)(dst + r * LDS + c8) = val;
        if (dstT) {
            const bf16 *vv = (const bf16 *)&val;
#pragma unroll
            for (int j = 0; j < 8; j++) dstT[(c8 + j) * LDS + r] = vv[j];
        }
    }
}

/* ---------------------------------------------------------------- forward */
__global__ void __launch_bounds__(128) k_fa_fwd(bf16 *out, float *lse, const bf16 *q, const bf16 *k,
                                                const bf16 *v, int T, int h, int G, float scale)
{
    __shared__ __align__(16) bf16 sK[FT * LDS];
    __shared__ __align__(16) bf16 sVt[DH * LDS];
    const int b = blockIdx.z, i = blockIdx.y, gk = i / (h / G);
    const int qt = gridDim.x - 1 - blockIdx.x;           /* longest tiles first */
    const int q0 = qt * FT;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int r = q0 + warp * 16 + g;                     /* this thread's rows: r, r+8 */
    const size_t qstride = (size_t)h * DH, kstride = (size_t)G * DH;
    const bf16 *qb = q + (size_t)b * T * qstride + (size_t)i * DH;
    const bf16 *kb = k + (size_t)b * T * kstride + (size_t)gk * DH;
    const bf16 *vb = v + (size_t)b * T * kstride + (size_t)gk * DH;

    uint32_t qa[4][4];
    load_a_rows(qa, qb, qstride, r, T, c);
    float o[8][4];
#pragma unroll
    for (int dt = 0; dt < 8; dt++) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

    for (int kt = 0; kt <= qt; kt++) {
        __syncthreads();
        stage_tile(sK, NULL, kb, kstride, kt * FT, T);
        stage_tile(NULL, sVt, vb, kstride, kt * FT, T);
        __syncthreads();
        float s[8][4];
#pragma unroll
        for (int nt = 0; nt < 8; nt++) {
            s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
            for (int kc = 0; kc < 4; kc++) {
                const bf16 *kp = sK + (nt * 8 + g) * LDS + kc * 16 + 2 * c;
                mma16816(s[nt], qa[kc], ld32(kp), ld32(kp + 8));
            }
        }
        const bool diag = kt == qt;
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float x = s[nt][e] * scale;
                if (diag) {
                    int row = r + (e >= 2 ? 8 : 0), col = kt * FT + nt * 8 + 2 * c + (e & 1);
                    if (col > row) x = -INFINITY;
                }
                s[nt][e] = x;
            }
#pragma unroll
        for (int hr = 0; hr < 2; hr++) {
            float mx = -INFINITY;
#pragma unroll
            for (int nt = 0; nt < 8; nt++) mx = fmaxf(mx, fmaxf(s[nt][2 * hr], s[nt][2 * hr + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            float mn = fmaxf(m[hr], mx);
            float corr = m[hr] == -INFINITY ? 0.0f : __expf(m[hr] - mn);
            float sum = 0.0f;
#pragma unroll
            for (int nt = 0; nt < 8; nt++) {
                float p0 = s[nt][2 * hr] == -INFINITY ? 0.0f : __expf(s[nt][2 * hr] - mn);
                float p1 = s[nt][2 * hr + 1] == -INFINITY ? 0.0f : __expf(s[nt][2 * hr + 1] - mn);
                s[nt][2 * hr] = p0;
                s[nt][2 * hr + 1] = p1;
                sum += p0 + p1;
            }
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            l[hr] = l[hr] * corr + sum;
            m[hr] = mn;
#pragma unroll
            for (int dt = 0; dt < 8; dt++) { o[dt][2 * hr] *= corr; o[dt][2 * hr + 1] *= corr; }
        }
#pragma unroll
        for (int j = 0; j < 4; j++) {
            uint32_t pa[4] = {pack_bf16(s[2 * j][0], s[2 * j][1]), pack_bf16(s[2 * j][2], s[2 * j][3]),
                              pack_bf16(s[2 * j + 1][0], s[2 * j + 1][1]), pack_bf16(s[2 * j + 1][2], s[2 * j + 1][3])};
#pragma unroll
            for (int dt = 0; dt < 8; dt++) {
                const bf16 *vp = sVt + (dt * 8 + g) * LDS + j * 16 + 2 * c;
                mma16816(o[dt], pa, ld32(vp), ld32(vp + 8));
            }
        }
    }
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        int row = r + 8 * hr;
        if (row >= T) continue;
        float inv = 1.0f / l[hr];
        bf16 *op = out + ((size_t)b * T + row) * qstride + (size_t)i * DH;
#pragma unroll
        for (int dt = 0; dt < 8; dt++)
            *(uint32_t *)(op + dt * 8 + 2 * c) = pack_bf16(o[dt][2 * hr] * inv, o[dt][2 * hr + 1] * inv);
        if (c == 0) lse[((size_t)b * h + i) * T + row] = m[hr] + logf(l[hr]);
    }
}

/* ---------------------------------------------------------------- dK, dV */
__global__ void __launch_bounds__(128) k_fa_dkv(bf16 *dk, bf16 *dv, const bf16 *dout, const float *lse,
                                                const float *D, const bf16 *q, const bf16 *k, const bf16 *v,
                                                int T, int h, int G, float scale)
{
    __shared__ __align__(16) bf16 sQ[FT * LDS], sQt[DH * LDS], sO[FT * LDS], sOt[DH * LDS];
    __shared__ float sL[FT], sD[FT];
    const int b = blockIdx.z, gk = blockIdx.y, hpg = h / G;
    const int kt = gridDim.x - 1 - blockIdx.x;
    const int s0 = kt * FT;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int key = s0 + warp * 16 + g;                   /* this thread's keys: key, key+8 */
    const size_t qstride = (size_t)h * DH, kstride = (size_t)G * DH;
    const bf16 *kb = k + (size_t)b * T * kstride + (size_t)gk * DH;
    const bf16 *vb = v + (size_t)b * T * kstride + (size_t)gk * DH;

    uint32_t ka[4][4], va[4][4];
    load_a_rows(ka, kb, kstride, key, T, c);
    load_a_rows(va, vb, kstride, key, T, c);
    float dkacc[8][4], dvacc[8][4];
#pragma unroll
    for (int dt = 0; dt < 8; dt++)
#pragma unroll
        for (int e = 0; e < 4; e++) dkacc[dt][e] = dvacc[dt][e] = 0.0f;
    const int nqt = (T + FT - 1) / FT;

    for (int ii = 0; ii < hpg; ii++) {
        const int i = gk * hpg + ii;
        const bf16 *qb = q + (size_t)b * T * qstride + (size_t)i * DH;
        const bf16 *ob = dout + (size_t)b * T * qstride + (size_t)i * DH;
        const float *lb = lse + ((size_t)b * h + i) * T, *db = D + ((size_t)b * h + i) * T;
        for (int qt = kt; qt < nqt; qt++) {
            const int t0 = qt * FT;
            __syncthreads();
            stage_tile(sQ, sQt, qb, qstride, t0, T);
            stage_tile(sO, sOt, ob, qstride, t0, T);
            for (int e = threadIdx.x; e < FT; e += blockDim.x) {
                bool ok = t0 + e < T;
                sL[e] = ok ? lb[t0 + e] : INFINITY;
                sD[e] = ok ? db[t0 + e] : 0.0f;
            }
            __syncthreads();
            float st[8][4], dpt[8][4];
#pragma unroll
            for (int nt = 0; nt < 8; nt++) {
                st[nt][0] = st[nt][1] = st[nt][2] = st[nt][3] = 0.0f;
                dpt[nt][0] = dpt[nt][1] = dpt[nt][2] = dpt[nt][3] = 0.0f;
#pragma unroll
                for (int kc = 0; kc < 4; kc++) {
                    const bf16 *qp = sQ + (nt * 8 + g) * LDS + kc * 16 + 2 * c;
                    mma16816(st[nt], ka[kc], ld32(qp), ld32(qp + 8));
                    const bf16 *op = sO + (nt * 8 + g) * LDS + kc * 16 + 2 * c;
                    mma16816(dpt[nt], va[kc], ld32(op), ld32(op + 8));
                }
            }
            const bool diag = qt == kt;
#pragma unroll
            for (int nt = 0; nt < 8; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    int ql = nt * 8 + 2 * c + (e & 1);
                    int kk = key + (e >= 2 ? 8 : 0);
                    float p = __expf(st[nt][e] * scale - sL[ql]);
                    if (diag && t0 + ql < kk) p = 0.0f;
                    st[nt][e] = p;                                  /* P^T */
                    dpt[nt][e] = p * (dpt[nt][e] - sD[ql]);         /* dS^T */
                }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                uint32_t pa[4] = {pack_bf16(st[2 * j][0], st[2 * j][1]), pack_bf16(st[2 * j][2], st[2 * j][3]),
                                  pack_bf16(st[2 * j + 1][0], st[2 * j + 1][1]),
                                  pack_bf16(st[2 * j + 1][2], st[2 * j + 1][3])};
                uint32_t sa[4] = {pack_bf16(dpt[2 * j][0], dpt[2 * j][1]), pack_bf16(dpt[2 * j][2], dpt[2 * j][3]),
                                  pack_bf16(dpt[2 * j + 1][0], dpt[2 * j + 1][1]),
                                  pack_bf16(dpt[2 * j + 1][2], dpt[2 * j + 1][3])};
#pragma unroll
                for (int dt = 0; dt < 8; dt++) {
                    const bf16 *op = sOt + (dt * 8 + g) * LDS + j * 16 + 2 * c;
                    mma16816(dvacc[dt], pa, ld32(op), ld32(op + 8));
                    const bf16 *qp = sQt + (dt * 8 + g) * LDS + j * 16 + 2 * c;
                    mma16816(dkacc[dt], sa, ld32(qp), ld32(qp + 8));
                }
            }
        }
    }
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        int kk = key + 8 * hr;
        if (kk >= T) continue;
        bf16 *kp = dk + ((size_t)b * T + kk) * kstride + (size_t)gk * DH;
        bf16 *vp = dv + ((size_t)b * T + kk) * kstride + (size_t)gk * DH;
#pragma unroll
        for (int dt = 0; dt < 8; dt++) {
            *(uint32_t *)(kp + dt * 8 + 2 * c) = pack_bf16(dkacc[dt][2 * hr] * scale, dkacc[dt][2 * hr + 1] * scale);
            *(uint32_t *)(vp + dt * 8 + 2 * c) = pack_bf16(dvacc[dt][2 * hr], dvacc[dt][2 * hr + 1]);
        }
    }
}

/* ---------------------------------------------------------------- dQ */
__global__ void __launch_bounds__(128) k_fa_dq(bf16 *dq, const bf16 *dout, const float *lse, const float *D,
                                               const bf16 *q, const bf16 *k, const bf16 *v, int T, int h, int G,
                                               float scale)
{
    __shared__ __align__(16) bf16 sK[FT * LDS], sKt[DH * LDS], sV[FT * LDS];
    const int b = blockIdx.z, i = blockIdx.y, gk = i / (h / G);
    const int qt = gridDim.x - 1 - blockIdx.x;
    const int q0 = qt * FT;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int r = q0 + warp * 16 + g;
    const size_t qstride = (size_t)h * DH, kstride = (size_t)G * DH;
    const bf16 *qb = q + (size_t)b * T * qstride + (size_t)i * DH;
    const bf16 *ob = dout + (size_t)b * T * qstride + (size_t)i * DH;
    const bf16 *kb = k + (size_t)b * T * kstride + (size_t)gk * DH;
    const bf16 *vb = v + (size_t)b * T * kstride + (size_t)gk * DH;
    const float *lb = lse + ((size_t)b * h + i) * T, *db = D + ((size_t)b * h + i) * T;

    uint32_t qa[4][4], oa[4][4];
    load_a_rows(qa, qb, qstride, r, T, c);
    load_a_rows(oa, ob, qstride, r, T, c);
    float L[2], Dr[2];
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        int row = r + 8 * hr;
        L[hr] = row < T ? lb[row] : INFINITY;
        Dr[hr] = row < T ? db[row] : 0.0f;
    }
    float dqacc[8][4];
#pragma unroll
    for (int dt = 0; dt < 8; dt++) dqacc[dt][0] = dqacc[dt][1] = dqacc[dt][2] = dqacc[dt][3] = 0.0f;

    for (int kt = 0; kt <= qt; kt++) {
        __syncthreads();
        stage_tile(sK, sKt, kb, kstride, kt * FT, T);
        stage_tile(sV, NULL, vb, kstride, kt * FT, T);
        __syncthreads();
        float s[8][4], dp[8][4];
#pragma unroll
        for (int nt = 0; nt < 8; nt++) {
            s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
            dp[nt][0] = dp[nt][1] = dp[nt][2] = dp[nt][3] = 0.0f;
#pragma unroll
            for (int kc = 0; kc < 4; kc++) {
                const bf16 *kp = sK + (nt * 8 + g) * LDS + kc * 16 + 2 * c;
                mma16816(s[nt], qa[kc], ld32(kp), ld32(kp + 8));
                const bf16 *vp = sV + (nt * 8 + g) * LDS + kc * 16 + 2 * c;
                mma16816(dp[nt], oa[kc], ld32(vp), ld32(vp + 8));
            }
        }
        const bool diag = kt == qt;
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int hr = e >> 1;
                float p = __expf(s[nt][e] * scale - L[hr]);
                if (diag) {
                    int row = r + 8 * hr, col = kt * FT + nt * 8 + 2 * c + (e & 1);
                    if (col > row) p = 0.0f;
                }
                dp[nt][e] = p * (dp[nt][e] - Dr[hr]);                 /* dS */
            }
#pragma unroll
        for (int j = 0; j < 4; j++) {
            uint32_t sa[4] = {pack_bf16(dp[2 * j][0], dp[2 * j][1]), pack_bf16(dp[2 * j][2], dp[2 * j][3]),
                              pack_bf16(dp[2 * j + 1][0], dp[2 * j + 1][1]), pack_bf16(dp[2 * j + 1][2], dp[2 * j + 1][3])};
#pragma unroll
            for (int dt = 0; dt < 8; dt++) {
                const bf16 *kp = sKt + (dt * 8 + g) * LDS + j * 16 + 2 * c;
                mma16816(dqacc[dt], sa, ld32(kp), ld32(kp + 8));
            }
        }
    }
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        int row = r + 8 * hr;
        if (row >= T) continue;
        bf16 *qp = dq + ((size_t)b * T + row) * qstride + (size_t)i * DH;
#pragma unroll
        for (int dt = 0; dt < 8; dt++)
            *(uint32_t *)(qp + dt * 8 + 2 * c) = pack_bf16(dqacc[dt][2 * hr] * scale, dqacc[dt][2 * hr + 1] * scale);
    }
}

/* ---------------------------------------------------------------- dispatch */
static int mma_applies(t6_backend *be, int dh, const void *const *ptrs, int n)
{
    static int forced_generic = -1;
    if (forced_generic < 0) {
        const char *e = getenv("T6_CUDA_ATTENTION");      /* "generic" forces attention.cu */
        forced_generic = e && e[0] == 'g';
    }
    if (forced_generic || !cu_bf16(be) || dh != DH) return 0;
    for (int j = 0; j < n; j++)
        if (((uintptr_t)ptrs[j]) & 15) return 0;           /* 16-byte vector loads */
    return 1;
}

int t6_cuda_attention_mma_fwd(t6_backend *be, void *out, float *lse, const void *q, const void *k,
                              const void *v, int B, int T, int h, int G, int dh)
{
    const void *ptrs[] = {out, q, k, v};
    if (!mma_applies(be, dh, ptrs, 4)) return 0;
    dim3 grid((T + FT - 1) / FT, h, B);
    k_fa_fwd<<<grid, 128, 0, cu_stream(be)>>>((bf16 *)out, lse, (const bf16 *)q, (const bf16 *)k,
                                               (const bf16 *)v, T, h, G, 1.0f / sqrtf((float)dh));
    CUDA_CHECK_LAUNCH();
    return 1;
}

int t6_cuda_attention_mma_bwd(t6_backend *be, void *dq, void *dk, void *dv, const void *dout, const float *lse,
                              const float *D, const void *q, const void *k, const void *v, int B, int T, int h,
                              int G, int dh)
{
    const void *ptrs[] = {dq, dk, dv, dout, q, k, v};
    if (!mma_applies(be, dh, ptrs, 7)) return 0;
    float scale = 1.0f / sqrtf((float)dh);
    dim3 gkv((T + FT - 1) / FT, G, B), gq((T + FT - 1) / FT, h, B);
    k_fa_dkv<<<gkv, 128, 0, cu_stream(be)>>>((bf16 *)dk, (bf16 *)dv, (const bf16 *)dout, lse, D, (const bf16 *)q,
                                              (const bf16 *)k, (const bf16 *)v, T, h, G, scale);
    CUDA_CHECK_LAUNCH();
    k_fa_dq<<<gq, 128, 0, cu_stream(be)>>>((bf16 *)dq, (const bf16 *)dout, lse, D, (const bf16 *)q,
                                            (const bf16 *)k, (const bf16 *)v, T, h, G, scale);
    CUDA_CHECK_LAUNCH();
    return 1;
}
