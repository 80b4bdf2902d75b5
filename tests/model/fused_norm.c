/* fused_norm.c -- add_rmsnorm_fwd (backend.h: x += y; out = rmsnorm(x)) on the CPU
 * backend against the composition it replaces in the model (add_inplace, then
 * rmsnorm_fwd): x, out and rstd bit for bit equal, on awkward sizes (d = 1, odd d,
 * rows of 0 after the add, and one size large enough for the OpenMP path). Then, so
 * that both sides cannot be wrong alike, the fused results against values computed
 * here in double from the definition: x = x0 + y exactly, rstd = 1/sqrt(mean(x^2) +
 * FLT_EPSILON), out = x * rstd. The model through the fused op is gradcheck's and
 * recompute's job (recompute "none" fuses across layers, "block" does not, and their
 * gradients must be bitwise equal). */
#include "tmodel.h"

#include <float.h>
#include <stdint.h>

static void fill(float *x, size_t n, int d, uint64_t seed)
{
    t6_rng r;
    t6_rng_init(&r, seed, 3);
    for (size_t i = 0; i < n; i++) {
        /* row scales from 1e-3 to 1e3: the norm must not depend on the row's size */
        double s = pow(10.0, (double)((i / (size_t)d) % 7) - 3.0);
        x[i] = (float)(s * (2.0 * t6_rng_next_u01(&r) - 1.0));
    }
}

static void run(t6_backend *be, int N, int d)
{
    const size_t n = (size_t)N * d;
    float *x0 = t6_malloc(n * sizeof(float)), *y = t6_malloc(n * sizeof(float));
    fill(x0, n, d, 101 + (uint64_t)d);
    fill(y, n, d, 202 + (uint64_t)N);
    /* row 1 adds up to exactly 0 (rstd = 1/sqrt(eps), out = 0) */
    if (N > 1)
        for (int j = 0; j < d; j++) y[(size_t)d + j] = -x0[(size_t)d + j];
    float *xa = t6_malloc(n * sizeof(float)), *xb = t6_malloc(n * sizeof(float));
    float *oa = t6_malloc(n * sizeof(float)), *ob = t6_malloc(n * sizeof(float));
    float *ra = t6_malloc(N * sizeof(float)), *rb = t6_malloc(N * sizeof(float));
    memcpy(xa, x0, n * sizeof(float));
    memcpy(xb, x0, n * sizeof(float));
    for (size_t i = 0; i < n; i++) ob[i] = NAN;
    for (int i = 0; i < N; i++) rb[i] = NAN;

    be->ops->add_inplace(be, xa, y, n);
    be->ops->rmsnorm_fwd(be, oa, ra, xa, N, d);
    be->ops->add_rmsnorm_fwd(be, xb, y, ob, rb, N, d);

    tm_check(!memcmp(xa, xb, n * sizeof(float)) && !memcmp(oa, ob, n * sizeof(float)) &&
                 !memcmp(ra, rb, N * sizeof(float)),
             "N=%d d=%d: add_rmsnorm_fwd == add_inplace + rmsnorm_fwd bit for bit", N, d);

    int x_ok = 1;
    double err_r = 0.0, err_o = 0.0;
    for (int r = 0; r < N; r++) {
        double ss = 0.0;
        for (int j = 0; j < d; j++) {
            size_t i = (size_t)r * d + j;
            if (xb[i] != x0[i] + y[i]) x_ok = 0;
            ss += (double)xb[i] * xb[i];
        }
        double rs = 1.0 / sqrt(ss / d + (double)FLT_EPSILON);
        err_r = fmax(err_r, fabs(rb[r] - rs) / rs);
        for (int j = 0; j < d; j++) {
            size_t i = (size_t)r * d + j;
            double want = xb[i] * rs;
            /* relative to the row's rms of out (<= 1), so rows of 0 count too */
            err_o = fmax(err_o, fabs(ob[i] - want) / fmax(sqrt(ss / d) * rs, 1e-30));
        }
    }
    tm_check(x_ok, "N=%d d=%d: x holds x0 + y", N, d);
    tm_check(err_r < 1e-6 && err_o < 1e-6, "N=%d d=%d: rstd and out as defined (rel err %.2e, %.2e)", N, d, err_r,
             err_o);
    if (N > 1) {
        int zero = 1;
        for (int j = 0; j < d; j++) zero &= ob[(size_t)d + j] == 0.0f;
        tm_check(zero && isfinite(rb[1]), "N=%d d=%d: a row that adds up to 0 normalises to 0", N, d);
    }
    free(x0); free(y); free(xa); free(xb); free(oa); free(ob); free(ra); free(rb);
}

int main(void)
{
    t6_backend *be = tm_cpu_backend(2);
    tm_check(be->ops->add_rmsnorm_fwd != NULL, "the CPU ops table has add_rmsnorm_fwd");
    static const int sizes[][2] = {{1, 1}, {3, 5}, {67, 99}, {67, 136}, {129, 257}, {50, 768}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) run(be, sizes[k][0], sizes[k][1]);
    t6_backend_destroy(be);
    return tm_finish("fused_norm");
}
