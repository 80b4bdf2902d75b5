/* profile.cu -- per-op GPU time for benchmarks: swaps a backend's ops table for one
 * whose compute ops are bracketed by CUDA events on the backend's stream, so the
 * breakdown measures GPU time (not launch time) without serialising the stream.
 * For one backend at a time (a benchmark tool, not the training path). */
#include "cuda_common.cuh"

#include <stdio.h>
#include <type_traits>

#include "profile.h"

#define PROF_OPS 32
#define PROF_POOL 4096

static t6_ops g_orig, g_wrapped;
static void *g_fn[PROF_OPS];
static const char *g_name[PROF_OPS];
static double g_ms[PROF_OPS];
static long g_calls[PROF_OPS];
static cudaEvent_t g_ev0[PROF_POOL], g_ev1[PROF_POOL];
static int g_id[PROF_POOL], g_used = 0, g_init = 0;
static t6_backend *g_be = NULL;
static int g_active = 0;            /* events only while active (t6_cuda_prof_reset .. report) */

static void prof_flush(void)
{
    if (!g_used) return;
    CUDA_CHECK(cudaEventSynchronize(g_ev1[g_used - 1]));
    for (int i = 0; i < g_used; i++) {
        float ms = 0.0f;
        CUDA_CHECK(cudaEventElapsedTime(&ms, g_ev0[i], g_ev1[i]));
        g_ms[g_id[i]] += ms;
        g_calls[g_id[i]]++;
    }
    g_used = 0;
}

template <int ID, typename F> struct prof_wrap;
template <int ID, typename R, typename... A> struct prof_wrap<ID, R (*)(t6_backend *, A...)> {
    static R call(t6_backend *be, A... a)
    {
        typedef R (*fn_t)(t6_backend *, A...);
        fn_t f = (fn_t)g_fn[ID];
        if (!g_active) return f(be, a...);
        if (g_used == PROF_POOL) prof_flush();
        int k = g_used++;
        g_id[k] = ID;
        CUDA_CHECK(cudaEventRecord(g_ev0[k], cu_stream(be)));
        if constexpr (std::is_void<R>::value) {
            f(be, a...);
            CUDA_CHECK(cudaEventRecord(g_ev1[k], cu_stream(be)));
        } else {
            R r = f(be, a...);
            CUDA_CHECK(cudaEventRecord(g_ev1[k], cu_stream(be)));
            return r;
        }
    }
};

#define WRAP(field, id)                                                              \
    do {                                                                             \
        g_fn[id] = (void *)g_orig.field;                                             \
        g_name[id] = #field;                                                         \
        g_wrapped.field = &prof_wrap<id, decltype(g_orig.field)>::call;              \
    } while (0)

extern "C" void t6_cuda_prof_enable(t6_backend *be)
{
    T6_CHECK(be->kind == T6_BACKEND_CUDA, NULL, "profiling needs the CUDA backend");
    T6_CHECK(!g_be || g_be == be, NULL, "profiling one backend at a time");
    if (g_be == be) return;
    if (!g_init) {
        for (int i = 0; i < PROF_POOL; i++) {
            CUDA_CHECK(cudaEventCreate(&g_ev0[i]));
            CUDA_CHECK(cudaEventCreate(&g_ev1[i]));
        }
        g_init = 1;
    }
    g_orig = *be->ops;
    g_wrapped = g_orig;
    WRAP(params_to_compute, 0);
    WRAP(embed_fwd, 1);
    WRAP(embed_bwd, 2);
    WRAP(rmsnorm_fwd, 3);
    WRAP(rmsnorm_bwd, 4);
    WRAP(matmul_fwd, 5);
    WRAP(matmul_bwd, 6);
    WRAP(rope_fwd, 7);
    WRAP(rope_bwd, 8);
    WRAP(tpa_product_fwd, 9);
    WRAP(tpa_product_bwd, 10);
    WRAP(attention_fwd, 11);
    WRAP(attention_bwd, 12);
    WRAP(swiglu_fwd, 13);
    WRAP(swiglu_bwd, 14);
    WRAP(add_inplace, 15);
    WRAP(cross_entropy, 16);
    WRAP(adamw, 17);
    WRAP(sum_squares, 18);
    WRAP(scale, 19);
    WRAP(zero, 20);
    WRAP(tpa_split, 21);
    WRAP(tpa_join, 22);
    WRAP(copy_rows, 23);
    WRAP(add_rmsnorm_fwd, 24);
    WRAP(tpa_qkv_fwd, 25);
    WRAP(tpa_qkv_bwd, 26);
    WRAP(rmsnorm_w_fwd, 27);   /* MLA's; unwrapped they hid a third of its step */
    WRAP(rmsnorm_w_bwd, 28);
    WRAP(mla_split, 29);
    WRAP(mla_join, 30);
    be->ops = &g_wrapped;
    g_be = be;
}

extern "C" int t6_cuda_prof_active(void) { return g_active; }

extern "C" void t6_cuda_prof_reset(void)
{
    prof_flush();
    g_active = 1;
    for (int i = 0; i < PROF_OPS; i++) { g_ms[i] = 0.0; g_calls[i] = 0; }
}

extern "C" void t6_cuda_prof_report(FILE *f, int steps)
{
    prof_flush();
    g_active = 0;
    double tot = 0.0;
    for (int i = 0; i < PROF_OPS; i++) tot += g_ms[i];
    if (steps < 1) steps = 1;
    fprintf(f, "  %-20s %10s %8s %7s\n", "op", "ms/step", "calls", "share");
    for (int pass = 0; pass < PROF_OPS; pass++) {
        int best = -1;
        for (int i = 0; i < PROF_OPS; i++)
            if (g_name[i] && g_ms[i] >= 0.0 && (best < 0 || g_ms[i] > g_ms[best])) best = i;
        if (best < 0 || g_calls[best] == 0) break;
        fprintf(f, "  %-20s %10.3f %8ld %6.1f%%\n", g_name[best], g_ms[best] / steps, g_calls[best] / steps,
                tot > 0 ? 100.0 * g_ms[best] / tot : 0.0);
        g_ms[best] = -1.0;     /* printed */
    }
    fprintf(f, "  %-20s %10.3f\n", "total (GPU)", tot / steps);
    if (g_be) t6_cuda_matmul_prof_report(g_be, f, steps);
    for (int i = 0; i < PROF_OPS; i++) { g_ms[i] = 0.0; g_calls[i] = 0; }
}

extern "C" size_t t6_cuda_mem_used(t6_backend *be)
{
    size_t fr = 0, tot = 0;
    (void)be;
    CUDA_CHECK(cudaMemGetInfo(&fr, &tot));
    return tot - fr;
}

extern "C" void *t6_cuda_stream(t6_backend *be) { return (void *)cu_stream(be); }
