/* cpu_loss.c -- softmax cross-entropy over the full (padded) vocabulary, one row per
 * token, with the logits overwritten in place by the scaled gradient when asked
 * (so no probability tensor is ever kept). Target -1 is ignored (loss 0, gradient 0). */
#include <math.h>
#include <string.h>

#include "cpu_ops.h"
#include "util.h"

void t6_cpu_cross_entropy(t6_backend *be, float *losses, void *logits_, const int32_t *targets,
                          int N, int V, float grad_scale)
{
    float *logits = logits_;
    int bad = -1;
#pragma omp parallel for schedule(static) if ((long)N * V >= T6_CPU_PAR_MIN)
    for (int n = 0; n < N; n++) {
        float *z = logits + (size_t)n * V;
        const int tgt = targets[n];
        if (tgt < 0) {
            losses[n] = 0.0f;
            if (grad_scale != 0.0f) memset(z, 0, sizeof(float) * V);
            continue;
        }
        if (tgt >= V) {
#pragma omp critical
            bad = n;
            continue;
        }
        float mx = -INFINITY;
        for (int j = 0; j < V; j++) mx = z[j] > mx ? z[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < V; j++) sum += exp((double)(z[j] - mx));
        const double lse = (double)mx + log(sum);
        losses[n] = (float)(lse - (double)z[tgt]);
        if (grad_scale != 0.0f) {
            for (int j = 0; j < V; j++) z[j] = grad_scale * (float)exp((double)z[j] - lse);
            z[tgt] -= grad_scale;
        }
    }
    T6_CHECK(bad < 0, "the corpus vocabulary must fit the model's vocab_size",
             "target %d at row %d is outside the vocabulary of %d", targets[bad], bad, V);
}
