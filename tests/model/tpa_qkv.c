/* tpa_qkv.c -- the CPU reference of the fused TPA ops (backend.h tpa_qkv_fwd /
 * tpa_qkv_bwd) against the composition they replace in the training model:
 *  - fwd: tpa_split of the fused rows, then tpa_product_fwd for Q, K and V: the fused op
 *    gives bitwise the same Q, K, V (backend.h promises the same values; the recompute
 *    tests rely on such bitwise reruns), and never reads the rows' NaN pad columns;
 *  - bwd: tpa_product_bwd for the three projections, then tpa_join: the fused op gives
 *    bitwise the same gradient of the fused rows, leaves the pad columns untouched, and
 *    gives the same result for any thread count;
 *  - a finite-difference check of the bwd against the fwd on a small case (the fused
 *    pair is a gradient pair on its own, not only equal to the composition).
 * Sizes are awkward: odd heads and ranks, T not a power of two, ld past the alignment
 * pad, head_dim not a multiple of 4, T6 small's widths. */
#include "tmodel.h"
#include "cpu/cpu_ops.h"
#include "config.h"

#include <stdint.h>

static void fill(float *x, size_t n, uint64_t seed)
{
    t6_rng r;
    t6_rng_init(&r, seed, 3);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * t6_rng_next_u01(&r) - 1.0);
}

