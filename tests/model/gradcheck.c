/* gradcheck.c -- central finite differences against the analytic backward, for every
 * parameter tensor of every attention type (tiny dims, CPU backend).
 *
 * The loss is computed in float32, so a finite difference of one element is noisy
 * (~1e-7 relative). Two complementary checks per tensor:
 *  1. directional derivatives over the whole tensor (many gradient entries summed:
 *     large signal) along the analytic gradient and along a random +-1 direction,
 *     Richardson-extrapolated central differences at steps e and 2e (truncation
 *     error O(e^4)), relative + small absolute tolerance;
 *  2. single elements (the largest |grad| one and a random one), abs + rel tolerance.
 * Some targets are -1 (ignored) so the ignore path is exercised too. */
#include "tmodel.h"

static double loss_at(t6_model *m, float *p, const int32_t *x, const int32_t *y)
{
    t6_model_set_params(m, p);
    return t6_model_forward(m, x, y, 0, 0.0f);
}

/* d/de loss(p + e*u) at e = 0 on the entries [off, off+n) of p; u = NULL: unit vector at off. */
static double fd_dir(t6_model *m, float *p, size_t off, size_t n, const float *u, double e,
                     const int32_t *x, const int32_t *y)
{
    float *save = t6_malloc(n * sizeof(float));
    memcpy(save, p + off, n * sizeof(float));
    double d[2];
    for (int k = 0; k < 2; k++) {
        const double h = e * (k + 1);
        for (size_t i = 0; i < n; i++) p[off + i] = (float)(save[i] + h * (u ? u[i] : 1.0f));
        const double fp = loss_at(m, p, x, y);
        for (size_t i = 0; i < n; i++) p[off + i] = (float)(save[i] - h * (u ? u[i] : 1.0f));
        const double fm = loss_at(m, p, x, y);
        /* the step actually taken in float */
        d[k] = (fp - fm) / (2.0 * h);
    }
    memcpy(p + off, save, n * sizeof(float));
    free(save);
    return (4.0 * d[0] - d[1]) / 3.0;
}

int main(void)
{
    for (int ai = 0; ai < TM_N_TYPES; ai++) {
        const t6_model_config c = tm_tiny_config(tm_all_types[ai]);
        const char *an = t6_attn_name(c.attention);
        t6_backend *be = tm_cpu_backend(0);
        const int B = 2, T = 5, N = B * T;
        t6_model *m = t6_model_create(&c, be, B, T);
        const t6_param_layout *pl = t6_model_layout(m);
        float *p = t6_malloc(pl->n_params * sizeof(float));
        float *g = t6_malloc(pl->n_params * sizeof(float));
        tm_random_params(m, 7 + ai, 0.35f, p);
        int32_t x[10], y[10];
        tm_random_tokens(x, N, c.vocab_size, 11, 1);
        tm_random_tokens(y, N, c.vocab_size, 11, 2);
        y[3] = -1;
        y[8] = -1;

        t6_model_zero_grad(m);
        const double loss0 = t6_model_forward(m, x, y, 1, 1.0f);
        t6_model_backward(m);
        t6_model_get_grads(m, g);
        /* gradients accumulate: a second backward doubles them */
        t6_model_forward(m, x, y, 1, 1.0f);
        t6_model_backward(m);
        float *g2 = t6_malloc(pl->n_params * sizeof(float));
        t6_model_get_grads(m, g2);
        double acc_err = 0.0;
        for (size_t i = 0; i < pl->n_params; i++) acc_err = fmax(acc_err, fabs(g2[i] - 2.0 * g[i]));
        tm_check(acc_err <= 1e-6, "%s: backward accumulates into the gradients (max |g2 - 2g| = %.2e)", an, acc_err);
        free(g2);
        printf("%s: loss %.6f, %zu parameters in %d tensors\n", an, loss0, pl->n_params, pl->n_tensors);

        t6_rng r;
        t6_rng_init(&r, 5, 1000 + ai);
        for (int ti = 0; ti < pl->n_tensors; ti++) {
            const t6_param_info *t = &pl->tensors[ti];
            float *u = t6_malloc(t->numel * sizeof(float));
            /* (a) along the analytic gradient itself, scaled to max |u| = 1: the
             *     derivative must be |g|^2 / max|g| (largest signal, catches scale errors) */
            double gmax = 0.0, gnorm2 = 0.0;
            for (size_t i = 0; i < t->numel; i++) {
                gmax = fmax(gmax, fabs(g[t->offset + i]));
                gnorm2 += (double)g[t->offset + i] * g[t->offset + i];
            }
            if (gmax == 0.0) gmax = 1.0;
            double an_g = 0.0;
            for (size_t i = 0; i < t->numel; i++) {
                u[i] = (float)(g[t->offset + i] / gmax);
                an_g += (double)u[i] * g[t->offset + i];
            }
            const double fd_g = fd_dir(m, p, t->offset, t->numel, u, 2e-3, x, y);
            /* absolute part: the float32 loss (~3.4, rounding ~2e-7 per evaluation, several
             * evaluations) over steps of 2e-3 and 4e-3 leaves ~1e-4 of noise in a directional
             * difference, which matters for tensors with a tiny gradient (MLA's norm weights:
             * 1.2e-4 seen with the blocked matmul's summation order); as for (b) below */
            tm_check(fabs(fd_g - an_g) <= 2e-3 * fabs(an_g) + 3e-4 && gnorm2 > 0.0,
                     "%s %-36s along g: analytic %+.6e fd %+.6e |err| %.1e", an, t->name, an_g, fd_g, fabs(fd_g - an_g));
            /* (b) along a random +-1 direction (catches components the gradient misses) */
            double an_dir = 0.0;
            for (size_t i = 0; i < t->numel; i++) {
                u[i] = t6_rng_next_u01(&r) < 0.5 ? -1.0f : 1.0f;
                an_dir += (double)u[i] * g[t->offset + i];
            }
            const double fd = fd_dir(m, p, t->offset, t->numel, u, 2e-3, x, y);
            const double err = fabs(fd - an_dir);
            tm_check(err <= 2e-3 * fabs(an_dir) + 3e-4,
                     "%s %-36s random dir: analytic %+.6e fd %+.6e |err| %.1e (|g| %.2e)", an, t->name, an_dir, fd, err, sqrt(gnorm2));
            /* elements: largest |g| and a random one */
            size_t imax = 0;
            for (size_t i = 0; i < t->numel; i++)
                if (fabsf(g[t->offset + i]) > fabsf(g[t->offset + imax])) imax = i;
            const size_t picks[2] = {imax, (size_t)t6_rng_next_below(&r, t->numel)};
            for (int k = 0; k < 2; k++) {
                const double ga = g[t->offset + picks[k]];
                const double fe = fd_dir(m, p, t->offset + picks[k], 1, NULL, 2e-3, x, y);
                tm_check(fabs(fe - ga) <= 1e-2 * fabs(ga) + 2e-4, "%s %-36s [%zu]: analytic %+.6e fd %+.6e",
                         an, t->name, picks[k], ga, fe);
            }
            free(u);
        }
        free(p);
        free(g);
        t6_model_destroy(m);
        t6_backend_destroy(be);
    }
    return tm_finish("gradcheck");
}
