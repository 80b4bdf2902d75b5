/* tpa_split.c -- the CPU reference of tpa_split / tpa_join (backend.h), the ops that
 * take TPA's fused factor projection apart (model.c runs the six projections as one
 * GEMM):
 *  - split: each of the six factors equals its column block of the fused rows, and
 *    B_Q, B_K are rotated by RoPE at the row's position t = n % T, checked against a
 *    rotation computed here in double from t6-model.md's formula (angle
 *    t * base^(-2i/dh), pair (i, i + dh/2), y1 = x1 cos + x2 sin, y2 = -x1 sin + x2 cos);
 *    the fused rows' pad columns (NaN here) are never read;
 *  - join: the inverse rotation, so join(split(x)) gives x back (to float rounding),
 *    and the fused rows' pad columns are left bit for bit as they were.
 *  - the model's memory figures count the fused output (one (N, round_up(width, 8))
 *    buffer): a TPA model's backward scratch is exactly the activation gradients plus
 *    that buffer (the gradient of the fused rows), on a real CPU model and in t6 --check's estimate for CUDA bf16, so
 *    the buffer goes through the counted allocator and the estimate sees it.
 * That a TPA model through the fused path still has the right gradients is
 * gradcheck's job (finite differences over the whole model). */
#include "tmodel.h"
#include "cpu/cpu_ops.h"
#include "config.h"

#include <stdint.h>

static void fill(float *x, size_t n, uint64_t seed)
{
    t6_rng r;
    t6_rng_init(&r, seed, 7);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * t6_rng_next_u01(&r) - 1.0);
}

static void run(int B, int T, int h, int RQ, int RK, int RV, int dh, double base)
{
    t6_backend *be = tm_cpu_backend(0);
    const int N = B * T;
    const int w[6] = {h * RQ, h * RK, h * RV, RQ * dh, RK * dh, RV * dh};
    int off[7] = {0};
    for (int j = 0; j < 6; j++) off[j + 1] = off[j] + w[j];
    const int W = off[6], ld = W + 5;          /* pad columns past the alignment pad too */
    float *fac = t6_malloc(sizeof(float) * (size_t)N * ld);
    fill(fac, (size_t)N * ld, 11);
    for (int n = 0; n < N; n++)
        for (int j = W; j < ld; j++) fac[(size_t)n * ld + j] = NAN;
    void *f[6];
    for (int j = 0; j < 6; j++) f[j] = t6_malloc(sizeof(float) * (size_t)N * w[j] + 4);
    be->ops->tpa_split(be, f, fac, ld, B, T, h, RQ, RK, RV, dh, base);

    /* expected, computed here */
    double err_copy = 0.0, err_rot = 0.0;
    int nan_seen = 0;
    for (int n = 0; n < N; n++) {
        const int t = n % T;
        for (int j = 0; j < 6; j++) {
            const float *src = fac + (size_t)n * ld + off[j];
            const float *got = (const float *)f[j] + (size_t)n * w[j];
            for (int c = 0; c < w[j]; c++) nan_seen |= isnan(got[c]);
            if (j != 3 && j != 4) {
                for (int c = 0; c < w[j]; c++) err_copy = fmax(err_copy, fabs((double)got[c] - src[c]));
                continue;
            }
            for (int r = 0; r < w[j] / dh; r++)
                for (int i = 0; i < dh / 2; i++) {
                    const double a = t * pow(base, -2.0 * i / dh), co = cos(a), si = sin(a);
                    const double x1 = src[r * dh + i], x2 = src[r * dh + i + dh / 2];
                    err_rot = fmax(err_rot, fabs(got[r * dh + i] - (x1 * co + x2 * si)));
                    err_rot = fmax(err_rot, fabs(got[r * dh + i + dh / 2] - (-x1 * si + x2 * co)));
                }
        }
    }
    tm_check(err_copy == 0.0, "split B%d T%d h%d R %d/%d/%d dh%d: A_Q, A_K, A_V, B_V copied exactly", B, T, h, RQ,
             RK, RV, dh);
    tm_check(err_rot < 1e-5, "split: B_Q, B_K rotated as t6-model.md says (max err %.2e)", err_rot);
    tm_check(!nan_seen, "split: the NaN pad columns were not read");

    /* join back into a buffer whose pads hold a recognisable value */
    float *back = t6_malloc(sizeof(float) * (size_t)N * ld);
    for (size_t e = 0; e < (size_t)N * ld; e++) back[e] = -7.25f;
    be->ops->tpa_join(be, back, ld, (const void *const *)f, B, T, h, RQ, RK, RV, dh, base);
    double err_back = 0.0;
    int pads_kept = 1;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < ld; j++) {
            const float g = back[(size_t)n * ld + j];
            if (j >= W) pads_kept &= g == -7.25f;
            else err_back = fmax(err_back, fabs((double)g - fac[(size_t)n * ld + j]));
        }
    tm_check(err_back < 1e-5, "join(split(x)) = x (max err %.2e)", err_back);
    tm_check(pads_kept, "join: pad columns untouched");
    for (int j = 0; j < 6; j++) free(f[j]);
    free(fac);
    free(back);
    t6_backend_destroy(be);
}

/* The backward scratch of a TPA model from its sizes, in elements: dresid, dln; dy, dq;
 * dk, dv (h kv heads); dh1, dh2, dg at row stride round_up(hidden, 8); the gradient of
 * the fused factor rows at round_up(fused width, 8) (tpa_qkv_bwd writes it directly: no
 * buffers for the six factor gradients). */
static size_t tpa_scratch_elems(const t6_model_config *c, size_t N)
{
    const size_t d = c->n_embd, h = c->n_head, dh = c->head_dim, RQ = c->q_rank, RK = c->k_rank, RV = c->v_rank;
    const size_t hl = (c->mlp_hidden + 7) / 8 * 8, W = h * (RQ + RK + RV) + (RQ + RK + RV) * dh;
    return N * (2 * d + 2 * h * dh + 2 * h * dh + 3 * hl + (W + 7) / 8 * 8);
}

static void mem_check(void)
{
    t6_model_config c = tm_tiny_config(T6_ATTN_TPA);
    const int B = 2, T = 7;
    t6_backend *be = tm_cpu_backend(0);
    t6_model *m = t6_model_create(&c, be, B, T);
    t6_model_mem mm;
    t6_model_memory(m, &mm);
    const size_t want = tpa_scratch_elems(&c, (size_t)B * T);
    tm_check(mm.scratch == want * sizeof(float), "CPU fp32 TPA model: backward scratch %zu bytes, expected %zu "
             "(activation gradients + the fused factor output)", mm.scratch, want * sizeof(float));
    t6_model_destroy(m);
    t6_backend_destroy(be);
    t6_model_memory_estimate(&c, T6_BACKEND_CUDA, T6_PREC_BF16, B, T, T6_RECOMPUTE_BLOCK, &mm);
    tm_check(mm.scratch == want * 2, "estimate, CUDA bf16 (recompute block): backward scratch %zu bytes, expected %zu",
             mm.scratch, want * 2);
}

int main(void)
{
    mem_check();
    run(2, 5, 3, 2, 1, 2, 8, 10000.0);
    run(1, 37, 34, 6, 2, 2, 64, 10000.0);    /* T6 small's factor widths, odd T */
    run(3, 4, 5, 3, 3, 1, 6, 500.0);
    return tm_finish("tpa_split");
}
