/* decode_mla.cu -- the CUDA form of decode_attention_mla (backend.h; CPU form in
 * src/cpu/cpu_decode_mla.c): MLA's single-query attention of every head over one
 * shared latent "KV head" per batch row, records [c_kv (d_c), k_R (d_R)] of width
 * W = d_c + d_R for the scores and the first d_c of them for the values. It is MQA
 * with big head sizes (W = 288 or 576), so the cache is read once per block for a
 * group of up to 32 heads (kept in the block), not once per head.
 *
 * Split-K as in decode.cu: grid (splits, batch rows, head groups); each block takes a
 * contiguous chunk of one row's tokens in tiles of 32, stages each tile in shared
 * memory as fp32 (rows zero-padded to a multiple of 4 and laid out at a stride of
 * 4 mod 32 floats, so the 16-byte per-token reads of the score phase do not conflict),
 * computes the scores of its heads x 32 tokens (each warp 2 or 4 heads, one token per
 * lane, 4 numbers per load), an online softmax in base 2 (fp32), and accumulates the value
 * columns in registers (each thread DPT columns x every head of the group). It writes
 * fp32 partial outputs normalised by their own softmax sum and the chunk's log-sum-exp;
 * a combine kernel merges the chunks of a row.
 *
 * This is a SIMT (fp32 FMA) kernel: per cached token it does h * (W + d_c) FMAs on
 * W * 2 bytes, ~60 FLOP/byte at 32 heads, so on an H200 it is bound by the FMA rate,
 * not by HBM; a tensor-core form (scores and values as m16n8k16 products, as
 * decode.cu's FlashTPA path, or FlashMLA) is the next step (doc/generate.md). */
#include "cuda_common.cuh"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MLA_TT 32                       /* tokens per tile (one per lane in the score phase) */
#define MLA_THREADS 256
#define MLA_SMAX 4096                   /* most splits per row */
#define MLA_LOG2E 1.44269504088896340736f
#define MLA_LN2 0.69314718055994530942f

struct MlaArgs {
    const void *q, *cache;
    const int32_t *lens;
    float *po, *plse;                   /* (B, S, h, d_c), (B, S, h) */
    int M, h, dc, W, W4, WP, S, chunk;  /* W4 = W rounded up to 4; WP = the tile's row stride */
    float sc2;                          /* scale * log2(e) */
};

