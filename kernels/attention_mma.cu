/* attention_mma.cu -- causal flash attention on bf16 tensor cores (mma.sync m16n8k16,
 * fp32 accumulation) for head dims 64, 96 and 128, used whenever the act type is bf16
 * and dh is one of those (64: every paper config; 96: MLA's query/key heads, d_nope +
 * d_rope, with V padded to 96); attention.cu keeps the generic path for the rest.
 * T6_ATTN_MMA_DH64_ONLY=1 (read at every call) sends 96 and 128 back to the generic
 * path (96) or to an error (128: the generic kernels stop at 96), a bypass without a
 * rebuild should the wider instantiations misbehave on a GPU.
 *
 * Forward (FlashAttention-2 order): a block owns 128 query rows (4 warps x 2 m-tiles x
 * 16; 64 rows, one m-tile per warp, with T6_ATTN_FWD_ROWS=64), walks the 64-key tiles
 * up to the diagonal; S = Q K^T stays in registers, the online softmax rescales the
 * output accumulator, and P is fed back as the A operand of P V without leaving
 * registers. The causal diagonal is masked only in each m-tile's diagonal tile.
 * Scores are kept in log2 units: exp(scale * s - m) = 2^(s * scale * log2(e) - m'),
 * one FMA and one ex2.approx per score (lse is stored in natural-log units).
 * For dh > 64 the forward always takes 64 rows per block: two m-tiles would need
 * 2 x (dh/16 Q fragments + dh/8 output tiles) more registers than the 255 allowed.
 *
 * Backward: two kernels so every output has one writer (deterministic, no atomics):
 *  - dK/dV: a block owns 64 keys of one kv head and walks the query tiles at or after
 *    them, for every query head of the GQA group: S^T = K Q^T, P^T from the saved
 *    log-sum-exp, dV += P^T dO, dP^T = V dO^T, dS^T = P^T (dP^T - D), dK += dS^T Q.
 *    At dh 64 the K and V fragments stay in registers and query tiles are 64 wide; for
 *    dh > 64 the two dh-wide accumulators grow by half or double, so K and V stay in
 *    shared memory (A fragments by ldmatrix at each k-chunk) and the query tiles are
 *    32 wide (half the S^T / dP^T registers): no spills at 96 or 128;
 *  - dQ: a block owns 64 query rows and walks the key tiles: S, P, dP = dO V^T, dS,
 *    dQ += dS K.
 * That is 7 products per (query tile, key tile) pair where FlashAttention-2 does 5, in
 * exchange for no atomics: every dQ, dK, dV element is summed by one thread in a fixed
 * order, so the backward is deterministic. (A one-kernel backward with dQ added in a
 * fixed order under per-tile counters, four other dK/dV shapes and a heavy-first order
 * were measured slower or within noise on an H200 and removed: doc/cuda.md.)
 * D = rowsum(dO * O) comes from attention.cu's small kernel.
 *
 * mma.m16n8k16 fragment layout used throughout (g = lane/4, c = lane%4):
 *   A (16x16, row-major): a0 (g, 2c..2c+1), a1 (g+8, 2c..), a2 (g, 2c+8..), a3 (g+8, 2c+8..)
 *   B (16x8, k x n):      b0 (k = 2c..2c+1, n = g), b1 (k = 2c+8.., n = g)
 *   C (16x8 fp32):        c0,c1 (g, 2c..2c+1), c2,c3 (g+8, 2c..2c+1)
 * The C tiles 2j, 2j+1 of one product are exactly the A fragment j of the next, so P
 * and dS never leave registers. QK^T takes dh/16 k-chunks; P V, dQ, dK and dV take
 * dh/8 n-tiles of 8 columns. B operands come from shared tiles through ldmatrix
 * (.trans where the tile is stored k-major), tiles arrive by cp.async into a double
 * buffer (the next tile loads while this one is used), and the row pitch of dh + 8
 * elements (144, 208 or 272 B: 9, 13 or 17 16-byte units, odd, so the 8 rows one
 * ldmatrix reads fall in 8 distinct bank groups) keeps ldmatrix free of bank
 * conflicts. Shared memory past 48 KB (dh > 64) is opted into per kernel. */
#include "cuda_common.cuh"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FT 64      /* rows per tile (queries or keys) */

typedef __nv_bfloat16 bf16;

/* shared row pitch in bf16 elements for head dim DH (see the header) */
template <int DH> __host__ __device__ constexpr int lds_of() { return DH + 8; }

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

