/* gpu_check.c -- the CUDA backend checked against the CPU backend (the reference), on
 * the GPU machine (never part of make check: CI has no GPU). Two parts:
 *
 *  ops    every op of the table on random inputs of awkward sizes (no tile multiples),
 *         CUDA outputs poisoned with NaN before the call, compared with the CPU op on
 *         the same inputs, in fp32 precision (tolerance 1e-5 relative to the largest
 *         reference value; 2e-5 where long fp32 sums are summed in another order) and
 *         bf16 precision (inputs rounded to bf16 for both sides, so only the kernel's
 *         own roundings count: 1.5e-2 relative to the largest value, i.e. a few bf16
 *         ulps of the output).
 *  model  a small model of each attention type, the same weights and batch on both
 *         backends: loss and every gradient tensor compared, then 20 AdamW steps with
 *         clipping whose losses must track the CPU run.
 *
 *  decode the generation ops (rope_fwd_pos, cache_scatter, decode attention over TPA
 *         factor and K/V caches and MLA's latent cache) against double-precision
 *         references that materialise K and V, with every cache slot past a row's
 *         length NaN; part of "ops".
 *  gen    prefill + decode steps of a small model of each attention type on both
 *         backends, next-token logits compared; part of "decode".
 *
 *  recompute  train.recompute: gradients of "attention" and "block" bitwise equal to
 *         "none" on the CUDA backend for each attention type, peak bytes ordered; part
 *         of "model".
 *
 * Exit 0 when every check passes, 1 otherwise.
 * Usage: gpu_check [ops|model|decode|gen|mla|recompute|attn|all]
 * (mla: MLA's decode op cases and the generation checks only; attn: the attention op
 * cases of "ops" alone, every head dim). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "kvcache.h"
#include "model.h"
#include "optim.h"
#include "params.h"
#include "profile.h"
#include "util.h"

#define GPU_TEST_RNG_SEED 0x9e3779b97f4a7c15ull
#include "gpu_test.h"

static int g_fail = 0, g_checks = 0;

static float *rnd(size_t n, float scale, int bf)
{
    float *p = t6_malloc(n * sizeof(float) + 4);
    for (size_t i = 0; i < n; i++) {
        float v = (float)((2.0 * urand() - 1.0) * scale);
        p[i] = bf ? bf16_round(v) : v;
    }
    return p;
}

/* ---- buffers on a backend ---- */
static void *up_act(t6_backend *be, const float *h, size_t n)
{
    void *d = be->ops->alloc(be, n * be->act_bytes);
    be->ops->act_from_float(be, d, h, n);
    return d;
}
static float *up_f(t6_backend *be, const float *h, size_t n)
{
    float *d = be->ops->alloc(be, n * sizeof(float));
    be->ops->to_device(be, d, h, n * sizeof(float));
    return d;
}
static int32_t *up_i(t6_backend *be, const int32_t *h, size_t n)
{
    int32_t *d = be->ops->alloc(be, n * sizeof(int32_t));
    be->ops->to_device(be, d, h, n * sizeof(int32_t));
    return d;
}
static void poison(t6_backend *be, void *d, size_t bytes)
{
    unsigned char *h = t6_malloc(bytes + 1);
    memset(h, 0xff, bytes);                /* NaN as float and as bf16 */
    be->ops->to_device(be, d, h, bytes);
    free(h);
}
static float *down_act(t6_backend *be, const void *d, size_t n)
{
    float *h = t6_malloc(n * sizeof(float) + 4);
    be->ops->act_to_float(be, h, d, n);
    return h;
}
static float *down_f(t6_backend *be, const float *d, size_t n)
{
    float *h = t6_malloc(n * sizeof(float) + 4);
    be->ops->to_host(be, h, d, n * sizeof(float));
    return h;
}

/* max |got - ref| / max |ref|; NaN anywhere fails */
static void compare(const char *what, const char *prec, const float *ref, const float *got, size_t n, double tol)
{
    double maxref = 0.0, maxerr = 0.0;
    size_t worst = 0;
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]) || !isfinite(ref[i])) { nan = 1; worst = i; break; }
        double a = fabs(ref[i]), e = fabs((double)got[i] - ref[i]);
        if (a > maxref) maxref = a;
        if (e > maxerr) { maxerr = e; worst = i; }
    }
    double rel = maxerr / (maxref > 1e-30 ? maxref : 1e-30);
    int ok = !nan && rel <= tol;
    g_checks++;
    if (!ok) g_fail++;
    printf("%-4s %-5s %-34s n=%-8zu rel_err=%.3e tol=%.1e%s\n", ok ? "ok" : "FAIL", prec, what, n, rel, tol,
           nan ? " (non-finite value)" : "");
    if (!ok) printf("       worst at %zu: ref %.8g got %.8g\n", worst, ref[worst], got[worst]);
}

/* ---- the op checks: one function per op family, run for each precision ---- */
typedef struct { t6_backend *cpu, *gpu; int bf; const char *prec; double tol; } ctx;

static void t_embed(ctx *c)
{
    const int V = 37, d = 45, N = 53;
    float *wte = rnd((size_t)V * d, 1.0f, c->bf), *dout = rnd((size_t)N * d, 1.0f, c->bf);
    float *dw0 = rnd((size_t)V * d, 1.0f, 0);
    int32_t tok[53];
    for (int i = 0; i < N; i++) tok[i] = (int32_t)(urand() * 7) * 5;   /* repeats on purpose */
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][2];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *dw = up_act(be, wte, (size_t)V * d), *out = be->ops->alloc(be, (size_t)N * d * be->act_bytes);
        void *ddo = up_act(be, dout, (size_t)N * d);
        float *g = up_f(be, dw0, (size_t)V * d);
        int32_t *t = up_i(be, tok, N);
        poison(be, out, (size_t)N * d * be->act_bytes);
        be->ops->embed_fwd(be, out, dw, t, N, d);
        be->ops->embed_bwd(be, g, ddo, t, N, d);
        res[k][0] = down_act(be, out, (size_t)N * d);
        res[k][1] = down_f(be, g, (size_t)V * d);
        be->ops->free(be, dw); be->ops->free(be, out); be->ops->free(be, ddo); be->ops->free(be, g); be->ops->free(be, t);
    }
    compare("embed_fwd", c->prec, res[0][0], res[1][0], (size_t)N * d, 0);
    compare("embed_bwd (accumulating)", c->prec, res[0][1], res[1][1], (size_t)V * d, c->bf ? 1e-2 : 1e-6);
    for (int k = 0; k < 2; k++) { free(res[k][0]); free(res[k][1]); }
    free(wte); free(dout); free(dw0);
}

static void t_rmsnorm(ctx *c, int d)
{
    const int N = 67;
    float *x = rnd((size_t)N * d, 2.0f, c->bf), *dy = rnd((size_t)N * d, 1.0f, c->bf), *di0 = rnd((size_t)N * d, 1.0f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][3];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *dx = up_act(be, x, (size_t)N * d), *out = be->ops->alloc(be, (size_t)N * d * be->act_bytes);
        void *ddy = up_act(be, dy, (size_t)N * d), *di = up_act(be, di0, (size_t)N * d);
        float *rstd = be->ops->alloc(be, N * sizeof(float));
        poison(be, out, (size_t)N * d * be->act_bytes);
        poison(be, rstd, N * sizeof(float));
        be->ops->rmsnorm_fwd(be, out, rstd, dx, N, d);
        be->ops->rmsnorm_bwd(be, di, ddy, dx, rstd, N, d);
        res[k][0] = down_act(be, out, (size_t)N * d);
        res[k][1] = down_f(be, rstd, N);
        res[k][2] = down_act(be, di, (size_t)N * d);
        be->ops->free(be, dx); be->ops->free(be, out); be->ops->free(be, ddy); be->ops->free(be, di); be->ops->free(be, rstd);
    }
    compare("rmsnorm_fwd out", c->prec, res[0][0], res[1][0], (size_t)N * d, c->tol);
    compare("rmsnorm_fwd rstd", c->prec, res[0][1], res[1][1], N, 1e-5);
    compare("rmsnorm_bwd (accumulating)", c->prec, res[0][2], res[1][2], (size_t)N * d, c->tol);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 3; j++) free(res[k][j]);
    free(x); free(dy); free(di0);
}

/* add_rmsnorm_fwd (x += y; out = rmsnorm(x)): CUDA against the CPU op, and on CUDA
 * against add_inplace + rmsnorm_fwd, which it must equal bit for bit (the model's
 * recompute check compares gradients bitwise across a fused and an unfused forward). */
static void t_add_rmsnorm(ctx *c, int N, int d)
{
    float *x = rnd((size_t)N * d, 2.0f, c->bf), *y = rnd((size_t)N * d, 1.0f, c->bf);
    const size_t n = (size_t)N * d;
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][3];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *dx = up_act(be, x, n), *dy = up_act(be, y, n), *out = be->ops->alloc(be, n * be->act_bytes);
        float *rstd = be->ops->alloc(be, N * sizeof(float));
        poison(be, out, n * be->act_bytes);
        poison(be, rstd, N * sizeof(float));
        be->ops->add_rmsnorm_fwd(be, dx, dy, out, rstd, N, d);
        res[k][0] = down_act(be, dx, n);
        res[k][1] = down_act(be, out, n);
        res[k][2] = down_f(be, rstd, N);
        if (k == 1) {   /* the composition on the same device */
            void *cx = up_act(be, x, n), *cout = be->ops->alloc(be, n * be->act_bytes);
            float *crstd = be->ops->alloc(be, N * sizeof(float));
            be->ops->add_inplace(be, cx, dy, n);
            be->ops->rmsnorm_fwd(be, cout, crstd, cx, N, d);
            float *cr[3] = {down_act(be, cx, n), down_act(be, cout, n), down_f(be, crstd, N)};
            char what[64];
            snprintf(what, sizeof what, "add_rmsnorm_fwd == composition d=%d", d);
            int same = !memcmp(cr[0], res[1][0], n * sizeof(float)) && !memcmp(cr[1], res[1][1], n * sizeof(float)) &&
                       !memcmp(cr[2], res[1][2], N * sizeof(float));
            g_checks++;
            if (!same) g_fail++;
            printf("%-4s %-5s %-34s n=%-8zu (bitwise)\n", same ? "ok" : "FAIL", c->prec, what, n);
            for (int j = 0; j < 3; j++) free(cr[j]);
            be->ops->free(be, cx); be->ops->free(be, cout); be->ops->free(be, crstd);
        }
        be->ops->free(be, dx); be->ops->free(be, dy); be->ops->free(be, out); be->ops->free(be, rstd);
    }
    compare("add_rmsnorm_fwd x", c->prec, res[0][0], res[1][0], n, c->tol);
    compare("add_rmsnorm_fwd out", c->prec, res[0][1], res[1][1], n, c->tol);
    compare("add_rmsnorm_fwd rstd", c->prec, res[0][2], res[1][2], N, c->bf ? 1e-2 : 1e-5);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 3; j++) free(res[k][j]);
    free(x); free(y);
}

/* ---- row strides (backend.h): an act buffer of rows x ld holding rows x w data ----
 * Host image: data (or NaN where data is NULL), the alignment pad [w, min(ld, up8(w)))
 * set to `apad`, the rest of the row NaN. After an op, pads_ok() checks the alignment
 * pad of an output is exactly 0 and everything from up8(w) on is bit for bit what was
 * uploaded (never written). */