/* HB heads per block (16 or 32), DPT value columns per thread (d_c <= 256 * DPT). */
template <typename T, int HB, int DPT>
__global__ void __launch_bounds__(MLA_THREADS, 1) k_mla_split(MlaArgs a)   /* the shared tiles allow 1-3 blocks/SM: registers are free to use */
{
    extern __shared__ float sm[];
    float *qs = sm;                             /* (HB, W4) this group's queries, zero-padded */
    float *cs = qs + (size_t)HB * a.W4;         /* (MLA_TT, WP) the tile, zero-padded to W4 */
    float *ps = cs + (size_t)MLA_TT * a.WP;     /* (HB, MLA_TT) probabilities of the tile */
    __shared__ float s_alpha[HB], s_m[HB], s_l[HB];
    const int s = blockIdx.x, b = blockIdx.y, h0 = blockIdx.z * HB, tid = threadIdx.x;
    const int lane = tid & 31, warp = tid >> 5, W = a.W, W4 = a.W4, WP = a.WP, dc = a.dc;
    const int nh = min(HB, a.h - h0);
    const int len = min(a.lens[b], a.M);        /* a bad length cannot read past the cache */
    const int start = s * a.chunk, end = min(len, start + a.chunk);
    if (start >= end) {
        if (tid < nh) a.plse[((size_t)b * a.S + s) * a.h + h0 + tid] = -INFINITY;
        return;
    }
    const T *q = (const T *)a.q + ((size_t)b * a.h + h0) * W;
    for (int k = tid; k < HB * W4; k += MLA_THREADS) {
        const int i = k / W4, j = k - i * W4;
        qs[k] = i < nh && j < W ? t6_ld(q + (size_t)i * W + j) : 0.0f;
    }
    if (tid < HB) {
        s_m[tid] = -INFINITY;
        s_l[tid] = 0.0f;
    }
    const T *cb = (const T *)a.cache + (size_t)b * a.M * W;
    constexpr int HPW = HB / 8;                 /* heads per warp in the score phase */
    float acc[HB][DPT];
#pragma unroll
    for (int i = 0; i < HB; i++)
#pragma unroll
        for (int k = 0; k < DPT; k++) acc[i][k] = 0.0f;

    for (int t0 = start; t0 < end; t0 += MLA_TT) {
        const int nt = min(MLA_TT, end - t0);
        __syncthreads();                        /* the previous tile's readers are done */
        for (int t = warp; t < nt; t += MLA_THREADS / 32) {   /* a warp per token row, coalesced */
            const T *src = cb + (size_t)(t0 + t) * W;
            float *dst = cs + t * WP;
            for (int j = lane; j < W4; j += 32) dst[j] = j < W ? t6_ld(src + j) : 0.0f;
        }
        __syncthreads();
        /* scores: lane = token, warp = HPW heads */
        float sc[HPW];
#pragma unroll
        for (int e = 0; e < HPW; e++) sc[e] = 0.0f;
        if (lane < nt) {
            const float *c = cs + lane * WP;
            for (int j = 0; j < W4; j += 4) {
                const float4 cv = *(const float4 *)(c + j);
#pragma unroll
                for (int e = 0; e < HPW; e++) {
                    const float4 qv = *(const float4 *)(qs + (warp * HPW + e) * W4 + j);
                    sc[e] += qv.x * cv.x + qv.y * cv.y + qv.z * cv.z + qv.w * cv.w;
                }
            }
        }
#pragma unroll
        for (int e = 0; e < HPW; e++) {
            const int i = warp * HPW + e;
            const float v = lane < nt ? sc[e] * a.sc2 : -INFINITY;
            float mx = v;
            for (int o = 16; o; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
            const float mold = s_m[i], mn = fmaxf(mold, mx);   /* finite: token t0 exists */
            const float p = exp2f(v - mn);
            float sum = p;
            for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
            ps[i * MLA_TT + lane] = p;
            __syncwarp();
            if (lane == 0) {
                const float al = exp2f(mold - mn);
                s_alpha[i] = al;
                s_l[i] = s_l[i] * al + sum;
                s_m[i] = mn;
            }
        }
        __syncthreads();
        /* values: thread = DPT latent columns, every head of the group */
#pragma unroll
        for (int i = 0; i < HB; i++) {
            const float al = s_alpha[i];
#pragma unroll
            for (int k = 0; k < DPT; k++) acc[i][k] *= al;
        }
        for (int t = 0; t < nt; t += 4) {
            float cv[4][DPT];
#pragma unroll
            for (int u = 0; u < 4; u++)
#pragma unroll
                for (int k = 0; k < DPT; k++) {
                    const int d = tid + MLA_THREADS * k;
                    cv[u][k] = (t + u < nt && d < dc) ? cs[(t + u) * WP + d] : 0.0f;
                }
#pragma unroll
            for (int i = 0; i < HB; i++) {
                const float4 p4 = *(const float4 *)(ps + i * MLA_TT + t);   /* lanes >= nt hold 0 */
#pragma unroll
                for (int k = 0; k < DPT; k++)
                    acc[i][k] += p4.x * cv[0][k] + p4.y * cv[1][k] + p4.z * cv[2][k] + p4.w * cv[3][k];
            }
        }
    }
    __syncthreads();
    const size_t prow = ((size_t)b * a.S + s) * a.h + h0;
#pragma unroll
    for (int i = 0; i < HB; i++) {
        if (i >= nh) break;
        const float inv = 1.0f / s_l[i];
#pragma unroll
        for (int k = 0; k < DPT; k++) {
            const int d = tid + MLA_THREADS * k;
            if (d < dc) a.po[(prow + i) * dc + d] = acc[i][k] * inv;
        }
    }
    if (tid < nh) a.plse[prow + tid] = (s_m[tid] + log2f(s_l[tid])) * MLA_LN2;
}

/* One block per (head, row): the split weights exp(lse_s - max) once into shared
 * memory, then each thread sums its output columns over the splits. */
template <typename T>
__global__ void __launch_bounds__(256) k_mla_combine(T *out, const float *po, const float *plse, int S, int h, int dc)
{
    __shared__ float wsm[MLA_SMAX];
    const int i = blockIdx.x, b = blockIdx.y, tid = threadIdx.x;
    const float *L = plse + (size_t)b * S * h + i;
    float mx = -INFINITY;
    for (int s = tid; s < S; s += 256) {
        const float v = L[(size_t)s * h];
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
    const size_t st = (size_t)h * dc;
    for (int d = tid; d < dc; d += 256) {
        const float *o = po + ((size_t)b * S * h + i) * dc + d;
        float acc = 0.0f;
        for (int s = 0; s < S; s++) {
            const float w = wsm[s];
            acc += w > 0.0f ? w * o[s * st] : 0.0f;   /* an empty split's output was never written */
        }
        t6_st(out + ((size_t)b * h + i) * dc + d, wsum > 0.0f ? acc / wsum : 0.0f);
    }
}

static int mla_num_sms(t6_backend *be)
{
    static int sms[64];
    int dev = cu_impl(be)->device;
    if (dev < 0 || dev >= 64) dev = 0;
    if (!sms[dev]) CUDA_CHECK(cudaDeviceGetAttribute(&sms[dev], cudaDevAttrMultiProcessorCount, cu_impl(be)->device));
    return sms[dev];
}

template <typename T, int HB, int DPT>
static void mla_launch(t6_backend *be, const MlaArgs &a, int B, size_t smem)
{
    static size_t opted;                /* per instantiation: the largest dynamic smem allowed so far */
    if (smem > opted) {
        CUDA_CHECK(cudaFuncSetAttribute(k_mla_split<T, HB, DPT>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
        opted = smem;
    }
    dim3 grid(a.S, B, (a.h + HB - 1) / HB);
    k_mla_split<T, HB, DPT><<<grid, MLA_THREADS, smem, cu_stream(be)>>>(a);
    CUDA_CHECK_LAUNCH();
}

template <typename T, int HB>
static void mla_launch_dpt(t6_backend *be, const MlaArgs &a, int B, size_t smem)
{
    if (a.dc <= MLA_THREADS) mla_launch<T, HB, 1>(be, a, B, smem);
    else if (a.dc <= 2 * MLA_THREADS) mla_launch<T, HB, 2>(be, a, B, smem);
    else if (HB == 16) mla_launch<T, 16, 4>(be, a, B, smem);
    else t6_fatal("decode_attention_mla: internal: d_c %d with %d heads per block", a.dc, HB);
}

void t6_cuda_decode_attention_mla(t6_backend *be, void *out, const void *q, const void *cache, const int32_t *lens,
                                  int B, int M_max, int h, int d_c, int d_R, float scale)
{
    if (B <= 0 || M_max <= 0 || h <= 0 || d_c <= 0 || d_R < 0)
        t6_fatal("decode_attention_mla: bad sizes B=%d M_max=%d h=%d d_c=%d d_R=%d", B, M_max, h, d_c, d_R);
    if (d_c > 4 * MLA_THREADS) t6_fatal("decode_attention_mla: d_c = %d (the CUDA kernel takes d_c <= %d)", d_c, 4 * MLA_THREADS);
    if (B > 65535) t6_fatal("decode_attention_mla: batch %d (at most 65535)", B);
    MlaArgs a;
    memset(&a, 0, sizeof a);
    a.q = q; a.cache = cache; a.lens = lens;
    a.M = M_max; a.h = h; a.dc = d_c; a.W = d_c + d_R;
    a.W4 = (a.W + 3) / 4 * 4;
    /* 4 mod 32: the 8 lanes of each phase of a 16-byte shared load (token rows t..t+7)
     * hit 8 distinct groups of 4 banks */
    a.WP = (a.W4 + 31) / 32 * 32 + 4;
    a.sc2 = scale * MLA_LOG2E;
    /* heads per block: 32 where the accumulators fit (d_c <= 512) and there are more than 16 */
    const int HB = (h > 16 && d_c <= 2 * MLA_THREADS) ? 32 : 16;
    const int groups = (h + HB - 1) / HB;
    const size_t smem = sizeof(float) * ((size_t)HB * a.W4 + (size_t)MLA_TT * a.WP + (size_t)HB * MLA_TT);
    int max_smem = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, cu_impl(be)->device));
    if (smem + 3 * HB * sizeof(float) > (size_t)max_smem)
        t6_fatal("decode_attention_mla: records of %d numbers need %zu bytes of shared memory (the device has %d)", a.W,
                 smem, max_smem);
    /* splits: about two blocks per SM in all (a block holds most of an SM's shared memory),
     * whole tiles, at least 4 tiles per split so the fp32 partials stay small */
    long long per_row = 2LL * mla_num_sms(be) / ((long long)B * groups);
    if (per_row < 1) per_row = 1;
    if (per_row > MLA_SMAX) per_row = MLA_SMAX;
    const char *env = getenv("T6_DECODE_CHUNK");
    long long chunk = env && *env ? atoll(env) : (M_max + per_row - 1) / per_row;
    if (!(env && *env) && chunk < 4 * MLA_TT) chunk = 4 * MLA_TT;
    if (chunk < (M_max + MLA_SMAX - 1) / MLA_SMAX) chunk = (M_max + MLA_SMAX - 1) / MLA_SMAX;
    chunk = (chunk + MLA_TT - 1) / MLA_TT * MLA_TT;
    a.chunk = (int)chunk;
    a.S = (int)((M_max + chunk - 1) / chunk);
    const size_t np = (size_t)B * a.S * h;
    char *scr = (char *)t6_cuda_scratch(be, np * (d_c + 1) * sizeof(float));
    a.po = (float *)scr;
    a.plse = (float *)(scr + np * d_c * sizeof(float));
    T6_ACT_DISPATCH(be, T, {
        if (HB == 32) mla_launch_dpt<T, 32>(be, a, B, smem);
        else mla_launch_dpt<T, 16>(be, a, B, smem);
        k_mla_combine<T><<<dim3(h, B), 256, 0, cu_stream(be)>>>((T *)out, a.po, a.plse, a.S, h, d_c);
        CUDA_CHECK_LAUNCH();
    });
}