static int same(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static void run(int threads, int B, int T, int h, int RQ, int RK, int RV, int dh, double base)
{
    t6_backend *be = tm_cpu_backend(threads);
    const t6_ops *op = be->ops;
    const int N = B * T, hd = h * dh;
    const int w[6] = {h * RQ, h * RK, h * RV, RQ * dh, RK * dh, RV * dh};
    int W = 0;
    for (int j = 0; j < 6; j++) W += w[j];
    const int ld = W + 11;
    const size_t nf = (size_t)N * ld, no = (size_t)N * hd;
    float *fac = t6_malloc(sizeof(float) * nf);
    fill(fac, nf, 21);
    for (int n = 0; n < N; n++)
        for (int j = W; j < ld; j++) fac[(size_t)n * ld + j] = NAN;

    /* forward: composition, then the fused op */
    void *f[6];
    for (int j = 0; j < 6; j++) f[j] = t6_malloc(sizeof(float) * (size_t)N * w[j] + 4);
    float *q0 = t6_malloc(sizeof(float) * no), *k0 = t6_malloc(sizeof(float) * no), *v0 = t6_malloc(sizeof(float) * no);
    float *q1 = t6_malloc(sizeof(float) * no), *k1 = t6_malloc(sizeof(float) * no), *v1 = t6_malloc(sizeof(float) * no);
    op->tpa_split(be, f, fac, ld, B, T, h, RQ, RK, RV, dh, base);
    op->tpa_product_fwd(be, q0, f[0], f[3], N, h, RQ, dh);
    op->tpa_product_fwd(be, k0, f[1], f[4], N, h, RK, dh);
    op->tpa_product_fwd(be, v0, f[2], f[5], N, h, RV, dh);
    op->tpa_qkv_fwd(be, q1, k1, v1, fac, ld, B, T, h, RQ, RK, RV, dh, base);
    int finite = 1;
    for (size_t e = 0; e < no; e++) finite &= isfinite(q1[e]) && isfinite(k1[e]) && isfinite(v1[e]);
    tm_check(same(q0, q1, no) && same(k0, k1, no) && same(v0, v1, no),
             "fwd B%d T%d h%d R %d/%d/%d dh%d (%d threads): Q, K, V bitwise those of split + 3 products", B, T, h, RQ,
             RK, RV, dh, threads);
    tm_check(finite, "fwd: the NaN pad columns were not read");

    /* backward */
    float *dq = t6_malloc(sizeof(float) * no), *dk = t6_malloc(sizeof(float) * no), *dv = t6_malloc(sizeof(float) * no);
    fill(dq, no, 31);
    fill(dk, no, 32);
    fill(dv, no, 33);
    void *df[6];
    for (int j = 0; j < 6; j++) df[j] = t6_malloc(sizeof(float) * (size_t)N * w[j] + 4);
    op->tpa_product_bwd(be, df[0], df[3], dq, f[0], f[3], N, h, RQ, dh);
    op->tpa_product_bwd(be, df[1], df[4], dk, f[1], f[4], N, h, RK, dh);
    op->tpa_product_bwd(be, df[2], df[5], dv, f[2], f[5], N, h, RV, dh);
    float *g0 = t6_malloc(sizeof(float) * nf), *g1 = t6_malloc(sizeof(float) * nf);
    for (size_t e = 0; e < nf; e++) g0[e] = g1[e] = -7.25f;
    op->tpa_join(be, g0, ld, (const void *const *)df, B, T, h, RQ, RK, RV, dh, base);
    op->tpa_qkv_bwd(be, g1, dq, dk, dv, fac, ld, B, T, h, RQ, RK, RV, dh, base);
    int pads_kept = 1;
    for (int n = 0; n < N; n++)
        for (int j = W; j < ld; j++) pads_kept &= g1[(size_t)n * ld + j] == -7.25f;
    tm_check(same(g0, g1, nf), "bwd: the fused-row gradient bitwise that of 3 product_bwd + join");
    tm_check(pads_kept, "bwd: pad columns untouched");

    for (int j = 0; j < 6; j++) {
        free(f[j]);
        free(df[j]);
    }
    free(fac); free(q0); free(k0); free(v0); free(q1); free(k1); free(v1);
    free(dq); free(dk); free(dv); free(g0); free(g1);
    t6_backend_destroy(be);
}

/* L = <dq, Q> + <dk, K> + <dv, V> as a function of the fused rows, in double from the
 * fused op's float outputs; its central differences against tpa_qkv_bwd. */
static double loss(const t6_ops *op, t6_backend *be, const float *fac, int ld, const float *g, float *q, int B, int T,
                   int h, int RQ, int RK, int RV, int dh)
{
    const size_t no = (size_t)B * T * h * dh;
    op->tpa_qkv_fwd(be, q, q + no, q + 2 * no, fac, ld, B, T, h, RQ, RK, RV, dh, 10000.0);
    double s = 0.0;
    for (size_t e = 0; e < 3 * no; e++) s += (double)g[e] * q[e];
    return s;
}

static void fd_check(void)
{
    const int B = 1, T = 3, h = 3, RQ = 2, RK = 1, RV = 3, dh = 6;
    t6_backend *be = tm_cpu_backend(1);
    const t6_ops *op = be->ops;
    const int W = (h + dh) * (RQ + RK + RV), ld = W + 1, N = B * T;
    const size_t no = (size_t)N * h * dh;
    float *fac = t6_malloc(sizeof(float) * N * ld), *grad = t6_malloc(sizeof(float) * N * ld);
    float *g = t6_malloc(sizeof(float) * 3 * no), *q = t6_malloc(sizeof(float) * 3 * no);
    fill(fac, (size_t)N * ld, 41);
    fill(g, 3 * no, 42);
    op->tpa_qkv_bwd(be, grad, g, g + no, g + 2 * no, fac, ld, B, T, h, RQ, RK, RV, dh, 10000.0);
    double worst = 0.0;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < W; j++) {
            float *x = fac + (size_t)n * ld + j;
            const float x0 = *x, eps = 1e-2f;
            *x = x0 + eps;
            const double lp = loss(op, be, fac, ld, g, q, B, T, h, RQ, RK, RV, dh);
            *x = x0 - eps;
            const double lm = loss(op, be, fac, ld, g, q, B, T, h, RQ, RK, RV, dh);
            *x = x0;
            const double fd = (lp - lm) / (2.0 * eps), an = grad[(size_t)n * ld + j];
            const double err = fabs(fd - an) / (1.0 + fabs(fd));
            if (err > worst) worst = err;
        }
    tm_check(worst < 1e-3, "bwd = finite differences of fwd (worst relative error %.2e)", worst);
    free(fac); free(grad); free(g); free(q);
    t6_backend_destroy(be);
}

int main(void)
{
    run(1, 2, 5, 3, 2, 1, 2, 8, 10000.0);
    run(3, 1, 37, 34, 6, 2, 2, 64, 10000.0);   /* T6 small's widths, odd T, several threads */
    run(2, 3, 4, 5, 3, 3, 1, 6, 500.0);        /* dh % 4 != 0 */
    run(4, 2, 9, 7, 1, 5, 4, 10, 10000.0);
    fd_check();
    return tm_finish("tpa_qkv");
}
