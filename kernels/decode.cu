/* decode.cu -- the CUDA forms of the generation ops: rope_fwd_pos (RoPE at a position
 * per row), cache_scatter (append one token's record per batch row to a cache) and the
 * single-query decode attention over a TPA factor cache (FlashTPA: K and V are never
 * formed) or a plain K/V cache (MHA/MQA/GQA).
 *
 * Both attentions are split over the cached sequence (split-K): each warp (tensor-core
 * path) or block (generic path) takes one contiguous chunk of one row's tokens and
 * writes an fp32 partial output, normalised by its own softmax sum, and the chunk's
 * log-sum-exp; a combine kernel merges the chunks of a row. A plain K/V cache is the
 * same problem with one rank, no head factors (A = 1) and kv head g's rows at a token
 * stride of G*dh, each kv head a "row" of its h/G query heads, so one kernel serves both.
 *
 * Tensor-core path (bf16, dh 16 or 64, up to 48/64 query heads per row): per 16 cached
 * tokens, per rank r, S_r = q . B_K[t,r,:] is one m16n8k16 product per (16 heads, 8
 * tokens, 16 of dh); the score is sum_r A_K[t,r,i] S_r[i,t]; online softmax in fp32 in
 * registers; P' = p * A_V[t,r,i] becomes the A operand of P' . B_V[t,r,:] straight from
 * the accumulator layout. Every operand is loaded from global memory straight into
 * registers with 8/16-byte loads: the contraction index of each product is permuted
 * (and undone when the output is written) so that each thread's fragment elements are
 * contiguous in memory -- dh for the scores, the head index for A_K/A_V, dh again for
 * the output columns. The loop waits on these loads (though more of them in flight
 * through a shared-memory ring did not help: the resident warps matter), so where
 * registers allow (heads rounded up to 16, times dh, <= 2048) every operand of the
 * next 16-token tile is requested while this one is computed, the q fragments sit in
 * shared memory and a register cap of 224 keeps 9 warps on each SM. The grid is one
 * wave of equal splits; a block holds W warps (consecutive splits of one row) that
 * merge their results in shared memory into one partial, so the combine reads W times
 * fewer partials (B=1, M=64K: 2.2x faster than one-warp blocks). W is the widest block
 * that still gives every row 99% of the warps of one wave: B=1 gets W=9, B=8 W=3,
 * B=16 one-warp blocks. The combine is a programmatic dependent launch on Hopper (its
 * launch overlaps the split kernel's tail).
 *
 * Generic path (fp32 act, other dh, more heads, misaligned pointers,
 * T6_CUDA_DECODE=generic): one block per (chunk, row, head), one token per thread
 * for the scores, one output dim per thread for the values; fp32 throughout.
 *
 * Switches for experiments (bench/gpu/decode_bench tune and sweep; DecKnobs below):
 * T6_DECODE_CHUNK=n tokens per split (rounded up to a multiple of 16),
 * T6_DECODE_MINCHUNK, T6_DECODE_WARPS (W), T6_DECODE_STAGES (a cp.async ring through
 * shared memory instead of the register prefetch, for the paper's TPA shape) and
 * T6_DECODE_FUSE (the last block of a row combines it: one launch). The last two were
 * measured slower (doc/performance.md, "Decode") and are off by default.
 * T6_DECODE_PREFETCH=n (default 0): each warp also asks the L2 for the tile n tiles
 * past the one its registers are loading; measured slower on the H200 (B = 8, M = 256K:
 * 224.6 us without, 269.9 with n = 1; doc/cuda.md), so off by default. */
#include "cuda_common.cuh"
#include "profile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef __nv_bfloat16 bf16;

/* ------------------------------------------------------------------ rope_fwd_pos */

/* One thread per (row n, pair i): the angle pos[n] * base^(-2i/dh) in double, rounded
 * to float once (as rope.cu's table and the CPU backend do), applied to every head row. */
template <typename T>
__global__ void k_rope_pos(T *x, const int32_t *pos, int N, int rows, int dh, double base)
{
    int half = dh / 2;
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= N * half) return;
    int n = idx / half, i = idx - n * half;
    double sd, cd;
    sincos((double)pos[n] * pow(base, -2.0 * i / dh), &sd, &cd);
    float c = (float)cd, s = (float)sd;
    T *p = x + (size_t)n * rows * dh;
    for (int r = 0; r < rows; r++, p += dh) {
        float x1 = t6_ld(p + i), x2 = t6_ld(p + i + half);
        t6_st(p + i, x1 * c + x2 * s);
        t6_st(p + i + half, -x1 * s + x2 * c);
    }
}

void t6_cuda_rope_fwd_pos(t6_backend *be, void *x, const int32_t *pos, int N, int rows, int dh, double base)
{
    if (N <= 0 || rows <= 0 || dh <= 0) return;
    unsigned g = t6_blocks((size_t)N * (dh / 2), 128);
    T6_ACT_DISPATCH(be, T, {
        k_rope_pos<T><<<g, 128, 0, cu_stream(be)>>>((T *)x, pos, N, rows, dh, base);
        CUDA_CHECK_LAUNCH();
    });
}

/* ----------------------------------------------------------------- cache_scatter */

/* A position outside [0, M_max) would write outside the cache: such rows are skipped
 * (the caller checks positions on the host, where it can report them). */
template <typename T>
__global__ void k_cache_scatter(T *cache, const T *src, int ld_src, const int32_t *pos, int M_max, int width)
{
    int n = blockIdx.y, p = pos[n];
    if (p < 0 || p >= M_max) return;
    T *dst = cache + ((size_t)n * M_max + p) * width;
    const T *s = src + (size_t)n * ld_src;
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < width; j += gridDim.x * blockDim.x) dst[j] = s[j];
}

void t6_cuda_cache_scatter(t6_backend *be, void *cache, const void *src, int ld_src, const int32_t *pos,
                           int N, int M_max, int width)
{
    if (N <= 0 || width <= 0) return;
    if (N > 65535) t6_fatal("cache_scatter: %d rows (at most 65535)", N);
    dim3 grid(t6_blocks((size_t)width, 256), N);
    if (grid.x > 64) grid.x = 64;
    T6_ACT_DISPATCH(be, T, {
        k_cache_scatter<T><<<grid, 256, 0, cu_stream(be)>>>((T *)cache, (const T *)src, ld_src, pos, M_max, width);
        CUDA_CHECK_LAUNCH();
    });
}

/* ------------------------------------------------------------- decode attention */

/* The problem both attentions reduce to. A "row" br = b*G + g is one kv head of one
 * batch row (G = 1 for TPA) with its nh query heads; its query heads are q rows
 * br*nh .. br*nh+nh-1 and its output rows the same. Element strides: */
struct DecArgs {
    const void *q, *ak, *bk, *av, *bv;
    const int32_t *lens;
    float *po;                        /* partial outputs (rows, S, nh, dh), fp32 */
    float *plse;                      /* partial log-sum-exps (rows, S, nh) */
    long long row_ak, row_av, row_bk, row_bv;   /* per batch row b */
    long long g_b;                    /* per kv head g, for bk/bv (KV: dh) */
    int tok_ak, tok_av, tok_bk, tok_bv;         /* per cached token */
    int ha;                           /* per rank in ak/av (h) */
    int G, nh, RK, RV, dh, S, chunk;
    int M;                            /* M_max: lens[b] is clamped to it */
    float sc2;                        /* score scale times log2(e): softmax in base 2 */
    float vscale;                     /* 1/R_V */
    /* tensor-core path: S above counts partials (one per block when its warps merge) */
    int merge;                        /* the warps of a block merge their splits in shared memory */
    int pf;                           /* 16-token tiles requested into L2 ahead of the register loads */
    int fuse;                         /* the last block of a row combines it (no combine kernel) */
    unsigned *tickets;                /* per row: blocks done (fuse), back to 0 after each call */
    void *out;                        /* (rows, nh, dh) bf16, written when fuse */
};

#define DEC_LN2 0.69314718055994530942f
#define DEC_LOG2E 1.44269504088896340736f

