/* sample.c -- greedy / temperature / top-k / top-p choice of the next token (sample.h). */
#include "sample.h"

#include <math.h>
#include <stdlib.h>

#include "util.h"

typedef struct {
    double p;
    int id;
} cand;

/* larger probability first; equal ones by id, so the order never depends on qsort */
static int by_p_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;
}

int t6_sample_token(const t6_sampler *s, const float *logits, int n, double u)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i;
    if (s->temperature <= 0.0) return best;

    cand *c = t6_malloc(sizeof(cand) * (size_t)n);
    const double mx = logits[best];
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        c[i].p = exp(((double)logits[i] - mx) / s->temperature);
        c[i].id = i;
        sum += c[i].p;
    }
    int keep = n;
    if (s->top_k > 0 || s->top_p < 1.0) {
        qsort(c, (size_t)n, sizeof *c, by_p_desc);
        if (s->top_k > 0 && s->top_k < keep) keep = s->top_k;
        if (s->top_p < 1.0) {
            double kept = 0.0;
            for (int i = 0; i < keep; i++) kept += c[i].p;
            /* the smallest prefix whose share of the kept mass reaches top_p */
            double acc = 0.0;
            for (int i = 0; i < keep; i++) {
                acc += c[i].p;
                if (acc >= s->top_p * kept) {
                    keep = i + 1;
                    break;
                }
            }
        }
        sum = 0.0;
        for (int i = 0; i < keep; i++) sum += c[i].p;
    }
    const double target = u * sum;
    double acc = 0.0;
    int pick = c[keep - 1].id;   /* rounding: the last candidate */
    for (int i = 0; i < keep; i++) {
        acc += c[i].p;
        if (target < acc) {
            pick = c[i].id;
            break;
        }
    }
    free(c);
    return pick;
}
