/* strides.c -- the row strides ("leading dimensions") of the matmul ops (backend.h) on
 * the CPU backend, and the padded SwiGLU layout of the model that uses them:
 *  - matmul_fwd / matmul_bwd with ld > width give bitwise the dense product (both
 *    paths: OpenBLAS when built with it, and the blocked loops), never read the pad
 *    columns of their inputs (poisoned with NaN here) and leave the pad columns of
 *    their outputs untouched (checked bit for bit);
 *  - the MLP block's op sequence on buffers of row stride round_up(hidden, 8), as
 *    model.c runs it (SwiGLU over the pads too), keeps every pad column exactly 0,
 *    forward and backward;
 *  - a model whose mlp_hidden is not a multiple of 8 (30: stride 32) gives the loss
 *    and gradients of the dense model with mlp_hidden 32 whose two extra hidden units
 *    have zero weights (same function, no padding anywhere). */
#include "tmodel.h"
#include "cpu/cpu_ops.h"
#include "config.h"

#include <stdint.h>

static const uint32_t POISON = 0x7fc0deadu;   /* a quiet NaN with a payload we can recognise */

static float poison_value(void)
{
    float f;
    memcpy(&f, &POISON, sizeof f);
    return f;
}

static void fill(float *x, size_t n, uint64_t seed)
{
    t6_rng r;
    t6_rng_init(&r, seed, 6);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * t6_rng_next_u01(&r) - 1.0);
}

/* rows x ld buffer: row n = src row n (width w), pad columns = pad */
static float *strided(const float *src, int rows, int w, int ld, float pad)
{
    float *p = t6_malloc(sizeof(float) * (size_t)rows * ld + 4);
    for (int n = 0; n < rows; n++)
        for (int j = 0; j < ld; j++) p[(size_t)n * ld + j] = j < w ? src[(size_t)n * w + j] : pad;
    return p;
}

/* 1 when the data of strided s equals dense d bit for bit and every pad still holds
 * the bits of `pad` */
static int same_and_pads_kept(const float *s, const float *d, int rows, int w, int ld, float pad)
{
    for (int n = 0; n < rows; n++) {
        if (memcmp(s + (size_t)n * ld, d + (size_t)n * w, sizeof(float) * w)) return 0;
        for (int j = w; j < ld; j++)
            if (memcmp(s + (size_t)n * ld + j, &pad, sizeof pad)) return 0;
    }
    return 1;
}

static void test_matmul_strides(void)
{
    t6_backend *be = tm_cpu_backend(0);
    const float nan = poison_value();
    /* N, C, OC, extra columns of inp/dinp, of out/dout */
    static const int shapes[][5] = {{1, 1, 1, 7, 3}, {7, 13, 5, 3, 11}, {37, 30, 21, 2, 3},
                                    {65, 170, 64, 6, 0}, {130, 64, 170, 0, 6}, {70, 300, 129, 4, 7}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int N = shapes[si][0], C = shapes[si][1], OC = shapes[si][2];
        const int ldi = C + shapes[si][3], ldo = OC + shapes[si][4];
        float *inp = t6_malloc(sizeof(float) * N * C), *w = t6_malloc(sizeof(float) * OC * C);
        float *dout = t6_malloc(sizeof(float) * N * OC), *out0 = t6_malloc(sizeof(float) * N * OC);
        float *dinp0 = t6_malloc(sizeof(float) * N * C), *dw0 = t6_malloc(sizeof(float) * OC * C);
        fill(inp, (size_t)N * C, 1);
        fill(w, (size_t)OC * C, 2);
        fill(dout, (size_t)N * OC, 3);
        fill(out0, (size_t)N * OC, 4);
        fill(dinp0, (size_t)N * C, 5);
        fill(dw0, (size_t)OC * C, 6);
        for (int pass = 0; pass < 2; pass++) {
#ifndef T6_HAVE_BLAS
            if (pass == 1) break;
#endif
            t6_cpu_set_use_blas(be, pass);
            for (int acc = 0; acc < 2; acc++) {
                /* dense reference */
                float *out = t6_malloc(sizeof(float) * N * OC), *dinp = t6_malloc(sizeof(float) * N * C);
                float *dw = t6_malloc(sizeof(float) * OC * C), *dw_s = t6_malloc(sizeof(float) * OC * C);
                memcpy(out, out0, sizeof(float) * N * OC);
                memcpy(dinp, dinp0, sizeof(float) * N * C);
                memcpy(dw, dw0, sizeof(float) * OC * C);
                memcpy(dw_s, dw0, sizeof(float) * OC * C);
                be->ops->matmul_fwd(be, out, OC, inp, C, w, N, C, OC, acc);
                be->ops->matmul_bwd(be, dinp, C, dw, dout, OC, inp, C, w, N, C, OC, acc);
                /* strided: inputs' pads NaN (never read), outputs' pads NaN (never written) */
                float *inp_s = strided(inp, N, C, ldi, nan), *dout_s = strided(dout, N, OC, ldo, nan);
                float *out_s = strided(out0, N, OC, ldo, nan), *dinp_s = strided(dinp0, N, C, ldi, nan);
                be->ops->matmul_fwd(be, out_s, ldo, inp_s, ldi, w, N, C, OC, acc);
                be->ops->matmul_bwd(be, dinp_s, ldi, dw_s, dout_s, ldo, inp_s, ldi, w, N, C, OC, acc);
                const int ok_out = same_and_pads_kept(out_s, out, N, OC, ldo, nan);
                const int ok_dinp = same_and_pads_kept(dinp_s, dinp, N, C, ldi, nan);
                const int ok_dw = memcmp(dw_s, dw, sizeof(float) * OC * C) == 0;
                const int ok_in = same_and_pads_kept(inp_s, inp, N, C, ldi, nan) &&
                                  same_and_pads_kept(dout_s, dout, N, OC, ldo, nan);
                tm_check(ok_out && ok_dinp && ok_dw && ok_in,
                         "matmul (%s) N=%d C=%d OC=%d ld_inp=%d ld_out=%d %s: strided == dense bitwise "
                         "(fwd %d, dinp %d, dw %d), pads untouched, inputs unchanged (%d)",
                         pass ? "OpenBLAS" : "blocked", N, C, OC, ldi, ldo, acc ? "accumulate" : "overwrite",
                         ok_out, ok_dinp, ok_dw, ok_in);
                free(out); free(dinp); free(dw); free(dw_s);
                free(inp_s); free(dout_s); free(out_s); free(dinp_s);
            }
        }
        free(inp); free(w); free(dout); free(out0); free(dinp0); free(dw0);
    }
    t6_backend_destroy(be);
}