static int up8i(int x) { return (x + 7) / 8 * 8; }
static float *strided_host(const float *data, int rows, int w, int ld, float apad)
{
    float *h = t6_malloc(sizeof(float) * (size_t)rows * ld + 4);
    const int a_end = up8i(w) < ld ? up8i(w) : ld;
    for (int n = 0; n < rows; n++)
        for (int j = 0; j < ld; j++)
            h[(size_t)n * ld + j] = j < w ? (data ? data[(size_t)n * w + j] : NAN) : j < a_end ? apad : NAN;
    return h;
}
typedef struct { void *d; unsigned char *raw; int rows, w, ld; } sbuf;
static sbuf up_strided(t6_backend *be, const float *data, int rows, int w, int ld, float apad)
{
    sbuf b = {NULL, NULL, rows, w, ld};
    float *h = strided_host(data, rows, w, ld, apad);
    size_t n = (size_t)rows * ld;
    b.d = up_act(be, h, n);
    b.raw = t6_malloc(n * be->act_bytes + 1);
    be->ops->to_host(be, b.raw, b.d, n * be->act_bytes);
    free(h);
    return b;
}
/* the data part as a dense rows x w float array */
static float *down_strided(t6_backend *be, const sbuf *b)
{
    float *all = down_act(be, b->d, (size_t)b->rows * b->ld), *o = t6_malloc(sizeof(float) * (size_t)b->rows * b->w + 4);
    for (int n = 0; n < b->rows; n++) memcpy(o + (size_t)n * b->w, all + (size_t)n * b->ld, sizeof(float) * b->w);
    free(all);
    return o;
}
static void pads_ok(t6_backend *be, const sbuf *b, const char *what, const char *prec)
{
    size_t n = (size_t)b->rows * b->ld, es = be->act_bytes;
    float *all = down_act(be, b->d, n);
    unsigned char *raw = t6_malloc(n * es + 1);
    be->ops->to_host(be, raw, b->d, n * es);
    const int a_end = up8i(b->w) < b->ld ? up8i(b->w) : b->ld;
    long bad_align = 0, bad_beyond = 0;
    for (int r = 0; r < b->rows; r++) {
        for (int j = b->w; j < a_end; j++) bad_align += all[(size_t)r * b->ld + j] != 0.0f;
        size_t o = ((size_t)r * b->ld + a_end) * es, len = (size_t)(b->ld - a_end) * es;
        if (len && memcmp(raw + o, b->raw + o, len)) bad_beyond++;
    }
    int ok = !bad_align && !bad_beyond;
    g_checks++;
    if (!ok) g_fail++;
    printf("%-4s %-5s %-34s w=%d ld=%d: alignment pad 0 (%ld bad), pad beyond untouched (%ld bad rows)\n",
           ok ? "ok" : "FAIL", prec, what, b->w, b->ld, bad_align, bad_beyond);
    free(all);
    free(raw);
}
static void free_sbuf(t6_backend *be, sbuf *b) { be->ops->free(be, b->d); free(b->raw); }

/* matmul with row strides ldi = C + ei (inp, dinp) and ldo = OC + eo (out, dout): the
 * inputs' alignment pads hold a finite non-zero value (must not be used as data), the
 * outputs' hold 0 (must stay 0), and past the alignment pad everything is NaN */
static void t_matmul(ctx *c, int N, int C, int OC, int ei, int eo)
{
    const int ldi = C + ei, ldo = OC + eo;
    float *x = rnd((size_t)N * C, 1.0f, c->bf), *w = rnd((size_t)OC * C, 0.5f, c->bf);
    float *o0 = rnd((size_t)N * OC, 1.0f, c->bf), *dout = rnd((size_t)N * OC, 1.0f, c->bf);
    float *dw0 = rnd((size_t)OC * C, 1.0f, 0), *di0 = rnd((size_t)N * C, 1.0f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][5];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        sbuf dx = up_strided(be, x, N, C, ldi, 3.0f), ddo = up_strided(be, dout, N, OC, ldo, -5.0f);
        sbuf out = up_strided(be, NULL, N, OC, ldo, 0.0f), out2 = up_strided(be, o0, N, OC, ldo, 0.0f);
        sbuf di = up_strided(be, NULL, N, C, ldi, 0.0f), di2 = up_strided(be, di0, N, C, ldi, 0.0f);
        void *dwt = up_act(be, w, (size_t)OC * C);
        float *dw = up_f(be, dw0, (size_t)OC * C);
        be->ops->matmul_fwd(be, out.d, ldo, dx.d, ldi, dwt, N, C, OC, 0);
        be->ops->matmul_fwd(be, out2.d, ldo, dx.d, ldi, dwt, N, C, OC, 1);
        be->ops->matmul_bwd(be, di.d, ldi, dw, ddo.d, ldo, dx.d, ldi, dwt, N, C, OC, 0);
        be->ops->matmul_bwd(be, di2.d, ldi, NULL, ddo.d, ldo, dx.d, ldi, dwt, N, C, OC, 1);
        res[k][0] = down_strided(be, &out);
        res[k][1] = down_strided(be, &out2);
        res[k][2] = down_strided(be, &di);
        res[k][3] = down_strided(be, &di2);
        res[k][4] = down_f(be, dw, (size_t)OC * C);
        if (k == 1 && eo) {
            pads_ok(be, &out, "matmul_fwd pads", c->prec);
            pads_ok(be, &out2, "matmul_fwd accumulate pads", c->prec);
        }
        if (k == 1 && ei) {
            pads_ok(be, &di, "matmul_bwd dinp pads", c->prec);
            pads_ok(be, &di2, "matmul_bwd dinp += pads", c->prec);
        }
        free_sbuf(be, &dx); free_sbuf(be, &ddo); free_sbuf(be, &out); free_sbuf(be, &out2);
        free_sbuf(be, &di); free_sbuf(be, &di2);
        be->ops->free(be, dwt); be->ops->free(be, dw);
    }
    char name[96];
    double tol = c->bf ? c->tol : 2e-5;
    snprintf(name, sizeof name, "matmul_fwd %dx%dx%d ld %d/%d", N, C, OC, ldi, ldo);
    compare(name, c->prec, res[0][0], res[1][0], (size_t)N * OC, tol);
    snprintf(name, sizeof name, "matmul_fwd accumulate %dx%dx%d", N, C, OC);
    compare(name, c->prec, res[0][1], res[1][1], (size_t)N * OC, tol);
    snprintf(name, sizeof name, "matmul_bwd dinp %dx%dx%d", N, C, OC);
    compare(name, c->prec, res[0][2], res[1][2], (size_t)N * C, tol);
    snprintf(name, sizeof name, "matmul_bwd dinp += %dx%dx%d", N, C, OC);
    compare(name, c->prec, res[0][3], res[1][3], (size_t)N * C, tol);
    snprintf(name, sizeof name, "matmul_bwd dw += %dx%dx%d", N, C, OC);
    compare(name, c->prec, res[0][4], res[1][4], (size_t)OC * C, c->bf ? 1e-3 : 2e-5);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 5; j++) free(res[k][j]);
    free(x); free(w); free(o0); free(dout); free(dw0); free(di0);
}

/* The MLP block as model.c runs it: hidden activations at row stride round_up(hid, 8)
 * in zero-filled buffers, SwiGLU over the pads too; every output compared with the
 * CPU, and every pad of the CUDA buffers must still be exactly 0 afterwards. */
static void t_mlp_strided(ctx *c, int N, int d, int hid)
{
    const int hl = up8i(hid);
    const size_t nh = (size_t)N * hl;
    float *ln = rnd((size_t)N * d, 1.0f, c->bf), *dx = rnd((size_t)N * d, 1.0f, c->bf);
    float *w1 = rnd((size_t)hid * d, 0.3f, c->bf), *w2 = rnd((size_t)hid * d, 0.3f, c->bf);
    float *w3 = rnd((size_t)d * hid, 0.3f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][5];
    const char *lbl[] = {"mlp out", "mlp dln", "mlp dW3", "mlp dW1", "mlp dW2"};
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        const size_t ab = be->act_bytes;
        void *dln_ = up_act(be, ln, (size_t)N * d), *ddx = up_act(be, dx, (size_t)N * d);
        void *W1 = up_act(be, w1, (size_t)hid * d), *W2 = up_act(be, w2, (size_t)hid * d);
        void *W3 = up_act(be, w3, (size_t)d * hid);
        void *h1 = be->ops->alloc(be, nh * ab), *h2 = be->ops->alloc(be, nh * ab), *g = be->ops->alloc(be, nh * ab);
        void *dg = be->ops->alloc(be, nh * ab), *dh1 = be->ops->alloc(be, nh * ab), *dh2 = be->ops->alloc(be, nh * ab);
        void *xo = be->ops->alloc(be, (size_t)N * d * ab), *gin = be->ops->alloc(be, (size_t)N * d * ab);
        float *dw = be->ops->alloc(be, sizeof(float) * 3 * (size_t)hid * d);
        for (int rep = 0; rep < 2; rep++) {   /* twice: the second pass starts from the buffers the first left */
            be->ops->matmul_fwd(be, h1, hl, dln_, d, W1, N, d, hid, 0);
            be->ops->matmul_fwd(be, h2, hl, dln_, d, W2, N, d, hid, 0);
            be->ops->swiglu_fwd(be, g, h1, h2, nh);
            be->ops->matmul_fwd(be, xo, d, g, hl, W3, N, hid, d, 0);
            be->ops->matmul_bwd(be, dg, hl, dw, ddx, d, g, hl, W3, N, hid, d, 0);
            be->ops->swiglu_bwd(be, dh1, dh2, dg, h1, h2, nh);
            be->ops->matmul_bwd(be, gin, d, dw + (size_t)hid * d, dh1, hl, dln_, d, W1, N, d, hid, 0);
            be->ops->matmul_bwd(be, gin, d, dw + 2 * (size_t)hid * d, dh2, hl, dln_, d, W2, N, d, hid, 1);
        }
        res[k][0] = down_act(be, xo, (size_t)N * d);
        res[k][1] = down_act(be, gin, (size_t)N * d);
        float *dwh = down_f(be, dw, 3 * (size_t)hid * d);
        for (int j = 0; j < 3; j++) {
            res[k][2 + j] = t6_malloc(sizeof(float) * (size_t)hid * d);
            memcpy(res[k][2 + j], dwh + (size_t)j * hid * d, sizeof(float) * (size_t)hid * d);
        }
        free(dwh);
        if (k == 1) {
            void *hb[] = {h1, h2, g, dg, dh1, dh2};
            const char *hn[] = {"h1", "h2", "g", "dg", "dh1", "dh2"};
            long bad = 0;
            char what[64] = "";
            for (int j = 0; j < 6; j++) {
                float *all = down_act(be, hb[j], nh);
                long bj = 0;
                for (int r = 0; r < N; r++)
                    for (int q = hid; q < hl; q++) bj += all[(size_t)r * hl + q] != 0.0f;
                if (bj && !what[0]) snprintf(what, sizeof what, " (first in %s)", hn[j]);
                bad += bj;
                free(all);
            }
            g_checks++;
            if (bad) g_fail++;
            printf("%-4s %-5s mlp N=%d d=%d hidden %d stride %d: pads of h1 h2 g dg dh1 dh2 all 0 (%ld non-zero%s)\n",
                   bad ? "FAIL" : "ok", c->prec, N, d, hid, hl, bad, what);
        }
        void *bufs[] = {dln_, ddx, W1, W2, W3, h1, h2, g, dg, dh1, dh2, xo, gin, dw};
        for (int j = 0; j < 14; j++) be->ops->free(be, bufs[j]);
    }
    char name[96];
    for (int j = 0; j < 5; j++) {
        snprintf(name, sizeof name, "%s hidden %d stride %d", lbl[j], hid, hl);
        /* bf16: h1, h2, g, dg, dh1, dh2 are each rounded to bf16 on the way (the CPU keeps
         * fp32), a chain of up to 4 roundings of 2^-9 behind every output: 3e-2 */
        compare(name, c->prec, res[0][j], res[1][j], j < 2 ? (size_t)N * d : (size_t)hid * d, c->bf ? 3e-2 : 2e-5);
    }
    for (int k = 0; k < 2; k++) for (int j = 0; j < 5; j++) free(res[k][j]);
    free(ln); free(dx); free(w1); free(w2); free(w3);
}

