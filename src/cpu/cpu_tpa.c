/* cpu_tpa.c -- the TPA factor product of one projection (Q, K or V), forward and
 * backward: out[n,i,:] = (1/R) sum_r A[n,i,r] * Bf[n,r,:] with A (N,h,R), Bf (N,R,dh);
 * the split of the fused factor projection into the six factors (and its join); and
 * the fused forms tpa_qkv_fwd / tpa_qkv_bwd (fused rows straight to Q, K, V and back). */
#include "cpu_ops.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* One token's product: o (h, dh) = (1/R) a (h, R) · b (R, dh). Shared by the product op
 * and the fused tpa_qkv_fwd so that the two give bitwise the same values. */
static void prod_fwd_token(float *o, const float *a, const float *b, int h, int R, int dh)
{
    const float rr = (float)R;   /* divide (not multiply by 1/R), as the reference's div_ */
    for (int i = 0; i < h; i++) {
        float *oi = o + (size_t)i * dh;
        for (int j = 0; j < dh; j++) oi[j] = 0.0f;
        for (int r = 0; r < R; r++) {
            const float air = a[i * R + r];
            const float *br = b + (size_t)r * dh;
#pragma omp simd
            for (int j = 0; j < dh; j++) oi[j] += air * br[j];
        }
        for (int j = 0; j < dh; j++) oi[j] /= rr;
    }
}

/* One token's backward: da (h, R) = (1/R) g·b^T; db (R, dh) = (1/R) a^T·g (g: (h, dh)). */
static void prod_bwd_token(float *da, float *db, const float *g, const float *a, const float *b, int h, int R,
                           int dh)
{
    const float rr = (float)R;
    for (int i = 0; i < h; i++)
        for (int r = 0; r < R; r++) {
            const float *gi = g + (size_t)i * dh, *br = b + (size_t)r * dh;
            float s = 0.0f;
#pragma omp simd reduction(+ : s)
            for (int j = 0; j < dh; j++) s += gi[j] * br[j];
            da[i * R + r] = s / rr;
        }
    for (int r = 0; r < R; r++) {
        float *dbr = db + (size_t)r * dh;
        for (int j = 0; j < dh; j++) dbr[j] = 0.0f;
        for (int i = 0; i < h; i++) {
            const float air = a[i * R + r];
            const float *gi = g + (size_t)i * dh;
#pragma omp simd
            for (int j = 0; j < dh; j++) dbr[j] += air * gi[j];
        }
        for (int j = 0; j < dh; j++) dbr[j] /= rr;
    }
}

void t6_cpu_tpa_product_fwd(t6_backend *be, void *out_, const void *A_, const void *Bf_,
                            int N, int h, int R, int dh)
{
    float *out = out_;
    const float *A = A_, *Bf = Bf_;
#pragma omp parallel for schedule(static) if ((long)N * h * dh * R >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++)
        prod_fwd_token(out + (size_t)n * h * dh, A + (size_t)n * h * R, Bf + (size_t)n * R * dh, h, R, dh);
}

/* dA[n,i,r] = (1/R) dout[n,i,:]·Bf[n,r,:];  dBf[n,r,:] = (1/R) sum_i A[n,i,r] dout[n,i,:] */
void t6_cpu_tpa_product_bwd(t6_backend *be, void *dA_, void *dBf_, const void *dout_,
                            const void *A_, const void *Bf_, int N, int h, int R, int dh)
{
    float *dA = dA_, *dBf = dBf_;
    const float *dout = dout_, *A = A_, *Bf = Bf_;
#pragma omp parallel for schedule(static) if ((long)N * h * dh * R >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++)
        prod_bwd_token(dA + (size_t)n * h * R, dBf + (size_t)n * R * dh, dout + (size_t)n * h * dh,
                       A + (size_t)n * h * R, Bf + (size_t)n * R * dh, h, R, dh);
}

/* ---- TPA's fused factor projection: split into / join from the six factors ----
 * (backend.h). Written as block copies plus the RoPE ops themselves, so the rotation
 * is by construction the one rope_fwd / rope_bwd apply. */
static void tpa_widths(int w[6], int h, int RQ, int RK, int RV, int dh)
{
    w[0] = h * RQ; w[1] = h * RK; w[2] = h * RV; w[3] = RQ * dh; w[4] = RK * dh; w[5] = RV * dh;
}

/* dst (N rows, stride ldd) = src (N rows, stride lds), width columns */
static void copy_block(float *dst, int ldd, const float *src, int lds, int N, int width)
{
#pragma omp parallel for schedule(static) if ((long)N * width >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) memcpy(dst + (size_t)n * ldd, src + (size_t)n * lds, sizeof(float) * (size_t)width);
}

void t6_cpu_tpa_split(t6_backend *be, void *const f[6], const void *fac_, int ld, int B, int T, int h, int RQ,
                      int RK, int RV, int dh, double base)
{
    const float *fac = fac_;
    int w[6], off = 0;
    tpa_widths(w, h, RQ, RK, RV, dh);
    for (int j = 0; j < 6; j++) {
        copy_block(f[j], w[j], fac + off, ld, B * T, w[j]);
        off += w[j];
    }
    t6_cpu_rope_fwd(be, f[3], B, T, RQ, dh, base);
    t6_cpu_rope_fwd(be, f[4], B, T, RK, dh, base);
}

