/* cpu_optim.c -- AdamW and the norms of fp32 buffers on the CPU. */
#include <math.h>
#include <stdlib.h>

#include "cpu_ops.h"

/* Decoupled weight decay, bias-corrected moments, in PyTorch's order (backend.h). */
void t6_cpu_adamw(t6_backend *be, float *param, void *compute, const float *grad, float *m, float *v,
                  size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                  long step, float grad_scale)
{
    const float bc1 = 1.0f - powf(beta1, (float)step);
    const float bc2 = 1.0f - powf(beta2, (float)step);
#pragma omp parallel for schedule(static) if (n >= T6_CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        const float g = grad[i] * grad_scale;
        const float mi = beta1 * m[i] + (1.0f - beta1) * g;
        const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float p = param[i];
        p -= lr * weight_decay * p;
        p -= lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
        param[i] = p;
    }
    /* the compute copy is the master buffer on the CPU */
    if (compute && compute != (void *)param) be->ops->params_to_compute(be, compute, param, n);
}

/* Partial sums over fixed chunks of 4096 elements (in double), added in chunk order:
 * the result does not depend on the thread count. */
double t6_cpu_sum_squares(t6_backend *be, const float *x, size_t n)
{
    enum { CHUNK = 4096 };
    const size_t n_chunks = (n + CHUNK - 1) / CHUNK;
    if (n_chunks == 0) return 0.0;
    double *part = malloc(sizeof(double) * n_chunks);
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < n_chunks; c++) {
        const size_t i0 = c * CHUNK, i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
        double s = 0.0;
        for (size_t i = i0; i < i1; i++) s += (double)x[i] * x[i];
        part[c] = s;
    }
    double total = 0.0;
    for (size_t c = 0; c < n_chunks; c++) total += part[c];
    free(part);
    return total;
}

void t6_cpu_scale(t6_backend *be, float *x, float s, size_t n)
{
#pragma omp parallel for schedule(static) if (n >= T6_CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] *= s;
}
