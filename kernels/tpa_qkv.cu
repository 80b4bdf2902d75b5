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
 *
 * HBM bytes per token, T6 small (h = 34, dh = 64, ranks 6/2/2: fused width 980, row
 * stride 984; bf16): fwd reads 1,960 and writes 3 x 4,352 = 13,056 (15.0 KB); the split
 * path moved 1,960 + 1,960 (split) + 1,960 + 13,056 (products) = 18.9 KB. bwd reads
 * 13,056 + 1,960 and writes 1,960 (17.0 KB); the product_bwd + join path moved
 * 13,056 + 1,960 + 1,960 (products) + 1,960 + 1,960 (join) = 20.9 KB. Four launches fewer
 * each way per layer. */
#include "cuda_common.cuh"

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
