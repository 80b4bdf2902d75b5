/* mla_split.cu -- MLA's head split and its backward (backend.h mla_split / mla_join;
 * src/cpu/cpu_mla.c is the reference). They replace, per layer, the model's chains of
 * copy_rows (one per head for the shared rotary key: ~20 launches each way) and two
 * RoPE passes with one launch each. A block walks whole token rows (grid-stride over
 * n), its threads the columns of the row; a rotation pair (i, i + dr/2) belongs to one
 * thread, with rope.cu's table, so the angles are rope_fwd's. The join sums the heads'
 * key gradients in fp32 in head order (the copy_rows chain rounded each partial sum to
 * bf16). */
#include "cuda_common.cuh"

template <typename T>
__global__ void __launch_bounds__(256) k_mla_split(T *q, T *k, T *v, const T *kv, const T *kpe, int ld_kpe,
                                                   const float2 *tab, int N, int T_, int h, int dn, int dr, int dv)
{
    const int half = dr / 2, dha = dn + dr, dkvh = dn + dv, W = h * dha;
    for (int n = blockIdx.x; n < N; n += gridDim.x) {
        const int t = n % T_;
        T *qn = q + (size_t)n * W, *kn = k + (size_t)n * W, *vn = v + (size_t)n * W;
        const T *kvn = kv + (size_t)n * h * dkvh, *kp = kpe + (size_t)n * ld_kpe;
        for (int j = threadIdx.x; j < W; j += blockDim.x) {
            const int i = j / dha, c = j - i * dha;
            const T *kvi = kvn + (size_t)i * dkvh;
            t6_st(vn + j, c < dv ? t6_ld(kvi + dn + c) : 0.0f);
            if (c < dn) {
                kn[j] = kvi[c];
            } else if (c - dn < half) {   /* the pair's first thread rotates q's pair and the key's */
                const int p = c - dn;
                const float2 cs = tab[(size_t)t * half + p];
                float x1 = t6_ld(qn + j), x2 = t6_ld(qn + j + half);
                t6_st(qn + j, x1 * cs.x + x2 * cs.y);
                t6_st(qn + j + half, -x1 * cs.y + x2 * cs.x);
                x1 = t6_ld(kp + p);
                x2 = t6_ld(kp + p + half);
                t6_st(kn + j, x1 * cs.x + x2 * cs.y);
                t6_st(kn + j + half, -x1 * cs.y + x2 * cs.x);
            }
        }
    }
}

template <typename T>
__global__ void __launch_bounds__(256) k_mla_join(T *dq, T *dkv, T *dkpe, int ld_dkpe, const T *dk, const T *dv,
                                                  const float2 *tab, int N, int T_, int h, int dn, int dr, int dvw)
{
    const int half = dr / 2, dha = dn + dr, dkvh = dn + dvw, W = h * dha;
    for (int n = blockIdx.x; n < N; n += gridDim.x) {
        const int t = n % T_;
        T *dqn = dq + (size_t)n * W, *dkvn = dkv + (size_t)n * h * dkvh;
        const T *dkn = dk + (size_t)n * W, *dvn = dv + (size_t)n * W;
        for (int j = threadIdx.x; j < h * dkvh; j += blockDim.x) {
            const int i = j / dkvh, c = j - i * dkvh;
            dkvn[j] = c < dn ? dkn[(size_t)i * dha + c] : dvn[(size_t)i * dha + c - dn];
        }
        for (int j = threadIdx.x; j < h * half; j += blockDim.x) {   /* dq's rope pairs, rotated back */
            const int i = j / half, p = j - i * half;
            const float2 cs = tab[(size_t)t * half + p];
            const float co = cs.x, si = -cs.y;   /* rope_bwd: rotate by -angle */
            T *x = dqn + (size_t)i * dha + dn + p;
            const float x1 = t6_ld(x), x2 = t6_ld(x + half);
            t6_st(x, x1 * co + x2 * si);
            t6_st(x + half, -x1 * si + x2 * co);
        }
        for (int p = threadIdx.x; p < half; p += blockDim.x) {   /* the shared key: heads in order */
            float s1 = 0.0f, s2 = 0.0f;
            for (int i = 0; i < h; i++) {
                s1 += t6_ld(dkn + (size_t)i * dha + dn + p);
                s2 += t6_ld(dkn + (size_t)i * dha + dn + p + half);
            }
            const float2 cs = tab[(size_t)t * half + p];
            const float co = cs.x, si = -cs.y;
            T *o = dkpe + (size_t)n * ld_dkpe;
            t6_st(o + p, s1 * co + s2 * si);
            t6_st(o + p + half, -s1 * si + s2 * co);
        }
    }
}

static unsigned rows_grid(int N) { return (unsigned)(N < 65535 * 4 ? N : 65535 * 4); }

static void check_dims(const char *op, int dn, int dr, int dv)
{
    T6_CHECK(dr > 0 && dr % 2 == 0, NULL, "%s: the rope head size %d must be even and positive", op, dr);
    T6_CHECK(dn >= 0 && dv > 0 && dv <= dn + dr, NULL, "%s: v_head_dim %d does not fit the head size %d + %d", op, dv,
             dn, dr);
}

void t6_cuda_mla_split(t6_backend *be, void *q, void *k, void *v, const void *kv, const void *kpe, int ld_kpe, int B,
                       int T_, int h, int dn, int dr, int dv, double base)
{
    const int N = B * T_;
    check_dims("mla_split", dn, dr, dv);
    if (N <= 0 || h <= 0) return;
    const float2 *tab = t6_cuda_rope_table(be, T_, dr, base);
    T6_ACT_DISPATCH(be, T, {
        k_mla_split<T><<<rows_grid(N), 256, 0, cu_stream(be)>>>((T *)q, (T *)k, (T *)v, (const T *)kv,
                                                              (const T *)kpe, ld_kpe, tab, N, T_, h, dn, dr, dv);
        CUDA_CHECK_LAUNCH();
    });
}

void t6_cuda_mla_join(t6_backend *be, void *dq, void *dkv, void *dkpe, int ld_dkpe, const void *dk, const void *dv,
                      int B, int T_, int h, int dn, int dr, int dvw, double base)
{
    const int N = B * T_;
    check_dims("mla_join", dn, dr, dvw);
    if (N <= 0 || h <= 0) return;
    const float2 *tab = t6_cuda_rope_table(be, T_, dr, base);
    T6_ACT_DISPATCH(be, T, {
        k_mla_join<T><<<rows_grid(N), 256, 0, cu_stream(be)>>>((T *)dq, (T *)dkv, (T *)dkpe, ld_dkpe, (const T *)dk,
                                                             (const T *)dv, tab, N, T_, h, dn, dr, dvw);
        CUDA_CHECK_LAUNCH();
    });
}
