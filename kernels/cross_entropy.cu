/* cross_entropy.cu -- fused softmax + cross-entropy over V logits per row: one block
 * per row reads the logits once for an online (max, sum of exp) in fp32, computes the
 * row's loss -log p[target] = lse - logit[target], and, when grad_scale != 0, overwrites
 * the logits in place with grad_scale * (softmax - onehot); no probability tensor is
 * ever stored. Rows whose target is -1 get loss 0 and a zero gradient. bf16 rows with
 * V % 8 == 0 (50304) are read and written as 16-byte vectors. */
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

/* bf16 rows with V % 8 == 0: the same algorithm reading and writing 16-byte vectors */
__device__ __forceinline__ void ms_add(float &m, float &s, float v)
{
    if (v > m) { s = s * __expf(m - v) + 1.0f; m = v; }
    else s += __expf(v - m);
}

__global__ void __launch_bounds__(1024) k_ce8(float *losses, __nv_bfloat16 *logits, const int32_t *targets, int V,
                                              float grad_scale)
{
    __shared__ float sh_m[32], sh_s[32];
    size_t row = blockIdx.x;
    __nv_bfloat16 *x = logits + row * V;
    uint4 *xv = (uint4 *)x;
    const int nv = V / 8;
    int tgt = targets[row];
    float m = -INFINITY, s = 0.0f;
    for (int j = threadIdx.x; j < nv; j += blockDim.x) {
        uint4 u = xv[j];
        const __nv_bfloat162 *p = (const __nv_bfloat162 *)&u;
        float f[8], mx = -INFINITY;
#pragma unroll
        for (int k = 0; k < 4; k++) { float2 t = __bfloat1622float2(p[k]); f[2 * k] = t.x; f[2 * k + 1] = t.y; }
#pragma unroll
        for (int k = 0; k < 8; k++) mx = fmaxf(mx, f[k]);
        float mn = fmaxf(m, mx);
        float acc = m == -INFINITY ? 0.0f : s * __expf(m - mn);
#pragma unroll
        for (int k = 0; k < 8; k++) acc += __expf(f[k] - mn);
        m = mn;
        s = acc;
    }
    for (int o = 16; o > 0; o >>= 1) {
        float mo = __shfl_xor_sync(0xffffffffu, m, o), so = __shfl_xor_sync(0xffffffffu, s, o);
        float mn = fmaxf(m, mo);
        s = (m == -INFINITY ? 0.0f : s * __expf(m - mn)) + (mo == -INFINITY ? 0.0f : so * __expf(mo - mn));
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
            s = (m == -INFINITY ? 0.0f : s * __expf(m - mn)) + (mo == -INFINITY ? 0.0f : so * __expf(mo - mn));
            m = mn;
        }
        if (lane == 0) { sh_m[0] = m; sh_s[0] = s; }
    }
    __syncthreads();
    m = sh_m[0];
    s = sh_s[0];
    float lse = m + logf(s);
    if (threadIdx.x == 0) losses[row] = tgt < 0 ? 0.0f : lse - __bfloat162float(x[tgt]);
    if (grad_scale == 0.0f) return;
    __syncthreads();                     /* x[tgt] read above before it is overwritten */
    float scale = tgt < 0 ? 0.0f : grad_scale, inv = 1.0f / s;
    for (int j = threadIdx.x; j < nv; j += blockDim.x) {
        uint4 u = xv[j];
        __nv_bfloat162 *p = (__nv_bfloat162 *)&u;
#pragma unroll
        for (int k = 0; k < 4; k++) {
            float2 t = __bfloat1622float2(p[k]);
            int c0 = j * 8 + 2 * k;
            float g0 = scale * (__expf(t.x - m) * inv - (c0 == tgt ? 1.0f : 0.0f));
            float g1 = scale * (__expf(t.y - m) * inv - (c0 + 1 == tgt ? 1.0f : 0.0f));
            p[k] = __floats2bfloat162_rn(g0, g1);
        }
        xv[j] = u;
    }
}

void t6_cuda_cross_entropy(t6_backend *be, float *losses, void *logits, const int32_t *targets,
                           int N, int V, float grad_scale)
{
    if (N <= 0) return;
    if (cu_bf16(be) && V % 8 == 0 && ((uintptr_t)logits & 15) == 0) {
        k_ce8<<<N, 1024, 0, cu_stream(be)>>>(losses, (__nv_bfloat16 *)logits, targets, V, grad_scale);
        CUDA_CHECK_LAUNCH();
        return;
    }
    T6_ACT_DISPATCH(be, T, {
        k_ce<T><<<N, 1024, 0, cu_stream(be)>>>(losses, (T *)logits, targets, V, grad_scale);
        CUDA_CHECK_LAUNCH();
    });
}
