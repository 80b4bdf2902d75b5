/* cpu_tpa.c -- the TPA factor product of one projection (Q, K or V), forward and
 * backward: out[n,i,:] = (1/R) sum_r A[n,i,r] * Bf[n,r,:] with A (N,h,R), Bf (N,R,dh). */
#include "cpu_ops.h"

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
