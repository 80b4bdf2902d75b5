/* cpu_tpa.c -- the TPA factor product of one projection (Q, K or V), forward and
 * backward: out[n,i,:] = (1/R) sum_r A[n,i,r] * Bf[n,r,:] with A (N,h,R), Bf (N,R,dh);
 * and the split of the fused factor projection into the six factors (and its join). */
#include "cpu_ops.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void t6_cpu_tpa_product_fwd(t6_backend *be, void *out_, const void *A_, const void *Bf_,
                            int N, int h, int R, int dh)
{
    float *out = out_;
    const float *A = A_, *Bf = Bf_;
    const float rr = (float)R;   /* divide (not multiply by 1/R), as the reference's div_ */
#pragma omp parallel for schedule(static) if ((long)N * h * dh * R >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *a = A + (size_t)n * h * R, *b = Bf + (size_t)n * R * dh;
        float *o = out + (size_t)n * h * dh;
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
}

/* dA[n,i,r] = (1/R) dout[n,i,:]·Bf[n,r,:];  dBf[n,r,:] = (1/R) sum_i A[n,i,r] dout[n,i,:] */
void t6_cpu_tpa_product_bwd(t6_backend *be, void *dA_, void *dBf_, const void *dout_,
                            const void *A_, const void *Bf_, int N, int h, int R, int dh)
{
    float *dA = dA_, *dBf = dBf_;
    const float *dout = dout_, *A = A_, *Bf = Bf_;
    const float rr = (float)R;   /* divide (not multiply by 1/R), as the reference's div_ */
#pragma omp parallel for schedule(static) if ((long)N * h * dh * R >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *a = A + (size_t)n * h * R, *b = Bf + (size_t)n * R * dh;
        const float *g = dout + (size_t)n * h * dh;
        float *da = dA + (size_t)n * h * R, *db = dBf + (size_t)n * R * dh;
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
