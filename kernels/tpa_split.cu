/* tpa_split.cu -- TPA's fused factor projection split into the six factors (A_Q, A_K,
 * A_V, B_Q, B_K, B_V) with RoPE applied to B_Q and B_K on the way, and its backward,
 * the join of the six factor gradients into the fused layout with the inverse
 * rotation (backend.h tpa_split / tpa_join; src/cpu/cpu_tpa.c is the reference).
 * One pass over the fused rows replaces six strided copies and two RoPE passes: a
 * block walks whole rows (coalesced over the ~1000 columns), each thread a column, or
 * for B_Q/B_K a rotation pair (i, i + dh/2) of one rank row, using rope.cu's table so
 * the angles are those of rope_fwd. */
#include "cuda_common.cuh"

template <typename T>
struct tpa_parts {
    T *p[6];
    int off[7];   /* column offsets of the six blocks in a fused row; off[6] = total width */
};

/* JOIN = 0: split (fac -> parts, rotate by +angle); 1: join (parts -> fac, by -angle) */
template <typename T, int JOIN>
__global__ void __launch_bounds__(256) k_tpa_split(T *fac, int ld, tpa_parts<T> pp, const float2 *tab, int N, int T_,
                                                   int dh)
{
    const int half = dh / 2, W = pp.off[6];
    const float sgn = JOIN ? -1.0f : 1.0f;
    for (int n = blockIdx.x; n < N; n += gridDim.x) {
        const int t = n % T_;
        T *row = fac + (size_t)n * ld;
        for (int j = threadIdx.x; j < W; j += blockDim.x) {
            int s = 0;
#pragma unroll
            for (int k = 1; k < 6; k++) s += j >= pp.off[k];
            const int c = j - pp.off[s], w = pp.off[s + 1] - pp.off[s];
            T *part = pp.p[s] + (size_t)n * w;
            if (s == 3 || s == 4) {
                const int i = c % dh;
                if (i >= half) continue;                 /* the pair's first thread does both */
                const float2 cs = tab[(size_t)t * half + i];
                const float co = cs.x, si = sgn * cs.y;
                const T *src = JOIN ? part : row + pp.off[s];
                T *dst = JOIN ? row + pp.off[s] : part;
                const float x1 = t6_ld(src + c), x2 = t6_ld(src + c + half);
                t6_st(dst + c, x1 * co + x2 * si);
                t6_st(dst + c + half, -x1 * si + x2 * co);
            } else if (JOIN) {
                row[j] = part[c];
            } else {
                part[c] = row[j];
            }
        }
    }
}

template <typename T, int JOIN>
static void launch(t6_backend *be, void *fac, int ld, void *const f[6], int B, int T_, int h, int RQ, int RK, int RV,
                   int dh, double base)
{
    const int N = B * T_;
    if (N <= 0) return;
    T6_CHECK(dh % 2 == 0, NULL, "tpa_split: RoPE needs an even head_dim, got %d", dh);
    tpa_parts<T> pp;
    const int w[6] = {h * RQ, h * RK, h * RV, RQ * dh, RK * dh, RV * dh};
    pp.off[0] = 0;
    for (int j = 0; j < 6; j++) {
        pp.p[j] = (T *)f[j];
        pp.off[j + 1] = pp.off[j] + w[j];
    }
    T6_CHECK(ld >= pp.off[6], NULL, "tpa_split: row stride %d below the fused width %d", ld, pp.off[6]);
    const float2 *tab = t6_cuda_rope_table(be, T_, dh, base);
    const int grid = N < 65535 * 8 ? N : 65535 * 8;
    k_tpa_split<T, JOIN><<<grid, 256, 0, cu_stream(be)>>>((T *)fac, ld, pp, tab, N, T_, dh);
    CUDA_CHECK_LAUNCH();
}

void t6_cuda_tpa_split(t6_backend *be, void *const f[6], const void *fac, int ld, int B, int T, int h, int RQ,
                       int RK, int RV, int dh, double base)
{
    T6_ACT_DISPATCH(be, U, { launch<U, 0>(be, (void *)fac, ld, f, B, T, h, RQ, RK, RV, dh, base); });
}

void t6_cuda_tpa_join(t6_backend *be, void *fac, int ld, const void *const f[6], int B, int T, int h, int RQ,
                      int RK, int RV, int dh, double base)
{
    T6_ACT_DISPATCH(be, U, { launch<U, 1>(be, fac, ld, (void *const *)f, B, T, h, RQ, RK, RV, dh, base); });
}