__device__ __forceinline__ uint32_t smem_u32(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

/* ldmatrix x4: lane L gives the row address of matrix L/8, row L%8. */
__device__ __forceinline__ void ldsm_x4(uint32_t r[4], const bf16 *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t r[4], const bf16 *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}

/* B fragments of n-tiles nt, nt+1 (columns n0 = 8*nt ..) at k-chunk kc from a shared
 * tile X of pitch P stored [n][k] (B[k][n] = X[n][k]): r0,r1 = b0,b1 of nt; r2,r3 of nt+1. */
template <int P>
__device__ __forceinline__ void ldB_nk(uint32_t r[4], const bf16 *X, int nt, int kc, int lane)
{
    ldsm_x4(r, X + (nt * 8 + ((lane >> 4) & 1) * 8 + (lane & 7)) * P + kc * 16 + ((lane >> 3) & 1) * 8);
}
/* The same from a tile stored [k][n] (B[k][n] = X[k][n]), transposed by ldmatrix. */
template <int P>
__device__ __forceinline__ void ldB_kn(uint32_t r[4], const bf16 *X, int nt, int kc, int lane)
{
    ldsm_x4_t(r, X + (kc * 16 + ((lane >> 3) & 1) * 8 + (lane & 7)) * P + nt * 8 + ((lane >> 4) & 1) * 8);
}
/* The A fragment (rows row0..row0+15, k-chunk kc) of a row-major shared tile of pitch
 * P: matrix 0 = rows 0-7 / cols 0-7 (a0), 1 = rows 8-15 (a1), 2 = cols 8-15 (a2), 3 (a3). */
template <int P>
__device__ __forceinline__ void ldA(uint32_t r[4], const bf16 *X, int row0, int kc, int lane)
{
    ldsm_x4(r, X + (row0 + ((lane >> 3) & 1) * 8 + (lane & 7)) * P + kc * 16 + ((lane >> 4) & 1) * 8);
}

/* A fragments (NKC k-chunks of 16 over dh = 16 NKC) of rows r and r+8 of a row-major
 * matrix in global memory with row stride `stride` elements; rows >= nrows read as zero. */
template <int NKC>
__device__ __forceinline__ void load_a_rows(uint32_t a[NKC][4], const bf16 *base, size_t stride, int r, int nrows,
                                            int c)
{
    const bf16 *p0 = base + (size_t)r * stride, *p1 = base + (size_t)(r + 8) * stride;
    bool v0 = r < nrows, v1 = r + 8 < nrows;
#pragma unroll
    for (int kc = 0; kc < NKC; kc++) {
        a[kc][0] = v0 ? ld32(p0 + kc * 16 + 2 * c) : 0u;
        a[kc][1] = v1 ? ld32(p1 + kc * 16 + 2 * c) : 0u;
        a[kc][2] = v0 ? ld32(p0 + kc * 16 + 8 + 2 * c) : 0u;
        a[kc][3] = v1 ? ld32(p1 + kc * 16 + 8 + 2 * c) : 0u;
    }
}

/* Asynchronous copy of a ROWS x DH tile (rows r0.., row stride `stride` elements) into
 * a shared tile of pitch DH + 8; rows >= nrows are zero-filled by the copy engine. NTHR
 * threads (the block), DH/8 16-byte chunks per row; completes at the caller's
 * cp.async.wait_group. */
template <int DH, int ROWS, int NTHR = 128>
__device__ __forceinline__ void stage_async(bf16 *dst, const bf16 *base, size_t stride, int r0, int nrows)
{
    constexpr int CPR = DH / 8, P = lds_of<DH>(), SH = CPR == 8 ? 3 : CPR == 16 ? 4 : 0;
    static_assert(ROWS * CPR % NTHR == 0, "a tile must split evenly over the block's threads");
#pragma unroll
    for (int it = 0; it < ROWS * CPR / NTHR; it++) {
        int e = threadIdx.x + it * NTHR, r, c8;
        if constexpr (SH > 0) { r = e >> SH; c8 = (e & (CPR - 1)) * 8; }   /* dh 64, 128 */
        else { r = (unsigned)e / CPR; c8 = ((unsigned)e % CPR) * 8; }      /* dh 96: 12 chunks */
        bool ok = r0 + r < nrows;
        const bf16 *src = ok ? base + (size_t)(r0 + r) * stride + c8 : base;
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n"
                     :: "r"(smem_u32(dst + r * P + c8)), "l"(src), "r"(ok ? 16 : 0));
    }
}
__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\n"); }
template <int N> __device__ __forceinline__ void cp_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N)); }

/* 2^x on the special-function unit (the scores are kept in log2 units: the softmax
 * scale times log2(e) is folded into one multiply-add per score) */
__device__ __forceinline__ float ex2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}
#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

