/* tpa_qkv.cu -- TPA's fused factor rows straight to Q, K, V (tpa_qkv_fwd) and the
 * gradients of Q, K, V straight back to the fused rows (tpa_qkv_bwd): backend.h;
 * src/cpu/cpu_tpa.c is the reference. They replace tpa_split + 3 tpa_product_fwd and
 * 3 tpa_product_bwd + tpa_join (tpa_split.cu, tpa_product.cu), which stay for the
 * inference model and generation.
 *
 * A block takes the fused rows of `tok` consecutive tokens into shared memory as float
 * (the A factors, then the B factors, B_Q and B_K rotated there by rope.cu's table and
 * rounded to the act type exactly as tpa_split stores them, so the forward's values are
 * those of the split path), and computes from shared memory only:
 *  - fwd: Q, K, V rows, eight bf16 columns per thread as 16-byte stores (k_tpa_fwd8's
 *    scheme), or two per thread in the generic form;
 *  - bwd: per projection, its gradient rows at pitch P = dh + 4 (float4-aligned, no bank
 *    conflicts: k_tpa_bwd8's design), dA = G.B^T (float4 dot products, written to the
 *    fused gradient row directly) and dB = A^T.G (four columns per thread), which
 *    overwrites the projection's B rows in shared memory (they are no longer needed);
 *    after the three, one pass un-rotates dB_Q, dB_K and writes the B part of the row.
 *    The factors are rebuilt from fac instead of kept: that costs one more read of the
 *    fused row (~2 KB/token) and saves writing and re-reading the six factor tensors.
 * Each output element is written by one thread in a fixed order: deterministic.
 * Those are "v1"; v2 below (a warp per token, registers and warp shuffles, no block
 * barriers) is the bf16 default forward, v1 the default backward (measured: v2's
 * backward lost, see qkv_use_v1); env T6_TPA_QKV=v1|v2, read per call, picks one for both.
 *
 * HBM bytes per token, T6 small (h = 34, dh = 64, ranks 6/2/2: fused width 980, row
 * stride 984; bf16): fwd reads 1,960 and writes 3 x 4,352 = 13,056 (15.0 KB); the split
 * path moved 1,960 + 1,960 (split) + 1,960 + 13,056 (products) = 18.9 KB. bwd reads
 * 13,056 + 1,960 and writes 1,960 (17.0 KB); the product_bwd + join path moved
 * 13,056 + 1,960 + 1,960 (products) + 1,960 + 1,960 (join) = 20.9 KB. Four launches fewer
 * each way per layer. */
#include "cuda_common.cuh"
#include <stdlib.h>
#include <string.h>

/* the shapes of one call: offsets of the six blocks in a fused row (in elements) */
struct qkv_dims {
    int N, T, h, dh, ld;
    int R[3];        /* RQ, RK, RV */
    int rb[3];       /* first B row of each projection: 0, RQ, RQ + RK */
    int na, nb;      /* A floats per token (h * sum R), B floats per token (sum R * dh) */
    int nrot;        /* rotated B rows: RQ + RK */
};

/* x rounded to T's precision (the value tpa_split would store) */
__device__ __forceinline__ float rnd_as(float x, const float *) { return x; }
__device__ __forceinline__ float rnd_as(float x, const __nv_bfloat16 *) { return __bfloat162float(__float2bfloat16(x)); }

/* Stage the fused rows of nt tokens: A part dense (na per token) into sA, B rows at
 * pitch P into sB; then rotate the first nrot B rows of each token by +angle (rope_fwd)
 * and round them to the act type. Ends with a barrier. */
template <typename T>
__device__ void stage_factors(float *sA, float *sB, const T *fac, const qkv_dims &d, const float2 *tab, int n0, int nt,
                              int P)
{
    const int W = d.na + d.nb;
    for (int e = threadIdx.x; e < nt * W; e += blockDim.x) {
        const int n = e / W, c = e - n * W;
        const float x = t6_ld(fac + (size_t)(n0 + n) * d.ld + c);
        if (c < d.na) {
            sA[n * d.na + c] = x;
        } else {
            const int cb = c - d.na, r = cb / d.dh, j = cb - r * d.dh;
            sB[(n * (d.nb / d.dh) + r) * P + j] = x;
        }
    }
    __syncthreads();
    const int half = d.dh / 2, per = d.nrot * half, Rs = d.nb / d.dh;
    for (int e = threadIdx.x; e < nt * per; e += blockDim.x) {
        const int n = e / per, ri = e - n * per, r = ri / half, i = ri - r * half;
        const float2 cs = tab[(size_t)((n0 + n) % d.T) * half + i];
        float *p = sB + (n * Rs + r) * P;
        const float x1 = p[i], x2 = p[i + half];
        p[i] = rnd_as(x1 * cs.x + x2 * cs.y, fac);
        p[i + half] = rnd_as(-x1 * cs.y + x2 * cs.x, fac);
    }
    __syncthreads();
}

