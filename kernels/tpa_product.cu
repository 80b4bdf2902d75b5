/* tpa_product.cu -- the TPA factor product out[n,i,:] = (1/R) sum_r A[n,i,r] Bf[n,r,:]
 * (A: (N,h,R), Bf: (N,R,dh), out: (N,h,dh)) and its backward. Memory-bound: a block
 * stages the factors of TOK consecutive tokens (contiguous in memory, so the loads are
 * coalesced) in shared memory as float and writes the outputs two elements at a time.
 * The generic backward keeps dout rows at a pitch of dh+1 floats, so both the per-(i,r)
 * dot products over dh (dA) and the per-(r,j) sums over heads (dBf) read shared memory
 * without bank conflicts and without shuffles (k_tpa_bwd8 blocks them in float4s). bf16 buffers with dh % 8 == 0 are read
 * and written as 16-byte vectors (k_tpa_fwd8 / k_tpa_bwd8). */
#include "cuda_common.cuh"

template <typename T>
__global__ void __launch_bounds__(256) k_tpa_fwd(T *out, const T *A, const T *Bf, int N, int h, int R, int dh, int tok,
                                                 int paired)
{
    extern __shared__ float sm[];
    const int n0 = blockIdx.x * tok, nt = min(tok, N - n0);
    const int na = h * R, nb = R * dh, no = h * dh;
    float *sA = sm, *sB = sm + tok * na;
    for (int e = threadIdx.x; e < nt * na; e += blockDim.x) sA[e] = t6_ld(A + (size_t)n0 * na + e);
    for (int e = threadIdx.x; e < nt * nb; e += blockDim.x) sB[e] = t6_ld(Bf + (size_t)n0 * nb + e);
    __syncthreads();
    const float invR = 1.0f / R;
    const int half = no / 2;                         /* dh is even: pairs never straddle rows */
    for (int e = threadIdx.x; e < nt * half; e += blockDim.x) {
        int n = e / half, rem = (e - n * half) * 2;
        int i = rem / dh, j = rem - i * dh;
        const float *a = sA + n * na + i * R, *b = sB + n * nb + j;
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

template <typename T>
__global__ void __launch_bounds__(256) k_tpa_bwd(T *dA, T *dBf, const T *dout, const T *A, const T *Bf, int N,
                                                 int h, int R, int dh, int tok)
{
    extern __shared__ float sm[];
    const int n0 = blockIdx.x * tok, nt = min(tok, N - n0);
    const int na = h * R, nb = R * dh, no = h * dh, P = dh + 1;
    float *sA = sm, *sB = sA + tok * na, *sG = sB + tok * R * P;
    for (int e = threadIdx.x; e < nt * na; e += blockDim.x) sA[e] = t6_ld(A + (size_t)n0 * na + e);
    for (int e = threadIdx.x; e < nt * nb; e += blockDim.x) {
        int n = e / nb, rj = e - n * nb, r = rj / dh, j = rj - r * dh;
        sB[(n * R + r) * P + j] = t6_ld(Bf + (size_t)n0 * nb + e);
    }
    for (int e = threadIdx.x; e < nt * no; e += blockDim.x) {
        int n = e / no, ij = e - n * no, i = ij / dh, j = ij - i * dh;
        sG[(n * h + i) * P + j] = t6_ld(dout + (size_t)n0 * no + e);
    }
    __syncthreads();
    const float invR = 1.0f / R;
    for (int e = threadIdx.x; e < nt * na; e += blockDim.x) {     /* dA[n,i,r] = sum_j G[i,j] B[r,j] */
        int n = e / na, ir = e - n * na, i = ir / R, r = ir - i * R;
        const float *g = sG + (n * h + i) * P, *b = sB + (n * R + r) * P;
        float acc = 0.0f;
        for (int j = 0; j < dh; j++) acc += g[j] * b[j];
        t6_st(dA + (size_t)n0 * na + e, acc * invR);
    }
    for (int e = threadIdx.x; e < nt * nb; e += blockDim.x) {     /* dB[n,r,j] = sum_i A[i,r] G[i,j] */
        int n = e / nb, rj = e - n * nb, r = rj / dh, j = rj - r * dh;
        const float *a = sA + n * na + r, *g = sG + n * h * P + j;
        float acc = 0.0f;
        for (int i = 0; i < h; i++) acc += a[i * R] * g[i * P];
        t6_st(dBf + (size_t)n0 * nb + e, acc * invR);
    }
}

/* ---- bf16, dh % 8 == 0, 16-byte aligned Bf/dout/out: 16-byte loads and stores ---- */

/* rows of dh bf16 (contiguous, 16-byte aligned) -> shared floats at pitch P */
__device__ __forceinline__ void stage_rows8(float *dst, const __nv_bfloat16 *src, int nrows, int dh, int P)
{
    const int vpr = dh / 8;
    const uint4 *s4 = (const uint4 *)src;
    for (int e = threadIdx.x; e < nrows * vpr; e += blockDim.x) {
        int row = e / vpr, c8 = (e - row * vpr) * 8;
        uint4 u = s4[e];
        const __nv_bfloat162 *p2 = (const __nv_bfloat162 *)&u;
        float *d = dst + row * P + c8;
        float2 t[4];
#pragma unroll
        for (int k = 0; k < 4; k++) t[k] = __bfloat1622float2(p2[k]);
        if ((P & 3) == 0) {           /* float4-aligned rows (dst is 16-byte aligned) */
            ((float4 *)d)[0] = make_float4(t[0].x, t[0].y, t[1].x, t[1].y);
            ((float4 *)d)[1] = make_float4(t[2].x, t[2].y, t[3].x, t[3].y);
        } else {
#pragma unroll
            for (int k = 0; k < 4; k++) { d[2 * k] = t[k].x; d[2 * k + 1] = t[k].y; }
        }
    }
}

__global__ void __launch_bounds__(256) k_tpa_fwd8(__nv_bfloat16 *out, const __nv_bfloat16 *A, const __nv_bfloat16 *Bf,
                                                  int N, int h, int R, int dh, int tok)
{
    extern __shared__ float sm[];
    const int n0 = blockIdx.x * tok, nt = min(tok, N - n0);
    const int na = h * R, nb = R * dh, vpr = dh / 8;
    float *sA = sm, *sB = sm + ((tok * na + 3) & ~3);     /* float4-aligned */
    for (int e = threadIdx.x; e < nt * na; e += blockDim.x) sA[e] = __bfloat162float(A[(size_t)n0 * na + e]);
    stage_rows8(sB, Bf + (size_t)n0 * nb, nt * R, dh, dh);
    __syncthreads();
    const float invR = 1.0f / R;
    uint4 *o4 = (uint4 *)(out + (size_t)n0 * h * dh);
    for (int e = threadIdx.x; e < nt * h * vpr; e += blockDim.x) {   /* e = (n, i, chunk) in memory order */
        int ni = e / vpr, c8 = (e - ni * vpr) * 8;
        int n = ni / h;
        const float *a = sA + ni * R, *b = sB + n * nb + c8;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int r = 0; r < R; r++) {
            float ar = a[r];
            const float4 b0 = *(const float4 *)(b + r * dh), b1 = *(const float4 *)(b + r * dh + 4);
            acc[0] += ar * b0.x; acc[1] += ar * b0.y; acc[2] += ar * b0.z; acc[3] += ar * b0.w;
            acc[4] += ar * b1.x; acc[5] += ar * b1.y; acc[6] += ar * b1.z; acc[7] += ar * b1.w;
        }
        uint4 u;
        __nv_bfloat162 *p2 = (__nv_bfloat162 *)&u;
#pragma unroll
        for (int k = 0; k < 4; k++) p2[k] = __floats2bfloat162_rn(acc[2 * k] * invR, acc[2 * k + 1] * invR);
        o4[e] = u;
    }
}

/* The backward's two contractions read shared memory far more than HBM (each dA and
 * dB term is one FMA over two shared floats), so they are blocked for it: rows at a
 * pitch of dh + 4 floats (float4-aligned; 68 mod 32 = 4 keeps the float4 reads of
 * different rows in different banks), dA[n,i,r] = G[n,i,:] . B[n,r,:] in float4 steps,
 * and each thread of dB computes four adjacent columns dB[n,r,j..j+3] over the heads
 * (one A value and one float4 of G per 4 FMAs). */
__global__ void __launch_bounds__(256) k_tpa_bwd8(__nv_bfloat16 *dA, __nv_bfloat16 *dBf, const __nv_bfloat16 *dout,
                                                  const __nv_bfloat16 *A, const __nv_bfloat16 *Bf, int N, int h, int R,
                                                  int dh, int tok)
{
    extern __shared__ float4 sm4[];
    float *sm = (float *)sm4;
    const int n0 = blockIdx.x * tok, nt = min(tok, N - n0);
    const int na = h * R, nb = R * dh, P = dh + 4, q4 = dh / 4;
    float *sA = sm, *sB = sA + ((tok * na + 3) & ~3), *sG = sB + tok * R * P;
    for (int e = threadIdx.x; e < nt * na; e += blockDim.x) sA[e] = __bfloat162float(A[(size_t)n0 * na + e]);
    stage_rows8(sB, Bf + (size_t)n0 * nb, nt * R, dh, P);
    stage_rows8(sG, dout + (size_t)n0 * h * dh, nt * h, dh, P);
    __syncthreads();
    const float invR = 1.0f / R;
    for (int e = threadIdx.x; e < nt * na; e += blockDim.x) {     /* dA[n,i,r] = sum_j G[i,j] B[r,j] */
        int n = e / na, ir = e - n * na, i = ir / R, r = ir - i * R;
        const float4 *g = (const float4 *)(sG + (n * h + i) * P), *b = (const float4 *)(sB + (n * R + r) * P);
        float acc = 0.0f;
        for (int jq = 0; jq < q4; jq++) {
            float4 x = g[jq], y = b[jq];
            acc += x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
        }
        dA[(size_t)n0 * na + e] = __float2bfloat16(acc * invR);
    }
    for (int e = threadIdx.x; e < nt * R * q4; e += blockDim.x) { /* dB[n,r,j..j+3] = sum_i A[i,r] G[i,j..] */
        int n = e / (R * q4), rq = e - n * R * q4, r = rq / q4, jq = rq - r * q4;
        const float *a = sA + n * na + r;
        const float4 *g = (const float4 *)(sG + n * h * P) + jq;
        float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        for (int i = 0; i < h; i++) {
            float ai = a[i * R];
            float4 x = g[i * (P / 4)];
            acc.x += ai * x.x; acc.y += ai * x.y; acc.z += ai * x.z; acc.w += ai * x.w;
        }
        __nv_bfloat162 lo = __floats2bfloat162_rn(acc.x * invR, acc.y * invR);
        __nv_bfloat162 hi = __floats2bfloat162_rn(acc.z * invR, acc.w * invR);
        uint2 u = make_uint2(*(const uint32_t *)&lo, *(const uint32_t *)&hi);
        *(uint2 *)(dBf + (size_t)n0 * nb + (size_t)(n * R + r) * dh + jq * 4) = u;
    }
}

static int vec_ok(const t6_backend *be, int dh, const void *const *p, int np)
{
    if (!cu_bf16(be) || dh % 8) return 0;
    for (int k = 0; k < np; k++)
        if ((uintptr_t)p[k] & 15) return 0;
    return 1;
}

static int tokens_per_block(size_t bytes_per_token)
{
    int tok = (int)((44u * 1024u) / bytes_per_token);
    return tok < 1 ? 1 : (tok > 8 ? 8 : tok);
}

void t6_cuda_tpa_product_fwd(t6_backend *be, void *out, const void *A, const void *Bf,
                             int N, int h, int R, int dh)
{
    if (N <= 0) return;
    size_t per = (size_t)(h * R + R * dh) * sizeof(float);
    int tok = tokens_per_block(per);
    int paired = ((uintptr_t)out % (2 * be->act_bytes)) == 0;   /* 2-element stores */
    T6_CHECK(dh % 2 == 0, NULL, "tpa_product_fwd: head_dim %d must be even", dh);
    T6_CHECK(per <= 48 * 1024, "TPA with fewer heads or a smaller rank", "tpa_product_fwd: h=%d R=%d dh=%d needs %zu bytes of shared memory per token", h, R, dh, per);
    const void *vp[] = {out, Bf};
    if (vec_ok(be, dh, vp, 2)) {
        k_tpa_fwd8<<<(N + tok - 1) / tok, 256, per * tok + 16, cu_stream(be)>>>((__nv_bfloat16 *)out, (const __nv_bfloat16 *)A,
                                                                           (const __nv_bfloat16 *)Bf, N, h, R, dh, tok);
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_tpa_fwd<T><<<(N + tok - 1) / tok, 256, per * tok, cu_stream(be)>>>((T *)out, (const T *)A, (const T *)Bf,
                                                                             N, h, R, dh, tok, paired);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_tpa_product_bwd(t6_backend *be, void *dA, void *dBf, const void *dout,
                             const void *A, const void *Bf, int N, int h, int R, int dh)
{
    if (N <= 0) return;
    size_t per = (size_t)(h * R + R * (dh + 1) + h * (dh + 1)) * sizeof(float);
    T6_CHECK(per <= 48 * 1024, "TPA with fewer heads or a smaller rank", "tpa_product_bwd: h=%d R=%d dh=%d needs %zu bytes of shared memory per token (max 49152)", h, R, dh, per);
    int tok = tokens_per_block(per);
    const void *vp[] = {dBf, Bf, dout};
    /* the vector kernel's rows are at pitch dh + 4 (+ 16 bytes to align its B rows) */
    const size_t per8 = (size_t)(h * R + R * (dh + 4) + h * (dh + 4)) * sizeof(float);
    if (vec_ok(be, dh, vp, 3) && per8 + 16 <= 48 * 1024) {
        tok = tokens_per_block(per8);
        k_tpa_bwd8<<<(N + tok - 1) / tok, 256, per8 * tok + 16, cu_stream(be)>>>((__nv_bfloat16 *)dA, (__nv_bfloat16 *)dBf,
                                                                           (const __nv_bfloat16 *)dout, (const __nv_bfloat16 *)A,
                                                                           (const __nv_bfloat16 *)Bf, N, h, R, dh, tok);
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_tpa_bwd<T><<<(N + tok - 1) / tok, 256, per * tok, cu_stream(be)>>>((T *)dA, (T *)dBf, (const T *)dout,
                                                                             (const T *)A, (const T *)Bf, N, h, R, dh, tok);
        CUDA_CHECK_LAUNCH();
    });
}