/* ---------------------------------------------------------------- forward
 * MT m-tiles of 16 query rows per warp: the block owns 64*MT rows (m-tile mt of warp w
 * holds rows q0 + 64 mt + 16 w ..), so every K/V fragment taken from shared memory
 * feeds MT products (MT = 2 halves the ldmatrix traffic and the K/V tile loads per
 * product, at twice the accumulator registers; dh 64 only). Key tiles stay 64 wide; an
 * m-tile skips the key tile past its diagonal. */
template <int DH, int MT>
__global__ void __launch_bounds__(128) k_fa_fwd(bf16 *out, float *lse, const bf16 *q, const bf16 *k,
                                                const bf16 *v, int T, int h, int G, float scale)
{
    constexpr int NKC = DH / 16, NDT = DH / 8, P = lds_of<DH>(), TILE = FT * P;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    bf16 *sm = (bf16 *)smem_raw;                           /* [2 stages][K, V] */
    const int b = blockIdx.z, i = blockIdx.y, gk = i / (h / G);
    const int qt = gridDim.x - 1 - blockIdx.x;           /* longest tiles first */
    const int q0 = qt * FT * MT;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const size_t qstride = (size_t)h * DH, kstride = (size_t)G * DH;
    const bf16 *qb = q + (size_t)b * T * qstride + (size_t)i * DH;
    const bf16 *kb = k + (size_t)b * T * kstride + (size_t)gk * DH;
    const bf16 *vb = v + (size_t)b * T * kstride + (size_t)gk * DH;
    const float sl2 = scale * LOG2E;
    int nkt = (q0 + FT * MT - 1) / FT;                   /* last key tile */
    if (nkt > (T - 1) / FT) nkt = (T - 1) / FT;

    stage_async<DH, FT>(sm, kb, kstride, 0, T);
    stage_async<DH, FT>(sm + TILE, vb, kstride, 0, T);
    cp_commit();
    uint32_t qa[MT][NKC][4];
    float o[MT][NDT][4], m[MT][2], l[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
        load_a_rows<NKC>(qa[mt], qb, qstride, q0 + mt * FT + warp * 16 + g, T, c);
#pragma unroll
        for (int dt = 0; dt < NDT; dt++) o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.0f;
        m[mt][0] = m[mt][1] = -INFINITY;
        l[mt][0] = l[mt][1] = 0.0f;
    }

    for (int kt = 0; kt <= nkt; kt++) {
        if (kt < nkt) {
            bf16 *nb = sm + ((kt + 1) & 1) * 2 * TILE;
            stage_async<DH, FT>(nb, kb, kstride, (kt + 1) * FT, T);
            stage_async<DH, FT>(nb + TILE, vb, kstride, (kt + 1) * FT, T);
            cp_commit();
            cp_wait<1>();
        } else {
            cp_wait<0>();
        }
        __syncthreads();
        const bf16 *sK = sm + (kt & 1) * 2 * TILE, *sV = sK + TILE;
        bool act[MT];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) act[mt] = kt <= qt * MT + mt;   /* at or before its diagonal */
        float s[MT][8][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int nt = 0; nt < 8; nt++) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.0f;
#pragma unroll
        for (int kc = 0; kc < NKC; kc++)
#pragma unroll
            for (int nt = 0; nt < 8; nt += 2) {
                uint32_t bb[4];
                ldB_nk<P>(bb, sK, nt, kc, lane);
#pragma unroll
                for (int mt = 0; mt < MT; mt++)
                    if (act[mt]) {
                        mma16816(s[mt][nt], qa[mt][kc], bb[0], bb[1]);
                        mma16816(s[mt][nt + 1], qa[mt][kc], bb[2], bb[3]);
                    }
            }
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            if (!act[mt]) continue;
            const bool diag = kt == qt * MT + mt;
            const int r = q0 + mt * FT + warp * 16 + g;
#pragma unroll
            for (int nt = 0; nt < 8; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    if (diag) {
                        int row = r + (e >= 2 ? 8 : 0), col = kt * FT + nt * 8 + 2 * c + (e & 1);
                        if (col > row) s[mt][nt][e] = -INFINITY;
                    }
                }
#pragma unroll
            for (int hr = 0; hr < 2; hr++) {
                float mx = -INFINITY;
#pragma unroll
                for (int nt = 0; nt < 8; nt++) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * hr], s[mt][nt][2 * hr + 1]));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                /* raw scores until here (scale > 0 keeps the max); m in log2 units */
                float mn = fmaxf(m[mt][hr], mx * sl2);
                float corr = m[mt][hr] == -INFINITY ? 0.0f : ex2(m[mt][hr] - mn);
                float sum = 0.0f;
