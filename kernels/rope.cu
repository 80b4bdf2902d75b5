/* rope.cu -- rotary embedding, "halves" layout, in place on (B, T, rows, dh), position
 * = t. cos/sin of t * base^(-2i/dh) are computed in double and rounded to float once, as the CPU backend's table is (the
 * reference rounds its tables to bf16; we keep float, see t6-model.md). bwd applies
 * the inverse (transposed) rotation to the gradient. */
#include "cuda_common.cuh"

template <typename T>
__global__ void k_rope(T *x, int B, int T_, int rows, int dh, double base, float sgn)
{
    int half = dh / 2;
    size_t total = (size_t)B * T_ * rows * half;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < total;
         idx += (size_t)gridDim.x * blockDim.x) {
        int i = (int)(idx % half);
        size_t vec = idx / half;              /* (b, t, row) */
        int t = (int)((vec / rows) % T_);
        double inv = pow(base, -2.0 * i / dh);
        double sd, cd;
        sincos((double)t * inv, &sd, &cd);     /* double, rounded once: as the CPU table */
        float c = (float)cd, s = sgn * (float)sd;   /* bwd: rotate by -angle */
        T *p = x + vec * dh;
        float x1 = t6_ld(p + i), x2 = t6_ld(p + i + half);
        t6_st(p + i, x1 * c + x2 * s);
        t6_st(p + i + half, -x1 * s + x2 * c);
    }
}

static void rope(t6_backend *be, void *x, int B, int T_, int rows, int dh, double base, float sgn)
{
    size_t total = (size_t)B * T_ * rows * (dh / 2);
    if (!total) return;
    unsigned g = t6_blocks(total, 256);
    if (g > 65535u * 4) g = 65535u * 4;
    T6_ACT_DISPATCH(be, T, {
        k_rope<T><<<g, 256, 0, cu_stream(be)>>>((T *)x, B, T_, rows, dh, base, sgn);
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