/* VEC: bf16 with dh % 8 == 0 and 16-byte aligned q, k, v */
template <typename T, int VEC>
__global__ void __launch_bounds__(256) k_qkv_fwd(T *q, T *k, T *v, const T *fac, qkv_dims d, const float2 *tab,
                                                 int tok, int paired)
{
    extern __shared__ float4 sm4[];
    float *sm = (float *)sm4;
    const int n0 = blockIdx.x * tok, nt = min(tok, d.N - n0);
    const int h = d.h, dh = d.dh, Rs = d.nb / dh, no = h * dh;
    float *sA = sm, *sB = sm + ((tok * d.na + 3) & ~3);   /* float4-aligned B rows (dh % 4 == 0 in VEC) */
    stage_factors(sA, sB, fac, d, tab, n0, nt, dh);
    int oa = 0;
    for (int p = 0; p < 3; p++) {
        T *out = p == 0 ? q : p == 1 ? k : v;
        const int R = d.R[p];
        const float invR = 1.0f / R;
        if (VEC) {
            const int vpr = dh / 8;
            uint4 *o4 = (uint4 *)(out + (size_t)n0 * no);
            for (int e = threadIdx.x; e < nt * h * vpr; e += blockDim.x) {   /* (n, i, chunk) in memory order */
                const int ni = e / vpr, c8 = (e - ni * vpr) * 8, n = ni / h, i = ni - n * h;
                const float *a = sA + n * d.na + oa + i * R, *b = sB + (n * Rs + d.rb[p]) * dh + c8;
                float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                for (int r = 0; r < R; r++) {
                    const float ar = a[r];
                    const float4 b0 = *(const float4 *)(b + r * dh), b1 = *(const float4 *)(b + r * dh + 4);
                    acc[0] += ar * b0.x; acc[1] += ar * b0.y; acc[2] += ar * b0.z; acc[3] += ar * b0.w;
                    acc[4] += ar * b1.x; acc[5] += ar * b1.y; acc[6] += ar * b1.z; acc[7] += ar * b1.w;
                }
                uint4 u;
                __nv_bfloat162 *p2 = (__nv_bfloat162 *)&u;
#pragma unroll
                for (int c = 0; c < 4; c++) p2[c] = __floats2bfloat162_rn(acc[2 * c] * invR, acc[2 * c + 1] * invR);
                o4[e] = u;
            }
        } else {
            const int half = no / 2;                          /* dh even: pairs stay in a row */
            for (int e = threadIdx.x; e < nt * half; e += blockDim.x) {
                const int n = e / half, rem = (e - n * half) * 2, i = rem / dh, j = rem - i * dh;
                const float *a = sA + n * d.na + oa + i * R, *b = sB + (n * Rs + d.rb[p]) * dh + j;
                float acc0 = 0.0f, acc1 = 0.0f;
                for (int r = 0; r < R; r++) { acc0 += a[r] * b[r * dh]; acc1 += a[r] * b[r * dh + 1]; }
                T *o = out + (size_t)(n0 + n) * no + rem;
                if (paired) {
                    t6_st2(o, acc0 * invR, acc1 * invR);
                } else {
                    t6_st(o, acc0 * invR);
                    t6_st(o + 1, acc1 * invR);
                }
            }
        }
        oa += h * R;
    }
}

/* VEC: bf16 with dh % 8 == 0 and 16-byte aligned dq, dk, dv (rows staged as 16-byte
 * loads, pitch P = dh + 4); otherwise P = dh + 1 and scalar loops. */