#pragma unroll
                for (int nt = 0; nt < 8; nt++) {
                    float p0 = ex2(fmaf(s[mt][nt][2 * hr], sl2, -mn));      /* 2^-inf = 0 on the mask */
                    float p1 = ex2(fmaf(s[mt][nt][2 * hr + 1], sl2, -mn));
                    s[mt][nt][2 * hr] = p0;
                    s[mt][nt][2 * hr + 1] = p1;
                    sum += p0 + p1;
                }
                sum += __shfl_xor_sync(0xffffffffu, sum, 1);
                sum += __shfl_xor_sync(0xffffffffu, sum, 2);
                l[mt][hr] = l[mt][hr] * corr + sum;
                m[mt][hr] = mn;
#pragma unroll
                for (int dt = 0; dt < NDT; dt++) { o[mt][dt][2 * hr] *= corr; o[mt][dt][2 * hr + 1] *= corr; }
            }
        }
#pragma unroll
        for (int j = 0; j < 4; j++) {
            uint32_t pa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                pa[mt][0] = pack_bf16(s[mt][2 * j][0], s[mt][2 * j][1]);
                pa[mt][1] = pack_bf16(s[mt][2 * j][2], s[mt][2 * j][3]);
                pa[mt][2] = pack_bf16(s[mt][2 * j + 1][0], s[mt][2 * j + 1][1]);
                pa[mt][3] = pack_bf16(s[mt][2 * j + 1][2], s[mt][2 * j + 1][3]);
            }
#pragma unroll
            for (int dt = 0; dt < NDT; dt += 2) {
                uint32_t bb[4];
                ldB_kn<P>(bb, sV, dt, j, lane);              /* B[key][d] = V[key][d] */
#pragma unroll
                for (int mt = 0; mt < MT; mt++)
                    if (act[mt]) {
                        mma16816(o[mt][dt], pa[mt], bb[0], bb[1]);
                        mma16816(o[mt][dt + 1], pa[mt], bb[2], bb[3]);
                    }
            }
        }
        __syncthreads();                                   /* buffer kt&1 is refilled next */
    }
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int hr = 0; hr < 2; hr++) {
            int row = q0 + mt * FT + warp * 16 + g + 8 * hr;
            if (row >= T) continue;
            float inv = 1.0f / l[mt][hr];
            bf16 *op = out + ((size_t)b * T + row) * qstride + (size_t)i * DH;
#pragma unroll
            for (int dt = 0; dt < NDT; dt++)
                *(uint32_t *)(op + dt * 8 + 2 * c) = pack_bf16(o[mt][dt][2 * hr] * inv, o[mt][dt][2 * hr + 1] * inv);
            if (c == 0) lse[((size_t)b * h + i) * T + row] = (m[mt][hr] + log2f(l[mt][hr])) * LN2;
        }
}

/* ---------------------------------------------------------------- dK, dV
 * dh > 64 (KSM): K and V of the block's keys stay in shared memory and the query tiles
 * are QW = 32 wide; at dh 64 they stay in registers, QW = 64 (see the header). 4 warps
 * of 16 keys: the block owns KW = 64 keys. */
template <int DH>
struct DkvShape {
    static constexpr bool KSM = DH > 64;
    static constexpr int NW = 4, NTHR = 128, KW = 64;
    static constexpr int QW = KSM ? 32 : FT;
    static constexpr int P = lds_of<DH>();
    static_assert(KW % QW == 0 && 2 * QW <= NTHR, "tile shapes");
    /* [K, V (KSM only)][2 stages][Q, dO] bf16, then [2 stages][lse QW, D QW] floats */
    static constexpr int KV_ELEMS = KSM ? 2 * KW * P : 0;
    static constexpr int QTILE = QW * P;
    static constexpr size_t SMEM = (size_t)(KV_ELEMS + 4 * QTILE) * sizeof(bf16) + 4 * QW * sizeof(float);
};