/* ---- generic path: any act type, any dh <= 256, any head count ---- */
template <typename T, bool HASA>
__global__ void __launch_bounds__(128) k_dec_generic(DecArgs a)
{
    __shared__ float qs[256];
    __shared__ float ps[128];
    const int s = blockIdx.x, br = blockIdx.y, i = blockIdx.z, tid = threadIdx.x;
    const int b = br / a.G, g = br - b * a.G, dh = a.dh;
    const int len = min(a.lens[b], a.M);       /* a bad length cannot read past the cache */
    const int start = s * a.chunk, end = min(len, start + a.chunk);
    const size_t pidx = ((size_t)br * a.S + s) * a.nh + i;
    if (start >= end) {
        if (tid == 0) a.plse[pidx] = -INFINITY;
        return;
    }
    const T *q = (const T *)a.q + ((size_t)br * a.nh + i) * dh;
    for (int d = tid; d < dh; d += 128) qs[d] = t6_ld(q + d);
    const T *bk = (const T *)a.bk + (size_t)b * a.row_bk + (size_t)g * a.g_b;
    const T *bv = (const T *)a.bv + (size_t)b * a.row_bv + (size_t)g * a.g_b;
    const T *ak = HASA ? (const T *)a.ak + (size_t)b * a.row_ak + i : NULL;
    const T *av = HASA ? (const T *)a.av + (size_t)b * a.row_av + i : NULL;
    float m = -INFINITY, l = 0.0f, acc[2] = {0.0f, 0.0f};
    __syncthreads();
    for (int t0 = start; t0 < end; t0 += 128) {
        const int t = t0 + tid;
        float sc = -INFINITY;
        if (t < end) {
            float tot = 0.0f;
            for (int r = 0; r < a.RK; r++) {
                const T *kr = bk + (size_t)t * a.tok_bk + (size_t)r * dh;
                float dot = 0.0f;
                for (int d = 0; d < dh; d++) dot += qs[d] * t6_ld(kr + d);
                tot += (HASA ? t6_ld(ak + (size_t)t * a.tok_ak + (size_t)r * a.ha) : 1.0f) * dot;
            }
            sc = tot * a.sc2;
        }
        const float mn = fmaxf(m, t6_block_max(sc));   /* finite: token t0 < end exists */
        const float alpha = exp2f(m - mn);
        const float p = exp2f(sc - mn);
        l = l * alpha + t6_block_sum(p);
        m = mn;
        ps[tid] = p;
        __syncthreads();
        const int nt = min(128, end - t0);
#pragma unroll
        for (int k = 0; k < 2; k++) {
            const int d = tid + 128 * k;
            if (d >= dh) break;
            float v = 0.0f;
            for (int j = 0; j < nt; j++) {
                const size_t tt = (size_t)(t0 + j);
                float vv = 0.0f;
                for (int r = 0; r < a.RV; r++)
                    vv += (HASA ? t6_ld(av + tt * a.tok_av + (size_t)r * a.ha) : 1.0f) *
                          t6_ld(bv + tt * a.tok_bv + (size_t)r * dh + d);
                v += ps[j] * vv;
            }
            acc[k] = acc[k] * alpha + v;
        }
        __syncthreads();
    }
    const float inv = a.vscale / l;
    for (int k = 0; k < 2; k++) {
        const int d = tid + 128 * k;
        if (d < dh) a.po[pidx * dh + d] = acc[k] * inv;
    }
    if (tid == 0) a.plse[pidx] = (m + log2f(l)) * DEC_LN2;
}

/* ---- tensor-core path ---- */
__device__ __forceinline__ void dec_mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void dec_lds(uint32_t r[4], const uint4 *p)
{
    asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"((uint32_t)__cvta_generic_to_shared(p)));
}
__device__ __forceinline__ uint32_t dec_pack(float lo, float hi)
{
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *(uint32_t *)&v;
}
__device__ __forceinline__ float dec_lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float dec_hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }

/* W 32-bit words from p (aligned to 4*W bytes, W in {1, 2, 4, 8}), zeros when !ok.
 * Read-only, streaming: the cache is read once per call. */
template <int W>
__device__ __forceinline__ void dec_ldw(uint32_t *w, const bf16 *p, bool ok)
{
    if (W >= 4) {
#pragma unroll
        for (int k = 0; k < W / 4; k++) {
            uint4 v = ok ? __ldcs((const uint4 *)p + k) : make_uint4(0, 0, 0, 0);
            w[4 * k] = v.x; w[4 * k + 1] = v.y; w[4 * k + 2] = v.z; w[4 * k + 3] = v.w;
        }
    } else if (W == 2) {
        uint2 v = ok ? __ldcs((const uint2 *)p) : make_uint2(0, 0);
        w[0] = v.x; w[1] = v.y;
    } else {
        w[0] = ok ? __ldcs((const unsigned int *)p) : 0u;
    }
}

/* The head factors of one token for this thread's 2*MT heads h0 .. h0+2MT-1, as MT
 * words (word mt = heads h0+2mt (low half), h0+2mt+1 (high half)). FULL: all heads
 * exist and the row is word aligned, so plain word loads; else bf16 loads with a guard. */
template <int MT, bool FULL>
__device__ __forceinline__ void dec_lda(uint32_t *w, const bf16 *p, int h0, int nh, bool ok)
{
    if (FULL) {
        if (MT == 2) {
            uint2 v = ok ? __ldcs((const uint2 *)p) : make_uint2(0, 0);
            w[0] = v.x; w[1] = v.y;
        } else {
#pragma unroll
            for (int k = 0; k < MT; k++) w[k] = ok ? __ldcs((const unsigned int *)p + k) : 0u;
        }
    } else {
        const unsigned short *u = (const unsigned short *)p;
#pragma unroll
        for (int k = 0; k < MT; k++) {
            unsigned lo = ok && h0 + 2 * k < nh ? u[2 * k] : 0u;
            unsigned hi = ok && h0 + 2 * k + 1 < nh ? u[2 * k + 1] : 0u;
            w[k] = lo | (hi << 16);
        }
    }
}

#define DEC_WMAX 16   /* most warps per block */

/* a hint: the L2 fetches the 128-byte line holding p (generic address; never faults) */
__device__ __forceinline__ void dec_pf_l2(const void *p) { asm volatile("prefetch.L2 [%0];\n" ::"l"(p)); }
/* two pointers to and back from shared memory; volatile (so never kept in registers,
 * and the load stays after the store) */
__device__ __forceinline__ void dec_sts_p2(void *p, const bf16 *x, const bf16 *y)
{
    asm volatile("st.shared.v2.u64 [%0], {%1,%2};\n" ::"r"((uint32_t)__cvta_generic_to_shared(p)),
                 "l"((unsigned long long)(uintptr_t)x), "l"((unsigned long long)(uintptr_t)y));
}
__device__ __forceinline__ void dec_lds_p2(const void *p, const bf16 *&x, const bf16 *&y)
{
    unsigned long long u, v;
    asm volatile("ld.shared.v2.u64 {%0,%1}, [%2];\n" : "=l"(u), "=l"(v) : "r"((uint32_t)__cvta_generic_to_shared(p)));
    x = (const bf16 *)u;
    y = (const bf16 *)v;
}