template <typename T, int VEC>
__global__ void __launch_bounds__(256) k_qkv_bwd(T *dfac, const T *dq, const T *dk, const T *dv, const T *fac,
                                                 qkv_dims d, const float2 *tab, int tok)
{
    extern __shared__ float4 sm4[];
    float *sm = (float *)sm4;
    const int n0 = blockIdx.x * tok, nt = min(tok, d.N - n0);
    const int h = d.h, dh = d.dh, Rs = d.nb / dh, P = VEC ? dh + 4 : dh + 1, q4 = dh / 4;
    float *sA = sm, *sB = sm + ((tok * d.na + 3) & ~3), *sG = sB + tok * Rs * P;
    stage_factors(sA, sB, fac, d, tab, n0, nt, P);
    int oa = 0;
    for (int p = 0; p < 3; p++) {
        const T *g = (p == 0 ? dq : p == 1 ? dk : dv) + (size_t)n0 * h * dh;
        const int R = d.R[p], rb = d.rb[p];
        const float invR = 1.0f / R;
        if (VEC) {                                        /* nt*h rows of dh bf16 -> pitch P floats */
            const int vpr = dh / 8;
            const uint4 *s4 = (const uint4 *)g;
            for (int e = threadIdx.x; e < nt * h * vpr; e += blockDim.x) {
                const int row = e / vpr, c8 = (e - row * vpr) * 8;
                const uint4 u = s4[e];
                const __nv_bfloat162 *p2 = (const __nv_bfloat162 *)&u;
                float2 t[4];
#pragma unroll
                for (int c = 0; c < 4; c++) t[c] = __bfloat1622float2(p2[c]);
                float4 *dst = (float4 *)(sG + row * P + c8);
                dst[0] = make_float4(t[0].x, t[0].y, t[1].x, t[1].y);
                dst[1] = make_float4(t[2].x, t[2].y, t[3].x, t[3].y);
            }
        } else {
            for (int e = threadIdx.x; e < nt * h * dh; e += blockDim.x) {
                const int row = e / dh, j = e - row * dh;
                sG[row * P + j] = t6_ld(g + e);
            }
        }
        __syncthreads();
        /* dA[n,i,r] = (1/R) G[n,i,:] . B[n,rb+r,:] -> the fused gradient row */
        for (int e = threadIdx.x; e < nt * h * R; e += blockDim.x) {
            const int n = e / (h * R), ir = e - n * h * R, i = ir / R, r = ir - i * R;
            const float *gr = sG + (n * h + i) * P, *br = sB + (n * Rs + rb + r) * P;
            float acc = 0.0f;
            if (VEC) {
                const float4 *g4 = (const float4 *)gr, *b4 = (const float4 *)br;
                for (int jq = 0; jq < q4; jq++) {
                    const float4 x = g4[jq], y = b4[jq];
                    acc += x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
                }
            } else {
                for (int j = 0; j < dh; j++) acc += gr[j] * br[j];
            }
            t6_st(dfac + (size_t)(n0 + n) * d.ld + oa + ir, acc * invR);
        }
        __syncthreads();                                  /* B rows of p are read: dB may replace them */
        /* dB[n,rb+r,j] = (1/R) sum_i A[n,i,r] G[n,i,j] -> over B's rows in shared memory */
        if (VEC) {
            for (int e = threadIdx.x; e < nt * R * q4; e += blockDim.x) {
                const int n = e / (R * q4), rq = e - n * R * q4, r = rq / q4, jq = rq - r * q4;
                const float *a = sA + n * d.na + oa + r;
                const float4 *g4 = (const float4 *)(sG + n * h * P) + jq;
                float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                for (int i = 0; i < h; i++) {
                    const float ai = a[i * R];
                    const float4 x = g4[i * (P / 4)];
                    acc.x += ai * x.x; acc.y += ai * x.y; acc.z += ai * x.z; acc.w += ai * x.w;
                }
                *(float4 *)(sB + (n * Rs + rb + r) * P + jq * 4) =
                    make_float4(acc.x * invR, acc.y * invR, acc.z * invR, acc.w * invR);
            }
        } else {
            for (int e = threadIdx.x; e < nt * R * dh; e += blockDim.x) {
                const int n = e / (R * dh), rj = e - n * R * dh, r = rj / dh, j = rj - r * dh;
                const float *a = sA + n * d.na + oa + r, *gc = sG + n * h * P + j;
                float acc = 0.0f;
                for (int i = 0; i < h; i++) acc += a[i * R] * gc[i * P];
                sB[(n * Rs + rb + r) * P + j] = acc * invR;
            }
        }
        __syncthreads();                                  /* sG is restaged next; sB read below */
        oa += h * R;
    }
    /* the B part of the gradient rows: dB_Q, dB_K rotated back (rope_bwd), dB_V as is */
    const int half = dh / 2, per = d.nrot * half, nv = (Rs - d.nrot) * dh;
    for (int e = threadIdx.x; e < nt * per; e += blockDim.x) {
        const int n = e / per, ri = e - n * per, r = ri / half, i = ri - r * half;
        const float2 cs = tab[(size_t)((n0 + n) % d.T) * half + i];
        const float *s = sB + (n * Rs + r) * P;
        const float x1 = s[i], x2 = s[i + half];
        T *o = dfac + (size_t)(n0 + n) * d.ld + d.na + r * dh;
        t6_st(o + i, x1 * cs.x - x2 * cs.y);
        t6_st(o + i + half, x1 * cs.y + x2 * cs.x);
    }
    for (int e = threadIdx.x; e < nt * nv; e += blockDim.x) {
        const int n = e / nv, rj = e - n * nv, r = d.nrot + rj / dh, j = rj % dh;
        t6_st(dfac + (size_t)(n0 + n) * d.ld + d.na + r * dh + j, sB[(n * Rs + r) * P + j]);
    }
}

