/* cpu_backend.c -- the CPU backend: memory ops, construction of the ops table,
 * and the small elementwise ops (SwiGLU, residual add). float32 everywhere: the act
 * type is float, and the compute copy of the weights is the fp32 master buffer. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "cpu_ops.h"
#include "util.h"

#ifdef T6_HAVE_BLAS
#include <cblas.h>
#endif

/* The CPU backend's one allocation function (counted in be->mem, memtrack.h): the
 * ops table's alloc, and the large temporaries of the ops (t6_cpu_tmp_alloc). */
static void *cpu_alloc(t6_backend *be, size_t bytes)
{
    /* 64-byte alignment for vector loads; calloc semantics (zero-filled) as the
     * contract asks. */
    size_t sz = (bytes + 63) & ~(size_t)63;
    if (sz == 0) sz = 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, sz) != 0 || !p) {
        t6_mem_stats ms;
        t6_backend_mem_stats(be, &ms);
        t6_fatal_hint("reduce the micro-batch or sequence length, or set train.recompute",
                      "out of memory allocating %zu bytes on the CPU backend (%zu bytes allocated already)", bytes,
                      ms.current);
    }
    memset(p, 0, sz);
    t6_memtrack_add(be->mem, p, bytes);
    return p;
}

static void cpu_free(t6_backend *be, void *p)
{
    t6_memtrack_remove(be->mem, p);
    free(p);
}

void *t6_cpu_tmp_alloc(t6_backend *be, size_t bytes) { return cpu_alloc(be, bytes); }
void t6_cpu_tmp_free(t6_backend *be, void *p) { cpu_free(be, p); }
static void cpu_zero(t6_backend *be, void *p, size_t bytes) { (void)be; memset(p, 0, bytes); }
static void cpu_copy_in(t6_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes) memmove(dst, src, bytes);
}
static void cpu_sync(t6_backend *be) { (void)be; }

static void cpu_params_to_compute(t6_backend *be, void *compute, const float *master, size_t n)
{
    /* The compute copy IS the master buffer on the CPU; copy only if the caller gave a
     * distinct buffer. */
    if (compute && compute != (const void *)master) memmove(compute, master, n * sizeof(float));
}

static void cpu_act_from_float(t6_backend *be, void *act, const float *host, size_t n)
{
    if (act != (const void *)host) memmove(act, host, n * sizeof(float));
}
static void cpu_act_to_float(t6_backend *be, float *host, const void *act, size_t n)
{
    if (act != (const void *)host) memmove(host, act, n * sizeof(float));
}

/* ---- elementwise ---- */

void t6_cpu_swiglu_fwd(t6_backend *be, void *out_, const void *h1_, const void *h2_, size_t n)
{
    float *out = out_;
    const float *h1 = h1_, *h2 = h2_;
#pragma omp parallel for schedule(static) if (n >= T6_CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float a = h1[i];
        float silu = a / (1.0f + expf(-a));
        out[i] = silu * h2[i];
    }
}

void t6_cpu_swiglu_bwd(t6_backend *be, void *dh1_, void *dh2_, const void *dout_,
                       const void *h1_, const void *h2_, size_t n)
{
    float *dh1 = dh1_, *dh2 = dh2_;
    const float *dout = dout_, *h1 = h1_, *h2 = h2_;
#pragma omp parallel for schedule(static) if (n >= T6_CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float a = h1[i];
        float sig = 1.0f / (1.0f + expf(-a));
        float silu = a * sig;
        /* d silu / da = sig * (1 + a * (1 - sig)) */
        float dsilu = sig * (1.0f + a * (1.0f - sig));
        float g = dout[i];
        dh2[i] = g * silu;
        dh1[i] = g * h2[i] * dsilu;
    }
}

void t6_cpu_add_inplace(t6_backend *be, void *x_, const void *y_, size_t n)
{
    float *x = x_;
    const float *y = y_;
#pragma omp parallel for schedule(static) if (n >= T6_CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

/* ---- construction ---- */

#ifdef T6_HAVE_BLAS
/* OpenBLAS picks its kernels at load time from the CPU model; a model newer than the
 * library (e.g. Emerald Rapids with Debian 12's 0.3.21) gets the generic SSE3
 * "Prescott" kernels, 5-10x slower than the AVX-512 ones (bench/cpu/RESULTS.md). The
 * choice is made before main, so all we can do is say how to fix it. */
static void warn_generic_openblas(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static int warned = 0;   /* once per process */
    if (warned || getenv("OPENBLAS_CORETYPE")) return;
    const char *core = openblas_get_corename();
    if (!core || strcasecmp(core, "prescott") != 0) return;
    const char *fix = __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
    if (!fix) return;
    warned = 1;
    fprintf(stderr, "%s: warning: OpenBLAS does not recognize this CPU and uses its slow generic kernels\n"
            "  hint: export OPENBLAS_CORETYPE=%s before starting the program\n", t6_progname(), fix);
#endif
}
#endif

/* dst rows (= or +=) src rows, both strided (MLA's head splits and joins). */
static void cpu_copy_rows(t6_backend *be, void *dst_, int ld_dst, const void *src_, int ld_src, int rows, int width,
                          int accumulate)
{
    float *dst = dst_;
    const float *src = src_;
#pragma omp parallel for schedule(static) if ((long)rows * width >= T6_CPU_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        float *d = dst + (size_t)r * ld_dst;
        const float *s = src + (size_t)r * ld_src;
        if (accumulate)
            for (int j = 0; j < width; j++) d[j] += s[j];
        else
            memcpy(d, s, sizeof(float) * (size_t)width);
    }
}

