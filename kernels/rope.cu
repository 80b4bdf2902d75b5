/* rope.cu -- rotary embedding, "halves" layout, in place on (B, T, rows, dh), position
 * = t. cos/sin of t * base^(-2i/dh) are computed in double and rounded to float once, as the CPU backend's table is, into a table cached per (T, dh, base) (the
 * reference rounds its tables to bf16; we keep float, see t6-model.md). bwd applies
 * the inverse (transposed) rotation to the gradient. */
#include "cuda_common.cuh"

/* cos/sin table [t][i] (float2), built once per (T, dh, base) in double. */
__global__ void k_rope_table(float2 *tab, int T_, int half, int dh, double base)
{
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= T_ * half) return;
    int t = idx / half, i = idx - t * half;
    double sd, cd;
    sincos((double)t * pow(base, -2.0 * i / dh), &sd, &cd);
    tab[idx] = make_float2((float)cd, (float)sd);
}

template <typename T>
__global__ void k_rope(T *x, const float2 *tab, size_t nvec, int T_, int rows, int dh, float sgn)
{
    int half = dh / 2;
    size_t total = nvec * half;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < total;
         idx += (size_t)gridDim.x * blockDim.x) {
        int i = (int)(idx % half);
        size_t vec = idx / half;              /* (b, t, row) */
        int t = (int)((vec / rows) % T_);
        float2 cs = tab[(size_t)t * half + i];
        float c = cs.x, s = sgn * cs.y;       /* bwd: rotate by -angle */
        T *p = x + vec * dh;
        float x1 = t6_ld(p + i), x2 = t6_ld(p + i + half);
        t6_st(p + i, x1 * c + x2 * s);
        t6_st(p + i + half, -x1 * s + x2 * c);
    }
}

const float2 *t6_cuda_rope_table(t6_backend *be, int T_, int dh, double base)
{
    t6_cuda_impl *im = cu_impl(be);
    if (im->rope_tab && im->rope_T >= T_ && im->rope_dh == dh && im->rope_base == base) return (const float2 *)im->rope_tab;
    t6_cuda_buffers_changed(be);
    t6_cuda_dev_free(be, im->rope_tab);   /* synchronising: queued users finish first */
    int half = dh / 2;
    im->rope_tab = t6_cuda_dev_alloc(be, (size_t)T_ * half * sizeof(float2));
    k_rope_table<<<t6_blocks((size_t)T_ * half, 256), 256, 0, im->stream>>>((float2 *)im->rope_tab, T_, half, dh, base);
    CUDA_CHECK_LAUNCH();
    im->rope_T = T_;
    im->rope_dh = dh;
    im->rope_base = base;
    return (const float2 *)im->rope_tab;
}

static void rope(t6_backend *be, void *x, int B, int T_, int rows, int dh, double base, float sgn)
{
    size_t nvec = (size_t)B * T_ * rows, total = nvec * (dh / 2);
    if (!total) return;
    const float2 *tab = t6_cuda_rope_table(be, T_, dh, base);
    unsigned g = t6_blocks(total, 256);
    if (g > 65535u * 4) g = 65535u * 4;
    T6_ACT_DISPATCH(be, T, {
        k_rope<T><<<g, 256, 0, cu_stream(be)>>>((T *)x, tab, nvec, T_, rows, dh, sgn);
        CUDA_CHECK_LAUNCH();
    });
}
void t6_cuda_rope_fwd(t6_backend *be, void *x, int B, int T, int rows, int dh, double base)
{
    rope(be, x, B, T, rows, dh, base, 1.0f);
}

void t6_cuda_rope_bwd(t6_backend *be, void *dx, int B, int T, int rows, int dh, double base)
{
    rope(be, dx, B, T, rows, dh, base, -1.0f);
}