/* ---- v2: warp per token, the bf16 16-byte path (the default; T6_TPA_QKV=v1 selects the
 * kernels above). Shapes: dh a power of two in 16..256 (so a B row is CPR = dh/8 chunks
 * of eight columns, CPR divides 32 and a rotation pair (j, j + dh/2) is chunk c and
 * chunk c ^ CPR/2), ld % 8 == 0 and 16-byte aligned rows (the fused row staged as uint4).
 * A warp stages its token's fused row raw (bf16) into its own slice of shared memory with
 * every 16-byte load issued before the first store, then works from registers: lane =
 * (ih, c) holds B chunk c of the projection's R rows (rotated and rounded on the way,
 * the partner chunk read from the staged row), and walks heads ih, ih + HL, ... with
 * HL = 32 / CPR. 4 warps (tokens) per block. Only __syncwarp: no block barriers, each
 * warp independent, so the loads of one warp overlap the math of the others. */
#define QKV2_FWD_R 8   /* the forward keeps all R B chunks in registers: ranks <= 8 */
#define QKV2_BWD_G 4   /* the backward takes ranks in groups of 4 (registers) */
#define QKV2_BWD_H 3   /* and loads the G chunks of 3 of a lane's heads before using them */
#define QKV2_BWD_W 4   /* warps (tokens) per backward block: 128 threads, finer register granularity */
#define QKV2_FWD_W 4   /* warps (tokens) per forward block (96 registers: 20 warps per SM) */

/* the warp's fused row, ceil(W/8) 16-byte chunks, into shared memory (nc <= 256) */
__device__ __forceinline__ void qkv2_stage(uint4 *dst, const __nv_bfloat16 *row, int nc, int lane)
{
    const uint4 *src = (const uint4 *)row;
    uint4 u[8];
#pragma unroll
    for (int k = 0; k < 8; k++)
        if (lane + 32 * k < nc) u[k] = __ldcs(src + lane + 32 * k);
#pragma unroll
    for (int k = 0; k < 8; k++)
        if (lane + 32 * k < nc) dst[lane + 32 * k] = u[k];
}

/* b[r][e] = column c*8+e of B row rb+r (r < nr) from the staged row; rotated rows get
 * rope_fwd with the token's table row cs and are rounded to bf16 (stage_factors' math) */
template <int RM>
__device__ __forceinline__ void qkv2_load_b(float (*b)[8], const __nv_bfloat16 *sb, int rb, int nr, int rot, int c,
                                            int cpr, int dh, const float2 *cs)
{
    const int hc = cpr / 2, first = c < hc, pc = c ^ hc;
#pragma unroll
    for (int r = 0; r < RM; r++) {
        if (r >= nr) break;
        const __nv_bfloat16 *row = sb + (rb + r) * dh;
#pragma unroll
        for (int e = 0; e < 8; e++) {
            const float own = __bfloat162float(row[c * 8 + e]);
            if (!rot) { b[r][e] = own; continue; }
            const float part = __bfloat162float(row[pc * 8 + e]);
            const float2 t = cs[(first ? c : pc) * 8 + e];
            if (first) {
                const float x1 = own, x2 = part;
                b[r][e] = __bfloat162float(__float2bfloat16(x1 * t.x + x2 * t.y));
            } else {
                const float x1 = part, x2 = own;
                b[r][e] = __bfloat162float(__float2bfloat16(-x1 * t.y + x2 * t.x));
            }
        }
    }
}

