/* cpu_norm_rope.c -- token embedding, RMSNorm without weight, and rotary position
 * embedding ("halves" layout) on the CPU, forward and backward. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"
#include "util.h"

/* ---- embedding ---- */

void t6_cpu_embed_fwd(t6_backend *be, void *out_, const void *wte_, const int32_t *tokens, int N, int d)
{
    float *out = out_;
    const float *wte = wte_;
#pragma omp parallel for schedule(static) if ((long)N * d >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * d, wte + (size_t)tokens[n] * d, sizeof(float) * d);
}

/* dwte[tokens[n], :] += dout[n, :]. Several rows may hit one token, so threads split
 * the d columns (never the rows): each dwte element sums its rows in order n = 0..N-1. */
void t6_cpu_embed_bwd(t6_backend *be, float *dwte, const void *dout_, const int32_t *tokens, int N, int d)
{
    const float *dout = dout_;
    enum { CHUNK = 16 };
    const int n_chunks = (d + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if ((long)N * d >= T6_CPU_PAR_MIN)
    for (int ch = 0; ch < n_chunks; ch++) {
        const int j0 = ch * CHUNK, j1 = j0 + CHUNK < d ? j0 + CHUNK : d;
        for (int n = 0; n < N; n++) {
            float *dst = dwte + (size_t)tokens[n] * d;
            const float *src = dout + (size_t)n * d;
            for (int j = j0; j < j1; j++) dst[j] += src[j];
        }
    }
}

/* ---- RMSNorm: y = x * r, r = 1/sqrt(mean(x^2) + FLT_EPSILON) ---- */

/* One row; shared by rmsnorm_fwd and add_rmsnorm_fwd so both compute it alike. */
static void rmsnorm_row(float *y, float *rstd, const float *x, int d)
{
    double ss = 0.0;
    for (int j = 0; j < d; j++) ss += (double)x[j] * x[j];
    const float r = (float)(1.0 / sqrt(ss / d + (double)FLT_EPSILON));
    for (int j = 0; j < d; j++) y[j] = x[j] * r;
    *rstd = r;
}

void t6_cpu_rmsnorm_fwd(t6_backend *be, void *out_, float *rstd, const void *inp_, int N, int d)
{
    float *out = out_;
    const float *inp = inp_;
#pragma omp parallel for schedule(static) if ((long)N * d >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) rmsnorm_row(out + (size_t)n * d, rstd + n, inp + (size_t)n * d, d);
}

/* x += y, then out = rmsnorm(x): one pass over the rows instead of two (the row is
 * still in cache when it is normalised). */
void t6_cpu_add_rmsnorm_fwd(t6_backend *be, void *x_, const void *y_, void *out_, float *rstd, int N, int d)
{
    float *x = x_, *out = out_;
    const float *y = y_;
#pragma omp parallel for schedule(static) if ((long)N * d >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        float *xr = x + (size_t)n * d;
        const float *yr = y + (size_t)n * d;
        for (int j = 0; j < d; j++) xr[j] += yr[j];
        rmsnorm_row(out + (size_t)n * d, rstd + n, xr, d);
    }
}

/* dx = r * dy - (r^3 / d) * x * sum_j(dy_j x_j), accumulated into dinp. */
void t6_cpu_rmsnorm_bwd(t6_backend *be, void *dinp_, const void *dout_, const void *inp_,
                        const float *rstd, int N, int d)
{
    float *dinp = dinp_;
    const float *dout = dout_, *inp = inp_;
#pragma omp parallel for schedule(static) if ((long)N * d >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * d, *dy = dout + (size_t)n * d;
        float *dx = dinp + (size_t)n * d;
        const float r = rstd[n];
        double dot = 0.0;
        for (int j = 0; j < d; j++) dot += (double)dy[j] * x[j];
        const float c = (float)((double)r * r * r * dot / d);
        for (int j = 0; j < d; j++) dx[j] += r * dy[j] - c * x[j];
    }
}

/* ---- RMSNorm with weight and eps (MLA's q_a_layernorm / kv_a_layernorm) ----
 * y = x r w, r = 1/sqrt(mean(x^2) + eps). */