static void t_rope(ctx *c, int dh)
{
    const int B = 2, T = 37, rows = 3;
    size_t n = (size_t)B * T * rows * dh;
    float *x = rnd(n, 1.0f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][2];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *d = up_act(be, x, n), *e = up_act(be, x, n);
        be->ops->rope_fwd(be, d, B, T, rows, dh, 10000.0);
        be->ops->rope_bwd(be, e, B, T, rows, dh, 10000.0);
        res[k][0] = down_act(be, d, n);
        res[k][1] = down_act(be, e, n);
        be->ops->free(be, d); be->ops->free(be, e);
    }
    char name[64];
    snprintf(name, sizeof name, "rope_fwd dh=%d", dh);
    compare(name, c->prec, res[0][0], res[1][0], n, c->bf ? c->tol : 2e-5);
    snprintf(name, sizeof name, "rope_bwd dh=%d", dh);
    compare(name, c->prec, res[0][1], res[1][1], n, c->bf ? c->tol : 2e-5);
    for (int k = 0; k < 2; k++) { free(res[k][0]); free(res[k][1]); }
    free(x);
}

static void t_tpa(ctx *c, int h, int R, int dh)
{
    const int N = 41;
    size_t na = (size_t)N * h * R, nb = (size_t)N * R * dh, no = (size_t)N * h * dh;
    float *A = rnd(na, 1.0f, c->bf), *Bf = rnd(nb, 1.0f, c->bf), *G = rnd(no, 1.0f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][3];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *dA = up_act(be, A, na), *dB = up_act(be, Bf, nb), *dG = up_act(be, G, no);
        void *out = be->ops->alloc(be, no * be->act_bytes), *gA = be->ops->alloc(be, na * be->act_bytes);
        void *gB = be->ops->alloc(be, nb * be->act_bytes);
        poison(be, out, no * be->act_bytes); poison(be, gA, na * be->act_bytes); poison(be, gB, nb * be->act_bytes);
        be->ops->tpa_product_fwd(be, out, dA, dB, N, h, R, dh);
        be->ops->tpa_product_bwd(be, gA, gB, dG, dA, dB, N, h, R, dh);
        res[k][0] = down_act(be, out, no);
        res[k][1] = down_act(be, gA, na);
        res[k][2] = down_act(be, gB, nb);
        be->ops->free(be, dA); be->ops->free(be, dB); be->ops->free(be, dG);
        be->ops->free(be, out); be->ops->free(be, gA); be->ops->free(be, gB);
    }
    char name[64];
    snprintf(name, sizeof name, "tpa_product_fwd h=%d R=%d dh=%d", h, R, dh);
    compare(name, c->prec, res[0][0], res[1][0], no, c->tol);
    snprintf(name, sizeof name, "tpa_product_bwd dA h=%d R=%d", h, R);
    compare(name, c->prec, res[0][1], res[1][1], na, c->tol);
    snprintf(name, sizeof name, "tpa_product_bwd dB h=%d R=%d", h, R);
    compare(name, c->prec, res[0][2], res[1][2], nb, c->tol);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 3; j++) free(res[k][j]);
    free(A); free(Bf); free(G);
}

/* tpa_split / tpa_join: fused rows at stride ld (pads NaN for the split, which must
 * not read them; for the join they start as the same finite values on both sides and
 * must stay so: the whole N x ld buffer is compared) */
static void t_tpa_split(ctx *c, int B, int T, int h, int RQ, int RK, int RV, int dh, int ld)
{
    const int N = B * T, w[6] = {h * RQ, h * RK, h * RV, RQ * dh, RK * dh, RV * dh};
    int W = 0;
    for (int j = 0; j < 6; j++) W += w[j];
    size_t nf = (size_t)N * ld;
    float *fac = rnd(nf, 1.0f, c->bf), *fac_nan = t6_malloc(nf * sizeof(float));
    memcpy(fac_nan, fac, nf * sizeof(float));
    for (int n = 0; n < N; n++)
        for (int j = W; j < ld; j++) fac_nan[(size_t)n * ld + j] = NAN;
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][7];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *df = up_act(be, fac_nan, nf), *parts[6];
        for (int j = 0; j < 6; j++) {
            parts[j] = be->ops->alloc(be, (size_t)N * w[j] * be->act_bytes);
            poison(be, parts[j], (size_t)N * w[j] * be->act_bytes);
        }
        be->ops->tpa_split(be, parts, df, ld, B, T, h, RQ, RK, RV, dh, 10000.0);
        for (int j = 0; j < 6; j++) res[k][j] = down_act(be, parts[j], (size_t)N * w[j]);
        void *dj = up_act(be, fac, nf);
        be->ops->tpa_join(be, dj, ld, (const void *const *)parts, B, T, h, RQ, RK, RV, dh, 10000.0);
        res[k][6] = down_act(be, dj, nf);
        for (int j = 0; j < 6; j++) be->ops->free(be, parts[j]);
        be->ops->free(be, df); be->ops->free(be, dj);
    }
    static const char *nm[6] = {"A_Q", "A_K", "A_V", "B_Q", "B_K", "B_V"};
    char name[96];
    for (int j = 0; j < 6; j++) {
        snprintf(name, sizeof name, "tpa_split %s h%d R%d/%d/%d T%d ld%d", nm[j], h, RQ, RK, RV, T, ld);
        compare(name, c->prec, res[0][j], res[1][j], (size_t)N * w[j], c->bf ? c->tol : 2e-5);
    }
    snprintf(name, sizeof name, "tpa_join (pads kept) h%d T%d ld%d", h, T, ld);
    compare(name, c->prec, res[0][6], res[1][6], nf, c->bf ? c->tol : 2e-5);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 7; j++) free(res[k][j]);
    free(fac); free(fac_nan);
}

/* tpa_qkv_fwd / tpa_qkv_bwd: the fused rows (stride ld, pads NaN: never read) straight
 * to Q, K, V, and dQ, dK, dV straight back to the gradient of the fused rows, whose
 * buffer starts as the same finite values on both sides: the pads must stay so, so the
 * whole N x ld buffer is compared */
static void t_tpa_qkv_one(ctx *c, int B, int T, int h, int RQ, int RK, int RV, int dh, int ld, const char *ver)
{
    const int N = B * T, W = (h + dh) * (RQ + RK + RV);
    const size_t nf = (size_t)N * ld, no = (size_t)N * h * dh;
    float *fac = rnd(nf, 1.0f, c->bf), *init = rnd(nf, 1.0f, c->bf);
    for (int n = 0; n < N; n++)
        for (int j = W; j < ld; j++) fac[(size_t)n * ld + j] = NAN;
    float *g[3];
    for (int j = 0; j < 3; j++) g[j] = rnd(no, 1.0f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][4];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *df = up_act(be, fac, nf), *dfac = up_act(be, init, nf), *o[3], *dg[3];
        for (int j = 0; j < 3; j++) {
            o[j] = be->ops->alloc(be, no * be->act_bytes);
            poison(be, o[j], no * be->act_bytes);
            dg[j] = up_act(be, g[j], no);
        }
        be->ops->tpa_qkv_fwd(be, o[0], o[1], o[2], df, ld, B, T, h, RQ, RK, RV, dh, 10000.0);
        be->ops->tpa_qkv_bwd(be, dfac, dg[0], dg[1], dg[2], df, ld, B, T, h, RQ, RK, RV, dh, 10000.0);
        for (int j = 0; j < 3; j++) res[k][j] = down_act(be, o[j], no);
        res[k][3] = down_act(be, dfac, nf);
        for (int j = 0; j < 3; j++) { be->ops->free(be, o[j]); be->ops->free(be, dg[j]); }
        be->ops->free(be, df); be->ops->free(be, dfac);
    }
    static const char *nm[3] = {"Q", "K", "V"};
    char name[96];
    for (int j = 0; j < 3; j++) {
        snprintf(name, sizeof name, "tpa_qkv_fwd %s %s h%d R%d/%d/%d dh%d T%d", ver, nm[j], h, RQ, RK, RV, dh, T);
        compare(name, c->prec, res[0][j], res[1][j], no, c->tol);
    }
    snprintf(name, sizeof name, "tpa_qkv_bwd %s (pads kept) h%d R%d/%d/%d dh%d ld%d", ver, h, RQ, RK, RV, dh, ld);
    compare(name, c->prec, res[0][3], res[1][3], nf, c->bf ? c->tol : 2e-5);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 4; j++) free(res[k][j]);
    for (int j = 0; j < 3; j++) free(g[j]);
    free(fac); free(init);
}

/* each case with the default kernels (v2 forward, v1 backward), with T6_TPA_QKV=v1 and
 * with T6_TPA_QKV=v2 (tpa_qkv.cu reads it per call); the caller's value of T6_TPA_QKV
 * is put back afterwards */
static void t_tpa_qkv(ctx *c, int B, int T, int h, int RQ, int RK, int RV, int dh, int ld)
{
    const char *e = getenv("T6_TPA_QKV");
    char *saved = e ? t6_strdup(e) : NULL;
    unsetenv("T6_TPA_QKV");
    t_tpa_qkv_one(c, B, T, h, RQ, RK, RV, dh, ld, "default");
    setenv("T6_TPA_QKV", "v1", 1);
    t_tpa_qkv_one(c, B, T, h, RQ, RK, RV, dh, ld, "v1");
    setenv("T6_TPA_QKV", "v2", 1);
    t_tpa_qkv_one(c, B, T, h, RQ, RK, RV, dh, ld, "v2");
    if (saved) {
        setenv("T6_TPA_QKV", saved, 1);
        free(saved);
    } else {
        unsetenv("T6_TPA_QKV");
    }
}

/* copy_rows: rows x width from src (stride ld_src, starting soff elements in) to dst
 * (ld_dst, doff in), = or +=; dst's other elements hold random data that must stay.
 * Aligned cases take CUDA's 16-byte path, the others the element path. */
static void t_copy_rows(ctx *c, int rows, int width, int ld_dst, int doff, int ld_src, int soff, int acc)
{
    const size_t nd = (size_t)rows * ld_dst + doff, ns = (size_t)rows * ld_src + soff;
    float *d0 = rnd(nd, 1.0f, c->bf), *s0 = rnd(ns, 1.0f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *dd = up_act(be, d0, nd), *ds = up_act(be, s0, ns);
        be->ops->copy_rows(be, t6_act_at(be, dd, doff), ld_dst, t6_act_at(be, ds, soff), ld_src, rows, width, acc);
        res[k] = down_act(be, dd, nd);
        be->ops->free(be, dd); be->ops->free(be, ds);
    }
    char name[96];
    snprintf(name, sizeof name, "copy_rows%s %dx%d ld %d+%d <- %d+%d", acc ? " +=" : "", rows, width, ld_dst, doff,
             ld_src, soff);
    compare(name, c->prec, res[0], res[1], nd, acc && c->bf ? c->tol : 0.0);
    free(res[0]); free(res[1]); free(d0); free(s0);
}

/* MLA's weighted RMSNorm (rmsnorm_w_fwd/bwd); N large enough that the CUDA weight
 * gradient's row chunks are several and uneven. dw accumulates onto a random start. */
