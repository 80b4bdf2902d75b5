/* optim.c -- AdamW with global-norm clipping (see optim.h). */
#include "optim.h"

#include <math.h>
#include <string.h>

#include "util.h"

void t6_optim_init_shard(t6_optim *o, t6_backend *be, const t6_optim_config *cfg, size_t n, size_t off, size_t cnt)
{
    T6_CHECK(off + cnt <= n, NULL, "internal: optimizer shard %zu+%zu of %zu", off, cnt, n);
    memset(o, 0, sizeof *o);
    o->be = be;
    o->cfg = *cfg;
    o->n = n;
    o->off = off;
    o->cnt = cnt;
    /* zero-filled: PyTorch's initial state (at least one element: a rank may own none) */
    o->m = be->ops->alloc(be, (cnt ? cnt : 1) * sizeof(float));
    o->v = be->ops->alloc(be, (cnt ? cnt : 1) * sizeof(float));
    o->t = 0;
}

void t6_optim_init(t6_optim *o, t6_backend *be, const t6_optim_config *cfg, size_t n)
{
    t6_optim_init_shard(o, be, cfg, n, 0, n);
}

void t6_optim_free(t6_optim *o)
{
    if (o->be) {
        o->be->ops->free(o->be, o->m);
        o->be->ops->free(o->be, o->v);
    }
    memset(o, 0, sizeof *o);
}

double t6_optim_norm(t6_backend *be, const float *x, size_t n)
{
    return sqrt(be->ops->sum_squares(be, x, n));
}

void t6_optim_get_moments(const t6_optim *o, float *m, float *v, long *t)
{
    o->be->ops->to_host(o->be, m + o->off, o->m, o->cnt * sizeof(float));
    o->be->ops->to_host(o->be, v + o->off, o->v, o->cnt * sizeof(float));
    if (t) *t = o->t;
}

void t6_optim_get_moments_shard(const t6_optim *o, float *m, float *v)
{
    o->be->ops->to_host(o->be, m, o->m, o->cnt * sizeof(float));
    o->be->ops->to_host(o->be, v, o->v, o->cnt * sizeof(float));
}

void t6_optim_set_moments(t6_optim *o, const float *m, const float *v, long t)
{
    o->be->ops->to_device(o->be, o->m, m + o->off, o->cnt * sizeof(float));
    o->be->ops->to_device(o->be, o->v, v + o->off, o->cnt * sizeof(float));
    o->t = t;
}

double t6_optim_grad_norm(const t6_optim *o, const float *grads)
{
    return t6_optim_norm(o->be, grads, o->n);
}

void t6_optim_step(t6_optim *o, float *params, void *compute, const float *grads, double lr,
                   t6_optim_stats *st)
{
    t6_optim_apply(o, params, compute, grads, lr, t6_optim_grad_norm(o, grads), st);
}

void t6_optim_apply(t6_optim *o, float *params, void *compute, const float *grads, double lr,
                    double norm, t6_optim_stats *st)
{
    const t6_optim_config *c = &o->cfg;
    float gscale = 1.0f;
    int clipped = 0;
    if (c->grad_clip > 0.0) {
        /* clip_grad_norm_: coef = max_norm / (total_norm + 1e-6), applied when < 1 */
        double coef = c->grad_clip / (norm + 1e-6);
        if (coef < 1.0) {
            gscale = (float)coef;
            clipped = 1;
        }
    }
    o->t++;
    /* the compute copy is indexed like the parameters (act elements) */
    void *cw = compute ? t6_act_at(o->be, compute, o->off) : NULL;
    if (o->cnt)
        o->be->ops->adamw(o->be, params + o->off, cw, grads + o->off, o->m, o->v, o->cnt, (float)lr, (float)c->beta1,
                      (float)c->beta2, (float)c->eps, (float)c->weight_decay, o->t, gscale);
    if (st) {
        st->grad_norm = norm;
        st->clipped = clipped;
        st->lr = lr;
    }
}
