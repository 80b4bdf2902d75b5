/* optim.c -- AdamW with global-norm clipping (see optim.h). */
#include "optim.h"

#include <math.h>
#include <string.h>

#include "util.h"

void t6_optim_init(t6_optim *o, t6_backend *be, const t6_optim_config *cfg, size_t n)
{
    memset(o, 0, sizeof *o);
    o->be = be;
    o->cfg = *cfg;
    o->n = n;
    o->m = be->ops->alloc(be, n * sizeof(float));   /* zero-filled: PyTorch's initial state */
    o->v = be->ops->alloc(be, n * sizeof(float));
    o->t = 0;
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
    o->be->ops->to_host(o->be, m, o->m, o->n * sizeof(float));
    o->be->ops->to_host(o->be, v, o->v, o->n * sizeof(float));
    if (t) *t = o->t;
}

void t6_optim_set_moments(t6_optim *o, const float *m, const float *v, long t)
{
    o->be->ops->to_device(o->be, o->m, m, o->n * sizeof(float));
    o->be->ops->to_device(o->be, o->v, v, o->n * sizeof(float));
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
    o->be->ops->adamw(o->be, params, compute, grads, o->m, o->v, o->n, (float)lr, (float)c->beta1,
                      (float)c->beta2, (float)c->eps, (float)c->weight_decay, o->t, gscale);
    if (st) {
        st->grad_norm = norm;
        st->clipped = clipped;
        st->lr = lr;
    }
}