void t6_cpu_rmsnorm_w_fwd(t6_backend *be, void *out_, float *rstd, const void *inp_, const void *w_, int N, int d,
                          float eps)
{
    float *out = out_;
    const float *inp = inp_, *w = w_;
#pragma omp parallel for schedule(static) if ((long)N * d >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * d;
        float *y = out + (size_t)n * d;
        double ss = 0.0;
        for (int j = 0; j < d; j++) ss += (double)x[j] * x[j];
        const float r = (float)(1.0 / sqrt(ss / d + (double)eps));
        /* the reference normalises in fp32, then multiplies by the weight */
        for (int j = 0; j < d; j++) y[j] = (x[j] * r) * w[j];
        rstd[n] = r;
    }
}

/* With g = w * dy: dx = r g - (r^3/d) x sum_j g_j x_j (overwritten); dw += sum_n dy x r.
 * Threads split the rows for dx and the columns for dw, so dw sums rows in order. */
void t6_cpu_rmsnorm_w_bwd(t6_backend *be, void *dinp_, float *dw, const void *dout_, const void *inp_,
                          const void *w_, const float *rstd, int N, int d)
{
    float *dinp = dinp_;
    const float *dout = dout_, *inp = inp_, *w = w_;
#pragma omp parallel for schedule(static) if ((long)N * d >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * d, *dy = dout + (size_t)n * d;
        float *dx = dinp + (size_t)n * d;
        const float r = rstd[n];
        double dot = 0.0;
        for (int j = 0; j < d; j++) dot += (double)(w[j] * dy[j]) * x[j];
        const float c = (float)((double)r * r * r * dot / d);
        for (int j = 0; j < d; j++) dx[j] = r * (w[j] * dy[j]) - c * x[j];
    }
#pragma omp parallel for schedule(static) if ((long)N * d >= T6_CPU_PAR_MIN)
    for (int j = 0; j < d; j++) {
        double acc = 0.0;
        for (int n = 0; n < N; n++) acc += (double)dout[(size_t)n * d + j] * inp[(size_t)n * d + j] * rstd[n];
        dw[j] += (float)acc;
    }
}

/* ---- RoPE ----
 * Position t rotates the pair (x[i], x[i + dh/2]) by angle t * base^(-2i/dh):
 *   y1 =  x1 cos + x2 sin,   y2 = -x1 sin + x2 cos     (the reference's sign convention)
 * cos/sin are computed in double and rounded to float32 (the reference rounds them to
 * bfloat16; a parity test against it must allow for that). */

void t6_cpu_rope_rotate(float *dst, const float *src, const float *cs, int half, float sign)
{
    const float *sn = cs + half;
    for (int i = 0; i < half; i++) {
        const float x1 = src[i], x2 = src[i + half];
        const float c = cs[i], s = sign * sn[i];
        dst[i] = x1 * c + x2 * s;
        dst[i + half] = -x1 * s + x2 * c;
    }
}

float *t6_cpu_rope_table(int T, int dh, double base)
{
    const int half = dh / 2;
    float *tab = t6_malloc(sizeof(float) * 2 * (size_t)T * half);   /* [t][i] cos, then sin */
    for (int i = 0; i < half; i++) {
        const double inv_freq = pow(base, -2.0 * i / dh);
        for (int t = 0; t < T; t++) {
            const double a = (double)t * inv_freq;
            tab[(size_t)t * 2 * half + i] = (float)cos(a);
            tab[(size_t)t * 2 * half + half + i] = (float)sin(a);
        }
    }
    return tab;
}

static void rope_apply(void *x_, int B, int T, int rows, int dh, double base, float sign)
{
    T6_CHECK(dh % 2 == 0, NULL, "RoPE needs an even head_dim, got %d", dh);
    float *x = x_;
    const int half = dh / 2;
    float *tab = t6_cpu_rope_table(T, dh, base);
    const long n_vec = (long)B * T * rows;
#pragma omp parallel for schedule(static) if (n_vec * dh >= T6_CPU_PAR_MIN)
    for (long v = 0; v < n_vec; v++) {
        const int t = (int)((v / rows) % T);
        float *p = x + (size_t)v * dh;
        t6_cpu_rope_rotate(p, p, tab + (size_t)t * 2 * half, half, sign);
    }
    free(tab);
}

void t6_cpu_rope_fwd(t6_backend *be, void *x, int B, int T, int rows, int dh, double base)
{
    rope_apply(x, B, T, rows, dh, base, 1.0f);
}

/* The rotation is orthogonal: its transpose (the backward) is the rotation by -angle. */
void t6_cpu_rope_bwd(t6_backend *be, void *dx, int B, int T, int rows, int dh, double base)
{
    rope_apply(dx, B, T, rows, dh, base, -1.0f);
}