template <int DH>
__global__ void __launch_bounds__(128) k_fa_dkv(bf16 *dk, bf16 *dv, const bf16 *dout, const float *lse,
                                                const float *D, const bf16 *q, const bf16 *k, const bf16 *v,
                                                int T, int h, int G, float scale)
{
    typedef DkvShape<DH> S;
    constexpr int NKC = DH / 16, NDT = DH / 8, P = S::P, QW = S::QW, QTILE = S::QTILE;
    constexpr int NTHR = S::NTHR, KW = S::KW;
    constexpr bool KSM = S::KSM;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    bf16 *sKV = (bf16 *)smem_raw;                          /* [K, V] (KSM) */
    bf16 *sm = sKV + S::KV_ELEMS;                          /* [2 stages][Q, dO] */
    float *sLD = (float *)(smem_raw + (S::KV_ELEMS + 4 * QTILE) * sizeof(bf16));   /* [2 stages][lse, D] */
    const int b = blockIdx.z, gk = blockIdx.y, hpg = h / G;
    const int kt = gridDim.x - 1 - blockIdx.x;           /* last key tile first */
    const int s0 = kt * KW;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int key = s0 + warp * 16 + g;                   /* this thread's keys: key, key+8 */
    const float sl2 = scale * LOG2E;
    const size_t qstride = (size_t)h * DH, kstride = (size_t)G * DH;
    const bf16 *kb = k + (size_t)b * T * kstride + (size_t)gk * DH;
    const bf16 *vb = v + (size_t)b * T * kstride + (size_t)gk * DH;
    /* query tiles of QW rows from the first one holding s0 (QW divides KW) */
    const int fq = kt * (KW / QW), nqt = (T + QW - 1) / QW, per_head = nqt - fq, total = hpg * per_head;

    /* tile u: query head gk*hpg + u/per_head, query tile fq + u%per_head */
    auto issue = [&](int u, int buf) {
        const int i = gk * hpg + u / per_head, t0 = (fq + u % per_head) * QW;
        const bf16 *qb = q + (size_t)b * T * qstride + (size_t)i * DH;
        const bf16 *ob = dout + (size_t)b * T * qstride + (size_t)i * DH;
        stage_async<DH, QW, NTHR>(sm + buf * 2 * QTILE, qb, qstride, t0, T);
        stage_async<DH, QW, NTHR>(sm + buf * 2 * QTILE + QTILE, ob, qstride, t0, T);
        /* lse (threads 0..QW-1) and D (QW..2QW-1) of the tile's queries, also by cp.async:
         * plain loads here would stall two warps for a global round trip every tile.
         * Queries past T get 0 for both, harmless: their Q and dO rows are zero, so
         * P = 1 there multiplies zeros (dV, dK += 0) and dS = 1 * (0 - 0). */
        if (2 * QW >= NTHR || threadIdx.x < 2 * QW) {
            const int e = threadIdx.x & (QW - 1);
            const float *src = (threadIdx.x < QW ? lse : D) + ((size_t)b * h + i) * T + t0 + e;
            const bool ok = t0 + e < T;
            asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n"
                         :: "r"(smem_u32(sLD + buf * 2 * QW + (threadIdx.x < QW ? 0 : QW) + e)),
                            "l"(ok ? src : lse), "r"(ok ? 4 : 0));
        }
    };
    if constexpr (KSM) {                                   /* arrives with tile 0's group */
        stage_async<DH, KW, NTHR>(sKV, kb, kstride, s0, T);
        stage_async<DH, KW, NTHR>(sKV + KW * P, vb, kstride, s0, T);
    }
    issue(0, 0);
    cp_commit();
    uint32_t ka[KSM ? 1 : NKC][4], va[KSM ? 1 : NKC][4];
    if constexpr (!KSM) {
        load_a_rows<NKC>(ka, kb, kstride, key, T, c);
        load_a_rows<NKC>(va, vb, kstride, key, T, c);
    }
    float dkacc[NDT][4], dvacc[NDT][4];
#pragma unroll
    for (int dt = 0; dt < NDT; dt++)