static void t_rmsnorm_w(ctx *c, int N, int d)
{
    float *x = rnd((size_t)N * d, 2.0f, c->bf), *dy = rnd((size_t)N * d, 1.0f, c->bf), *w = rnd(d, 1.5f, c->bf);
    float *dw0 = rnd(d, 1.0f, 0);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][4];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *dx = up_act(be, x, (size_t)N * d), *ddy = up_act(be, dy, (size_t)N * d), *dwt = up_act(be, w, d);
        void *out = be->ops->alloc(be, (size_t)N * d * be->act_bytes), *di = be->ops->alloc(be, (size_t)N * d * be->act_bytes);
        float *rstd = be->ops->alloc(be, N * sizeof(float)), *dw = up_f(be, dw0, d);
        poison(be, out, (size_t)N * d * be->act_bytes);
        poison(be, di, (size_t)N * d * be->act_bytes);
        poison(be, rstd, N * sizeof(float));
        be->ops->rmsnorm_w_fwd(be, out, rstd, dx, dwt, N, d, 1e-6f);
        be->ops->rmsnorm_w_bwd(be, di, dw, ddy, dx, dwt, rstd, N, d);
        res[k][0] = down_act(be, out, (size_t)N * d);
        res[k][1] = down_f(be, rstd, N);
        res[k][2] = down_act(be, di, (size_t)N * d);
        res[k][3] = down_f(be, dw, d);
        be->ops->free(be, dx); be->ops->free(be, ddy); be->ops->free(be, dwt); be->ops->free(be, out);
        be->ops->free(be, di); be->ops->free(be, rstd); be->ops->free(be, dw);
    }
    char name[96];
    snprintf(name, sizeof name, "rmsnorm_w_fwd out N%d d%d", N, d);
    compare(name, c->prec, res[0][0], res[1][0], (size_t)N * d, c->tol);
    compare("rmsnorm_w_fwd rstd", c->prec, res[0][1], res[1][1], N, 1e-5);
    snprintf(name, sizeof name, "rmsnorm_w_bwd dinp N%d d%d", N, d);
    compare(name, c->prec, res[0][2], res[1][2], (size_t)N * d, c->tol);
    snprintf(name, sizeof name, "rmsnorm_w_bwd dw (accumulating) N%d", N);
    compare(name, c->prec, res[0][3], res[1][3], d, c->bf ? c->tol : 1e-4);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 4; j++) free(res[k][j]);
    free(x); free(dy); free(w); free(dw0);
}

/* MLA's head split and join (mla_split / mla_join): q rotated in place, k and the
 * zero-padded v (both poisoned first, pads included), then dq, dkv and the summed key
 * gradient written into columns off..off+dr of rows of ld (the rest of those rows is
 * random data that must come back unchanged). */
static void t_mla_split(ctx *c, int B, int T, int h, int dn, int dr, int dv, int ld, int off)
{
    const int N = B * T, dha = dn + dr, dkvh = dn + dv;
    const size_t nq = (size_t)N * h * dha, nkv = (size_t)N * h * dkvh, nc = (size_t)N * ld;
    float *q = rnd(nq, 1.0f, c->bf), *kv = rnd(nkv, 1.0f, c->bf), *ckv = rnd(nc, 1.0f, c->bf);
    float *dq = rnd(nq, 1.0f, c->bf), *dk = rnd(nq, 1.0f, c->bf), *dvg = rnd(nq, 1.0f, c->bf), *dc = rnd(nc, 1.0f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][6];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        const size_t ab = be->act_bytes;
        void *dq_ = up_act(be, q, nq), *dkv_ = up_act(be, kv, nkv), *dckv = up_act(be, ckv, nc);
        void *dk_ = be->ops->alloc(be, nq * ab), *dvv = be->ops->alloc(be, nq * ab);
        poison(be, dk_, nq * ab);
        poison(be, dvv, nq * ab);
        be->ops->mla_split(be, dq_, dk_, dvv, dkv_, t6_act_at(be, dckv, off), ld, B, T, h, dn, dr, dv, 10000.0);
        res[k][0] = down_act(be, dq_, nq);
        res[k][1] = down_act(be, dk_, nq);
        res[k][2] = down_act(be, dvv, nq);
        void *gq = up_act(be, dq, nq), *gk = up_act(be, dk, nq), *gv = up_act(be, dvg, nq), *gc = up_act(be, dc, nc);
        void *gkv = be->ops->alloc(be, nkv * ab);
        poison(be, gkv, nkv * ab);
        be->ops->mla_join(be, gq, gkv, t6_act_at(be, gc, off), ld, gk, gv, B, T, h, dn, dr, dv, 10000.0);
        res[k][3] = down_act(be, gq, nq);
        res[k][4] = down_act(be, gkv, nkv);
        res[k][5] = down_act(be, gc, nc);
        be->ops->free(be, dq_); be->ops->free(be, dkv_); be->ops->free(be, dckv); be->ops->free(be, dk_);
        be->ops->free(be, dvv); be->ops->free(be, gq); be->ops->free(be, gk); be->ops->free(be, gv);
        be->ops->free(be, gc); be->ops->free(be, gkv);
    }
    static const char *nm[6] = {"q", "k", "v (padded)", "join dq", "join dkv", "join dk_pe (ld rows)"};
    const size_t n[6] = {nq, nq, nq, nq, nkv, nc};
    char name[96];
    for (int j = 0; j < 6; j++) {
        snprintf(name, sizeof name, "mla_split %s h%d %d+%d/%d T%d", nm[j], h, dn, dr, dv, T);
        /* the key gradient sums h heads: bf16 rounds the sum once (CUDA) vs fp32 (CPU) */
        compare(name, c->prec, res[0][j], res[1][j], n[j], c->bf ? c->tol : 2e-5);
    }
    for (int k = 0; k < 2; k++) for (int j = 0; j < 6; j++) free(res[k][j]);
    free(q); free(kv); free(ckv); free(dq); free(dk); free(dvg); free(dc);
}

static void t_attention(ctx *c, int B, int T, int h, int G, int dh)
{
    size_t nq = (size_t)B * T * h * dh, nk = (size_t)B * T * G * dh, nl = (size_t)B * h * T;
    float *q = rnd(nq, 1.5f, c->bf), *k_ = rnd(nk, 1.5f, c->bf), *v = rnd(nk, 1.0f, c->bf), *dout = rnd(nq, 1.0f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][5];
    float *out_cpu = NULL;
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *dq_ = up_act(be, q, nq), *dk_ = up_act(be, k_, nk), *dv_ = up_act(be, v, nk), *ddo = up_act(be, dout, nq);
        void *out = be->ops->alloc(be, nq * be->act_bytes);
        float *lse = be->ops->alloc(be, nl * sizeof(float));
        void *gq = be->ops->alloc(be, nq * be->act_bytes), *gk = be->ops->alloc(be, nk * be->act_bytes);
        void *gv = be->ops->alloc(be, nk * be->act_bytes);
        poison(be, out, nq * be->act_bytes); poison(be, lse, nl * sizeof(float));
        poison(be, gq, nq * be->act_bytes); poison(be, gk, nk * be->act_bytes); poison(be, gv, nk * be->act_bytes);
        be->ops->attention_fwd(be, out, lse, dq_, dk_, dv_, B, T, h, G, dh);
        res[k][0] = down_act(be, out, nq);
        res[k][1] = down_f(be, lse, nl);
        /* the backward of both sides starts from the same (CPU) forward output */
        if (k == 0) out_cpu = res[0][0];
        else be->ops->act_from_float(be, out, out_cpu, nq);
        be->ops->attention_bwd(be, gq, gk, gv, ddo, out, lse, dq_, dk_, dv_, B, T, h, G, dh);
        res[k][2] = down_act(be, gq, nq);
        res[k][3] = down_act(be, gk, nk);
        res[k][4] = down_act(be, gv, nk);
        void *bufs[] = {dq_, dk_, dv_, ddo, out, lse, gq, gk, gv};
        for (int j = 0; j < 9; j++) be->ops->free(be, bufs[j]);
    }
    char name[96];
    const char *lbl[] = {"out", "lse", "dq", "dk", "dv"};
    size_t ns[] = {nq, nl, nq, nk, nk};
    for (int j = 0; j < 5; j++) {
        snprintf(name, sizeof name, "attention %s B%d T%d h%d G%d dh%d", lbl[j], B, T, h, G, dh);
        compare(name, c->prec, res[0][j], res[1][j], ns[j], j == 1 ? 2e-5 : (c->bf ? c->tol : 2e-5));
    }
    for (int k = 0; k < 2; k++) for (int j = 0; j < 5; j++) free(res[k][j]);
    free(q); free(k_); free(v); free(dout);
}

/* The attention op at every head dim of the CUDA kernels. The tensor-core path (bf16;
 * attention_mma.cu) takes dh 64 under both forward tilings, 128 query rows per block
 * (the default) and 64 (T6_ATTN_FWD_ROWS=64): T = 300 has a partial 128-row tile whose
 * second half is past T, and one whose m-tiles end mid-tile. It also takes dh 96 (MLA's
 * query/key heads) and 128, always with 64-row forward blocks (run under both settings
 * all the same: the variable must not change them) and 32-query dK/dV tiles: T = 20 is
 * one partial tile, 77 and 300 end mid-tile, GQA / MQA groups too. dh 96 runs once
 * more with T6_ATTN_MMA_DH64_ONLY=1, the bypass, through the generic kernels. fp32
 * never takes the tensor-core path; the generic kernels stop at dh 96. */
static void run_attention(ctx *c)
{
    const int bf = c->bf;
    for (int rows = 128; rows >= 64; rows -= 64) {
        setenv("T6_ATTN_FWD_ROWS", rows == 128 ? "128" : "64", 1);
        if (bf) printf("-- attention forward with %d query rows per block (dh 64)\n", rows);
        t_attention(c, 2, 77, 6, 2, 64);
        t_attention(c, 1, 150, 5, 5, 64);
        t_attention(c, 1, 300, 3, 3, 64);
        t_attention(c, 2, 200, 4, 2, 64);
        t_attention(c, 2, 77, 6, 2, 96);
        if (bf) t_attention(c, 1, 150, 5, 5, 128);
        if (!bf) break;     /* fp32 never takes the tensor-core path */
    }
    unsetenv("T6_ATTN_FWD_ROWS");
    t_attention(c, 2, 45, 4, 1, 16);
    t_attention(c, 1, 200, 3, 3, 32);
    t_attention(c, 1, 300, 3, 3, 96);
    t_attention(c, 1, 20, 2, 1, 96);
    t_attention(c, 2, 200, 4, 1, 96);        /* MQA: 4 query heads walk one key block */
    if (bf) {
        t_attention(c, 2, 77, 6, 2, 128);
        t_attention(c, 1, 300, 4, 2, 128);
        t_attention(c, 1, 20, 2, 1, 128);
        printf("-- attention dh 96 on the generic kernels (T6_ATTN_MMA_DH64_ONLY=1)\n");
        setenv("T6_ATTN_MMA_DH64_ONLY", "1", 1);
        t_attention(c, 2, 77, 6, 2, 96);
        unsetenv("T6_ATTN_MMA_DH64_ONLY");
    }
}

static void t_elementwise(ctx *c, size_t n)
{
    float *a = rnd(n, 4.0f, c->bf), *bb = rnd(n, 2.0f, c->bf), *g = rnd(n, 1.0f, c->bf);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][4];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *h1 = up_act(be, a, n), *h2 = up_act(be, bb, n), *dg = up_act(be, g, n);
        void *out = be->ops->alloc(be, n * be->act_bytes), *d1 = be->ops->alloc(be, n * be->act_bytes);
        void *d2 = be->ops->alloc(be, n * be->act_bytes);
        poison(be, out, n * be->act_bytes); poison(be, d1, n * be->act_bytes); poison(be, d2, n * be->act_bytes);
        be->ops->swiglu_fwd(be, out, h1, h2, n);
        be->ops->swiglu_bwd(be, d1, d2, dg, h1, h2, n);
        be->ops->add_inplace(be, h1, h2, n);
        res[k][0] = down_act(be, out, n);
        res[k][1] = down_act(be, d1, n);
        res[k][2] = down_act(be, d2, n);
        res[k][3] = down_act(be, h1, n);
        void *bufs[] = {h1, h2, dg, out, d1, d2};
        for (int j = 0; j < 6; j++) be->ops->free(be, bufs[j]);
    }
    compare("swiglu_fwd", c->prec, res[0][0], res[1][0], n, c->tol);
    compare("swiglu_bwd dh1", c->prec, res[0][1], res[1][1], n, c->tol);
    compare("swiglu_bwd dh2", c->prec, res[0][2], res[1][2], n, c->tol);
    compare("add_inplace", c->prec, res[0][3], res[1][3], n, c->tol);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 4; j++) free(res[k][j]);
    free(a); free(bb); free(g);
}

