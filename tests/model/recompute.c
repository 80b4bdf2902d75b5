/* recompute.c -- train.recompute on the CPU backend (fp32), for every attention type on
 * a tiny 3-layer model (so the backward reruns a middle layer and the first one, and
 * skips the last, whose activations the shared buffers still hold):
 *  - "attention" and "block" give losses and gradients bitwise equal to "none", over two
 *    accumulated micro-steps, and the same logits from a forward without targets;
 *  - the peak bytes the backend counted over create + forward + backward are strictly
 *    ordered none > attention > block;
 *  - the model's memory by use matches what the backend counted, and the estimate on
 *    the meta backend (t6 --check) is exactly the real model's. */
#include "tmodel.h"

enum { B = 2, T = 5, N = B * T, NL = 3 };

typedef struct {
    float loss[2];
    float *grads;
    float *logits;
    size_t peak;
} run_result;

static void run(const t6_model_config *c, t6_recompute rc, uint64_t seed, run_result *r, const char *an)
{
    t6_backend *be = tm_cpu_backend(0);
    t6_model_opts o = {rc};
    t6_model *m = t6_model_create_opts(c, be, B, T, &o);
    const t6_param_layout *pl = t6_model_layout(m);
    const char *rn = t6_recompute_name(rc);

    t6_mem_stats st;
    t6_model_mem mm, est;
    t6_backend_mem_stats(be, &st);
    t6_model_memory(m, &mm);
    tm_check(st.current == mm.total && mm.total == mm.weights + mm.activations + mm.scratch && mm.activations > 0,
             "%s/%s: the model's memory by use (%zu bytes) is what the backend counted (%zu)", an, rn, mm.total,
             st.current);
    t6_model_memory_estimate(c, T6_BACKEND_CPU, T6_PREC_FP32, B, T, rc, &est);
    tm_check(memcmp(&est, &mm, sizeof est) == 0,
             "%s/%s: the meta-backend estimate equals the allocation (total %zu vs %zu, activations %zu vs %zu)", an,
             rn, est.total, mm.total, est.activations, mm.activations);
    tm_check((rc == T6_RECOMPUTE_NONE) == (mm.recompute == 0), "%s/%s: shared recompute buffers: %zu bytes", an, rn,
             mm.recompute);

    float *p = t6_malloc(pl->n_params * sizeof(float));
    tm_random_params(m, seed, 0.35f, p);
    free(p);
    int32_t x[N], y[N];
    t6_model_zero_grad(m);
    for (int mu = 0; mu < 2; mu++) {
        tm_random_tokens(x, N, c->vocab_size, 21 + mu, 1);
        tm_random_tokens(y, N, c->vocab_size, 21 + mu, 2);
        y[4] = -1;   /* an ignored target */
        r->loss[mu] = t6_model_forward(m, x, y, 1, 0.5f);
        t6_model_backward(m);
    }
    r->grads = t6_malloc(pl->n_params * sizeof(float));
    t6_model_get_grads(m, r->grads);
    t6_backend_mem_stats(be, &st);
    r->peak = st.peak;
    /* an evaluation forward after the backward (the shared buffers hold layer 0 now) */
    t6_model_forward(m, x, NULL, 0, 0.0f);
    r->logits = t6_malloc((size_t)N * c->vocab_size * sizeof(float));
    t6_model_get_logits(m, r->logits);
    tm_check(r->peak > mm.total, "%s/%s: peak %zu bytes over the model's %zu (the ops' temporaries count)", an, rn,
             r->peak, mm.total);
    t6_model_destroy(m);
    t6_backend_mem_stats(be, &st);
    tm_check(st.current == 0, "%s/%s: everything freed (%zu bytes left)", an, rn, st.current);
    t6_backend_destroy(be);
}

int main(void)
{
    for (int ai = 0; ai < TM_N_TYPES; ai++) {
        t6_model_config c = tm_tiny_config(tm_all_types[ai]);
        c.n_layer = NL;
        const char *an = t6_attn_name(c.attention);
        run_result r[3];
        for (int rc = 0; rc < 3; rc++) run(&c, (t6_recompute)rc, 40 + ai, &r[rc], an);
        t6_param_layout pl;
        t6_param_layout_init(&pl, &c);
        const size_t np = pl.n_params;
        t6_param_layout_free(&pl);
        for (int rc = 1; rc < 3; rc++) {
            const char *rn = t6_recompute_name((t6_recompute)rc);
            tm_check(r[rc].loss[0] == r[0].loss[0] && r[rc].loss[1] == r[0].loss[1],
                     "%s/%s: losses bitwise equal to none (%.9g %.9g)", an, rn, r[rc].loss[0], r[rc].loss[1]);
            size_t diff = 0;
            for (size_t i = 0; i < np; i++) diff += memcmp(&r[rc].grads[i], &r[0].grads[i], sizeof(float)) != 0;
            tm_check(diff == 0, "%s/%s: gradients bitwise equal to none (%zu of %zu differ)", an, rn, diff, np);
            tm_check(memcmp(r[rc].logits, r[0].logits, (size_t)N * c.vocab_size * sizeof(float)) == 0,
                     "%s/%s: logits of a later forward without targets bitwise equal", an, rn);
        }
        double nz = 0.0;
        for (size_t i = 0; i < np; i++) nz += fabs(r[0].grads[i]);
        tm_check(nz > 0.0, "%s: the gradients are not all zero (sum |g| = %.3g)", an, nz);
        tm_check(r[0].peak > r[1].peak && r[1].peak > r[2].peak,
                 "%s: peak bytes none %zu > attention %zu > block %zu", an, r[0].peak, r[1].peak, r[2].peak);
        for (int rc = 0; rc < 3; rc++) {
            free(r[rc].grads);
            free(r[rc].logits);
        }
    }
    return tm_finish("recompute");
}
