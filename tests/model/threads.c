/* threads.c -- results independent of the thread count, and the two matmul paths:
 *  - for every attention type: init, loss and every gradient with 1 and with 2
 *    OpenMP threads (backends created with backend.threads = 1, 2) must be bitwise
 *    equal: every CPU op fixes its summation order by the shapes alone (cpu_ops.h),
 *    OpenBLAS included (single-threaded calls on fixed tiles, cpu_matmul.c). This is
 *    done with whichever matmul path the build uses; run with T6_CPU_MATMUL=blocked
 *    for the other one;
 *  - the hand-written blocked matmul against OpenBLAS (when built with BLAS) on
 *    awkward shapes, all three products (forward, dinp, dw). */
#include "tmodel.h"
#include "cpu/cpu_ops.h"
#include "config.h"

typedef struct {
    float loss;
    float *init, *grads;
} run_result;

static run_result run(const t6_model_config *c, int threads, int B, int T)
{
    run_result r;
    t6_backend *be = tm_cpu_backend(threads);
    t6_model *m = t6_model_create(c, be, B, T);
    const size_t n = t6_model_layout(m)->n_params;
    r.init = t6_malloc(n * sizeof(float));
    r.grads = t6_malloc(n * sizeof(float));
    t6_model_init_params(m, 77);
    t6_model_get_params(m, r.init);
    /* make every path carry signal: perturb the zero-initialized projections too */
    float *p = t6_malloc(n * sizeof(float));
    tm_random_params(m, 5, 0.3f, p);
    for (size_t i = 0; i < n; i++) p[i] += r.init[i];
    t6_model_set_params(m, p);
    int32_t *x = t6_malloc(sizeof(int32_t) * B * T), *y = t6_malloc(sizeof(int32_t) * B * T);
    tm_random_tokens(x, B * T, c->vocab_size, 8, 1);
    tm_random_tokens(y, B * T, c->vocab_size, 8, 2);
    t6_model_zero_grad(m);
    r.loss = t6_model_forward(m, x, y, 1, 1.0f);
    t6_model_backward(m);
    t6_model_get_grads(m, r.grads);
    free(p); free(x); free(y);
    t6_model_destroy(m);
    t6_backend_destroy(be);
    return r;
}

static void test_threads(void)
{
    for (int ai = 0; ai < TM_N_TYPES; ai++) {
        t6_model_config c = tm_tiny_config(tm_all_types[ai]);
        /* big enough that every op has several chunks per thread */
        c.n_embd = 72;
        c.head_dim = 12;
        c.n_head = 6;
        c.n_kv_head = c.attention == T6_ATTN_MQA ? 1 : c.attention == T6_ATTN_GQA ? 3 : 6;
        c.vocab_size = 333;
        c.block_size = 128;
        c.mlp_hidden = 8 * c.n_embd / 3;
        const int B = 3, T = 70;   /* two query blocks of the attention, the second partial */
        run_result r1 = run(&c, 1, B, T), r2 = run(&c, 2, B, T);
        t6_param_layout pl;
        t6_param_layout_init(&pl, &c);
        const size_t n = pl.n_params;
        double gmax = 0.0, gdiff = 0.0;
        for (size_t i = 0; i < n; i++) {
            gmax = fmax(gmax, fabs(r1.grads[i]));
            gdiff = fmax(gdiff, fabs((double)r1.grads[i] - r2.grads[i]));
        }
        const int init_same = memcmp(r1.init, r2.init, n * sizeof(float)) == 0;
        const int bitwise = r1.loss == r2.loss && memcmp(r1.grads, r2.grads, n * sizeof(float)) == 0;
        tm_check(init_same, "%s: initialization identical with 1 and 2 threads", t6_attn_name(c.attention));
        /* bitwise by construction (cpu_ops.h); the numbers say how far off if not */
        tm_check(bitwise, "%s: 1 vs 2 threads: loss %.7f vs %.7f, max grad diff %.2e of max %.2e (%s)",
                 t6_attn_name(c.attention), r1.loss, r2.loss, gdiff, gmax, bitwise ? "bitwise equal" : "NOT bitwise");
        free(r1.init); free(r1.grads); free(r2.init); free(r2.grads);
        t6_param_layout_free(&pl);
    }
}

static void fill(float *x, size_t n, uint64_t seed)
{
    t6_rng r;
    t6_rng_init(&r, seed, 4);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * t6_rng_next_u01(&r) - 1.0);
}

static void test_matmul_paths(void)
{
    t6_backend *be = tm_cpu_backend(0);
    static const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {65, 300, 129}, {130, 67, 257}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int N = shapes[si][0], C = shapes[si][1], OC = shapes[si][2];
        float *inp = t6_malloc(sizeof(float) * N * C), *w = t6_malloc(sizeof(float) * OC * C);
        float *dout = t6_malloc(sizeof(float) * N * OC);
        fill(inp, (size_t)N * C, 1);
        fill(w, (size_t)OC * C, 2);
        fill(dout, (size_t)N * OC, 3);
        /* naive double reference */
        double e_out = 0, e_dinp = 0, e_dw = 0;
        float *out = t6_malloc(sizeof(float) * N * OC), *dinp = t6_malloc(sizeof(float) * N * C);
        float *dw = t6_malloc(sizeof(float) * OC * C);
        for (int pass = 0; pass < 2; pass++) {
#ifndef T6_HAVE_BLAS
            if (pass == 1) break;
#endif
            t6_cpu_set_use_blas(be, pass);
            for (size_t i = 0; i < (size_t)N * OC; i++) out[i] = 1.0f;   /* accumulate onto 1 */
            for (size_t i = 0; i < (size_t)N * C; i++) dinp[i] = 0.5f;
            for (size_t i = 0; i < (size_t)OC * C; i++) dw[i] = 0.25f;
            be->ops->matmul_fwd(be, out, OC, inp, C, w, N, C, OC, 1);
            be->ops->matmul_bwd(be, dinp, C, dw, dout, OC, inp, C, w, N, C, OC, 1);
            e_out = e_dinp = e_dw = 0;
            for (int a = 0; a < N; a++)
                for (int o = 0; o < OC; o++) {
                    double s = 1.0;
                    for (int k = 0; k < C; k++) s += (double)inp[a * C + k] * w[o * C + k];
                    e_out = fmax(e_out, fabs(s - out[a * OC + o]));
                }
            for (int a = 0; a < N; a++)
                for (int k = 0; k < C; k++) {
                    double s = 0.5;
                    for (int o = 0; o < OC; o++) s += (double)dout[a * OC + o] * w[o * C + k];
                    e_dinp = fmax(e_dinp, fabs(s - dinp[a * C + k]));
                }
            for (int o = 0; o < OC; o++)
                for (int k = 0; k < C; k++) {
                    double s = 0.25;
                    for (int a = 0; a < N; a++) s += (double)dout[a * OC + o] * inp[a * C + k];
                    e_dw = fmax(e_dw, fabs(s - dw[o * C + k]));
                }
            tm_check(e_out < 1e-4 && e_dinp < 1e-4 && e_dw < 1e-4,
                     "matmul (%s) N=%d C=%d OC=%d accumulate: |err| fwd %.1e dinp %.1e dw %.1e",
                     pass ? "OpenBLAS" : "blocked", N, C, OC, e_out, e_dinp, e_dw);
        }
        free(inp); free(w); free(dout); free(out); free(dinp); free(dw);
    }
    t6_backend_destroy(be);
}

int main(void)
{
    test_threads();
    test_matmul_paths();
    return tm_finish("threads");
}