/* forward: Q, K, V rows of the warp's token; sums in rank order as k_qkv_fwd: bitwise
 * equal to it */
__global__ void __launch_bounds__(32 * QKV2_FWD_W) k_qkv_fwd2(__nv_bfloat16 *q, __nv_bfloat16 *k, __nv_bfloat16 *v,
                                                  const __nv_bfloat16 *fac, qkv_dims d, const float2 *tab, int lcpr)
{
    extern __shared__ float4 sm4[];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int n = blockIdx.x * (blockDim.x >> 5) + warp;
    if (n >= d.N) return;                                 /* the whole warp: n is per warp */
    const int nc = (d.na + d.nb + 7) >> 3, cpr = 1 << lcpr, hl = 32 >> lcpr;
    const int c = lane & (cpr - 1), ih = lane >> lcpr, h = d.h, dh = d.dh, half = dh / 2;
    uint4 *srow = (uint4 *)sm4 + warp * nc;
    qkv2_stage(srow, fac + (size_t)n * d.ld, nc, lane);
    __syncwarp();
    const __nv_bfloat16 *sa = (const __nv_bfloat16 *)srow, *sb = sa + d.na;
    const float2 *cs = tab + (size_t)(n % d.T) * half;
    int oa = 0;
    for (int p = 0; p < 3; p++) {
        __nv_bfloat16 *out = (p == 0 ? q : p == 1 ? k : v) + (size_t)n * h * dh + c * 8;
        const int R = d.R[p];
        const float invR = 1.0f / R;
        float b[QKV2_FWD_R][8];
        qkv2_load_b<QKV2_FWD_R>(b, sb, d.rb[p], R, p < 2, c, cpr, dh, cs);
        for (int i = ih; i < h; i += hl) {
            const __nv_bfloat16 *a = sa + oa + i * R;
            float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
#pragma unroll
            for (int r = 0; r < QKV2_FWD_R; r++) {
                if (r >= R) break;
                const float ar = __bfloat162float(a[r]);
#pragma unroll
                for (int e = 0; e < 8; e++) acc[e] += ar * b[r][e];
            }
            uint4 u;
            __nv_bfloat162 *p2 = (__nv_bfloat162 *)&u;
#pragma unroll
            for (int e = 0; e < 4; e++) p2[e] = __floats2bfloat162_rn(acc[2 * e] * invR, acc[2 * e + 1] * invR);
            *(uint4 *)(out + (size_t)i * dh) = u;
        }
        oa += h * R;
    }
}

/* backward: the gradient row of the warp's token assembled in shared memory (bf16, one
 * writer per element) and written out as 16-byte stores (the pad columns untouched).
 * Per projection and group of <= 4 ranks: each lane reads its G chunk of heads ih,
 * ih + HL, ... (16-byte loads), dA's partial dot products over its 8 columns are summed
 * over the CPR lanes of the head by xor shuffles; dB over the lane's heads in registers,
 * summed over the HL head lanes by xor shuffles at the end, un-rotated with the partner
 * chunk's lane. Sums in another order than k_qkv_bwd: equal within rounding. */