/* cp.async of 16 bytes (L2 only: the cache is read once), zeros when !ok */
__device__ __forceinline__ void dec_cp16(void *dst, const void *src, bool ok)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"((uint32_t)__cvta_generic_to_shared(dst)),
                 "l"(src), "r"(ok ? 16 : 0)
                 : "memory");
}
__device__ __forceinline__ void dec_cp_commit(void) { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void dec_cp_wait(void) { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }
/* shared-memory loads of 1, 2 or 4 words; volatile so that they stay after the
 * cp.async wait that makes the data visible */
__device__ __forceinline__ void dec_lds_w(uint32_t *r, const void *p, int n)
{
    const uint32_t a = (uint32_t)__cvta_generic_to_shared(p);
    if (n == 4)
        asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n" : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
    else if (n == 2)
        asm volatile("ld.shared.v2.u32 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
    else
        asm volatile("ld.shared.u32 %0, [%1];\n" : "=r"(r[0]) : "r"(a));
}

/* Row stride (floats) of the block-merge buffer, one row per head: the float2 stores
 * of the 8 threads of a half-warp phase that hold different heads (head step 2MT) land
 * in disjoint 8-bank windows. */
__host__ __device__ constexpr int dec_red_stride(int DH, int MT)
{
    for (int p = 0; p < 32; p += 2) {
        bool ok = true;
        for (int x = 0; x < 4; x++)
            for (int y = 0; y < x; y++) {
                const int d = ((x - y) * 2 * MT * (DH + p)) % 32;
                if (d < 8 || d > 24) ok = false;
            }
        if (ok) return DH + p;
    }
    return DH + 2;
}

/* The ring of one warp (NS > 0, dh 64, 16 or 32 heads): per stage, 16 tokens of rank 0
 * of B_K (16 x 128 B, 16-byte chunk c of token n stored at c ^ (n & 1)), B_V (chunk c at
 * c ^ (n & 6)) and A_K, A_V (rows padded by 16 B): with these the fragment loads of a
 * warp hit every bank once. */
template <int MT>
struct DecRing {
    static constexpr int AROW = MT * 32 + 16;
    static constexpr int BK = 0, BV = 2048, AK = 4096, AV = 4096 + 16 * AROW;
    static constexpr int STAGE = 4096 + 32 * AROW;
};

/* Dynamic shared memory of one block of W warps, offsets in bytes: the q fragments of
 * each warp; the merge statistics (m, l, weight per warp and head, then the block's m,
 * l per head, then a flag); the L2 prefetch's two base pointers per thread; one area used by the rings during the loop and by the
 * merge (and the fused combine) after it. Host and device compute it alike. */
struct DecSmem {
    int stat, pf, area, area_bytes, total;
};
__host__ __device__ inline DecSmem dec_smem(int DH, int MT, int W, int NS)
{
    DecSmem m;
    const int nhp = 16 * MT;
    m.stat = W * MT * (DH / 16) * 32 * 16;
    m.pf = (m.stat + (3 * W * nhp + 2 * nhp + 4) * 4 + 15) & ~15;   /* two pointers per thread */
    m.area = m.pf + W * 32 * 16;
    const int ring = NS > 0 ? NS * W * (4096 + 32 * (MT * 32 + 16)) : 0;
    const int red = W * nhp * dec_red_stride(DH, MT) * 4;
    m.area_bytes = ring > red ? ring : red;
    m.total = m.area + m.area_bytes;
    return m;
}

/* The end of the tensor-core kernel when its W warps merge (a.merge): each warp's
 * unnormalised output and softmax statistics go to shared memory, the block writes one
 * partial (normalised output and log-sum-exp, as a warp's would be) for its splits; with
 * a.fuse the block that completes its row last then combines the row's partials. */
template <int DH, int MT>
__device__ __forceinline__ void dec_merge(const DecArgs &a, float (&acc)[MT][DH / 8][4], float (&mrow)[MT][2],
                                          float (&lrow)[MT][2], const DecSmem &lay, int br, int h0, int lane, int wq, int W)
{
    constexpr int NT = DH / 8, NHP = 16 * MT, RS = dec_red_stride(DH, MT);
    extern __shared__ __align__(16) unsigned char dsm[];
    float *sm_m = (float *)(dsm + lay.stat), *sm_l = sm_m + W * NHP, *sm_f = sm_l + W * NHP;
    float *sm_M = sm_f + W * NHP, *sm_L = sm_M + NHP;
    int *sm_last = (int *)(sm_L + NHP);
    float *red = (float *)(dsm + lay.area);
    const int tg = lane & 3, nh = a.nh, tid = threadIdx.x, nthr = blockDim.x;
    __syncthreads();                           /* every warp is done with its ring: the area is free */
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            float l = lrow[mt][hh];
            l += __shfl_xor_sync(0xffffffffu, l, 1);
            l += __shfl_xor_sync(0xffffffffu, l, 2);
            const int head = h0 + 2 * mt + hh;     /* < NHP */
            if (tg == 0) {
                sm_m[wq * NHP + head] = mrow[mt][hh];
                sm_l[wq * NHP + head] = l;
            }
            float *rr = red + ((size_t)wq * NHP + head) * RS;   /* register order: nt*8 + 2tg + e */
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
                *(float2 *)(rr + nt * 8 + 2 * tg) = make_float2(acc[mt][nt][2 * hh], acc[mt][nt][2 * hh + 1]);
        }
    __syncthreads();
    for (int hd = tid; hd < NHP; hd += nthr) {
        float M = -INFINITY, L = 0.0f;
        for (int w = 0; w < W; w++) M = fmaxf(M, sm_m[w * NHP + hd]);
        for (int w = 0; w < W; w++) {
            const float f = M == -INFINITY ? 0.0f : exp2f(sm_m[w * NHP + hd] - M);   /* an empty warp: 0 */
            sm_f[w * NHP + hd] = f;
            L += f * sm_l[w * NHP + hd];
        }
        sm_M[hd] = M;
        sm_L[hd] = L;
    }
    __syncthreads();
    const int S = a.S, c = blockIdx.x;
    const size_t pb = ((size_t)br * S + c) * nh;
    for (int j = tid; j < nh * DH; j += nthr) {
        const int hd = j / DH, k = j - hd * DH;          /* k in register order */
        float v = 0.0f;
        for (int w = 0; w < W; w++) v += sm_f[w * NHP + hd] * red[((size_t)w * NHP + hd) * RS + k];
        const float L = sm_L[hd];
        a.po[(pb + hd) * DH + (k & 7) * (DH / 8) + (k >> 3)] = L > 0.0f ? v * a.vscale / L : 0.0f;
        if (k == 0) a.plse[pb + hd] = L > 0.0f ? (sm_M[hd] + log2f(L)) * DEC_LN2 : -INFINITY;
    }
    if (!a.fuse) return;

    /* fused combine: the block that completes the row last (its ticket) reads every
     * partial of the row (L2, not L1: other blocks wrote them) and writes the output */
    __threadfence();
    __syncthreads();
    if (tid == 0) {
        const unsigned t = atomicAdd(a.tickets + br, 1u);
        *sm_last = t == (unsigned)(S - 1);
        if (*sm_last) a.tickets[br] = 0u;          /* ready for the next call */
    }
    __syncthreads();
    if (!*sm_last) return;
    __threadfence();
    float *wsm = red;                              /* S * nh weights (the host checked the room) */
    const float *L0 = a.plse + (size_t)br * S * nh;
    for (int j = tid; j < S * nh; j += nthr) wsm[j] = __ldcg(L0 + j);
    __syncthreads();
    for (int hd = tid; hd < nh; hd += nthr) {
        float M = -INFINITY, sum = 0.0f;
        for (int s = 0; s < S; s++) M = fmaxf(M, wsm[s * nh + hd]);
        for (int s = 0; s < S; s++) {
            const float w = M == -INFINITY ? 0.0f : __expf(wsm[s * nh + hd] - M);   /* empty splits: 0 */
            wsm[s * nh + hd] = w;
            sum += w;
        }
        sm_L[hd] = sum;
    }
    __syncthreads();
    const float *P0 = a.po + (size_t)br * S * nh * DH;
    const size_t st = (size_t)nh * DH;
    bf16 *out = (bf16 *)a.out + (size_t)br * nh * DH;
    /* 8 outputs per thread at a time and 4 partials per step: 32 loads in flight */
    for (int j0 = tid; j0 < nh * DH; j0 += 8 * nthr) {
        float sacc[8];
#pragma unroll
        for (int i = 0; i < 8; i++) sacc[i] = 0.0f;
        for (int s0 = 0; s0 < S; s0 += 4) {
            float o[4][8];
#pragma unroll
            for (int u = 0; u < 4; u++)
#pragma unroll
                for (int i = 0; i < 8; i++) {
                    const int j = j0 + i * nthr;
                    o[u][i] = s0 + u < S && j < nh * DH ? __ldcg(P0 + (s0 + u) * st + j) : 0.0f;
                }
#pragma unroll
            for (int u = 0; u < 4; u++)
#pragma unroll
                for (int i = 0; i < 8; i++) {
                    const int j = j0 + i * nthr;
                    if (s0 + u < S && j < nh * DH) {
                        const float w = wsm[(s0 + u) * nh + j / DH];
                        sacc[i] += w > 0.0f ? w * o[u][i] : 0.0f;   /* select, never multiply, an empty split */
                    }
                }
        }
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const int j = j0 + i * nthr;
            if (j >= nh * DH) break;
            const float sum = sm_L[j / DH];
            out[j] = __float2bfloat16(sum > 0.0f ? sacc[i] / sum : 0.0f);   /* len 0: 0 */
        }
    }
}