/* max |x| over the pad columns of a rows x ld buffer (0 when every pad is +-0; NaN
 * shows as INFINITY) */
static double pad_max(const float *x, int rows, int w, int ld)
{
    double m = 0.0;
    for (int n = 0; n < rows; n++)
        for (int j = w; j < ld; j++) {
            const float v = x[(size_t)n * ld + j];
            m = isfinite(v) ? fmax(m, fabs(v)) : INFINITY;
        }
    return m;
}

/* The MLP block of model.c on zero-padded buffers (alloc zero-fills): the pads stay 0. */
static void test_mlp_pads(void)
{
    t6_backend *be = tm_cpu_backend(0);
    const t6_ops *op = be->ops;
    const int N = 29, d = 24, hid = 8 * d / 3 - 3, hl = (hid + 7) / 8 * 8;   /* 61, stride 64 */
    const size_t nh = (size_t)N * hl;
    float *ln = op->alloc(be, sizeof(float) * N * d), *w1 = op->alloc(be, sizeof(float) * hid * d);
    float *w2 = op->alloc(be, sizeof(float) * hid * d), *w3 = op->alloc(be, sizeof(float) * d * hid);
    float *h1 = op->alloc(be, sizeof(float) * nh), *h2 = op->alloc(be, sizeof(float) * nh);
    float *g = op->alloc(be, sizeof(float) * nh), *dg = op->alloc(be, sizeof(float) * nh);
    float *dh1 = op->alloc(be, sizeof(float) * nh), *dh2 = op->alloc(be, sizeof(float) * nh);
    float *xo = op->alloc(be, sizeof(float) * N * d), *dx = op->alloc(be, sizeof(float) * N * d);
    float *dln = op->alloc(be, sizeof(float) * N * d), *dw = op->alloc(be, sizeof(float) * 3 * hid * d);
    fill(ln, (size_t)N * d, 11);
    fill(w1, (size_t)hid * d, 12);
    fill(w2, (size_t)hid * d, 13);
    fill(w3, (size_t)d * hid, 14);
    fill(dx, (size_t)N * d, 15);
    op->matmul_fwd(be, h1, hl, ln, d, w1, N, d, hid, 0);
    op->matmul_fwd(be, h2, hl, ln, d, w2, N, d, hid, 0);
    op->swiglu_fwd(be, g, h1, h2, nh);
    op->matmul_fwd(be, xo, d, g, hl, w3, N, hid, d, 0);
    op->matmul_bwd(be, dg, hl, dw, dx, d, g, hl, w3, N, hid, d, 0);
    op->swiglu_bwd(be, dh1, dh2, dg, h1, h2, nh);
    op->matmul_bwd(be, dln, d, dw + hid * d, dh1, hl, ln, d, w1, N, d, hid, 0);
    op->matmul_bwd(be, dln, d, dw + 2 * hid * d, dh2, hl, ln, d, w2, N, d, hid, 1);
    const double m = fmax(fmax(fmax(pad_max(h1, N, hid, hl), pad_max(h2, N, hid, hl)), pad_max(g, N, hid, hl)),
                          fmax(fmax(pad_max(dg, N, hid, hl), pad_max(dh1, N, hid, hl)), pad_max(dh2, N, hid, hl)));
    /* and the data is right: g against silu(h1) * h2 computed here */
    double e = 0.0;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < hid; j++) {
            const double a = h1[(size_t)n * hl + j], b = h2[(size_t)n * hl + j];
            e = fmax(e, fabs(a / (1.0 + exp(-a)) * b - g[(size_t)n * hl + j]));
        }
    tm_check(m == 0.0 && e < 1e-5, "MLP block at hidden %d, stride %d: pads of h1, h2, g, dg, dh1, dh2 all 0 "
             "(max |pad| %.1e), swiglu data |err| %.1e", hid, hl, m, e);
    void *bufs[] = {ln, w1, w2, w3, h1, h2, g, dg, dh1, dh2, xo, dx, dln, dw};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) op->free(be, bufs[i]);
    t6_backend_destroy(be);
}

