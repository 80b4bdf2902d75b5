/* cross_entropy.cu -- fused softmax + cross-entropy over V logits per row: one block
 * per row reads the logits once for an online (max, sum of exp) in fp32, computes the
 * row's loss -log p[target] = lse - logit[target], and, when grad_scale != 0, overwrites
 * the logits in place with grad_scale * (softmax - onehot); no probability tensor is
 * ever stored. Rows whose target is -1 get loss 0 and a zero gradient. */
#include "cuda_common.cuh"

template <typename T>
__global__ void k_ce(float *losses, T *logits, const int32_t *targets, int V, float grad_scale)
{
    __shared__ float sh_m[32], sh_s[32];
    size_t row = blockIdx.x;
    T *x = logits + row * V;
    int tgt = targets[row];
    float m = -INFINITY, s = 0.0f;
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float v = t6_ld(x + j);
        if (v > m) { s = s * expf(m - v) + 1.0f; m = v; }
        else s += expf(v - m);
    }
    /* combine (m, s) pairs: warp, then block */
    for (int o = 16; o > 0; o >>= 1) {
        float mo = __shfl_xor_sync(0xffffffffu, m, o), so = __shfl_xor_sync(0xffffffffu, s, o);
        float mn = fmaxf(m, mo);
        s = (m == -INFINITY ? 0.0f : s * expf(m - mn)) + (mo == -INFINITY ? 0.0f : so * expf(mo - mn));
        m = mn;
    }
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) { sh_m[wid] = m; sh_s[wid] = s; }
    __syncthreads();
    if (wid == 0) {
        m = lane < nw ? sh_m[lane] : -INFINITY;
        s = lane < nw ? sh_s[lane] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) {
            float mo = __shfl_xor_sync(0xffffffffu, m, o), so = __shfl_xor_sync(0xffffffffu, s, o);
            float mn = fmaxf(m, mo);
            s = (m == -INFINITY ? 0.0f : s * expf(m - mn)) + (mo == -INFINITY ? 0.0f : so * expf(mo - mn));
            m = mn;
        }
        if (lane == 0) { sh_m[0] = m; sh_s[0] = s; }
    }
    __syncthreads();
    m = sh_m[0];
    s = sh_s[0];
    float lse = m + logf(s);
    if (threadIdx.x == 0) losses[row] = tgt < 0 ? 0.0f : lse - t6_ld(x + tgt);
    if (grad_scale == 0.0f) return;
    __syncthreads();                     /* x[tgt] read above before it is overwritten */
    if (tgt < 0) {
        for (int j = threadIdx.x; j < V; j += blockDim.x) t6_st(x + j, 0.0f);
        return;
    }
    float inv = 1.0f / s;
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float p = expf(t6_ld(x + j) - m) * inv;
        t6_st(x + j, grad_scale * (p - (j == tgt ? 1.0f : 0.0f)));
    }
}

void t6_cuda_cross_entropy(t6_backend *be, float *losses, void *logits, const int32_t *targets,
                           int N, int V, float grad_scale)
{
    if (N <= 0) return;
    T6_ACT_DISPATCH(be, T, {
        k_ce<T><<<N, 1024, 0, cu_stream(be)>>>(losses, (T *)logits, targets, V, grad_scale);
        CUDA_CHECK_LAUNCH();
    });
}