/* One warp = one split of one row; a block of W warps takes W consecutive splits of one
 * row and, when a.merge, merges them in shared memory into one partial (fewer partials
 * for the combine to read); with a.fuse (off by default: measured 2.5-10x slower, one
 * block's reads of a row's partials are the bottleneck) the block that finishes a row
 * last combines its partials into the output (threadfence + ticket), one launch.
 * NS > 0 (off by default: measured 1-8% slower than the registers): rank 0 of each 16-token tile comes through a cp.async ring of NS stages per
 * warp (NS - 1 tiles in flight while one is computed, no registers held for them);
 * otherwise the operands are loaded into registers (PIPE: the next tile's while this one
 * is computed). Fragment index conventions (g = lane/4, tg = lane%4):
 *  - row (head) of m-tile mt, half hh (mma row g + 8hh) is head g*2MT + 2mt + hh;
 *  - score k index (2tg + {0,1} + {0,8} of k-step s) is dh element tg*DH/4 + 4s + {0..3};
 *  - token n of the 16-token tile is tile start + n (score column n = g of n-tile n/8);
 *  - output column (2tg + e of d-tile nt) is dh element (2tg + e)*DH/8 + nt. */
template <int DH, int MT, bool HASA, bool FULL, int NS>
__global__ void __launch_bounds__(32 * DEC_WMAX) __maxnreg__(MT * DH <= 128 ? 224 : 255)   /* 9 warps/SM */ k_dec_mma(DecArgs a)
{
    constexpr int KS = DH / 16, NT = DH / 8, BKW = DH / 8, BVW = DH / 16;
    constexpr bool RING = NS > 0;
    constexpr bool PIPE = !RING && MT * DH <= 128;   /* room for a second tile in registers */
    static_assert(!RING || (DH == 64 && HASA && FULL && MT <= 2), "the ring takes dh 64, 16 or 32 heads");
    extern __shared__ __align__(16) unsigned char dsm[];
    const int lane = threadIdx.x & 31, gq = lane >> 2, tg = lane & 3;
    const int W = blockDim.x >> 5, wq = threadIdx.x >> 5;
    const int unit = blockIdx.x * W + wq, br = blockIdx.y;
    const DecSmem lay = dec_smem(DH, MT, W, NS);
    if (!a.merge && unit >= a.S) return;
    const int b = br / a.G, g = br - b * a.G, nh = a.nh;
    const int len = min(a.lens[b], a.M);       /* a bad length cannot read past the cache */
    /* (merging: a warp past the row's end has an empty range and still takes part) */
    const int start = unit * a.chunk, end = min(len, start + a.chunk);
    const size_t pbase = ((size_t)br * a.S + unit) * nh;
    if (!a.merge && start >= end) {
        for (int i = lane; i < nh; i += 32) a.plse[pbase + i] = -INFINITY;
        return;
    }
    const int h0 = gq * 2 * MT;                    /* this thread's first head */

    /* q as A fragments, rows beyond nh zero */
    /* q's fragments live in shared memory, each thread's own slots (no barrier), read
     * back with volatile loads so that the compiler cannot keep them in registers: the
     * registers are worth more as a second tile of cache operands in flight */
    uint4 (*qsm)[MT][KS][32] = (uint4 (*)[MT][KS][32])dsm;   /* [W][MT][KS][32] */
    uint32_t qf[MT][KS][4];
    const bf16 *qb = (const bf16 *)a.q + (size_t)br * nh * DH + tg * (DH / 4);
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            const int head = h0 + 2 * mt + hh;
            const bool ok = head < nh;
#pragma unroll
            for (int s = 0; s < KS; s++) {
                uint2 v = ok ? *(const uint2 *)(qb + (size_t)head * DH + 4 * s) : make_uint2(0, 0);
                qf[mt][s][hh] = v.x;
                qf[mt][s][2 + hh] = v.y;
            }
        }
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int s = 0; s < KS; s++) qsm[wq][mt][s][lane] = make_uint4(qf[mt][s][0], qf[mt][s][1], qf[mt][s][2], qf[mt][s][3]);

    const bf16 *bkb = (const bf16 *)a.bk + (size_t)b * a.row_bk + (size_t)g * a.g_b;
    const bf16 *bvb = (const bf16 *)a.bv + (size_t)b * a.row_bv + (size_t)g * a.g_b;
    const bf16 *akb = HASA ? (const bf16 *)a.ak + (size_t)b * a.row_ak + h0 : NULL;
    const bf16 *avb = HASA ? (const bf16 *)a.av + (size_t)b * a.row_av + h0 : NULL;

    float acc[MT][NT][4];
    float mrow[MT][2], lrow[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
        for (int nt = 0; nt < NT; nt++) acc[mt][nt][0] = acc[mt][nt][1] = acc[mt][nt][2] = acc[mt][nt][3] = 0.0f;
        mrow[mt][0] = mrow[mt][1] = -INFINITY;
        lrow[mt][0] = lrow[mt][1] = 0.0f;
    }

    /* Loaders of one rank's operands for the 16 tokens from t0; tokens at or past end
     * are not read (zeros). Score side: B_K rows of tokens t0+8j+gq, A_K of this
     * thread's P tokens t0+8j+2tg+e. Value side: B_V and A_V of the P tokens. */
    constexpr int AWN = HASA ? MT : 1;
    auto load_k = [&](uint32_t (&kb)[2][BKW], uint32_t (&ka)[2][2][AWN], int t, int r) {
#pragma unroll
        for (int j = 0; j < 2; j++) {
            const int tok = t + 8 * j + gq;
            dec_ldw<BKW>(kb[j], bkb + (size_t)tok * a.tok_bk + r * DH + tg * (DH / 4), tok < end);
        }
        if (HASA) {
#pragma unroll
            for (int j = 0; j < 2; j++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int tok = t + 8 * j + 2 * tg + e;
                    dec_lda<MT, FULL>(ka[j][e], akb + (size_t)tok * a.tok_ak + r * a.ha, h0, nh, tok < end);
                }
        }
    };
    auto load_v = [&](uint32_t (&vw)[2][2][BVW], uint32_t (&va)[2][2][AWN], int t, int r) {
#pragma unroll
        for (int j = 0; j < 2; j++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const int tok = t + 8 * j + 2 * tg + e;
                dec_ldw<BVW>(vw[j][e], bvb + (size_t)tok * a.tok_bv + r * DH + gq * (DH / 8), tok < end);
                if (HASA) dec_lda<MT, FULL>(va[j][e], avb + (size_t)tok * a.tok_av + r * a.ha, h0, nh, tok < end);
            }
    };
    float sc[MT][2][4];
    /* sc += A_K . (q B_K^T) for one rank */
    auto score_acc = [&](const uint32_t (&kb)[2][BKW], const uint32_t (&ka)[2][2][AWN]) {
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int j = 0; j < 2; j++) {
                float s4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
                for (int s = 0; s < KS; s++) {
                    uint32_t qa[4];
                    dec_lds(qa, &qsm[wq][mt][s][lane]);
                    dec_mma(s4, qa, kb[j][2 * s], kb[j][2 * s + 1]);
                }
                if (HASA) {
                    sc[mt][j][0] += s4[0] * dec_lo(ka[j][0][mt % AWN]);
                    sc[mt][j][1] += s4[1] * dec_lo(ka[j][1][mt % AWN]);
                    sc[mt][j][2] += s4[2] * dec_hi(ka[j][0][mt % AWN]);
                    sc[mt][j][3] += s4[3] * dec_hi(ka[j][1][mt % AWN]);
                } else {
#pragma unroll
                    for (int c = 0; c < 4; c++) sc[mt][j][c] += s4[c];
                }
            }
    };
    /* acc += (P . A_V) B_V for one rank (sc holds P) */
    auto value_acc = [&](const uint32_t (&vw)[2][2][BVW], const uint32_t (&va)[2][2][AWN]) {
        uint32_t pa[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int j = 0; j < 2; j++) {
                if (HASA) {
                    pa[mt][2 * j] = dec_pack(sc[mt][j][0] * dec_lo(va[j][0][mt % AWN]), sc[mt][j][1] * dec_lo(va[j][1][mt % AWN]));
                    pa[mt][2 * j + 1] = dec_pack(sc[mt][j][2] * dec_hi(va[j][0][mt % AWN]), sc[mt][j][3] * dec_hi(va[j][1][mt % AWN]));
                } else {
                    pa[mt][2 * j] = dec_pack(sc[mt][j][0], sc[mt][j][1]);
                    pa[mt][2 * j + 1] = dec_pack(sc[mt][j][2], sc[mt][j][3]);
                }
            }
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
            const int sel = (nt & 1) ? 0x7632 : 0x5410;
            const uint32_t b0 = __byte_perm(vw[0][0][nt >> 1], vw[0][1][nt >> 1], sel);
            const uint32_t b1 = __byte_perm(vw[1][0][nt >> 1], vw[1][1][nt >> 1], sel);
#pragma unroll
            for (int mt = 0; mt < MT; mt++) dec_mma(acc[mt][nt], pa[mt], b0, b1);
        }
    };

    /* PIPE: rank 0 of every operand of the next tile is requested while this one is
     * computed (the loop is bound by the latency of these loads). Otherwise (more heads
     * than registers allow) a tile's score operands are requested at its start and its
     * value operands just before their use. */
    /* RING: this warp's stages; a tile's rank-0 rows are copied whole (all heads) */
    typedef DecRing<MT> RG;
    unsigned char *ring = dsm + lay.area + (size_t)wq * (RING ? NS : 0) * RG::STAGE;
    const bf16 *ak0 = HASA ? (const bf16 *)a.ak + (size_t)b * a.row_ak : NULL;
    const bf16 *av0 = HASA ? (const bf16 *)a.av + (size_t)b * a.row_av : NULL;
    auto ring_fill = [&](int t, int st) {
        if (RING && t < end) {
            unsigned char *p = ring + st * RG::STAGE;
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const int q = lane + 32 * i, n = q >> 3, c = q & 7, tok = t + n;
                const bool ok = tok < end;
                dec_cp16(p + RG::BK + n * 128 + ((c ^ (n & 1)) << 4), ok ? bkb + (size_t)tok * a.tok_bk + c * 8 : bkb, ok);
                dec_cp16(p + RG::BV + n * 128 + ((c ^ (n & 6)) << 4), ok ? bvb + (size_t)tok * a.tok_bv + c * 8 : bvb, ok);
            }
            constexpr int CPR = 2 * MT;          /* 16-byte chunks of one token's head factors */
#pragma unroll
            for (int i = 0; i < CPR / 2; i++) {
                const int q = lane + 32 * i, n = q / CPR, c = q % CPR, tok = t + n;
                const bool ok = tok < end;
                dec_cp16(p + RG::AK + n * RG::AROW + c * 16, ok ? ak0 + (size_t)tok * a.tok_ak + c * 8 : ak0, ok);
                dec_cp16(p + RG::AV + n * RG::AROW + c * 16, ok ? av0 + (size_t)tok * a.tok_av + c * 8 : av0, ok);
            }
        }
        if (RING) dec_cp_commit();
    };
    auto ring_read_k = [&](int st, uint32_t (&kb)[2][BKW], uint32_t (&ka)[2][2][AWN]) {
        const unsigned char *p = ring + st * RG::STAGE;
#pragma unroll
        for (int j = 0; j < 2; j++) {
            const int n = 8 * j + gq;
#pragma unroll
            for (int k = 0; k < BKW / 4; k++) dec_lds_w(&kb[j][4 * k], p + RG::BK + n * 128 + (((2 * tg + k) ^ (n & 1)) << 4), 4);
#pragma unroll
            for (int e = 0; e < 2; e++)
                dec_lds_w(ka[j][e], p + RG::AK + (8 * j + 2 * tg + e) * RG::AROW + gq * 4 * MT, AWN);
        }
    };
    auto ring_read_v = [&](int st, uint32_t (&vw)[2][2][BVW], uint32_t (&va)[2][2][AWN]) {
        const unsigned char *p = ring + st * RG::STAGE;
#pragma unroll
        for (int j = 0; j < 2; j++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const int n = 8 * j + 2 * tg + e;
                dec_lds_w(vw[j][e], p + RG::BV + n * 128 + ((gq ^ (n & 6)) << 4), BVW);
                dec_lds_w(va[j][e], p + RG::AV + n * RG::AROW + gq * 4 * MT, AWN);
            }
    };

    /* L2 prefetch (a.pf tiles): a warp's register loads keep only about one tile (6 KB
     * at the paper's shape) in flight, and 9 warps per SM do not cover the HBM latency
     * under load; lines requested into L2 ahead of them cost no registers, so the loads
     * that follow hit L2. Lane (side, token j): the score side (B_K, A_K) in lanes 0-15,
     * the value side (B_V, A_V) in 16-31, of the tile's token t + j (none at or past
     * end, so never past the row's length): every 128-byte line of the token's record
     * of this row (all ranks; a GQA cache's kv head g alone), the last byte included. */
    /* (the two base pointers live in shared memory, this thread's own slot, read back
     * at each use: held in registers across the loop, they made the kernel spill) */
    const bool pf_vs = lane >= 16;
    unsigned long long *pf_slot = (unsigned long long *)(dsm + lay.pf) + 2 * threadIdx.x;
    dec_sts_p2(pf_slot, pf_vs ? bvb : bkb, HASA ? (pf_vs ? av0 : ak0) : NULL);
    auto prefetch_tile = [&](int t) {
        const int tok = t + (lane & 15);
        if (tok >= end) return;
        const bool vs = lane >= 16;
        const bf16 *pb, *pa;
        dec_lds_p2(pf_slot, pb, pa);
        pb += (size_t)tok * (vs ? a.tok_bv : a.tok_bk);
        const int nb = (vs ? a.RV : a.RK) * DH;
        for (int o = 0; o < nb; o += 64) dec_pf_l2(pb + o);
        dec_pf_l2(pb + nb - 1);
        if (HASA) {
            pa += (size_t)tok * (vs ? a.tok_av : a.tok_ak);
            const int na = vs ? a.tok_av : a.tok_ak;
            for (int o = 0; o < na; o += 64) dec_pf_l2(pa + o);
            dec_pf_l2(pa + na - 1);
        }
    };
    constexpr int PF_SKIP = PIPE ? 1 : 0;          /* tiles ahead that the registers already load */

    uint32_t kb0[2][BKW], ka0[2][2][AWN], vw0[2][2][BVW], va0[2][2][AWN];
    if (PIPE) {
        load_k(kb0, ka0, start, 0);
        load_v(vw0, va0, start, 0);
    }
    for (int k = PF_SKIP + 1; k < PF_SKIP + a.pf; k++) prefetch_tile(start + 16 * k);
    if (RING)
        for (int st = 0; st < NS - 1; st++) ring_fill(start + 16 * st, st);
    int rs = 0;                                    /* RING: the stage of the tile at t0 */
    for (int t0 = start; t0 < end; t0 += 16) {
        uint32_t kb1[2][BKW], ka1[2][2][AWN], vw1[2][2][BVW], va1[2][2][AWN];
        if (PIPE) {
            load_k(kb1, ka1, t0 + 16, 0);
            load_v(vw1, va1, t0 + 16, 0);
        } else if (RING) {
            ring_fill(t0 + 16 * (NS - 1), rs == 0 ? NS - 1 : rs - 1);
            dec_cp_wait<(NS > 1 ? NS - 1 : 0)>();  /* the tile at t0 has landed (this lane's copies) */
            __syncwarp();                          /* ... and every lane's */
            ring_read_k(rs, kb0, ka0);
        } else {
            load_k(kb0, ka0, t0, 0);
        }
        bool tok_ok[2][2];
#pragma unroll
        for (int j = 0; j < 2; j++)
#pragma unroll
            for (int e = 0; e < 2; e++) tok_ok[j][e] = t0 + 8 * j + 2 * tg + e < end;
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int j = 0; j < 2; j++) sc[mt][j][0] = sc[mt][j][1] = sc[mt][j][2] = sc[mt][j][3] = 0.0f;
        score_acc(kb0, ka0);
        for (int r = 1; r < a.RK; r++) {
            uint32_t kb[2][BKW], ka[2][2][AWN];
            load_k(kb, ka, t0, r);
            score_acc(kb, ka);
        }

        /* ---- online softmax (base 2), per head row; a row's 16 columns live in the
         * 4 threads of a quad ---- */
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                float mx = -INFINITY;
#pragma unroll
                for (int j = 0; j < 2; j++)
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        float v = tok_ok[j][e] ? sc[mt][j][2 * hh + e] * a.sc2 : -INFINITY;
                        sc[mt][j][2 * hh + e] = v;
                        mx = fmaxf(mx, v);
                    }
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                const float mn = fmaxf(mrow[mt][hh], mx);     /* finite: token t0 is valid */
                const float alpha = exp2f(mrow[mt][hh] - mn);
                mrow[mt][hh] = mn;
                float ls = 0.0f;