void t6_cpu_tpa_join(t6_backend *be, void *fac_, int ld, const void *const f[6], int B, int T, int h, int RQ,
                     int RK, int RV, int dh, double base)
{
    float *fac = fac_;
    const int N = B * T;
    int w[6], off = 0;
    tpa_widths(w, h, RQ, RK, RV, dh);
    for (int j = 0; j < 6; j++) {
        if (j == 3 || j == 4) {   /* un-rotate a copy: the inputs are const */
            float *tmp = t6_malloc(sizeof(float) * (size_t)N * w[j] + 1);
            memcpy(tmp, f[j], sizeof(float) * (size_t)N * w[j]);
            t6_cpu_rope_bwd(be, tmp, B, T, j == 3 ? RQ : RK, dh, base);
            copy_block(fac + off, ld, tmp, w[j], N, w[j]);
            free(tmp);
        } else {
            copy_block(fac + off, ld, f[j], w[j], N, w[j]);
        }
        off += w[j];
    }
}

/* ---- the fused ops (backend.h tpa_qkv_fwd / tpa_qkv_bwd): per token, the rotated B_Q,
 * B_K are rebuilt in a small stack buffer from the fused row (rotation written as
 * rope_apply's, with its table), the A factors and B_V read in place; then the same
 * per-token products as above, so the results are bitwise those of split + 3 products
 * (and 3 product_bwd + join). ---- */

/* rows (R, dh) rotated by +angle (sign 1, rope_fwd) or -angle (sign -1, rope_bwd) at the
 * table row cs (dh/2 cosines, dh/2 sines): dst may be src */
static void rotate_rows(float *dst, const float *src, int R, int dh, const float *cs, float sign)
{
    for (int r = 0; r < R; r++) t6_cpu_rope_rotate(dst + (size_t)r * dh, src + (size_t)r * dh, cs, dh / 2, sign);
}

void t6_cpu_tpa_qkv_fwd(t6_backend *be, void *q_, void *k_, void *v_, const void *fac_, int ld, int B, int T, int h,
                        int RQ, int RK, int RV, int dh, double base)
{
    T6_CHECK(dh % 2 == 0, NULL, "tpa_qkv_fwd: RoPE needs an even head_dim, got %d", dh);
    const float *fac = fac_;
    float *q = q_, *k = k_, *v = v_;
    const int N = B * T, hd = h * dh, half = dh / 2;
    const int oA[3] = {0, h * RQ, h * (RQ + RK)}, oB = h * (RQ + RK + RV);
    T6_CHECK(ld >= oB + (RQ + RK + RV) * dh, NULL, "tpa_qkv_fwd: row stride %d below the fused width %d", ld,
             oB + (RQ + RK + RV) * dh);
    float *tab = t6_cpu_rope_table(T, dh, base);
#pragma omp parallel for schedule(static) if ((long)N * hd * (RQ + RK + RV) >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *row = fac + (size_t)n * ld, *cs = tab + (size_t)(n % T) * 2 * half;
        float brot[(RQ + RK) * dh + 1];                  /* rotated B_Q then B_K */
        rotate_rows(brot, row + oB, RQ + RK, dh, cs, 1.0f);
        prod_fwd_token(q + (size_t)n * hd, row + oA[0], brot, h, RQ, dh);
        prod_fwd_token(k + (size_t)n * hd, row + oA[1], brot + (size_t)RQ * dh, h, RK, dh);
        prod_fwd_token(v + (size_t)n * hd, row + oA[2], row + oB + (size_t)(RQ + RK) * dh, h, RV, dh);
    }
    free(tab);
}

void t6_cpu_tpa_qkv_bwd(t6_backend *be, void *dfac_, const void *dq_, const void *dk_, const void *dv_,
                        const void *fac_, int ld, int B, int T, int h, int RQ, int RK, int RV, int dh, double base)
{
    T6_CHECK(dh % 2 == 0, NULL, "tpa_qkv_bwd: RoPE needs an even head_dim, got %d", dh);
    T6_CHECK(dfac_ != fac_, NULL, "tpa_qkv_bwd: the gradient must not overwrite the factors it is computed from");
    const float *fac = fac_, *dq = dq_, *dk = dk_, *dv = dv_;
    float *dfac = dfac_;
    const int N = B * T, hd = h * dh, half = dh / 2;
    const int oA[3] = {0, h * RQ, h * (RQ + RK)}, oB = h * (RQ + RK + RV);
    T6_CHECK(ld >= oB + (RQ + RK + RV) * dh, NULL, "tpa_qkv_bwd: row stride %d below the fused width %d", ld,
             oB + (RQ + RK + RV) * dh);
    float *tab = t6_cpu_rope_table(T, dh, base);
#pragma omp parallel for schedule(static) if ((long)N * hd * (RQ + RK + RV) >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *row = fac + (size_t)n * ld, *cs = tab + (size_t)(n % T) * 2 * half;
        float *drow = dfac + (size_t)n * ld;
        float brot[(RQ + RK) * dh + 1], db[(RQ + RK) * dh + 1];   /* rotated B_Q, B_K; their gradients */
        rotate_rows(brot, row + oB, RQ + RK, dh, cs, 1.0f);
        prod_bwd_token(drow + oA[0], db, dq + (size_t)n * hd, row + oA[0], brot, h, RQ, dh);
        prod_bwd_token(drow + oA[1], db + (size_t)RQ * dh, dk + (size_t)n * hd, row + oA[1],
                       brot + (size_t)RQ * dh, h, RK, dh);
        rotate_rows(drow + oB, db, RQ + RK, dh, cs, -1.0f);      /* dB_Q, dB_K back through RoPE */
        prod_bwd_token(drow + oA[2], drow + oB + (size_t)(RQ + RK) * dh, dv + (size_t)n * hd, row + oA[2],
                       row + oB + (size_t)(RQ + RK) * dh, h, RV, dh);
    }
    free(tab);
}