/* No graphs on the CPU: an op call costs nothing to launch, so the caller runs the ops. */
static int cpu_graph_begin(t6_backend *be) { (void)be; return 0; }
static void *cpu_graph_end(t6_backend *be) { (void)be; return NULL; }
static int cpu_graph_launch(t6_backend *be, void *g) { (void)be; (void)g; return -1; }
static void cpu_graph_free(t6_backend *be, void *g) { (void)be; (void)g; }

/* resident set size from /proc/self/statm (pages), 0 where there is none */
static size_t cpu_mem_in_use(t6_backend *be)
{
    (void)be;
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (!f) return 0;
    int n = fscanf(f, "%lu %lu", &size, &rss);
    fclose(f);
    long pg = sysconf(_SC_PAGESIZE);
    return n == 2 && pg > 0 ? (size_t)rss * (size_t)pg : 0;
}

static const t6_ops cpu_ops = {
    .alloc = cpu_alloc,
    .free = cpu_free,
    .zero = cpu_zero,
    .to_device = cpu_copy_in,
    .to_host = cpu_copy_in,
    .sync = cpu_sync,
    .params_to_compute = cpu_params_to_compute,
    .act_from_float = cpu_act_from_float,
    .act_to_float = cpu_act_to_float,
    .embed_fwd = t6_cpu_embed_fwd,
    .embed_bwd = t6_cpu_embed_bwd,
    .rmsnorm_fwd = t6_cpu_rmsnorm_fwd,
    .rmsnorm_bwd = t6_cpu_rmsnorm_bwd,
    .matmul_fwd = t6_cpu_matmul_fwd,
    .matmul_bwd = t6_cpu_matmul_bwd,
    .rope_fwd = t6_cpu_rope_fwd,
    .rope_bwd = t6_cpu_rope_bwd,
    .tpa_product_fwd = t6_cpu_tpa_product_fwd,
    .tpa_product_bwd = t6_cpu_tpa_product_bwd,
    .tpa_split = t6_cpu_tpa_split,
    .tpa_join = t6_cpu_tpa_join,
    .attention_fwd = t6_cpu_attention_fwd,
    .attention_bwd = t6_cpu_attention_bwd,
    .rope_fwd_pos = t6_cpu_rope_fwd_pos,
    .cache_scatter = t6_cpu_cache_scatter,
    .decode_attention_tpa = t6_cpu_decode_attention_tpa,
    .decode_attention_kv = t6_cpu_decode_attention_kv,
    .decode_attention_mla = t6_cpu_decode_attention_mla,
    .swiglu_fwd = t6_cpu_swiglu_fwd,
    .swiglu_bwd = t6_cpu_swiglu_bwd,
    .add_inplace = t6_cpu_add_inplace,
    .cross_entropy = t6_cpu_cross_entropy,
    .adamw = t6_cpu_adamw,
    .sum_squares = t6_cpu_sum_squares,
    .scale = t6_cpu_scale,
    .copy_rows = cpu_copy_rows,
    .rmsnorm_w_fwd = t6_cpu_rmsnorm_w_fwd,
    .rmsnorm_w_bwd = t6_cpu_rmsnorm_w_bwd,
    .graph_begin = cpu_graph_begin,
    .graph_end = cpu_graph_end,
    .graph_launch = cpu_graph_launch,
    .graph_free = cpu_graph_free,
    .mem_in_use = cpu_mem_in_use,
    .add_rmsnorm_fwd = t6_cpu_add_rmsnorm_fwd,
    .tpa_qkv_fwd = t6_cpu_tpa_qkv_fwd,
    .tpa_qkv_bwd = t6_cpu_tpa_qkv_bwd,
    .mla_split = t6_cpu_mla_split,
    .mla_join = t6_cpu_mla_join,
};

const t6_ops *t6_cpu_ops_table(void) { return &cpu_ops; }

t6_backend *t6_cpu_backend_create(const t6_backend_config *cfg)
{
    t6_backend *be = t6_calloc(1, sizeof *be);
    t6_cpu_impl *impl = t6_calloc(1, sizeof *impl);
    be->ops = &cpu_ops;
    be->kind = T6_BACKEND_CPU;
    be->precision = T6_PREC_FP32;   /* the CPU backend computes in float32 whatever the deck asks */
    be->act_bytes = sizeof(float);
    be->weights_are_master = 1;
    be->device_index = -1;
    be->impl = impl;
    be->mem = t6_memtrack_new();
    impl->threads = cfg ? cfg->threads : 0;
    if (impl->threads > 0) omp_set_num_threads(impl->threads);
#ifdef T6_HAVE_BLAS
    impl->use_blas = 1;
    /* T6_CPU_MATMUL=blocked forces the hand-written loops (benchmarks, tests). */
    const char *mm = getenv("T6_CPU_MATMUL");
    if (mm && strcmp(mm, "blocked") == 0) impl->use_blas = 0;
    /* T6_CPU_MATMUL=blas-threaded lets OpenBLAS thread itself (for the comparison in
     * bench/cpu; results then depend on the thread count). By default OpenBLAS runs
     * single-threaded inside our fixed OpenMP tiling (cpu_matmul.c). */
    impl->blas_threaded = mm && strcmp(mm, "blas-threaded") == 0;
    openblas_set_num_threads(impl->blas_threaded ? omp_get_max_threads() : 1);
    warn_generic_openblas();
#else
    impl->use_blas = 0;
#endif
    t6_cpu_set_use_blas(be, impl->use_blas);
    return be;
}

void t6_cpu_backend_destroy(t6_backend *be)
{
    if (!be) return;
    t6_memtrack_free(be->mem);
    free(be->impl);
    free(be);
}