static void t_cross_entropy(ctx *c, int N, int V)
{
    float *x = rnd((size_t)N * V, 6.0f, c->bf);
    int32_t *tg = t6_malloc(N * sizeof(int32_t));
    for (int i = 0; i < N; i++) tg[i] = (i % 5 == 3) ? -1 : (int32_t)(urand() * V);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][3];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        void *lg = up_act(be, x, (size_t)N * V), *lg2 = up_act(be, x, (size_t)N * V);
        float *loss = be->ops->alloc(be, N * sizeof(float)), *loss2 = be->ops->alloc(be, N * sizeof(float));
        int32_t *t = up_i(be, tg, N);
        poison(be, loss, N * sizeof(float)); poison(be, loss2, N * sizeof(float));
        be->ops->cross_entropy(be, loss, lg, t, N, V, 0.0f);
        be->ops->cross_entropy(be, loss2, lg2, t, N, V, 0.37f);
        res[k][0] = down_f(be, loss, N);
        res[k][1] = down_f(be, loss2, N);
        res[k][2] = down_act(be, lg2, (size_t)N * V);
        void *bufs[] = {lg, lg2, loss, loss2, t};
        for (int j = 0; j < 5; j++) be->ops->free(be, bufs[j]);
    }
    char name[64];
    snprintf(name, sizeof name, "cross_entropy loss N%d V%d", N, V);
    compare(name, c->prec, res[0][0], res[1][0], N, 2e-5);
    snprintf(name, sizeof name, "cross_entropy loss (with grad)");
    compare(name, c->prec, res[0][1], res[1][1], N, 2e-5);
    snprintf(name, sizeof name, "cross_entropy dlogits in place");
    compare(name, c->prec, res[0][2], res[1][2], (size_t)N * V, c->bf ? c->tol : 2e-5);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 3; j++) free(res[k][j]);
    free(x); free(tg);
}

static void t_optim(ctx *c)
{
    const size_t n = 100003;
    float *p = rnd(n, 1.0f, 0), *g = rnd(n, 0.1f, 0), *m = rnd(n, 0.01f, 0), *v = rnd(n, 0.01f, 0);
    for (size_t i = 0; i < n; i++) v[i] = fabsf(v[i]);
    t6_backend *b[2] = {c->cpu, c->gpu};
    float *res[2][5];
    double ss[2];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = b[k];
        float *dp = up_f(be, p, n), *dg = up_f(be, g, n), *dm = up_f(be, m, n), *dv = up_f(be, v, n);
        void *comp = be->weights_are_master ? NULL : be->ops->alloc(be, n * be->act_bytes);
        if (comp) poison(be, comp, n * be->act_bytes);
        ss[k] = be->ops->sum_squares(be, dg, n);
        be->ops->adamw(be, dp, comp, dg, dm, dv, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 7, 0.5f);
        res[k][0] = down_f(be, dp, n);
        res[k][1] = down_f(be, dm, n);
        res[k][2] = down_f(be, dv, n);
        res[k][3] = comp ? down_act(be, comp, n) : down_f(be, dp, n);
        be->ops->scale(be, dg, 0.37f, n);
        res[k][4] = down_f(be, dg, n);
        be->ops->free(be, dp); be->ops->free(be, dg); be->ops->free(be, dm); be->ops->free(be, dv);
        if (comp) be->ops->free(be, comp);
    }
    compare("adamw param", c->prec, res[0][0], res[1][0], n, 1e-6);
    compare("adamw m", c->prec, res[0][1], res[1][1], n, 1e-6);
    compare("adamw v", c->prec, res[0][2], res[1][2], n, 1e-6);
    compare("adamw compute copy", c->prec, res[0][3], res[1][3], n, c->bf ? 4e-3 : 1e-6);
    compare("scale", c->prec, res[0][4], res[1][4], n, 1e-7);
    float a = (float)ss[0], bq = (float)ss[1];
    compare("sum_squares", c->prec, &a, &bq, 1, 1e-9);
    for (int k = 0; k < 2; k++) for (int j = 0; j < 5; j++) free(res[k][j]);
    free(p); free(g); free(m); free(v);
}

/* ---- generation ops (decode): references computed here in double, materialising K
 * and V, so they do not depend on the CPU backend's forms; where the CPU backend has
 * the op too, the CUDA result is also compared with it ---- */
static void t_rope_pos(ctx *c, int dh)
{
    const int N = 5, rows = 3;
    const int32_t pos[5] = {0, 7, 1023, 4097, 300001};
    size_t n = (size_t)N * rows * dh;
    float *x = rnd(n, 1.0f, c->bf), *ref = t6_malloc(n * sizeof(float));
    for (int r = 0; r < N; r++)
        for (int i = 0; i < dh / 2; i++) {
            double ang = (double)pos[r] * pow(10000.0, -2.0 * i / dh);
            float cs = (float)cos(ang), sn = (float)sin(ang);
            for (int k = 0; k < rows; k++) {
                const float *p = x + ((size_t)r * rows + k) * dh;
                float *o = ref + ((size_t)r * rows + k) * dh;
                o[i] = p[i] * cs + p[i + dh / 2] * sn;
                o[i + dh / 2] = -p[i] * sn + p[i + dh / 2] * cs;
            }
        }
    t6_backend *be = c->gpu;
    void *d = up_act(be, x, n);
    int32_t *dp = up_i(be, pos, N);
    be->ops->rope_fwd_pos(be, d, dp, N, rows, dh, 10000.0);
    float *got = down_act(be, d, n);
    char name[64];
    snprintf(name, sizeof name, "rope_fwd_pos dh=%d", dh);
    compare(name, c->prec, ref, got, n, c->bf ? c->tol : 2e-5);
    be->ops->free(be, d); be->ops->free(be, dp);
    free(x); free(ref); free(got);
}

static void t_cache_scatter(ctx *c)
{
    const int N = 3, M = 37, width = 45, ld = 51;
    const int32_t pos[3] = {36, 0, 17};
    size_t nc = (size_t)N * M * width;
    float *cache = rnd(nc, 1.0f, c->bf), *src = rnd((size_t)N * ld, 1.0f, c->bf);
    float *ref = t6_malloc(nc * sizeof(float));
    memcpy(ref, cache, nc * sizeof(float));
    for (int r = 0; r < N; r++)
        memcpy(ref + ((size_t)r * M + pos[r]) * width, src + (size_t)r * ld, width * sizeof(float));
    t6_backend *be = c->gpu;
    void *dc = up_act(be, cache, nc), *ds = up_act(be, src, (size_t)N * ld);
    int32_t *dp = up_i(be, pos, N);
    be->ops->cache_scatter(be, dc, ds, ld, dp, N, M, width);
    float *got = down_act(be, dc, nc);
    compare("cache_scatter N3 M37 w45 ld51", c->prec, ref, got, nc, 0.0);
    be->ops->free(be, dc); be->ops->free(be, ds); be->ops->free(be, dp);
    free(cache); free(src); free(ref); free(got);
}

/* softmax(q . K_t / sqrt(dh)) V over t < len for one head; K/V rows given by callbacks
 * of the cache layout (materialised here, in double) */
typedef struct {
    const float *ak, *bk, *av, *bv;   /* TPA factors, or bk = K, bv = V with ak = NULL */
    int M, h, RK, RV, G, dh;
} dec_cache;
static void ref_row(const dec_cache *C, int b, int i, const float *q, int len, float *out)
{
    const int dh = C->dh;
    double *K = t6_malloc((size_t)dh * sizeof(double)), *V = t6_malloc((size_t)dh * sizeof(double));
    double *acc = t6_calloc((size_t)dh, sizeof(double)), m = -INFINITY, l = 0.0;
    for (int t = 0; t < len; t++) {
        size_t tok = (size_t)b * C->M + t;
        for (int d = 0; d < dh; d++) K[d] = V[d] = 0.0;
        if (C->ak) {
            for (int r = 0; r < C->RK; r++)
                for (int d = 0; d < dh; d++)
                    K[d] += (double)C->ak[(tok * C->RK + r) * C->h + i] * C->bk[(tok * C->RK + r) * dh + d] / C->RK;
            for (int r = 0; r < C->RV; r++)
                for (int d = 0; d < dh; d++)
                    V[d] += (double)C->av[(tok * C->RV + r) * C->h + i] * C->bv[(tok * C->RV + r) * dh + d] / C->RV;
        } else {
            int g = i / (C->h / C->G);
            for (int d = 0; d < dh; d++) {
                K[d] = C->bk[(tok * C->G + g) * dh + d];
                V[d] = C->bv[(tok * C->G + g) * dh + d];
            }
        }
        double s = 0.0;
        for (int d = 0; d < dh; d++) s += q[d] * K[d];
        s /= sqrt((double)dh);
        double mn = s > m ? s : m, al = exp(m - mn), p = exp(s - mn);
        for (int d = 0; d < dh; d++) acc[d] = acc[d] * al + p * V[d];
        l = l * al + p;
        m = mn;
    }
    for (int d = 0; d < dh; d++) out[d] = (float)(acc[d] / l);
    free(K); free(V); free(acc);
}

/* random cache in host floats with every slot at or beyond a row's length NaN, so a
 * kernel that reads past lens[b] fails */
static float *dec_cache_rnd(int B, int M, int w, const int32_t *lens, int bf)
{
    float *p = rnd((size_t)B * M * w, 1.0f, bf);
    for (int b = 0; b < B; b++)
        for (size_t k = (size_t)lens[b] * w; k < (size_t)M * w; k++) p[(size_t)b * M * w + k] = NAN;
    return p;
}

static void t_decode_tpa(ctx *c, int B, int M, const int32_t *lens, int h, int RK, int RV, int dh)
{
    size_t nq = (size_t)B * h * dh;
    float *q = rnd(nq, 1.5f, c->bf);
    dec_cache C = {dec_cache_rnd(B, M, RK * h, lens, c->bf), dec_cache_rnd(B, M, RK * dh, lens, c->bf),
                   dec_cache_rnd(B, M, RV * h, lens, c->bf), dec_cache_rnd(B, M, RV * dh, lens, c->bf),
                   M, h, RK, RV, 1, dh};
    float *ref = t6_malloc(nq * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++) ref_row(&C, b, i, q + ((size_t)b * h + i) * dh, lens[b], ref + ((size_t)b * h + i) * dh);
    size_t n[4] = {(size_t)B * M * RK * h, (size_t)B * M * RK * dh, (size_t)B * M * RV * h, (size_t)B * M * RV * dh};
    const float *hp[4] = {C.ak, C.bk, C.av, C.bv};
    t6_backend *bs[2] = {c->gpu, c->cpu};
    char name[96];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = bs[k];
        if (!be->ops->decode_attention_tpa || (k == 1 && (size_t)B * M > 100000)) continue;
        void *d[4];
        for (int j = 0; j < 4; j++) d[j] = up_act(be, hp[j], n[j]);
        void *dq = up_act(be, q, nq), *out = be->ops->alloc(be, nq * be->act_bytes);
        int32_t *dl = up_i(be, lens, B);
        poison(be, out, nq * be->act_bytes);
        be->ops->decode_attention_tpa(be, out, dq, d[0], d[1], d[2], d[3], dl, B, M, h, RK, RV, dh);
        float *got = down_act(be, out, nq);
        if (k == 0) {
            snprintf(name, sizeof name, "decode_tpa B%d M%d h%d R%d/%d dh%d", B, M, h, RK, RV, dh);
            compare(name, c->prec, ref, got, nq, c->bf ? c->tol : 2e-5);
        } else {   /* the CPU backend's form on the same (act-rounded) inputs */
            snprintf(name, sizeof name, "decode_tpa (CPU op) B%d M%d h%d R%d/%d", B, M, h, RK, RV);
            compare(name, "fp32", ref, got, nq, 2e-5);
        }
        for (int j = 0; j < 4; j++) be->ops->free(be, d[j]);
        be->ops->free(be, dq); be->ops->free(be, out); be->ops->free(be, dl);
        free(got);
    }
    free(q); free(ref);
    for (int j = 0; j < 4; j++) free((void *)hp[j]);
}