__global__ void __launch_bounds__(32 * QKV2_BWD_W) k_qkv_bwd2(__nv_bfloat16 *dfac, const __nv_bfloat16 *dq,
                                                  const __nv_bfloat16 *dk, const __nv_bfloat16 *dv,
                                                  const __nv_bfloat16 *fac, qkv_dims d, const float2 *tab, int lcpr)
{
    extern __shared__ float4 sm4[];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int n = blockIdx.x * (blockDim.x >> 5) + warp;
    if (n >= d.N) return;
    const int W = d.na + d.nb, nc = (W + 7) >> 3, cpr = 1 << lcpr, hl = 32 >> lcpr;
    const int c = lane & (cpr - 1), ih = lane >> lcpr, h = d.h, dh = d.dh, half = dh / 2, hc = cpr / 2;
    uint4 *srow = (uint4 *)sm4 + warp * 2 * nc, *sgrad = srow + nc;
    qkv2_stage(srow, fac + (size_t)n * d.ld, nc, lane);
    __syncwarp();
    const __nv_bfloat16 *sa = (const __nv_bfloat16 *)srow, *sb = sa + d.na;
    __nv_bfloat16 *ga = (__nv_bfloat16 *)sgrad, *gb = ga + d.na;
    const float2 *cs = tab + (size_t)(n % d.T) * half;
    int oa = 0;
    for (int p = 0; p < 3; p++) {
        const __nv_bfloat16 *g = (p == 0 ? dq : p == 1 ? dk : dv) + (size_t)n * h * dh + c * 8;
        const int R = d.R[p], rot = p < 2;
        const float invR = 1.0f / R;
        for (int r0 = 0; r0 < R; r0 += QKV2_BWD_G) {
            const int nr = min(QKV2_BWD_G, R - r0);
            float b[QKV2_BWD_G][8], db[QKV2_BWD_G][8];
            qkv2_load_b<QKV2_BWD_G>(b, sb, d.rb[p] + r0, nr, rot, c, cpr, dh, cs);
#pragma unroll
            for (int r = 0; r < QKV2_BWD_G; r++)
#pragma unroll
                for (int e = 0; e < 8; e++) db[r][e] = 0.0f;
            for (int i0 = 0; i0 < h; i0 += QKV2_BWD_H * hl) {   /* the same trip count in every lane */
                uint4 gu[QKV2_BWD_H];                     /* QKV2_BWD_H heads' G loads in flight at once */
#pragma unroll
                for (int k = 0; k < QKV2_BWD_H; k++) {
                    const int i = i0 + k * hl + ih;
                    gu[k] = i < h ? *(const uint4 *)(g + (size_t)i * dh) : make_uint4(0u, 0u, 0u, 0u);
                }
#pragma unroll
                for (int k = 0; k < QKV2_BWD_H; k++) {
                    if (i0 + k * hl >= h) break;          /* uniform over the warp */
                    const int i = i0 + k * hl + ih, ok = i < h;
                    float gv[8];
                    const __nv_bfloat162 *p2 = (const __nv_bfloat162 *)&gu[k];
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        const float2 f = __bfloat1622float2(p2[e]);
                        gv[2 * e] = f.x; gv[2 * e + 1] = f.y;
                    }
                    float pa[QKV2_BWD_G];
#pragma unroll
                    for (int r = 0; r < QKV2_BWD_G; r++) {
                        if (r >= nr) break;
                        const float ai = ok ? __bfloat162float(sa[oa + i * R + r0 + r]) : 0.0f;
                        float s = 0.0f;
#pragma unroll
                        for (int e = 0; e < 8; e++) { s += gv[e] * b[r][e]; db[r][e] += ai * gv[e]; }
                        for (int m = 1; m < cpr; m <<= 1) s += __shfl_xor_sync(0xffffffffu, s, m);
                        pa[r] = s;
                    }
                    if (ok && c == 0)
                        for (int r = 0; r < nr; r++) ga[oa + i * R + r0 + r] = __float2bfloat16(pa[r] * invR);
                }
            }
#pragma unroll
            for (int r = 0; r < QKV2_BWD_G; r++) {
                if (r >= nr) break;
#pragma unroll
                for (int e = 0; e < 8; e++) {
                    float s = db[r][e];
                    for (int m = cpr; m < 32; m <<= 1) s += __shfl_xor_sync(0xffffffffu, s, m);
                    s *= invR;
                    float o = s;
                    if (rot) {                            /* rope_bwd on the pair (j, j + half) */
                        const float part = __shfl_xor_sync(0xffffffffu, s, hc);
                        const float2 t = cs[(c < hc ? c : c ^ hc) * 8 + e];
                        o = c < hc ? s * t.x - part * t.y : part * t.y + s * t.x;
                    }
                    if (ih == 0) gb[(d.rb[p] + r0 + r) * dh + c * 8 + e] = __float2bfloat16(o);
                }
            }
        }
        oa += h * R;
    }
    __syncwarp();
    uint4 *dst = (uint4 *)(dfac + (size_t)n * d.ld);
    for (int cc = lane; cc < W / 8; cc += 32) dst[cc] = sgrad[cc];
    for (int j = (W / 8) * 8 + lane; j < W; j += 32) dfac[(size_t)n * d.ld + j] = ga[j];
}

