/* cuda_backend.cu -- the CUDA backend's life cycle and memory ops: picks the device
 * (local_rank % device count), creates the stream every op runs on, the cuBLASLt
 * handle and workspace, and assembles the ops table from the per-op files. Activations
 * are bf16 in bf16 precision and float in fp32 precision; parameters, gradients and
 * moments are always fp32, with a separate compute copy of the weights
 * (weights_are_master = 0) refreshed by adamw and params_to_compute. */
#include "cuda_common.cuh"

#include <stdlib.h>
#include <string.h>

extern "C" {
#include "util.h"
}

/* ---- the backend's one device allocator: every device buffer of the backend goes
 * through these four, so be->mem counts what the program holds the way PyTorch's
 * max_memory_allocated does (memtrack.h), cuBLASLt workspace and scratch included. ---- */

/* cudaMalloc failed: say how much we hold and what the device has left. */
static void oom(t6_backend *be, size_t bytes, cudaError_t e, const char *what)
{
    size_t fr = 0, tot = 0;
    cudaMemGetInfo(&fr, &tot);
    t6_mem_stats ms;
    t6_backend_mem_stats(be, &ms);
    t6_fatal_hint("lower train.micro_batch or train.seq_len, set train.recompute = \"attention\" or \"block\" "
                  "(t6 --check estimates each), or use a larger GPU",
                  "CUDA: %s of %zu bytes on device %d failed: %s (t6 holds %zu bytes, peak %zu; the device has "
                  "%zu of %zu bytes free)",
                  what, bytes, be->device_index, cudaGetErrorString(e), ms.current, ms.peak, fr, tot);
}

void *t6_cuda_dev_alloc(t6_backend *be, size_t bytes)
{
    void *p = NULL;
    if (bytes == 0) bytes = 1;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) oom(be, bytes, e, "cudaMalloc");
    t6_memtrack_add(be->mem, p, bytes);
    return p;
}

void t6_cuda_dev_free(t6_backend *be, void *p)
{
    if (!p) return;
    t6_memtrack_remove(be->mem, p);
    CUDA_CHECK(cudaFree(p));
}

void *t6_cuda_dev_alloc_async(t6_backend *be, size_t bytes)
{
    void *p = NULL;
    if (bytes == 0) bytes = 1;
    cudaError_t e = cudaMallocAsync(&p, bytes, cu_stream(be));
    if (e != cudaSuccess) oom(be, bytes, e, "cudaMallocAsync");
    t6_memtrack_add(be->mem, p, bytes);
    return p;
}

/* Stream-ordered: counted as freed now (as PyTorch's allocator counts a block freed
 * once the tensor is released, whatever the stream still does with it). */
void t6_cuda_dev_free_async(t6_backend *be, void *p)
{
    if (!p) return;
    t6_memtrack_remove(be->mem, p);
    CUDA_CHECK(cudaFreeAsync(p, cu_stream(be)));
}

void *t6_cuda_scratch(t6_backend *be, size_t bytes)
{
    t6_cuda_impl *im = cu_impl(be);
    if (bytes > im->scratch_bytes) {
        t6_cuda_buffers_changed(be);
        /* the old buffer may still be read by queued work: free is stream-ordered */
        t6_cuda_dev_free_async(be, im->scratch);
        im->scratch = t6_cuda_dev_alloc_async(be, bytes);
        im->scratch_bytes = bytes;
    }
    return im->scratch;
}

void *t6_cuda_scratch2(t6_backend *be, size_t bytes)
{
    t6_cuda_impl *im = cu_impl(be);
    if (bytes > im->scratch2_bytes) {
        t6_cuda_buffers_changed(be);
        t6_cuda_dev_free_async(be, im->scratch2);
        im->scratch2 = t6_cuda_dev_alloc_async(be, bytes);
        im->scratch2_bytes = bytes;
    }
    return im->scratch2;
}

static void *cu_alloc(t6_backend *be, size_t bytes)
{
    void *p = t6_cuda_dev_alloc(be, bytes);
    CUDA_CHECK(cudaMemsetAsync(p, 0, bytes ? bytes : 1, cu_stream(be)));
    CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));
    return p;
}

static void cu_free(t6_backend *be, void *p)
{
    if (!p) return;
    CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));
    t6_cuda_dev_free(be, p);
}

static void cu_zero(t6_backend *be, void *p, size_t bytes)
{
    CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, cu_stream(be)));
}

static void cu_to_device(t6_backend *be, void *dst, const void *src, size_t bytes)
{
    /* pageable host memory may be reused by the caller at once: synchronous */
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cu_stream(be)));
    CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));
}

static void cu_to_host(t6_backend *be, void *dst, const void *src, size_t bytes)
{
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cu_stream(be)));
    CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));
}

static void cu_sync(t6_backend *be)
{
    CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));
}

static size_t cu_mem_in_use(t6_backend *be)
{
    (void)be;   /* the current device is the backend's (set at creation) */
    size_t fr = 0, tot = 0;
    if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return tot - fr;
}

/* Designated initializers (a GNU extension in C++17 that nvcc's front end accepts), in
 * the order of t6_ops, which C++ requires; tests/gen/ops_table checks every slot is set. */