static void t_decode_kv(ctx *c, int B, int M, const int32_t *lens, int h, int G, int dh)
{
    size_t nq = (size_t)B * h * dh, nk = (size_t)B * M * G * dh;
    float *q = rnd(nq, 1.5f, c->bf);
    dec_cache C = {NULL, dec_cache_rnd(B, M, G * dh, lens, c->bf), NULL, dec_cache_rnd(B, M, G * dh, lens, c->bf),
                   M, h, 1, 1, G, dh};
    float *ref = t6_malloc(nq * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++) ref_row(&C, b, i, q + ((size_t)b * h + i) * dh, lens[b], ref + ((size_t)b * h + i) * dh);
    t6_backend *bs[2] = {c->gpu, c->cpu};
    char name[96];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = bs[k];
        if (!be->ops->decode_attention_kv) continue;
        void *dk = up_act(be, C.bk, nk), *dv = up_act(be, C.bv, nk);
        void *dq = up_act(be, q, nq), *out = be->ops->alloc(be, nq * be->act_bytes);
        int32_t *dl = up_i(be, lens, B);
        poison(be, out, nq * be->act_bytes);
        be->ops->decode_attention_kv(be, out, dq, dk, dv, dl, B, M, h, G, dh);
        float *got = down_act(be, out, nq);
        snprintf(name, sizeof name, "decode_kv%s B%d M%d h%d G%d dh%d", k ? " (CPU op)" : "", B, M, h, G, dh);
        compare(name, k ? "fp32" : c->prec, ref, got, nq, k ? 2e-5 : (c->bf ? c->tol : 2e-5));
        be->ops->free(be, dk); be->ops->free(be, dv); be->ops->free(be, dq); be->ops->free(be, out);
        be->ops->free(be, dl);
        free(got);
    }
    free(q); free(ref); free((void *)C.bk); free((void *)C.bv);
}

/* MLA's latent decode: every head attends over the row's records [c (d_c), k_R (d_R)]
 * with its absorbed query (width d_c + d_R), values = the first d_c numbers; reference
 * in double here, and the CPU op on the same inputs */
static void t_decode_mla(ctx *c, int B, int M, const int32_t *lens, int h, int dcl, int dr)
{
    const int W = dcl + dr;
    const float scale = 1.0f / sqrtf(64.0f + dr);
    size_t nq = (size_t)B * h * W, no = (size_t)B * h * dcl, nc = (size_t)B * M * W;
    float *q = rnd(nq, 0.25f, c->bf), *cache = dec_cache_rnd(B, M, W, lens, c->bf);
    float *ref = t6_malloc(no * sizeof(float));
    double *s = t6_malloc((size_t)M * sizeof(double)), *acc = t6_malloc((size_t)dcl * sizeof(double));
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++) {
            const float *qi = q + ((size_t)b * h + i) * W;
            double mx = -INFINITY, l = 0.0;
            for (int t = 0; t < lens[b]; t++) {
                const float *ct = cache + ((size_t)b * M + t) * W;
                double d = 0.0;
                for (int j = 0; j < W; j++) d += (double)qi[j] * ct[j];
                s[t] = d * scale;
                if (s[t] > mx) mx = s[t];
            }
            for (int j = 0; j < dcl; j++) acc[j] = 0.0;
            for (int t = 0; t < lens[b]; t++) {
                const double p = exp(s[t] - mx);
                const float *ct = cache + ((size_t)b * M + t) * W;
                l += p;
                for (int j = 0; j < dcl; j++) acc[j] += p * ct[j];
            }
            for (int j = 0; j < dcl; j++) ref[((size_t)b * h + i) * dcl + j] = (float)(acc[j] / l);
        }
    free(s); free(acc);
    t6_backend *bs[2] = {c->gpu, c->cpu};
    char name[96];
    for (int k = 0; k < 2; k++) {
        t6_backend *be = bs[k];
        if (!be->ops->decode_attention_mla || (k == 1 && (size_t)B * M > 100000)) continue;
        void *dc = up_act(be, cache, nc), *dq = up_act(be, q, nq), *out = be->ops->alloc(be, no * be->act_bytes);
        int32_t *dl = up_i(be, lens, B);
        poison(be, out, no * be->act_bytes);
        be->ops->decode_attention_mla(be, out, dq, dc, dl, B, M, h, dcl, dr, scale);
        float *got = down_act(be, out, no);
        snprintf(name, sizeof name, "decode_mla%s B%d M%d h%d d_c%d d_R%d", k ? " (CPU op)" : "", B, M, h, dcl, dr);
        compare(name, k ? "fp32" : c->prec, ref, got, no, k ? 2e-5 : (c->bf ? c->tol : 2e-5));
        be->ops->free(be, dc); be->ops->free(be, dq); be->ops->free(be, out); be->ops->free(be, dl);
        free(got);
    }
    free(q); free(cache); free(ref);
}

static void run_decode_mla_cases(ctx *c0)
{
    ctx c = *c0;
    const int32_t l3[3] = {1000, 517, 1}, l3b[3] = {777, 300, 45}, l2[2] = {333, 17}, l1[1] = {200};
    t_decode_mla(&c, 3, 1000, l3, 13, 256, 32);      /* mla_small (released): 13 heads, 288-number records */
    t_decode_mla(&c, 3, 777, l3b, 23, 512, 32);      /* mla_medium (Table 10): 32 heads per block */
    t_decode_mla(&c, 3, 777, l3b, 34, 512, 64);      /* d_R 64, two head groups (32 + 2) */
    t_decode_mla(&c, 2, 333, l2, 7, 600, 16);        /* d_c > 512: 4 columns per thread */
    t_decode_mla(&c, 1, 200, l1, 5, 9, 4);           /* odd record width */
    const int32_t lmla[2] = {65536, 40001};
    t_decode_mla(&c, 2, 65536, lmla, 32, 512, 64);   /* the decode bench's shape, a 64K cache */
}

static void run_decode_mla(t6_backend *cpu, t6_backend *gpu, int bf)
{
    ctx c = {cpu, gpu, bf, bf ? "bf16" : "fp32", bf ? 1.5e-2 : 1e-5};
    printf("== decode ops (mla), %s ==\n", c.prec);
    run_decode_mla_cases(&c);
}

/* One decode call's path (kernels/decode.cu) against the one expected: a knob's
 * setting must leave the call on the tensor-core split kernel + combine. */
static void expect_path(ctx *c, const char *knob, const char *what, const char *want)
{
    int grid[3];
    const char *got = t6_cuda_decode_path(c->gpu, grid);
    const int ok = !strcmp(got, want);
    printf("%-4s %-5s decode path %s %s: %s (want %s; %d blocks/row, %d warps, %d tokens/warp)\n",
           ok ? "ok" : "FAIL", c->prec, knob, what, got, want, grid[0], grid[1], grid[2]);
    if (!ok) g_fail++;
    g_checks++;
}

/* The L2 prefetch distance (T6_DECODE_PREFETCH, kernels/decode.cu: lines requested
 * ahead of the register loads, never past a row's length) must not change a result:
 * off, and far ahead (8 tiles: most splits end within it), at the paper's shape at
 * B = 1, 8 (rows of different lengths, one of 1 token) and a 64K cache, T6 small's
 * heads and ranks (3 m-tiles), dh 16, and GQA (a kv head's segments at a stride: the
 * per-token prefetch) and one-warp blocks (T6_DECODE_WARPS=1). bf16 only (the
 * tensor-core path). The caller's own knobs are put back after. */
