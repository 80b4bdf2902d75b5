/* evscore.c -- lm-eval's per-document metrics and aggregations: acc (argmax of the
 * summed log-likelihoods), acc_norm (divided by the choice's length in Python
 * characters), mean_stderr (sample standard deviation / sqrt n) and the pooled
 * standard error of a size-weighted group (MMLU). */
#include "eval/evtask.h"

#include <math.h>

int t6_ev_argmax(const double *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

void t6_ev_doc_scores(const double *ll, const double *len, int n, int gold, double *acc, double *acc_norm)
{
    double norm[64];
    for (int i = 0; i < n && i < 64; i++) norm[i] = ll[i] / len[i];
    *acc = t6_ev_argmax(ll, n) == gold ? 1.0 : 0.0;
    *acc_norm = t6_ev_argmax(norm, n < 64 ? n : 64) == gold ? 1.0 : 0.0;
}

double t6_ev_mean_stderr(const double *x, size_t n)
{
    if (n < 2) return NAN;
    double mu = 0.0;
    for (size_t i = 0; i < n; i++) mu += x[i];
    mu /= (double)n;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (x[i] - mu) * (x[i] - mu);
    return sqrt(ss / (double)(n - 1)) / sqrt((double)n);
}

double t6_ev_pooled_stderr(const double *stderrs, const double *sizes, int n)
{
    double num = 0.0, tot = 0.0;
    for (int i = 0; i < n; i++) {
        num += (sizes[i] - 1.0) * stderrs[i] * stderrs[i] * sizes[i];
        tot += sizes[i];
    }
    return sqrt(num / (tot - (double)n) / tot);
}