/* Copies tensor `ti` of layout `from` (params p) into tensor ti of layout `to` (params
 * q), a (rows x cols) block into the top-left corner of a larger zero block. */
static void copy_tensor(const t6_param_layout *from, const float *p, const t6_param_layout *to, float *q, int ti)
{
    const t6_param_info *a = &from->tensors[ti], *b = &to->tensors[ti];
    T6_CHECK(a->rows <= b->rows && a->cols <= b->cols, NULL, "strides test: tensor %s does not fit", a->name);
    for (int r = 0; r < a->rows; r++)
        memcpy(q + b->offset + (size_t)r * b->cols, p + a->offset + (size_t)r * a->cols, sizeof(float) * a->cols);
}

static void test_model_padded_hidden(void)
{
    for (int ai = 0; ai < TM_N_TYPES; ai += 2) {   /* TPA, MHA, GQA */
        t6_model_config c30 = tm_tiny_config(tm_all_types[ai]), c32 = c30;
        c30.mlp_hidden = 30;   /* stride 32 */
        c32.mlp_hidden = 32;   /* dense */
        const char *an = t6_attn_name(c30.attention);
        t6_backend *be = tm_cpu_backend(0);
        const int B = 2, T = 7, N = B * T;
        t6_model *m30 = t6_model_create(&c30, be, B, T), *m32 = t6_model_create(&c32, be, B, T);
        const t6_param_layout *l30 = t6_model_layout(m30), *l32 = t6_model_layout(m32);
        T6_CHECK(l30->n_tensors == l32->n_tensors, NULL, "strides test: layouts differ");
        float *p30 = t6_malloc(sizeof(float) * l30->n_params), *p32 = t6_calloc(l32->n_params, sizeof(float));
        tm_random_params(m30, 21 + ai, 0.3f, p30);
        for (int ti = 0; ti < l30->n_tensors; ti++) copy_tensor(l30, p30, l32, p32, ti);
        t6_model_set_params(m32, p32);
        int32_t x[14], y[14];
        tm_random_tokens(x, N, c30.vocab_size, 31, 1);
        tm_random_tokens(y, N, c30.vocab_size, 31, 2);
        y[5] = -1;
        double gerr = 0.0, gmax = 0.0, lerr = 0.0;
        float *g30 = t6_malloc(sizeof(float) * l30->n_params), *g32 = t6_malloc(sizeof(float) * l32->n_params);
        float *g32in30 = t6_calloc(l30->n_params, sizeof(float));
        /* two micro-steps: the second runs over buffers the first backward left behind */
        t6_model_zero_grad(m30);
        t6_model_zero_grad(m32);
        for (int step = 0; step < 2; step++) {
            const float a = t6_model_forward(m30, x, y, 1, 1.0f), b = t6_model_forward(m32, x, y, 1, 1.0f);
            t6_model_backward(m30);
            t6_model_backward(m32);
            lerr = fmax(lerr, fabs((double)a - b) / fabs((double)b));
            x[step] = (x[step] + 1) % c30.vocab_size;
        }
        t6_model_get_grads(m30, g30);
        t6_model_get_grads(m32, g32);
        /* the gradients of the dense model restricted to the 30 real hidden units */
        for (int ti = 0; ti < l30->n_tensors; ti++) {
            const t6_param_info *a = &l30->tensors[ti], *b = &l32->tensors[ti];
            for (int r = 0; r < a->rows; r++)
                memcpy(g32in30 + a->offset + (size_t)r * a->cols, g32 + b->offset + (size_t)r * b->cols,
                       sizeof(float) * a->cols);
        }
        for (size_t i = 0; i < l30->n_params; i++) {
            gmax = fmax(gmax, fabs(g32in30[i]));
            gerr = fmax(gerr, fabs((double)g30[i] - g32in30[i]));
        }
        tm_check(lerr <= 1e-6 && gerr <= 1e-5 * gmax && gmax > 0.0,
                 "%s: mlp_hidden 30 (stride 32) == mlp_hidden 32 with 2 zero units: loss rel %.1e, max grad diff "
                 "%.1e of %.1e", an, lerr, gerr, gmax);
        free(p30); free(p32); free(g30); free(g32); free(g32in30);
        t6_model_destroy(m30);
        t6_model_destroy(m32);
        t6_backend_destroy(be);
    }
}

int main(void)
{
    test_matmul_strides();
    test_mlp_pads();
    test_model_padded_hidden();
    return tm_finish("strides");
}