#pragma unroll
                for (int j = 0; j < 2; j++)
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        const float p = exp2f(sc[mt][j][2 * hh + e] - mn);
                        sc[mt][j][2 * hh + e] = p;
                        ls += p;
                    }
                lrow[mt][hh] = lrow[mt][hh] * alpha + ls;
#pragma unroll
                for (int nt = 0; nt < NT; nt++) {
                    acc[mt][nt][2 * hh] *= alpha;
                    acc[mt][nt][2 * hh + 1] *= alpha;
                }
            }

        if (RING) ring_read_v(rs, vw0, va0);
        else if (!PIPE) load_v(vw0, va0, t0, 0);   /* (held across the scores, they would spill) */
        value_acc(vw0, va0);
        for (int r = 1; r < a.RV; r++) {
            uint32_t vw[2][2][BVW], va[2][2][AWN];
            load_v(vw, va, t0, r);
            value_acc(vw, va);
        }
        /* (here, where this tile's operands are dead: the fewest registers live) */
        if (a.pf > 0) prefetch_tile(t0 + 16 * (PF_SKIP + a.pf));
        if (PIPE) {
#pragma unroll
            for (int j = 0; j < 2; j++) {
#pragma unroll
                for (int w = 0; w < BKW; w++) kb0[j][w] = kb1[j][w];
#pragma unroll
                for (int e = 0; e < 2; e++) {
#pragma unroll
                    for (int w = 0; w < AWN; w++) { ka0[j][e][w] = ka1[j][e][w]; va0[j][e][w] = va1[j][e][w]; }
#pragma unroll
                    for (int w = 0; w < BVW; w++) vw0[j][e][w] = vw1[j][e][w];
                }
            }
        }
        if (RING) {
            __syncwarp();                          /* every lane is done with stage rs */
            rs = rs + 1 == NS ? 0 : rs + 1;
        }
    }
    if (RING) dec_cp_wait<0>();

    if (a.merge) {
        dec_merge<DH, MT>(a, acc, mrow, lrow, lay, br, h0, lane, wq, W);
        return;
    }

    /* ---- this split's normalised output and log-sum-exp ---- */
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            float l = lrow[mt][hh];
            l += __shfl_xor_sync(0xffffffffu, l, 1);
            l += __shfl_xor_sync(0xffffffffu, l, 2);
            const int head = h0 + 2 * mt + hh;
            if (head >= nh) continue;
            const float inv = a.vscale / l;
            float *o = a.po + (pbase + head) * DH;