static const t6_ops cuda_ops = {
    .alloc = cu_alloc,
    .free = cu_free,
    .zero = cu_zero,
    .to_device = cu_to_device,
    .to_host = cu_to_host,
    .sync = cu_sync,
    .params_to_compute = t6_cuda_params_to_compute,
    .act_from_float = t6_cuda_act_from_float,
    .act_to_float = t6_cuda_act_to_float,
    .embed_fwd = t6_cuda_embed_fwd,
    .embed_bwd = t6_cuda_embed_bwd,
    .rmsnorm_fwd = t6_cuda_rmsnorm_fwd,
    .rmsnorm_bwd = t6_cuda_rmsnorm_bwd,
    .matmul_fwd = t6_cuda_matmul_fwd,
    .matmul_bwd = t6_cuda_matmul_bwd,
    .rope_fwd = t6_cuda_rope_fwd,
    .rope_bwd = t6_cuda_rope_bwd,
    .tpa_product_fwd = t6_cuda_tpa_product_fwd,
    .tpa_product_bwd = t6_cuda_tpa_product_bwd,
    .tpa_split = t6_cuda_tpa_split,
    .tpa_join = t6_cuda_tpa_join,
    .attention_fwd = t6_cuda_attention_fwd,
    .attention_bwd = t6_cuda_attention_bwd,
    .rope_fwd_pos = t6_cuda_rope_fwd_pos,
    .cache_scatter = t6_cuda_cache_scatter,
    .decode_attention_tpa = t6_cuda_decode_attention_tpa,
    .decode_attention_kv = t6_cuda_decode_attention_kv,
    .decode_attention_mla = t6_cuda_decode_attention_mla,
    .swiglu_fwd = t6_cuda_swiglu_fwd,
    .swiglu_bwd = t6_cuda_swiglu_bwd,
    .add_inplace = t6_cuda_add_inplace,
    .cross_entropy = t6_cuda_cross_entropy,
    .adamw = t6_cuda_adamw,
    .sum_squares = t6_cuda_sum_squares,
    .scale = t6_cuda_scale,
    .copy_rows = t6_cuda_copy_rows,
    .rmsnorm_w_fwd = t6_cuda_rmsnorm_w_fwd,
    .rmsnorm_w_bwd = t6_cuda_rmsnorm_w_bwd,
    .graph_begin = t6_cuda_graph_begin,
    .graph_end = t6_cuda_graph_end,
    .graph_launch = t6_cuda_graph_launch,
    .graph_free = t6_cuda_graph_free,
    .mem_in_use = cu_mem_in_use,
    .add_rmsnorm_fwd = t6_cuda_add_rmsnorm_fwd,
    .tpa_qkv_fwd = t6_cuda_tpa_qkv_fwd,
    .tpa_qkv_bwd = t6_cuda_tpa_qkv_bwd,
    .mla_split = t6_cuda_mla_split,
    .mla_join = t6_cuda_mla_join,
};

extern "C" const t6_ops *t6_cuda_ops_table(void) { return &cuda_ops; }

/* Datasheet dense bf16 tensor-core peak of the GPUs the job scripts target, so MFU is
 * reported without configuration; 0 (MFU n/a) elsewhere and in fp32 precision, where
 * no single peak is meaningful. T6_PEAK_FLOPS overrides it (src/train.c). */
static double bf16_peak_flops(int dev, t6_precision precision)
{
    cudaDeviceProp p;
    if (precision != T6_PREC_BF16 || cudaGetDeviceProperties(&p, dev) != cudaSuccess) return 0.0;
    const int pcie = strstr(p.name, "PCIe") != NULL;
    if (p.major == 9 && p.minor == 0) return pcie ? 756e12 : 989e12;  /* H100 PCIe / H100 SXM, H200 */
    if (p.major == 8 && p.minor == 0) return 312e12;                  /* A100 */
    return 0.0;
}

extern "C" t6_backend *t6_cuda_backend_create(const t6_backend_config *cfg, int local_rank)
{
    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev == 0)
        t6_fatal_hint("run on a machine with a GPU, or set backend.device = \"cpu\"",
                      "backend.device = \"cuda\" but no CUDA device is usable (%s)",
                      e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    int dev = (local_rank < 0 ? 0 : local_rank) % ndev;
    CUDA_CHECK(cudaSetDevice(dev));

    t6_backend *be = (t6_backend *)t6_calloc(1, sizeof *be);
    t6_cuda_impl *im = (t6_cuda_impl *)t6_calloc(1, sizeof *im);
    be->ops = &cuda_ops;
    be->kind = T6_BACKEND_CUDA;
    be->precision = cfg->precision;
    be->act_bytes = cfg->precision == T6_PREC_BF16 ? 2 : 4;
    be->weights_are_master = 0;
    be->device_index = dev;
    be->peak_flops = bf16_peak_flops(dev, cfg->precision);
    be->impl = im;
    be->mem = t6_memtrack_new();
    im->device = dev;
    CUDA_CHECK(cudaStreamCreateWithFlags(&im->stream, cudaStreamNonBlocking));
    im->red_partials = (double *)t6_cuda_dev_alloc(be, 1024 * sizeof(double));
    CUDA_CHECK(cudaMallocHost(&im->red_host, sizeof(double)));
    t6_cuda_matmul_init(be);
    return be;
}

extern "C" void t6_cuda_backend_destroy(t6_backend *be)
{
    if (!be) return;
    t6_cuda_impl *im = cu_impl(be);
    CUDA_CHECK(cudaSetDevice(im->device));
    CUDA_CHECK(cudaStreamSynchronize(im->stream));
    t6_cuda_nccl_destroy(be);
    t6_cuda_matmul_destroy(be);
    t6_cuda_dev_free_async(be, im->scratch);
    t6_cuda_dev_free_async(be, im->scratch2);
    CUDA_CHECK(cudaStreamSynchronize(im->stream));
    t6_cuda_dev_free(be, im->rope_tab);
    t6_cuda_dev_free(be, im->red_partials);
    CUDA_CHECK(cudaFreeHost(im->red_host));
    CUDA_CHECK(cudaStreamDestroy(im->stream));
    t6_memtrack_free(be->mem);
    free(im);
    free(be);
}