static qkv_dims make_dims(const char *op, int B, int T, int h, int RQ, int RK, int RV, int dh, int ld)
{
    T6_CHECK(dh % 2 == 0, NULL, "%s: RoPE needs an even head_dim, got %d", op, dh);
    T6_CHECK(h > 0 && RQ > 0 && RK > 0 && RV > 0, NULL, "%s: heads %d and ranks %d/%d/%d must be positive", op, h,
             RQ, RK, RV);
    qkv_dims d;
    d.N = B * T; d.T = T; d.h = h; d.dh = dh; d.ld = ld;
    d.R[0] = RQ; d.R[1] = RK; d.R[2] = RV;
    d.rb[0] = 0; d.rb[1] = RQ; d.rb[2] = RQ + RK;
    d.na = h * (RQ + RK + RV);
    d.nb = (RQ + RK + RV) * dh;
    d.nrot = RQ + RK;
    T6_CHECK(ld >= d.na + d.nb, NULL, "%s: row stride %d below the fused width %d", op, ld, d.na + d.nb);
    return d;
}

/* tokens per block for a per-token shared footprint, within 44 KB (48 KB less the
 * alignment slack), 1..8 */
static int qkv_tokens(size_t per)
{
    int tok = (int)((44u * 1024u) / per);
    return tok < 1 ? 1 : (tok > 8 ? 8 : tok);
}

static int aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

/* the kernels in use, per direction: by default v2 forward and v1 backward (measured on
 * the H200, 2026-12-01, T6 small: v2 forward 1.85 ms/step against v1's 3.81, v2 backward
 * 8.3 against v1's 5.7: doc/cuda.md); T6_TPA_QKV=v1 or v2 (read per call, so one
 * process can time them) selects that version in both directions */
static int qkv_use_v1(int bwd)
{
    const char *s = getenv("T6_TPA_QKV");
    if (s == NULL || *s == '\0') return bwd;
    if (strcmp(s, "v1") == 0) return 1;
    if (strcmp(s, "v2") == 0) return 0;
    t6_fatal("T6_TPA_QKV=%s: expected v1 or v2 (unset: v2 forward, v1 backward)", s);
}

/* log2(dh / 8) when the v2 kernels take this call (bf16, dh a power of two in 16..256,
 * 16-byte rows, the row staged in <= 256 chunks, ranks within the register arrays), else
 * -1; smem: the shared bytes of one block */
static int qkv2_shape(t6_backend *be, const qkv_dims &d, const void *fac, int maxr, size_t smem, int bwd)
{
    if (!cu_bf16(be) || qkv_use_v1(bwd) || d.ld % 8 != 0 || !aligned16(fac)) return -1;
    if (d.R[0] > maxr || d.R[1] > maxr || d.R[2] > maxr) return -1;
    if ((d.na + d.nb + 7) / 8 > 256 || smem > 48 * 1024) return -1;
    for (int l = 1; l <= 5; l++)
        if (d.dh == 8 << l) return l;
    return -1;
}