#pragma unroll
            for (int nt = 0; nt < NT; nt++) {
                o[(2 * tg) * (DH / 8) + nt] = acc[mt][nt][2 * hh] * inv;
                o[(2 * tg + 1) * (DH / 8) + nt] = acc[mt][nt][2 * hh + 1] * inv;
            }
            if (tg == 0) a.plse[pbase + head] = (mrow[mt][hh] + log2f(l)) * DEC_LN2;
        }
}

/* ---- combine: out = sum_s exp(lse_s - max) o_s / sum_s exp(lse_s - max), per head ----
 * One block per (head, row, 16 output columns), so that even one batch row with a
 * thousand splits spreads over many SMs; the split weights are computed once into
 * shared memory, then 16 groups of 16 threads sum every 16th split, 4 loads in flight. */
#define DEC_SMAX 4096                   /* most splits per row */
template <typename T>
__global__ void __launch_bounds__(256) k_dec_combine(T *out, const float *po, const float *plse, int S, int nh, int dh)
{
    __shared__ float wsm[DEC_SMAX];
    __shared__ float red[16][17];
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    /* launched as a programmatic dependent of the split kernel (Hopper): wait for it */
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
    const int i = blockIdx.x, br = blockIdx.y, tid = threadIdx.x;
    const int dl = tid & 15, sg = tid >> 4, d = blockIdx.z * 16 + dl;
    const float *L = plse + (size_t)br * S * nh + i;
    float mx = -INFINITY;
    for (int s = tid; s < S; s += 256) {
        const float v = L[(size_t)s * nh];
        wsm[s] = v;
        mx = fmaxf(mx, v);
    }
    mx = t6_block_max(mx);
    float wsum = 0.0f;
    for (int s = tid; s < S; s += 256) {
        const float w = mx == -INFINITY ? 0.0f : __expf(wsm[s] - mx);   /* empty splits: 0 */
        wsm[s] = w;
        wsum += w;
    }
    wsum = t6_block_sum(wsum);          /* its barriers also publish wsm */
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    if (d < dh) {
        /* an empty split's output was never written: select, never multiply, it */
        const size_t st = (size_t)nh * dh;
        const float *o = po + ((size_t)br * S * nh + i) * dh + d;
        int s = sg;
        for (; s + 48 < S; s += 64) {
            const float w0 = wsm[s], w1 = wsm[s + 16], w2 = wsm[s + 32], w3 = wsm[s + 48];
            const float o0 = o[s * st], o1 = o[(s + 16) * st], o2 = o[(s + 32) * st], o3 = o[(s + 48) * st];
            a0 += w0 > 0.0f ? w0 * o0 : 0.0f;
            a1 += w1 > 0.0f ? w1 * o1 : 0.0f;
            a2 += w2 > 0.0f ? w2 * o2 : 0.0f;
            a3 += w3 > 0.0f ? w3 * o3 : 0.0f;
        }
        for (; s < S; s += 16) {
            const float w0 = wsm[s], o0 = o[s * st];
            a0 += w0 > 0.0f ? w0 * o0 : 0.0f;
        }
    }
    red[sg][dl] = (a0 + a1) + (a2 + a3);
    __syncthreads();
    if (sg == 0 && d < dh) {
        float t = 0.0f;
#pragma unroll
        for (int k = 0; k < 16; k++) t += red[k][dl];
        t6_st(out + ((size_t)br * nh + i) * dh + d, wsum > 0.0f ? t / wsum : 0.0f);   /* len 0: 0 */
    }
}

/* ---- host side ---- */

static int env_int(const char *name, int dflt)
{
    const char *s = getenv(name);
    return s && *s ? atoi(s) : dflt;
}

static int dec_num_sms(t6_backend *be)
{
    static int sms[64];
    int dev = cu_impl(be)->device;
    if (dev < 0 || dev >= 64) dev = 0;
    if (!sms[dev]) CUDA_CHECK(cudaDeviceGetAttribute(&sms[dev], cudaDevAttrMultiProcessorCount, cu_impl(be)->device));
    return sms[dev];
}

static int dec_cc_major(t6_backend *be)
{
    static int major[64];
    int dev = cu_impl(be)->device;
    if (dev < 0 || dev >= 64) dev = 0;
    if (!major[dev]) CUDA_CHECK(cudaDeviceGetAttribute(&major[dev], cudaDevAttrComputeCapabilityMajor, cu_impl(be)->device));
    return major[dev];
}

/* The tensor-core path's launch knobs. Each has a default chosen here from the shape;
 * the environment overrides them for experiments (bench/gpu/decode_bench sweep):
 * T6_DECODE_WARPS (warps per block, 1..16; 0 = chosen here), T6_DECODE_STAGES
 * (cp.async ring stages 2..4 where the ring applies; 0 = operands through registers),
 * T6_DECODE_FUSE (most partials per row that the split kernel combines itself, 0 =
 * always a combine kernel), T6_DECODE_MINCHUNK (fewest tokens per warp),
 * T6_DECODE_CHUNK (tokens per warp, exactly), T6_DECODE_PREFETCH (16-token tiles of
 * every operand a warp asks the L2 to fetch ahead of its register loads, 0 = none; see
 * dec_prefetch). The defaults of the first four are the fastest of the 2026-12-01
 * sweep (bench/gpu/results/2026-12-01-decode2): registers, no fusing. The one-launch
 * forms (T6_DECODE_ONE, T6_DECODE_COOP) were measured slower on 2026-12-01 and removed
 * (doc/cuda.md). */