static void run_decode_knobs(ctx *c)
{
    const char *names[2] = {"T6_DECODE_PREFETCH", "T6_DECODE_WARPS"};
    char *keep[2];
    for (int i = 0; i < 2; i++) keep[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;
    const int32_t l3[3] = {1000, 517, 1}, l3b[3] = {777, 300, 45}, l2[2] = {333, 17};
    const int32_t l4k[1] = {4096}, l8[8] = {4096, 4096, 4000, 1, 4096, 2048, 4095, 16}, l64k[2] = {65536, 40000};
    static const char *set[][2] = {{"0", ""}, {"8", ""}, {"2", "1"}};
    for (int k = 0; k < 3; k++) {
        char kn[64];
        setenv(names[0], set[k][0], 1);
        if (*set[k][1]) setenv(names[1], set[k][1], 1);
        else unsetenv(names[1]);
        snprintf(kn, sizeof kn, "PREFETCH=%s%s%s", set[k][0], *set[k][1] ? " WARPS=" : "", set[k][1]);
        printf("-- T6_DECODE_%s\n", kn);
        t_decode_tpa(c, 1, 4096, l4k, 32, 1, 1, 64);
        expect_path(c, kn, "tpa B1 M4096", "split+combine");
        t_decode_tpa(c, 8, 4096, l8, 32, 1, 1, 64);
        expect_path(c, kn, "tpa B8 M4096", "split+combine");
        t_decode_tpa(c, 2, 65536, l64k, 32, 1, 1, 64);
        expect_path(c, kn, "tpa B2 M65536", "split+combine");
        t_decode_tpa(c, 3, 1000, l3, 34, 2, 2, 64);
        expect_path(c, kn, "tpa B3 M1000 h34", "split+combine");
        t_decode_tpa(c, 2, 333, l2, 34, 2, 1, 16);
        expect_path(c, kn, "tpa B2 M333 dh16", "split+combine");
        t_decode_kv(c, 3, 777, l3b, 8, 2, 64);
        expect_path(c, kn, "kv B3 M777 G2", "split+combine");
        t_decode_kv(c, 3, 1000, l3, 34, 2, 64);
        expect_path(c, kn, "kv B3 M1000 h34 G2", "split+combine");
    }
    for (int i = 0; i < 2; i++) {
        if (keep[i]) setenv(names[i], keep[i], 1);
        else unsetenv(names[i]);
        free(keep[i]);
    }
}

static void run_decode(t6_backend *cpu, t6_backend *gpu, int bf)
{
    ctx c = {cpu, gpu, bf, bf ? "bf16" : "fp32", bf ? 1.5e-2 : 1e-5};
    printf("== decode ops, %s ==\n", c.prec);
    t_rope_pos(&c, 64);
    t_rope_pos(&c, 16);
    t_cache_scatter(&c);
    const int32_t l3[3] = {1000, 517, 1}, l3b[3] = {777, 300, 45}, l2[2] = {333, 17}, l1[1] = {200};
    t_decode_tpa(&c, 3, 1000, l3, 34, 2, 2, 64);     /* T6 small's heads and ranks; 3 m-tiles */
    t_decode_tpa(&c, 3, 777, l3b, 32, 1, 1, 64);     /* the paper's decode setting (full tiles) */
    t_decode_tpa(&c, 3, 1000, l3, 34, 1, 1, 64);
    t_decode_tpa(&c, 2, 333, l2, 34, 2, 1, 16);
    t_decode_tpa(&c, 3, 777, l3b, 16, 2, 2, 16);
    t_decode_tpa(&c, 1, 200, l1, 5, 3, 2, 32);       /* dh 32: the generic kernel */
    t_decode_tpa(&c, 3, 1000, l3, 64, 1, 2, 16);     /* 4 m-tiles */
    t_decode_tpa(&c, 3, 1000, l3, 32, 2, 2, 64);     /* ranks 2/2 past the cp.async ring's rank 0 */
    const int32_t l4k[1] = {4096};
    t_decode_tpa(&c, 1, 4096, l4k, 32, 1, 1, 64);    /* decode_bench's B=1 M=4K: many merged blocks */
    const int32_t l8[8] = {30000, 1, 29999, 17, 30000, 12345, 16, 30000};
    t_decode_tpa(&c, 8, 30000, l8, 32, 1, 1, 64);    /* B=8: 3-warp blocks, the L2 prefetch far ahead */
    const int32_t lbig[2] = {524288, 300001};
    t_decode_tpa(&c, 2, 524288, lbig, 16, 1, 1, 64); /* a 512K cache */
    t_decode_kv(&c, 3, 1000, l3, 8, 2, 64);          /* GQA */
    t_decode_kv(&c, 3, 777, l3b, 6, 6, 64);          /* MHA */
    t_decode_kv(&c, 2, 333, l2, 4, 1, 16);           /* MQA */
    t_decode_kv(&c, 3, 1000, l3, 34, 2, 64);         /* 17 query heads per kv head: 2 m-tiles */
    t_decode_kv(&c, 1, 200, l1, 6, 3, 32);           /* generic */
    run_decode_mla_cases(&c);
    if (bf) run_decode_knobs(&c);
}

static void run_ops(t6_backend *cpu, t6_backend *gpu, int bf)
{
    ctx c = {cpu, gpu, bf, bf ? "bf16" : "fp32", bf ? 1.5e-2 : 1e-5};
    printf("== ops, %s ==\n", c.prec);
    t_embed(&c);
    t_rmsnorm(&c, 99);
    t_rmsnorm(&c, 136);      /* the bf16 vector path (d % 8 == 0) */
    t_rmsnorm(&c, 8);        /* vector path, one vector per row (most lanes idle) */
    t_rmsnorm(&c, 768);      /* T6 small: three vectors per lane */
    t_rmsnorm(&c, 1032);     /* five per lane, the last partly */
    t_rmsnorm(&c, 2048);     /* the vector path's largest row */
    t_rmsnorm(&c, 2056);     /* past it: the block-per-row kernels */
    t_add_rmsnorm(&c, 67, 99);
    t_add_rmsnorm(&c, 67, 136);
    t_add_rmsnorm(&c, 67, 768);
    t_add_rmsnorm(&c, 3, 2048);
    t_add_rmsnorm(&c, 5, 2056);
    t_matmul(&c, 77, 93, 51, 0, 0);
    t_matmul(&c, 333, 130, 515, 0, 0);
    t_matmul(&c, 77, 93, 51, 11, 13);     /* strides past the alignment pad (NaN there) */
    t_matmul(&c, 200, 64, 170, 0, 6);     /* the model's SwiGLU layout: 170 at stride 176 */
    t_matmul(&c, 200, 170, 64, 6, 0);
    t_matmul(&c, 77, 93, 51, 3, 2);       /* strides that are not 16-byte aligned: copies */
    t_mlp_strided(&c, 83, 64, 170);
    t_mlp_strided(&c, 256, 144, 382);
    t_rope(&c, 16);
    t_rope(&c, 64);
    t_tpa(&c, 7, 3, 64);
    t_tpa(&c, 34, 6, 64);
    t_tpa(&c, 5, 2, 16);
    t_tpa(&c, 47, 6, 64);    /* T6 medium's query factors */
    t_tpa(&c, 47, 2, 64);
    t_tpa_split(&c, 2, 37, 34, 6, 2, 2, 64, 984);   /* T6 small's widths (980 at stride 984) */
    t_tpa_split(&c, 1, 29, 47, 6, 2, 2, 64, 1112);  /* T6 medium's (1110) */
    t_tpa_split(&c, 3, 5, 3, 2, 1, 3, 16, 131);     /* odd widths and stride */
    t_copy_rows(&c, 1001, 64, 64, 0, 96, 0, 0);     /* MLA's head values out of padded heads: 16-byte path */
    t_copy_rows(&c, 777, 64, 96, 0, 64, 0, 0);      /* ... and back */
    t_copy_rows(&c, 300, 256, 288, 0, 256, 0, 0);
    t_copy_rows(&c, 301, 64, 64, 1, 96, 0, 0);      /* dst not 16-byte aligned: element path */
    t_copy_rows(&c, 37, 5, 7, 0, 11, 3, 0);         /* odd widths and strides */
    t_copy_rows(&c, 401, 32, 96, 0, 32, 0, 1);      /* accumulate: element path */
    t_rmsnorm_w(&c, 1001, 99);                      /* odd sizes, 4 uneven row chunks */
    t_rmsnorm_w(&c, 24576, 256);                    /* MLA small's kv latent at B 24: 128 chunks */
    t_mla_split(&c, 2, 37, 13, 64, 32, 64, 288, 256);  /* MLA small's heads, k_pe inside kv_a's rows */
    t_mla_split(&c, 3, 5, 3, 5, 6, 7, 17, 9);          /* odd sizes, v wider than the nope part */
    t_mla_split(&c, 1, 9, 2, 0, 4, 3, 4, 0);           /* no nope part, v narrower than the rope */
    t_tpa_qkv(&c, 2, 37, 34, 6, 2, 2, 64, 984);     /* T6 small (the 16-byte vector paths in bf16) */
    t_tpa_qkv(&c, 1, 29, 47, 6, 2, 2, 64, 1112);    /* T6 medium */
    t_tpa_qkv(&c, 3, 5, 3, 2, 1, 3, 16, 131);       /* odd widths and stride */
    t_tpa_qkv(&c, 2, 9, 5, 3, 3, 1, 6, 83);         /* dh % 8 != 0: the generic kernels */
    t_tpa_qkv(&c, 1, 300, 7, 1, 5, 4, 10, 173);     /* many blocks, positions past 256 */
    t_tpa_qkv(&c, 2, 21, 3, 7, 5, 1, 32, 464);      /* v2: ranks over one bwd group of 4, dh 32 */
    t_tpa_qkv(&c, 3, 9, 2, 2, 2, 2, 128, 784);      /* v2: dh 128 (16 lanes per head row) */
    run_attention(&c);
    t_elementwise(&c, 1001);
    t_elementwise(&c, 8008); /* the bf16 vector path (n % 8 == 0) */
    t_cross_entropy(&c, 13, 1003);
    t_cross_entropy(&c, 7, 50304);  /* the bf16 vector path */
    t_cross_entropy(&c, 5, 1000);
    t_optim(&c);
}

/* ---- model parity ---- */
static t6_model_config small_cfg(t6_attn_type at)
{
    t6_model_config m;
    memset(&m, 0, sizeof m);
    m.attention = at;
    m.n_layer = 2;
    m.n_embd = 144;
    m.head_dim = 64;
    m.q_rank = 6; m.k_rank = 2; m.v_rank = 2;
    m.vocab_size = 515;
    m.block_size = 128;
    m.rope_base = 10000.0;
    m.mlp_hidden = 8 * m.n_embd / 3;
    /* TPA and MQA with a SwiGLU width that is not a multiple of 8 (stride 384, as
     * 2730 -> 2736 at medium size); the others keep the dense 384 */
    if (at == T6_ATTN_TPA || at == T6_ATTN_MQA) m.mlp_hidden -= 2;
    switch (at) {
    case T6_ATTN_TPA: m.n_head = 5; m.n_kv_head = 5; break;
    case T6_ATTN_TPA_KVONLY: m.n_head = 3; m.n_kv_head = 3; break;
    case T6_ATTN_MHA: m.n_head = 3; m.n_kv_head = 3; break;
    case T6_ATTN_MQA: m.n_head = 3; m.n_kv_head = 1; break;
    case T6_ATTN_GQA: m.n_head = 4; m.n_kv_head = 2; break;
    case T6_ATTN_MLA:
        /* the paper's head sizes (q/k 64 + 32 rope = 96, values 64 padded to 96), small latents */
        m.n_head = 3; m.n_kv_head = 3;
        m.q_lora_rank = 96; m.kv_lora_rank = 48; m.qk_rope_head_dim = 32; m.v_head_dim = 64;
        break;
    }
    return m;
}

static void batch(int32_t *tok, int32_t *tgt, int N, int V, int step)
{
    /* text-like: a noisy repeating pattern, so a few steps visibly lower the loss */
    for (int i = 0; i <= N; i++) {
        int v = (int)((i * 7 + step * 13) % 29);
        if (urand() < 0.2) v = (int)(urand() * V);
        if (i < N) tok[i] = v;
        if (i > 0) tgt[i - 1] = v;
    }
    tgt[N / 3] = -1;   /* an ignored target */
}

static double rel_l2(const float *ref, const float *got, size_t n, int *nan)
{
    double num = 0.0, den = 0.0;
    *nan = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) { *nan = 1; return INFINITY; }
        double e = (double)got[i] - ref[i];
        num += e * e;
        den += (double)ref[i] * ref[i];
    }
    return sqrt(num) / (sqrt(den) > 1e-30 ? sqrt(den) : 1e-30);
}

static void run_model(t6_backend *cpu, t6_backend *gpu, int bf, t6_attn_type at)
{
    t6_model_config cfg = small_cfg(at);
    const int B = 3, T = 83, N = B * T, V = cfg.vocab_size;
    const char *prec = bf ? "bf16" : "fp32";
    printf("== model %s, %s (L=%d d=%d h=%d G=%d dh=%d, B=%d T=%d) ==\n", t6_attn_name(at), prec, cfg.n_layer,
           cfg.n_embd, cfg.n_head, cfg.n_kv_head, cfg.head_dim, B, T);
    t6_model *mc = t6_model_create(&cfg, cpu, B, T), *mg = t6_model_create(&cfg, gpu, B, T);
    const t6_param_layout *pl = t6_model_layout(mc);
    size_t np = pl->n_params;
    float *pc = t6_malloc(np * sizeof(float)), *pg = t6_malloc(np * sizeof(float));
    t6_model_init_params(mc, 1234);
    t6_model_init_params(mg, 1234);
    t6_model_get_params(mc, pc);
    t6_model_get_params(mg, pg);
    compare("init identical on both backends", prec, pc, pg, np, 0.0);
    /* perturb so the zero-initialised projections carry gradient to every tensor */
    for (size_t i = 0; i < np; i++) pc[i] += (float)((2.0 * urand() - 1.0) * 0.02);
    if (bf) for (size_t i = 0; i < np; i++) pc[i] = bf16_round(pc[i]);
    t6_model_set_params(mc, pc);
    t6_model_set_params(mg, pc);

    int32_t *tok = t6_malloc(N * sizeof(int32_t)), *tgt = t6_malloc(N * sizeof(int32_t));
    batch(tok, tgt, N, V, 0);
    t6_model_zero_grad(mc);
    t6_model_zero_grad(mg);
    float lc = t6_model_forward(mc, tok, tgt, 1, 1.0f), lg = t6_model_forward(mg, tok, tgt, 1, 1.0f);
    t6_model_backward(mc);
    t6_model_backward(mg);
    double lrel = fabs((double)lg - lc) / fabs((double)lc);
    double ltol = bf ? 1e-2 : 1e-5;
    g_checks++;
    int ok = isfinite(lg) && lrel <= ltol;
    if (!ok) g_fail++;
    printf("%-4s %-5s loss cpu %.7f gpu %.7f rel %.2e tol %.0e\n", ok ? "ok" : "FAIL", prec, lc, lg, lrel, ltol);

    float *gc = t6_malloc(np * sizeof(float)), *gg = t6_malloc(np * sizeof(float));
    t6_model_get_grads(mc, gc);
    t6_model_get_grads(mg, gg);
    /* gradient tolerance (relative L2 per tensor): fp32 1e-4; bf16 5e-2, because every
     * activation and activation gradient is rounded to 8 mantissa bits (2^-9 relative)
     * at each of the ~10 stages per layer it passes through, and these roundings add up
     * like a random walk over the 2L+2 stages between loss and a weight */
    double gtol = bf ? 5e-2 : 1e-4, worst = 0.0;
    for (int ti = 0; ti < pl->n_tensors; ti++) {
        const t6_param_info *t = &pl->tensors[ti];
        int nan;
        double r = rel_l2(gc + t->offset, gg + t->offset, t->numel, &nan);
        if (r > worst) worst = r;
        int tok_ok = !nan && r <= gtol;
        g_checks++;
        if (!tok_ok) g_fail++;
        printf("%-4s %-5s grad %-44s rel_l2 %.2e tol %.0e%s\n", tok_ok ? "ok" : "FAIL", prec, t->name, r, gtol,
               nan ? " NaN" : "");
    }
    printf("      worst gradient rel_l2 %.2e\n", worst);

    /* 20 steps of the reference recipe (AdamW, clip 1.0) on fresh batches */
    t6_optim_config oc;
    memset(&oc, 0, sizeof oc);
    oc.beta1 = 0.9; oc.beta2 = 0.95; oc.eps = 1e-8; oc.weight_decay = 0.1; oc.grad_clip = 1.0;
    t6_optim oc_c, oc_g;
    t6_optim_init(&oc_c, cpu, &oc, np);
    t6_optim_init(&oc_g, gpu, &oc, np);
    double maxdev = 0.0, first = 0.0, last = 0.0;
    double stol = bf ? 3e-2 : 1e-3;
    for (int s = 0; s < 20; s++) {
        batch(tok, tgt, N, V, s + 1);
        t6_model_zero_grad(mc);
        t6_model_zero_grad(mg);
        lc = t6_model_forward(mc, tok, tgt, 1, 1.0f);
        lg = t6_model_forward(mg, tok, tgt, 1, 1.0f);
        t6_model_backward(mc);
        t6_model_backward(mg);
        t6_optim_step(&oc_c, t6_model_params(mc), NULL, t6_model_grads(mc), 3e-3, NULL);
        t6_optim_step(&oc_g, t6_model_params(mg), NULL, t6_model_grads(mg), 3e-3, NULL);
        t6_model_sync_compute_weights(mc);
        t6_model_sync_compute_weights(mg);
        double dev = fabs((double)lg - lc) / fabs((double)lc);
        if (!isfinite(lg)) dev = INFINITY;
        if (dev > maxdev) maxdev = dev;
        if (s == 0) first = lc;
        last = lc;
        printf("      step %2d loss cpu %.6f gpu %.6f rel %.2e\n", s + 1, lc, lg, dev);
    }
    g_checks++;
    ok = maxdev <= stol && last < first;
    if (!ok) g_fail++;
    printf("%-4s %-5s 20 steps: max loss deviation %.2e (tol %.0e), cpu loss %.4f -> %.4f\n", ok ? "ok" : "FAIL", prec,
           maxdev, stol, first, last);
    t6_optim_free(&oc_c);
    t6_optim_free(&oc_g);
    free(pc); free(pg); free(gc); free(gg); free(tok); free(tgt);
    t6_model_destroy(mc);
    t6_model_destroy(mg);
}