void t6_cuda_tpa_qkv_fwd(t6_backend *be, void *q, void *k, void *v, const void *fac, int ld, int B, int T, int h,
                         int RQ, int RK, int RV, int dh, double base)
{
    const qkv_dims d = make_dims("tpa_qkv_fwd", B, T, h, RQ, RK, RV, dh, ld);
    if (d.N <= 0) return;
    const size_t per = (size_t)(d.na + d.nb) * sizeof(float);
    T6_CHECK(per + 16 <= 48 * 1024, "TPA with fewer heads or smaller ranks",
             "tpa_qkv_fwd: h=%d ranks %d/%d/%d dh=%d need %zu bytes of shared memory per token", h, RQ, RK, RV, dh,
             per);
    const int tok = qkv_tokens(per + 16), grid = (d.N + tok - 1) / tok;
    const size_t shm = per * tok + 16;
    const float2 *tab = t6_cuda_rope_table(be, T, dh, base);
    const size_t row16 = (size_t)(d.na + d.nb + 7) / 8 * 16;
    const int l2 = aligned16(q) && aligned16(k) && aligned16(v) ? qkv2_shape(be, d, fac, QKV2_FWD_R, QKV2_FWD_W * row16, 0) : -1;
    if (l2 > 0) {                                         /* v2: a warp per token */
        typedef __nv_bfloat16 U;
        k_qkv_fwd2<<<(d.N + QKV2_FWD_W - 1) / QKV2_FWD_W, 32 * QKV2_FWD_W, QKV2_FWD_W * row16, cu_stream(be)>>>(
            (U *)q, (U *)k, (U *)v, (const U *)fac, d, tab, l2);
        CUDA_CHECK_LAUNCH();
        return;
    }
    if (cu_bf16(be) && dh % 8 == 0 && aligned16(q) && aligned16(k) && aligned16(v)) {
        typedef __nv_bfloat16 U;
        k_qkv_fwd<U, 1><<<grid, 256, shm, cu_stream(be)>>>((U *)q, (U *)k, (U *)v, (const U *)fac, d, tab, tok, 1);
        CUDA_CHECK_LAUNCH();
        return;
    }
    const size_t two = 2 * be->act_bytes;
    const int paired = (uintptr_t)q % two == 0 && (uintptr_t)k % two == 0 && (uintptr_t)v % two == 0;
    T6_ACT_DISPATCH(be, U, {
        k_qkv_fwd<U, 0><<<grid, 256, shm, cu_stream(be)>>>((U *)q, (U *)k, (U *)v, (const U *)fac, d, tab, tok,
                                                           paired);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_tpa_qkv_bwd(t6_backend *be, void *dfac, const void *dq, const void *dk, const void *dv,
                         const void *fac, int ld, int B, int T, int h, int RQ, int RK, int RV, int dh, double base)
{
    const qkv_dims d = make_dims("tpa_qkv_bwd", B, T, h, RQ, RK, RV, dh, ld);
    T6_CHECK(dfac != fac, NULL, "tpa_qkv_bwd: the gradient must not overwrite the factors it is computed from");
    if (d.N <= 0) return;
    const int vec = cu_bf16(be) && dh % 8 == 0 && aligned16(dq) && aligned16(dk) && aligned16(dv);
    const int P = vec ? dh + 4 : dh + 1, Rs = RQ + RK + RV;
    const size_t per = (size_t)(d.na + Rs * P + h * P) * sizeof(float);
    T6_CHECK(per + 16 <= 48 * 1024, "TPA with fewer heads or smaller ranks",
             "tpa_qkv_bwd: h=%d ranks %d/%d/%d dh=%d need %zu bytes of shared memory per token (max 49136)", h, RQ,
             RK, RV, dh, per);
    const int tok = qkv_tokens(per + 16), grid = (d.N + tok - 1) / tok;
    const size_t shm = per * tok + 16;
    const float2 *tab = t6_cuda_rope_table(be, T, dh, base);
    const size_t row16 = (size_t)(d.na + d.nb + 7) / 8 * 16;
    const int l2 = vec && aligned16(dfac) ? qkv2_shape(be, d, fac, 1 << 30, 2 * QKV2_BWD_W * row16, 1) : -1;
    if (l2 > 0) {                                         /* v2: a warp per token */
        typedef __nv_bfloat16 U;
        k_qkv_bwd2<<<(d.N + QKV2_BWD_W - 1) / QKV2_BWD_W, 32 * QKV2_BWD_W, 2 * QKV2_BWD_W * row16, cu_stream(be)>>>((U *)dfac, (const U *)dq, (const U *)dk,
                                                                      (const U *)dv, (const U *)fac, d, tab, l2);
        CUDA_CHECK_LAUNCH();
        return;
    }
    if (vec) {
        typedef __nv_bfloat16 U;
        k_qkv_bwd<U, 1><<<grid, 256, shm, cu_stream(be)>>>((U *)dfac, (const U *)dq, (const U *)dk, (const U *)dv,
                                                           (const U *)fac, d, tab, tok);
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, U, {
        k_qkv_bwd<U, 0><<<grid, 256, shm, cu_stream(be)>>>((U *)dfac, (const U *)dq, (const U *)dk, (const U *)dv,
                                                           (const U *)fac, d, tab, tok);
        CUDA_CHECK_LAUNCH();
    });
}