struct DecKnobs {
    int warps, stages, fuse, min_chunk, chunk, prefetch;
};
#define DEC_DEFAULT_STAGES 0
#define DEC_DEFAULT_FUSE 0
#define DEC_DEFAULT_PREFETCH 0
#define DEC_PREFETCH_MAX 8

/* Device-side tickets of the fused combine, one per row: zero at module load and put
 * back to zero by the last block of each call, so a call needs no memset (and stays
 * graph-safe). Not backend state: two streams of one process must not run a fused
 * decode on one device at the same time. */
__device__ unsigned dec_tickets_dev[65536];

static unsigned *dec_tickets(t6_backend *be)
{
    static void *p[64];
    int dev = cu_impl(be)->device;
    if (dev < 0 || dev >= 64) dev = 0;
    if (!p[dev]) CUDA_CHECK(cudaGetSymbolAddress(&p[dev], dec_tickets_dev));
    return (unsigned *)p[dev];
}

static int dec_smem_optin(t6_backend *be)
{
    static int v[64];
    int dev = cu_impl(be)->device;
    if (dev < 0 || dev >= 64) dev = 0;
    if (!v[dev]) CUDA_CHECK(cudaDeviceGetAttribute(&v[dev], cudaDevAttrMaxSharedMemoryPerBlockOptin, cu_impl(be)->device));
    return v[dev];
}

/* Resident blocks of W warps per SM of one kernel instance (0: none fits). */
template <int DH, int MT, bool HASA, bool FULL, int NS>
static int mma_blocks_per_sm(t6_backend *be, int W)
{
    static int cache[DEC_WMAX + 1];
    static bool raised;
    if (!cache[W]) {
        const int optin = dec_smem_optin(be);
        if (!raised) {
            CUDA_CHECK(cudaFuncSetAttribute(k_dec_mma<DH, MT, HASA, FULL, NS>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize, optin));
            raised = true;
        }
        const DecSmem L = dec_smem(DH, MT, W, NS);
        int blocks = 0;
        if (L.total <= optin)
            CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, k_dec_mma<DH, MT, HASA, FULL, NS>,
                                                                     32 * W, L.total));
        cache[W] = blocks > 0 ? blocks : -1;
    }
    return cache[W] > 0 ? cache[W] : 0;
}

/* Sizes the grid (one wave of equal splits; blocks of W warps), runs the split kernel.
 * Returns true when it also combined (a.fuse), else the caller runs the combine. */
template <int DH, int MT, bool HASA, bool FULL, int NS>
static bool mma_launch(t6_backend *be, DecArgs &a, int rows, int M_max, const DecKnobs &kn, void *out)
{
    const int sms = dec_num_sms(be);
    const int wps = mma_blocks_per_sm<DH, MT, HASA, FULL, NS>(be, 1);   /* one-warp blocks per SM */
    const long long wunits = (long long)wps * sms;
    int W = 0;
    if (kn.warps > 0) {
        for (W = kn.warps < DEC_WMAX ? kn.warps : DEC_WMAX; W > 1; W--)
            if ((long long)mma_blocks_per_sm<DH, MT, HASA, FULL, NS>(be, W) * sms / rows >= 1) break;
    } else {
        /* the widest block whose one wave gives each row 99% of the most warps any block
         * width would (merging in a block cuts the partials, but blocks that do not
         * divide among the rows leave SMs idle); rows too many for one wave: one warp */
        long long best = wunits / rows;
        for (W = 2; W <= DEC_WMAX; W++) {
            const long long p = (long long)mma_blocks_per_sm<DH, MT, HASA, FULL, NS>(be, W) * sms / rows * W;
            if (p > best) best = p;
        }
        for (W = DEC_WMAX; W > 1; W--) {
            const long long p = (long long)mma_blocks_per_sm<DH, MT, HASA, FULL, NS>(be, W) * sms / rows * W;
            if (p >= 1 && (double)p >= 0.99 * (double)best) break;
        }
    }
    if (mma_blocks_per_sm<DH, MT, HASA, FULL, NS>(be, W) < 1)
        t6_fatal("decode attention: the tensor-core kernel (blocks of %d warps, %d-stage ring) does not fit an SM", W, NS);
    long long prc = (long long)mma_blocks_per_sm<DH, MT, HASA, FULL, NS>(be, W) * sms / rows;   /* blocks per row */
    if (prc < 1) prc = 1;
    long long per_row = prc * W;       /* warps (splits) per row */
    const long long smax = (long long)DEC_SMAX * W;
    if (per_row > smax) per_row = smax;
    const int min_chunk = kn.min_chunk > 0 ? kn.min_chunk : (W > 1 ? 16 : 64);
    long long chunk = kn.chunk > 0 ? kn.chunk : (M_max + per_row - 1) / per_row;
    if (kn.chunk <= 0 && chunk < min_chunk) chunk = min_chunk;
    if (chunk < (M_max + smax - 1) / smax) chunk = (M_max + smax - 1) / smax;
    chunk = (chunk + 15) / 16 * 16;
    const long long sw = (M_max + chunk - 1) / chunk;
    const DecSmem L = dec_smem(DH, MT, W, NS);
    a.chunk = (int)chunk;
    a.S = (int)(W > 1 ? (sw + W - 1) / W : sw);
    const int fuse_max = kn.fuse >= 0 ? kn.fuse : DEC_DEFAULT_FUSE;
    a.fuse = fuse_max > 0 && a.S <= fuse_max && (long long)a.S * a.nh * 4 <= L.area_bytes;
    a.merge = W > 1 || a.fuse;
    a.tickets = a.fuse ? dec_tickets(be) : NULL;
    a.out = out;
    a.pf = NS > 0 ? 0 : kn.prefetch;       /* (the ring has its own tiles in flight) */
    size_t np = (size_t)rows * a.S * a.nh;
    char *scr = (char *)t6_cuda_scratch(be, np * (DH + 1) * sizeof(float));
    a.po = (float *)scr;
    a.plse = (float *)(scr + np * DH * sizeof(float));
    dim3 grid(a.S, rows);
    k_dec_mma<DH, MT, HASA, FULL, NS><<<grid, 32 * W, L.total, cu_stream(be)>>>(a);
    CUDA_CHECK_LAUNCH();
    cu_impl(be)->decode_path = a.fuse ? "fused" : "split+combine";
    cu_impl(be)->decode_grid[0] = a.S;
    cu_impl(be)->decode_grid[1] = W;
    cu_impl(be)->decode_grid[2] = a.chunk;
    return a.fuse;
}

/* The instance for the shape: the cp.async ring where it applies (dh 64, 16 or 32
 * heads with word-aligned rows, TPA) and is asked for. */
template <int DH, int MT, bool HASA>
static bool mma_dispatch_full(t6_backend *be, DecArgs &a, int rows, int M_max, const DecKnobs &kn, void *out, bool *fused)
{
    constexpr bool CAN_FULL = HASA && MT <= 2;   /* word-aligned head factors: h = 16 or 32 */
    constexpr bool CAN_RING = CAN_FULL && DH == 64;
    const bool full = CAN_FULL && a.nh == 16 * MT;
    const int ns = kn.stages >= 0 ? kn.stages : DEC_DEFAULT_STAGES;
    if (full && CAN_RING) {
        switch (ns) {
        case 2: *fused = mma_launch<DH, MT, HASA, CAN_FULL, CAN_RING ? 2 : 0>(be, a, rows, M_max, kn, out); return true;
        case 3: *fused = mma_launch<DH, MT, HASA, CAN_FULL, CAN_RING ? 3 : 0>(be, a, rows, M_max, kn, out); return true;
        case 4: *fused = mma_launch<DH, MT, HASA, CAN_FULL, CAN_RING ? 4 : 0>(be, a, rows, M_max, kn, out); return true;
        default: break;
        }
    }
    if (full) *fused = mma_launch<DH, MT, HASA, CAN_FULL, 0>(be, a, rows, M_max, kn, out);
    else *fused = mma_launch<DH, MT, HASA, false, 0>(be, a, rows, M_max, kn, out);
    return true;
}