/* train.recompute on the CUDA backend: gradients of "attention" and "block" bitwise equal
 * to "none" (same backend, so the same cuBLASLt plans; every kernel is deterministic), two
 * accumulated micro-steps; and the peak the backend counts over create + forward +
 * backward (measured after a first pass has grown the backend's own scratch) ordered
 * none > attention > block. */
static void run_recompute(t6_backend *gpu, int bf, t6_attn_type at)
{
    t6_model_config cfg = small_cfg(at);
    cfg.n_layer = 3;   /* a middle layer is rerun too */
    const int B = 3, T = 83, N = B * T, V = cfg.vocab_size;
    const char *prec = bf ? "bf16" : "fp32";
    float *g[3] = {NULL, NULL, NULL}, *p = NULL;
    size_t np = 0, peak[3] = {0, 0, 0};
    /* the two micro-batches made once: batch() draws its noise from the test's one RNG,
     * so a batch made per run would differ between the runs compared */
    int32_t *tok = t6_malloc(2 * N * sizeof(int32_t)), *tgt = t6_malloc(2 * N * sizeof(int32_t));
    for (int mu = 0; mu < 2; mu++) batch(tok + mu * N, tgt + mu * N, N, V, 40 + mu);
    for (int pass = 0; pass < 2; pass++)
        for (int rc = 0; rc < 3; rc++) {
            t6_backend_mem_reset_peak(gpu);
            t6_mem_stats st;
            t6_backend_mem_stats(gpu, &st);
            const size_t c0 = st.current;
            t6_model_opts o = {(t6_recompute)rc};
            t6_model *m = t6_model_create_opts(&cfg, gpu, B, T, &o);
            np = t6_model_layout(m)->n_params;
            if (!p) {
                t6_model_init_params(m, 99);
                p = t6_malloc(np * sizeof(float));
                t6_model_get_params(m, p);
                for (size_t i = 0; i < np; i++) p[i] += (float)((2.0 * urand() - 1.0) * 0.02);
            }
            t6_model_set_params(m, p);
            t6_model_zero_grad(m);
            for (int mu = 0; mu < 2; mu++) {
                t6_model_forward(m, tok + mu * N, tgt + mu * N, 1, 0.5f);
                t6_model_backward(m);
            }
            gpu->ops->sync(gpu);
            t6_backend_mem_stats(gpu, &st);
            peak[rc] = st.peak - c0;
            if (pass == 0) {
                g[rc] = t6_malloc(np * sizeof(float));
                t6_model_get_grads(m, g[rc]);
            }
            t6_model_destroy(m);
        }
    for (int rc = 1; rc < 3; rc++) {
        size_t diff = 0;
        double maxd = 0.0;
        for (size_t i = 0; i < np; i++)
            if (memcmp(&g[rc][i], &g[0][i], sizeof(float))) {
                diff++;
                maxd = fmax(maxd, fabs((double)g[rc][i] - g[0][i]));
            }
        g_checks++;
        if (diff) g_fail++;
        printf("%-4s %-5s recompute %-9s %-10s gradients bitwise equal to none (%zu of %zu differ, max %.2e)\n",
               diff ? "FAIL" : "ok", prec, t6_recompute_name((t6_recompute)rc), t6_attn_name(at), diff, np, maxd);
    }
    const int ordered = peak[0] > peak[1] && peak[1] > peak[2];
    g_checks++;
    if (!ordered) g_fail++;
    printf("%-4s %-5s recompute %-10s peak bytes none %zu > attention %zu > block %zu\n", ordered ? "ok" : "FAIL", prec,
           t6_attn_name(at), peak[0], peak[1], peak[2]);
    for (int rc = 0; rc < 3; rc++) free(g[rc]);
    free(p); free(tok); free(tgt);
}

/* Generation end to end (prefill + decode steps through the KV cache) on both backends
 * with the same weights: the next-token logits of every step compared, relative to the
 * largest CPU logit (fp32 1e-4: sums in other orders over two layers; bf16 5e-2: every
 * activation rounded to bf16 at each of the ~10 stages per layer, as for the model
 * check's gradients; the prefill logits are the training forward's on both sides) */
static void run_gen(t6_backend *cpu, t6_backend *gpu, int bf, t6_attn_type at)
{
    t6_model_config cfg = small_cfg(at);
    enum { B = 2, P = 40, M = 64, STEPS = 16 };
    const int V = cfg.vocab_size, lens[B] = {P, 23};
    const char *prec = bf ? "bf16" : "fp32";
    t6_model *mc = t6_model_create(&cfg, cpu, B, P), *mg = t6_model_create(&cfg, gpu, B, P);
    size_t np = t6_model_layout(mc)->n_params;
    float *pc = t6_malloc(np * sizeof(float));
    t6_model_init_params(mc, 77);
    t6_model_get_params(mc, pc);
    for (size_t i = 0; i < np; i++) pc[i] += (float)((2.0 * urand() - 1.0) * 0.02);
    if (bf) for (size_t i = 0; i < np; i++) pc[i] = bf16_round(pc[i]);
    t6_model_set_params(mc, pc);
    t6_model_set_params(mg, pc);
    t6_kvcache *kc = t6_kvcache_create(mc, B, M), *kg = t6_kvcache_create(mg, B, M);
    int32_t tok[B * P], st[B], sp[B];
    for (int i = 0; i < B * P; i++) tok[i] = (int32_t)(urand() * V) % V;
    float *lc = t6_malloc(sizeof(float) * B * V), *lg = t6_malloc(sizeof(float) * B * V);
    t6_kvcache_prefill(kc, mc, tok, lens, B, P, lc);
    t6_kvcache_prefill(kg, mg, tok, lens, B, P, lg);
    double worst = 0.0;
    int bad = 0;
    for (int s = 0; s <= STEPS; s++) {
        double mx = 0.0, e = 0.0;
        for (int i = 0; i < B * V; i++) {
            if (fabs(lc[i]) > mx) mx = fabs(lc[i]);
            if (!isfinite(lg[i])) bad = 1;
            if (fabs((double)lg[i] - lc[i]) > e) e = fabs((double)lg[i] - lc[i]);
        }
        if (e / (mx > 0 ? mx : 1) > worst) worst = e / (mx > 0 ? mx : 1);
        if (s == STEPS) break;
        for (int b = 0; b < B; b++) {
            st[b] = (int32_t)((s * 7 + b * 3 + 1) % V);
            sp[b] = lens[b] + s;
        }
        t6_model_decode_step(mc, kc, st, sp, lc);
        t6_model_decode_step(mg, kg, st, sp, lg);
    }
    const double tol = bf ? 5e-2 : 1e-4;
    g_checks++;
    int ok = !bad && worst <= tol;
    if (!ok) g_fail++;
    printf("%-4s %-5s generate %s: prefill + %d decode steps, logits rel %.2e tol %.0e%s\n", ok ? "ok" : "FAIL", prec,
           t6_attn_name(at), STEPS, worst, tol, bad ? " NaN" : "");
    free(pc); free(lc); free(lg);
    t6_kvcache_destroy(kc);
    t6_kvcache_destroy(kg);
    t6_model_destroy(mc);
    t6_model_destroy(mg);
}

int main(int argc, char **argv)
{
    t6_set_progname("gpu_check");
    const char *what = argc > 1 ? argv[1] : "all";
    int do_ops = !strcmp(what, "all") || !strcmp(what, "ops");
    int do_model = !strcmp(what, "all") || !strcmp(what, "model");
    int do_decode = !strcmp(what, "all") || !strcmp(what, "ops") || !strcmp(what, "decode");
    int do_recompute = !strcmp(what, "all") || !strcmp(what, "model") || !strcmp(what, "recompute");
    int do_gen = !strcmp(what, "all") || !strcmp(what, "decode") || !strcmp(what, "gen") || !strcmp(what, "mla");
    int do_mla = !strcmp(what, "mla");   /* MLA's decode op alone (and the generation checks) */
    int do_attn = !strcmp(what, "attn"); /* the attention op cases alone */
    t6_backend_config cc = {T6_BACKEND_CPU, T6_PREC_FP32, 0};
    t6_backend *cpu = t6_backend_create(&cc, 0);
    for (int bf = 0; bf < 2; bf++) {
        t6_backend_config gc = {T6_BACKEND_CUDA, bf ? T6_PREC_BF16 : T6_PREC_FP32, 0};
        t6_backend *gpu = t6_backend_create(&gc, 0);
        if (do_ops) run_ops(cpu, gpu, bf);
        if (do_attn) {
            ctx c = {cpu, gpu, bf, bf ? "bf16" : "fp32", bf ? 1.5e-2 : 1e-5};
            printf("== attention ops, %s ==\n", c.prec);
            run_attention(&c);
        }
        if (do_decode) run_decode(cpu, gpu, bf);
        if (do_mla) run_decode_mla(cpu, gpu, bf);
        if (do_gen) {
            printf("== generation (prefill + decode steps), %s ==\n", bf ? "bf16" : "fp32");
            t6_attn_type types[] = {T6_ATTN_TPA, T6_ATTN_TPA_KVONLY, T6_ATTN_MHA, T6_ATTN_MQA, T6_ATTN_GQA, T6_ATTN_MLA};
            for (int i = 0; i < 6; i++) run_gen(cpu, gpu, bf, types[i]);
        }
        if (do_model) {
            t6_attn_type types[] = {T6_ATTN_TPA, T6_ATTN_TPA_KVONLY, T6_ATTN_MHA, T6_ATTN_MQA, T6_ATTN_GQA, T6_ATTN_MLA};
            for (int i = 0; i < 6; i++) run_model(cpu, gpu, bf, types[i]);
        }
        if (do_recompute) {
            t6_attn_type types[] = {T6_ATTN_TPA, T6_ATTN_TPA_KVONLY, T6_ATTN_MHA, T6_ATTN_MQA, T6_ATTN_GQA, T6_ATTN_MLA};
            for (int i = 0; i < 6; i++) run_recompute(gpu, bf, types[i]);
        }
        t6_backend_destroy(gpu);
    }
    t6_backend_destroy(cpu);
    printf("gpu_check: %d checks, %d failed\n", g_checks, g_fail);
    return g_fail ? 1 : 0;
}