#pragma unroll
        for (int e = 0; e < 4; e++) dkacc[dt][e] = dvacc[dt][e] = 0.0f;

    for (int u = 0; u < total; u++) {
        if (u + 1 < total) {
            issue(u + 1, (u + 1) & 1);
            cp_commit();
            cp_wait<1>();
        } else {
            cp_wait<0>();
        }
        __syncthreads();
        const bf16 *sQ = sm + (u & 1) * 2 * QTILE, *sO = sQ + QTILE;
        const float *sL = sLD + (u & 1) * 2 * QW, *sD = sL + QW;   /* lse (natural log), D */
        const int t0 = (fq + u % per_head) * QW;
        float st[QW / 8][4], dpt[QW / 8][4];
#pragma unroll
        for (int nt = 0; nt < QW / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) st[nt][e] = dpt[nt][e] = 0.0f;
#pragma unroll
        for (int kc = 0; kc < NKC; kc++) {
            uint32_t kf[4], vf[4];
            if constexpr (KSM) {
                ldA<P>(kf, sKV, warp * 16, kc, lane);        /* A[key][d] = K[key][d] */
                ldA<P>(vf, sKV + KW * P, warp * 16, kc, lane);
            } else {
#pragma unroll
                for (int e = 0; e < 4; e++) { kf[e] = ka[kc][e]; vf[e] = va[kc][e]; }
            }
#pragma unroll
            for (int nt = 0; nt < QW / 8; nt += 2) {
                uint32_t bq[4], bo[4];
                ldB_nk<P>(bq, sQ, nt, kc, lane);             /* B[d][query] = Q[query][d] */
                mma16816(st[nt], kf, bq[0], bq[1]);
                mma16816(st[nt + 1], kf, bq[2], bq[3]);
                ldB_nk<P>(bo, sO, nt, kc, lane);
                mma16816(dpt[nt], vf, bo[0], bo[1]);
                mma16816(dpt[nt + 1], vf, bo[2], bo[3]);
            }
        }
        /* tiles overlapping the block's keys need the causal mask (QW = KW: only t0 = s0) */
        const bool diag = QW == KW ? t0 == s0 : t0 < s0 + KW;
#pragma unroll
        for (int nt = 0; nt < QW / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int ql = nt * 8 + 2 * c + (e & 1);
                int kk = key + (e >= 2 ? 8 : 0);
                float p = ex2(fmaf(st[nt][e], sl2, -sL[ql] * LOG2E));
                if (diag && t0 + ql < kk) p = 0.0f;
                st[nt][e] = p;                                  /* P^T */
                dpt[nt][e] = p * (dpt[nt][e] - sD[ql]);         /* dS^T */
            }
#pragma unroll
        for (int j = 0; j < QW / 16; j++) {
            uint32_t pa[4] = {pack_bf16(st[2 * j][0], st[2 * j][1]), pack_bf16(st[2 * j][2], st[2 * j][3]),
                              pack_bf16(st[2 * j + 1][0], st[2 * j + 1][1]),
                              pack_bf16(st[2 * j + 1][2], st[2 * j + 1][3])};
            uint32_t sa[4] = {pack_bf16(dpt[2 * j][0], dpt[2 * j][1]), pack_bf16(dpt[2 * j][2], dpt[2 * j][3]),
                              pack_bf16(dpt[2 * j + 1][0], dpt[2 * j + 1][1]),
                              pack_bf16(dpt[2 * j + 1][2], dpt[2 * j + 1][3])};
#pragma unroll
            for (int dt = 0; dt < NDT; dt += 2) {
                uint32_t bo[4], bq[4];
                ldB_kn<P>(bo, sO, dt, j, lane);              /* B[query][d] = dO[query][d] */
                mma16816(dvacc[dt], pa, bo[0], bo[1]);
                mma16816(dvacc[dt + 1], pa, bo[2], bo[3]);
                ldB_kn<P>(bq, sQ, dt, j, lane);
                mma16816(dkacc[dt], sa, bq[0], bq[1]);
                mma16816(dkacc[dt + 1], sa, bq[2], bq[3]);
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        int kk = key + 8 * hr;
        if (kk >= T) continue;
        bf16 *kp = dk + ((size_t)b * T + kk) * kstride + (size_t)gk * DH;
        bf16 *vp = dv + ((size_t)b * T + kk) * kstride + (size_t)gk * DH;
#pragma unroll
        for (int dt = 0; dt < NDT; dt++) {
            *(uint32_t *)(kp + dt * 8 + 2 * c) = pack_bf16(dkacc[dt][2 * hr] * scale, dkacc[dt][2 * hr + 1] * scale);
            *(uint32_t *)(vp + dt * 8 + 2 * c) = pack_bf16(dvacc[dt][2 * hr], dvacc[dt][2 * hr + 1]);
        }
    }
}

/* ---------------------------------------------------------------- dQ */
template <int DH>
__global__ void __launch_bounds__(128) k_fa_dq(bf16 *dq, const bf16 *dout, const float *lse, const float *D,
                                               const bf16 *q, const bf16 *k, const bf16 *v, int T, int h, int G,
                                               float scale)
{
    constexpr int NKC = DH / 16, NDT = DH / 8, P = lds_of<DH>(), TILE = FT * P;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    bf16 *sm = (bf16 *)smem_raw;                           /* [2 stages][K, V] */
    const int b = blockIdx.z, i = blockIdx.y, gk = i / (h / G);
    const int qt = gridDim.x - 1 - blockIdx.x;
    const int q0 = qt * FT;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int r = q0 + warp * 16 + g;
    const float sl2 = scale * LOG2E;
    const size_t qstride = (size_t)h * DH, kstride = (size_t)G * DH;
    const bf16 *qb = q + (size_t)b * T * qstride + (size_t)i * DH;
    const bf16 *ob = dout + (size_t)b * T * qstride + (size_t)i * DH;
    const bf16 *kb = k + (size_t)b * T * kstride + (size_t)gk * DH;
    const bf16 *vb = v + (size_t)b * T * kstride + (size_t)gk * DH;
    const float *lb = lse + ((size_t)b * h + i) * T, *db = D + ((size_t)b * h + i) * T;

    stage_async<DH, FT>(sm, kb, kstride, 0, T);
    stage_async<DH, FT>(sm + TILE, vb, kstride, 0, T);
    cp_commit();
    uint32_t qa[NKC][4], oa[NKC][4];
    load_a_rows<NKC>(qa, qb, qstride, r, T, c);
    load_a_rows<NKC>(oa, ob, qstride, r, T, c);
    float L[2], Dr[2];
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        int row = r + 8 * hr;
        L[hr] = row < T ? lb[row] * LOG2E : INFINITY;    /* log2 units */
        Dr[hr] = row < T ? db[row] : 0.0f;
    }
    float dqacc[NDT][4];
#pragma unroll
    for (int dt = 0; dt < NDT; dt++) dqacc[dt][0] = dqacc[dt][1] = dqacc[dt][2] = dqacc[dt][3] = 0.0f;

    for (int kt = 0; kt <= qt; kt++) {
        if (kt < qt) {
            bf16 *nb = sm + ((kt + 1) & 1) * 2 * TILE;
            stage_async<DH, FT>(nb, kb, kstride, (kt + 1) * FT, T);
            stage_async<DH, FT>(nb + TILE, vb, kstride, (kt + 1) * FT, T);
            cp_commit();
            cp_wait<1>();
        } else {
            cp_wait<0>();
        }
        __syncthreads();
        const bf16 *sK = sm + (kt & 1) * 2 * TILE, *sV = sK + TILE;
        float s[8][4], dp[8][4];
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) s[nt][e] = dp[nt][e] = 0.0f;
#pragma unroll
        for (int kc = 0; kc < NKC; kc++)
#pragma unroll
            for (int nt = 0; nt < 8; nt += 2) {
                uint32_t bk[4], bv[4];
                ldB_nk<P>(bk, sK, nt, kc, lane);             /* B[d][key] = K[key][d] */
                mma16816(s[nt], qa[kc], bk[0], bk[1]);
                mma16816(s[nt + 1], qa[kc], bk[2], bk[3]);
                ldB_nk<P>(bv, sV, nt, kc, lane);
                mma16816(dp[nt], oa[kc], bv[0], bv[1]);
                mma16816(dp[nt + 1], oa[kc], bv[2], bv[3]);
            }
        const bool diag = kt == qt;
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int hr = e >> 1;
                float p = ex2(fmaf(s[nt][e], sl2, -L[hr]));
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
            for (int dt = 0; dt < NDT; dt += 2) {
                uint32_t bk[4];
                ldB_kn<P>(bk, sK, dt, j, lane);              /* B[key][d] = K[key][d] */
                mma16816(dqacc[dt], sa, bk[0], bk[1]);
                mma16816(dqacc[dt + 1], sa, bk[2], bk[3]);
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        int row = r + 8 * hr;
        if (row >= T) continue;
        bf16 *qp = dq + ((size_t)b * T + row) * qstride + (size_t)i * DH;
#pragma unroll
        for (int dt = 0; dt < NDT; dt++)
            *(uint32_t *)(qp + dt * 8 + 2 * c) = pack_bf16(dqacc[dt][2 * hr] * scale, dqacc[dt][2 * hr + 1] * scale);
    }
}

