/* adamw.cu -- AdamW over fp32 master weights and moments (PyTorch order: decoupled
 * decay first, bias-corrected moments), writing the refreshed compute copy (bf16 or
 * float) in the same pass, so no separate params_to_compute pass follows a step. */
#include "cuda_common.cuh"

#include <math.h>

template <typename T>
__global__ void k_adamw(float *param, T *compute, const float *grad, float *m, float *v, size_t n,
                        float lr, float b1, float b2, float eps, float wd, float bc1, float bc2,
                        float grad_scale)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float g = grad[i] * grad_scale;
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float p = param[i];
        p -= lr * wd * p;
        p -= lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
        param[i] = p;
        if (compute) t6_st(compute + i, p);
    }
}

void t6_cuda_adamw(t6_backend *be, float *param, void *compute, const float *grad, float *m, float *v,
                   size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                   long step, float grad_scale)
{
    if (!n) return;
    float bc1 = (float)(1.0 - pow((double)beta1, (double)step));
    float bc2 = (float)(1.0 - pow((double)beta2, (double)step));
    unsigned g = t6_blocks(n, 256);
    if (g > 132u * 16) g = 132u * 16;
    T6_ACT_DISPATCH(be, T, {
        k_adamw<T><<<g, 256, 0, cu_stream(be)>>>(param, (T *)compute, grad, m, v, n, lr, beta1, beta2, eps,
                                                 weight_decay, bc1, bc2, grad_scale);
        CUDA_CHECK_LAUNCH();
    });
}
