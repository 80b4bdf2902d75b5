/* mla_split.c -- the CPU backend's fused MLA head split and join (backend.h mla_split /
 * mla_join) against the composition of copy_rows and rope_fwd/rope_bwd they replaced
 * in model.c (the per-head chain of the shared rotary key included), at awkward sizes
 * (odd head sizes, v narrower than the head, a key row inside a wider buffer, several
 * thread counts). Copies must be exact; rotated values within 1e-6, since both use the
 * same table and arithmetic (in practice they are bitwise equal). Also: v's pad columns are zeroed (not left
 * as found), and the join writes only its dr columns of the key-gradient rows. */
#include "tmodel.h"

enum { B = 2, T = 5, N = B * T, H = 3, DN = 5, DR = 6, DV = 7, DHA = DN + DR, DKVH = DN + DV, LD = 13, OFF = 4 };

static void fill(float *x, size_t n, uint64_t seed)
{
    t6_rng r;
    t6_rng_init(&r, seed, 7);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * t6_rng_next_u01(&r) - 1.0);
}

/* max |a - b| over n (0 only when every element is equal) */
static double maxdiff(const float *a, const float *b, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs((double)a[i] - b[i]);
        if (e > w) w = e;
    }
    return w;
}

int main(void)
{
    const double base = 10000.0;
    static float q0[N * H * DHA], kv[N * H * DKVH], ckv[N * LD];
    static float q_ref[N * H * DHA], k_ref[N * H * DHA], v_ref[N * H * DHA], pe_q[N * H * DR], pe_k[N * DR];
    static float q_got[N * H * DHA], k_got[N * H * DHA], v_got[N * H * DHA];
    static float dq0[N * H * DHA], dk[N * H * DHA], dv[N * H * DHA];
    static float dq_ref[N * H * DHA], dkv_ref[N * H * DKVH], dkpe_ref[N * LD];
    static float dq_got[N * H * DHA], dkv_got[N * H * DKVH], dkpe_got[N * LD];
    fill(q0, sizeof q0 / sizeof *q0, 1);
    fill(kv, sizeof kv / sizeof *kv, 2);
    fill(ckv, sizeof ckv / sizeof *ckv, 3);
    fill(dq0, sizeof dq0 / sizeof *dq0, 4);
    fill(dk, sizeof dk / sizeof *dk, 5);
    fill(dv, sizeof dv / sizeof *dv, 6);
    const float *kpe = ckv + OFF;   /* the shared key: columns OFF..OFF+DR of rows of LD */

    for (int threads = 1; threads <= 3; threads += 2) {
        t6_backend *be = tm_cpu_backend(threads);
        const t6_ops *op = be->ops;

        /* forward: the composition model.c used */
        memcpy(q_ref, q0, sizeof q0);
        memset(k_ref, 0, sizeof k_ref);
        memset(v_ref, 0, sizeof v_ref);
        op->copy_rows(be, pe_q, DR, q_ref + DN, DHA, N * H, DR, 0);
        op->rope_fwd(be, pe_q, B, T, H, DR, base);
        op->copy_rows(be, q_ref + DN, DHA, pe_q, DR, N * H, DR, 0);
        op->copy_rows(be, pe_k, DR, kpe, LD, N, DR, 0);
        op->rope_fwd(be, pe_k, B, T, 1, DR, base);
        op->copy_rows(be, k_ref, DHA, kv, DKVH, N * H, DN, 0);
        for (int i = 0; i < H; i++) op->copy_rows(be, k_ref + i * DHA + DN, H * DHA, pe_k, DR, N, DR, 0);
        op->copy_rows(be, v_ref, DHA, kv + DN, DKVH, N * H, DV, 0);

        memcpy(q_got, q0, sizeof q0);
        for (size_t i = 0; i < sizeof v_got / sizeof *v_got; i++) v_got[i] = k_got[i] = 7.0f;   /* not zero */
        op->mla_split(be, q_got, k_got, v_got, kv, kpe, LD, B, T, H, DN, DR, DV, base);
        const double eq = maxdiff(q_got, q_ref, sizeof q_ref / sizeof *q_ref);
        const double ek = maxdiff(k_got, k_ref, sizeof k_ref / sizeof *k_ref);
        const double ev = maxdiff(v_got, v_ref, sizeof v_ref / sizeof *v_ref);
        tm_check(eq <= 1e-6 && ek <= 1e-6, "threads %d: mla_split q, k vs copy_rows+rope_fwd: max diff %.2e, %.2e",
                 threads, eq, ek);
        tm_check(ev == 0, "threads %d: mla_split v (pads zeroed) equals the padded copy exactly (diff %.2e)", threads,
                 ev);
        int nope_exact = 1;
        for (int r = 0; r < N * H; r++)
            for (int j = 0; j < DN; j++) nope_exact &= k_got[r * DHA + j] == kv[r * DKVH + j] && q_got[r * DHA + j] == q0[r * DHA + j];
        tm_check(nope_exact, "threads %d: mla_split leaves q's and copies k's non-rotary columns exactly", threads);
        /* the rotation moved something: a test of an identity op would pass the above at T = 1 */
        tm_check(maxdiff(q_got, q0, sizeof q0 / sizeof *q0) > 1e-3, "threads %d: mla_split rotated q (positions > 0)",
                 threads);

        /* backward: the composition model.c used */
        memcpy(dq_ref, dq0, sizeof dq0);
        for (size_t i = 0; i < sizeof dkpe_ref / sizeof *dkpe_ref; i++) dkpe_ref[i] = dkpe_got[i] = -3.0f;
        op->copy_rows(be, pe_q, DR, dq_ref + DN, DHA, N * H, DR, 0);
        op->rope_bwd(be, pe_q, B, T, H, DR, base);
        op->copy_rows(be, dq_ref + DN, DHA, pe_q, DR, N * H, DR, 0);
        op->copy_rows(be, dkv_ref, DKVH, dk, DHA, N * H, DN, 0);
        op->copy_rows(be, dkv_ref + DN, DKVH, dv, DHA, N * H, DV, 0);
        for (int i = 0; i < H; i++) op->copy_rows(be, pe_k, DR, dk + i * DHA + DN, H * DHA, N, DR, i > 0);
        op->rope_bwd(be, pe_k, B, T, 1, DR, base);
        op->copy_rows(be, dkpe_ref + OFF, LD, pe_k, DR, N, DR, 0);

        memcpy(dq_got, dq0, sizeof dq0);
        op->mla_join(be, dq_got, dkv_got, dkpe_got + OFF, LD, dk, dv, B, T, H, DN, DR, DV, base);
        const double edq = maxdiff(dq_got, dq_ref, sizeof dq_ref / sizeof *dq_ref);
        const double edkv = maxdiff(dkv_got, dkv_ref, sizeof dkv_ref / sizeof *dkv_ref);
        const double edk = maxdiff(dkpe_got, dkpe_ref, sizeof dkpe_ref / sizeof *dkpe_ref);
        tm_check(edq <= 1e-6 && edk <= 1e-6,
                 "threads %d: mla_join dq, dk_pe (sum over heads, rope_bwd) vs the composition: %.2e, %.2e", threads,
                 edq, edk);
        tm_check(edkv == 0, "threads %d: mla_join dkv = [dk_nope, dv] exactly (diff %.2e)", threads, edkv);
        int outside = 1;
        for (int r = 0; r < N; r++)
            for (int j = 0; j < LD; j++)
                if (j < OFF || j >= OFF + DR) outside &= dkpe_got[r * LD + j] == -3.0f;
        tm_check(outside, "threads %d: mla_join writes only the dr key columns of each row", threads);

        /* split then join is the identity on q (rotation, then its inverse) */
        memcpy(dq_got, q_got, sizeof q_got);
        op->mla_join(be, dq_got, dkv_got, dkpe_got + OFF, LD, dk, dv, B, T, H, DN, DR, DV, base);
        tm_check(maxdiff(dq_got, q0, sizeof q0 / sizeof *q0) <= 1e-6, "threads %d: join undoes split's rotation of q",
                 threads);
        t6_backend_destroy(be);
    }
    return tm_finish("mla_split");
}