/* ---------------------------------------------------------------- dispatch */
/* 2 stages x (K, V) tiles of 64 rows: 36,864 B at dh 64, 53,248 at 96, 69,632 at 128 */
template <int DH> static constexpr size_t smem_kv() { return (size_t)4 * FT * lds_of<DH>() * sizeof(bf16); }

/* Raise a kernel's dynamic shared memory limit past the default 48 KB, once per
 * instantiation (one device per process: one MPI rank per GPU). */
template <typename K> static void smem_optin(K kern, size_t bytes, bool *done)
{
    if (bytes <= 48 * 1024 || *done) return;
    CUDA_CHECK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
    *done = true;
}

/* Whether the tensor-core path takes this call: bf16 acts, a head dim it is built
 * for, 16-byte aligned tensors. T6_CUDA_ATTENTION=generic forces attention.cu;
 * T6_ATTN_MMA_DH64_ONLY=1 (read at every call, so a test compares both in one run)
 * keeps 96 and 128 off this path. */
static int mma_applies(t6_backend *be, int dh, const void *const *ptrs, int n)
{
    static int forced_generic = -1;
    if (forced_generic < 0) {
        const char *e = getenv("T6_CUDA_ATTENTION");      /* "generic" forces attention.cu */
        forced_generic = e && e[0] == 'g';
    }
    if (forced_generic || !cu_bf16(be)) return 0;
    if (dh != 64) {
        const char *e = getenv("T6_ATTN_MMA_DH64_ONLY");
        if ((dh != 96 && dh != 128) || (e && atoi(e) == 1)) return 0;
    }
    for (int j = 0; j < n; j++)
        if (((uintptr_t)ptrs[j]) & 15) return 0;           /* 16-byte vector loads */
    return 1;
}