template <int DH, bool HASA>
static bool mma_dispatch(t6_backend *be, DecArgs &a, int rows, int M_max, const DecKnobs &kn, void *out, bool *fused)
{
    const int mt = (a.nh + 15) / 16;
    switch (mt) {
    case 1: return mma_dispatch_full<DH, 1, HASA>(be, a, rows, M_max, kn, out, fused);
    case 2: return mma_dispatch_full<DH, 2, HASA>(be, a, rows, M_max, kn, out, fused);
    case 3: return mma_dispatch_full<DH, 3, HASA>(be, a, rows, M_max, kn, out, fused);
    case 4:
        if (DH > 16) return false;             /* 64 heads x 64 dims of accumulators spill */
        return mma_dispatch_full<(DH > 16 ? 16 : DH), 4, HASA>(be, a, rows, M_max, kn, out, fused);
    default: return false;
    }
}

static bool aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

/* Runs the split kernel (tensor cores where they apply, else generic) and the combine. */
static void decode_run(t6_backend *be, void *out, DecArgs &a, int rows, int M_max, bool hasA)
{
    a.M = M_max;
    const int want_chunk = env_int("T6_DECODE_CHUNK", 0);
    const DecKnobs kn = {env_int("T6_DECODE_WARPS", 0), env_int("T6_DECODE_STAGES", -1), env_int("T6_DECODE_FUSE", -1),
                         env_int("T6_DECODE_MINCHUNK", 0), want_chunk, env_int("T6_DECODE_PREFETCH", DEC_DEFAULT_PREFETCH)};
    if (kn.prefetch < 0 || kn.prefetch > DEC_PREFETCH_MAX)
        t6_fatal("T6_DECODE_PREFETCH=%d: expected 0 (none) .. %d tiles ahead", kn.prefetch, DEC_PREFETCH_MAX);
    if (kn.warps < 0 || kn.warps > DEC_WMAX) t6_fatal("T6_DECODE_WARPS=%d: expected 1..%d (0: chosen)", kn.warps, DEC_WMAX);
    if (kn.stages != -1 && kn.stages != 0 && (kn.stages < 2 || kn.stages > 4))
        t6_fatal("T6_DECODE_STAGES=%d: expected 0 (registers) or 2..4", kn.stages);
    const char *mode = getenv("T6_CUDA_DECODE");
    const bool generic = mode && !strcmp(mode, "generic");
    bool done = false, fused = false;
    if (cu_bf16(be) && !generic && (a.dh == 64 || a.dh == 16) && aligned16(a.q) && aligned16(a.bk) &&
        aligned16(a.bv) && (!hasA || (aligned16(a.ak) && aligned16(a.av)))) {
        if (a.dh == 64) done = hasA ? mma_dispatch<64, true>(be, a, rows, M_max, kn, out, &fused)
                                    : mma_dispatch<64, false>(be, a, rows, M_max, kn, out, &fused);
        else done = hasA ? mma_dispatch<16, true>(be, a, rows, M_max, kn, out, &fused)
                         : mma_dispatch<16, false>(be, a, rows, M_max, kn, out, &fused);
    }
    if (fused) return;
    if (!done) {
        if (a.dh > 256) t6_fatal("decode attention: dh = %d (the CUDA kernels take dh <= 256)", a.dh);
        if (a.nh > 65535 || rows > 65535) t6_fatal("decode attention: %d rows of %d heads (at most 65535 each)", rows, a.nh);
        /* blocks of 128 tokens; enough of them to fill the GPU several times */
        const long long max_blocks = 512LL * dec_num_sms(be);
        long long chunk = want_chunk > 0 ? want_chunk : 128;
        while (((long long)rows * a.nh * ((M_max + chunk - 1) / chunk) > max_blocks ||
                (M_max + chunk - 1) / chunk > DEC_SMAX) && chunk < (1 << 24)) chunk *= 2;
        a.chunk = (int)chunk;
        a.S = (int)((M_max + chunk - 1) / chunk);
        size_t np = (size_t)rows * a.S * a.nh;
        char *scr = (char *)t6_cuda_scratch(be, np * (a.dh + 1) * sizeof(float));
        a.po = (float *)scr;
        a.plse = (float *)(scr + np * a.dh * sizeof(float));
        cu_impl(be)->decode_path = "generic+combine";
        cu_impl(be)->decode_grid[0] = a.S;
        cu_impl(be)->decode_grid[1] = 0;
        cu_impl(be)->decode_grid[2] = a.chunk;
        dim3 grid(a.S, rows, a.nh);
        T6_ACT_DISPATCH(be, T, {
            if (hasA) k_dec_generic<T, true><<<grid, 128, 0, cu_stream(be)>>>(a);
            else k_dec_generic<T, false><<<grid, 128, 0, cu_stream(be)>>>(a);
            CUDA_CHECK_LAUNCH();
        });
    }
    /* on Hopper the combine is launched as a programmatic dependent: its launch overlaps
     * the split kernel's tail and it waits (griddepcontrol.wait) for that kernel's
     * results, saving a launch gap that is a fifth of the time of a short call */
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(a.nh, rows, (a.dh + 15) / 16);
    cfg.blockDim = dim3(256);
    cfg.stream = cu_stream(be);
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    if (dec_cc_major(be) >= 9) {
        cfg.attrs = attr;
        cfg.numAttrs = 1;
    }
    const float *po = a.po, *plse = a.plse;
    T6_ACT_DISPATCH(be, T, {
        CUDA_CHECK(cudaLaunchKernelEx(&cfg, k_dec_combine<T>, (T *)out, po, plse, a.S, a.nh, a.dh));
    });
}

extern "C" const char *t6_cuda_decode_path(t6_backend *be, int grid[3])
{
    const t6_cuda_impl *c = cu_impl(be);
    if (grid) memcpy(grid, c->decode_grid, sizeof c->decode_grid);
    return c->decode_path ? c->decode_path : "none";
}

static void check_dims(const char *op, int B, int M_max, int h, int dh)
{
    if (B <= 0 || M_max <= 0 || h <= 0 || dh <= 0)
        t6_fatal("%s: bad sizes B=%d M_max=%d h=%d dh=%d", op, B, M_max, h, dh);
    if (B > 65535) t6_fatal("%s: batch %d (at most 65535)", op, B);
}

void t6_cuda_decode_attention_tpa(t6_backend *be, void *out, const void *q, const void *ak, const void *bk,
                                  const void *av, const void *bv, const int32_t *lens,
                                  int B, int M_max, int h, int R_K, int R_V, int dh)
{
    check_dims("decode_attention_tpa", B, M_max, h, dh);
    if (R_K <= 0 || R_V <= 0) t6_fatal("decode_attention_tpa: ranks R_K=%d R_V=%d", R_K, R_V);
    DecArgs a;
    memset(&a, 0, sizeof a);
    a.q = q; a.ak = ak; a.bk = bk; a.av = av; a.bv = bv; a.lens = lens;
    a.row_ak = (long long)M_max * R_K * h;
    a.row_av = (long long)M_max * R_V * h;
    a.row_bk = (long long)M_max * R_K * dh;
    a.row_bv = (long long)M_max * R_V * dh;
    a.g_b = 0;
    a.tok_ak = R_K * h; a.tok_av = R_V * h; a.tok_bk = R_K * dh; a.tok_bv = R_V * dh;
    a.ha = h;
    a.G = 1; a.nh = h; a.RK = R_K; a.RV = R_V; a.dh = dh;
    a.sc2 = (float)(1.0 / sqrt((double)dh) / R_K) * DEC_LOG2E;
    a.vscale = 1.0f / R_V;
    decode_run(be, out, a, B, M_max, true);
}

void t6_cuda_decode_attention_kv(t6_backend *be, void *out, const void *q, const void *k, const void *v,
                                 const int32_t *lens, int B, int M_max, int h, int G, int dh)
{
    check_dims("decode_attention_kv", B, M_max, h, dh);
    if (G <= 0 || h % G) t6_fatal("decode_attention_kv: %d query heads not a multiple of %d kv heads", h, G);
    if ((long long)B * G > 65535) t6_fatal("decode_attention_kv: B*G = %lld (at most 65535)", (long long)B * G);
    DecArgs a;
    memset(&a, 0, sizeof a);
    a.q = q; a.bk = k; a.bv = v; a.lens = lens;
    a.row_bk = a.row_bv = (long long)M_max * G * dh;
    a.g_b = dh;
    a.tok_bk = a.tok_bv = G * dh;
    a.G = G; a.nh = h / G; a.RK = 1; a.RV = 1; a.dh = dh;
    a.sc2 = (float)(1.0 / sqrt((double)dh)) * DEC_LOG2E;
    a.vscale = 1.0f;
    decode_run(be, out, a, B * G, M_max, false);
}
