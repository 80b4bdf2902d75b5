/* cpu_mla.c -- MLA's head split and its backward on the CPU (backend.h mla_split /
 * mla_join; kernels/mla_split.cu is the CUDA form). The split turns kv_b's output and
 * the shared rotary key into the attention's K and (zero-padded) V and rotates the
 * rope part of Q in place; the join undoes it for the gradients. The rotation is
 * rope_fwd's (cpu_norm_rope.c's table and arithmetic), so the model's values are those
 * of the copy_rows + rope composition it replaces (tests/model/mla_split.c checks). */
#include <stdlib.h>

#include "cpu_ops.h"
#include "util.h"

static void check_dims(const char *op, int dn, int dr, int dv)
{
    T6_CHECK(dr > 0 && dr % 2 == 0, NULL, "%s: the rope head size %d must be even and positive", op, dr);
    T6_CHECK(dn >= 0 && dv > 0 && dv <= dn + dr, NULL, "%s: v_head_dim %d does not fit the head size %d + %d", op, dv,
             dn, dr);
}

void t6_cpu_mla_split(t6_backend *be, void *q_, void *k_, void *v_, const void *kv_, const void *kpe_, int ld_kpe,
                      int B, int T, int h, int dn, int dr, int dv, double base)
{
    (void)be;
    check_dims("mla_split", dn, dr, dv);
    float *q = q_, *k = k_, *v = v_;
    const float *kv = kv_, *kpe = kpe_;
    const int half = dr / 2, dha = dn + dr, dkvh = dn + dv;
    const long N = (long)B * T;
    float *tab = t6_cpu_rope_table(T, dr, base);
#pragma omp parallel for schedule(static) if (N * h * dha >= T6_CPU_PAR_MIN)
    for (long n = 0; n < N; n++) {
        const float *cs = tab + (size_t)(n % T) * 2 * half;
        /* the shared key rotated into head 0's k, copied from there to the others */
        const float *kr = k + (size_t)n * h * dha + dn;
        t6_cpu_rope_rotate(k + (size_t)n * h * dha + dn, kpe + (size_t)n * ld_kpe, cs, half, 1.0f);
        for (int i = 0; i < h; i++) {
            float *qi = q + ((size_t)n * h + i) * dha, *ki = k + ((size_t)n * h + i) * dha;
            float *vi = v + ((size_t)n * h + i) * dha;
            const float *kvi = kv + ((size_t)n * h + i) * dkvh;
            t6_cpu_rope_rotate(qi + dn, qi + dn, cs, half, 1.0f);
            for (int j = 0; j < dn; j++) ki[j] = kvi[j];
            if (i > 0)
                for (int j = 0; j < dr; j++) ki[dn + j] = kr[j];
            for (int j = 0; j < dv; j++) vi[j] = kvi[dn + j];
            for (int j = dv; j < dha; j++) vi[j] = 0.0f;
        }
    }
    free(tab);
}

void t6_cpu_mla_join(t6_backend *be, void *dq_, void *dkv_, void *dkpe_, int ld_dkpe, const void *dk_, const void *dv_,
                     int B, int T, int h, int dn, int dr, int dv, double base)
{
    (void)be;
    check_dims("mla_join", dn, dr, dv);
    float *dq = dq_, *dkv = dkv_, *dkpe = dkpe_;
    const float *dk = dk_, *dvv = dv_;
    const int half = dr / 2, dha = dn + dr, dkvh = dn + dv;
    const long N = (long)B * T;
    float *tab = t6_cpu_rope_table(T, dr, base);
#pragma omp parallel for schedule(static) if (N * h * dha >= T6_CPU_PAR_MIN)
    for (long n = 0; n < N; n++) {
        const float *cs = tab + (size_t)(n % T) * 2 * half;
        float *sum = dkpe + (size_t)n * ld_dkpe;   /* the shared key's gradient: every head's, in head order */
        for (int i = 0; i < h; i++) {
            float *qi = dq + ((size_t)n * h + i) * dha, *kvi = dkv + ((size_t)n * h + i) * dkvh;
            const float *ki = dk + ((size_t)n * h + i) * dha, *vi = dvv + ((size_t)n * h + i) * dha;
            t6_cpu_rope_rotate(qi + dn, qi + dn, cs, half, -1.0f);
            for (int j = 0; j < dn; j++) kvi[j] = ki[j];
            for (int j = 0; j < dv; j++) kvi[dn + j] = vi[j];
            for (int j = 0; j < dr; j++) sum[j] = i ? sum[j] + ki[dn + j] : ki[dn + j];
        }
        t6_cpu_rope_rotate(sum, sum, cs, half, -1.0f);
    }
    free(tab);
}