template <int DH, int MT>
static void launch_fwd(t6_backend *be, bf16 *out, float *lse, const bf16 *q, const bf16 *k, const bf16 *v, int B,
                       int T, int h, int G, float scale)
{
    static bool opted;
    smem_optin(k_fa_fwd<DH, MT>, smem_kv<DH>(), &opted);
    dim3 grid((T + MT * FT - 1) / (MT * FT), h, B);
    k_fa_fwd<DH, MT><<<grid, 128, smem_kv<DH>(), cu_stream(be)>>>(out, lse, q, k, v, T, h, G, scale);
    CUDA_CHECK_LAUNCH();
}

int t6_cuda_attention_mma_fwd(t6_backend *be, void *out, float *lse, const void *q, const void *k,
                              const void *v, int B, int T, int h, int G, int dh)
{
    const void *ptrs[] = {out, q, k, v};
    if (!mma_applies(be, dh, ptrs, 4)) return 0;
    /* query rows per block: 128 (two m-tiles per warp), or 64 with T6_ATTN_FWD_ROWS=64
     * (read at every call, so a benchmark or test can compare both in one process);
     * always 64 for dh > 64 (registers: see the header) */
    const char *e = getenv("T6_ATTN_FWD_ROWS");
    const float scale = 1.0f / sqrtf((float)dh);
    bf16 *o = (bf16 *)out;
    const bf16 *qq = (const bf16 *)q, *kk = (const bf16 *)k, *vv = (const bf16 *)v;
    if (dh == 96) launch_fwd<96, 1>(be, o, lse, qq, kk, vv, B, T, h, G, scale);
    else if (dh == 128) launch_fwd<128, 1>(be, o, lse, qq, kk, vv, B, T, h, G, scale);
    else if (e && atoi(e) == 64) launch_fwd<64, 1>(be, o, lse, qq, kk, vv, B, T, h, G, scale);
    else launch_fwd<64, 2>(be, o, lse, qq, kk, vv, B, T, h, G, scale);
    return 1;
}

/* the two-kernel backward: dK, dV (k_fa_dkv), then dQ (k_fa_dq) */
template <int DH>
static void launch_bwd(t6_backend *be, bf16 *dq, bf16 *dk, bf16 *dv, const bf16 *dout, const float *lse,
                       const float *D, const bf16 *q, const bf16 *k, const bf16 *v, int B, int T, int h, int G,
                       float scale)
{
    typedef DkvShape<DH> S;
    dim3 grid((T + S::KW - 1) / S::KW, G, B);              /* blockIdx.x = last key tile first */
    static bool opted, opted_q;
    smem_optin(k_fa_dkv<DH>, S::SMEM, &opted);
    k_fa_dkv<DH><<<grid, S::NTHR, S::SMEM, cu_stream(be)>>>(dk, dv, dout, lse, D, q, k, v, T, h, G, scale);
    CUDA_CHECK_LAUNCH();
    smem_optin(k_fa_dq<DH>, smem_kv<DH>(), &opted_q);
    dim3 gq((T + FT - 1) / FT, h, B);
    k_fa_dq<DH><<<gq, 128, smem_kv<DH>(), cu_stream(be)>>>(dq, dout, lse, D, q, k, v, T, h, G, scale);
    CUDA_CHECK_LAUNCH();
}

int t6_cuda_attention_mma_bwd(t6_backend *be, void *dq, void *dk, void *dv, const void *dout, const float *lse,
                              const float *D, const void *q, const void *k, const void *v, int B, int T, int h,
                              int G, int dh)
{
    const void *ptrs[] = {dq, dk, dv, dout, q, k, v};
    if (!mma_applies(be, dh, ptrs, 7)) return 0;
    const float scale = 1.0f / sqrtf((float)dh);
    bf16 *a = (bf16 *)dq, *bk = (bf16 *)dk, *bv = (bf16 *)dv;
    const bf16 *o = (const bf16 *)dout, *qq = (const bf16 *)q, *kk = (const bf16 *)k, *vv = (const bf16 *)v;
    if (dh == 96) launch_bwd<96>(be, a, bk, bv, o, lse, D, qq, kk, vv, B, T, h, G, scale);
    else if (dh == 128) launch_bwd<128>(be, a, bk, bv, o, lse, D, qq, kk, vv, B, T, h, G, scale);
    else launch_bwd<64>(be, a, bk, bv, o, lse, D, qq, kk, vv, B, T, h, G, scale);
    return 1;
}
