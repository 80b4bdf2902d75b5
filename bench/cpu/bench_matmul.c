/* bench_matmul.c -- GFLOP/s of the CPU backend's matmul paths (OpenBLAS on fixed
 * tiles, OpenBLAS threading itself, hand-written blocked loops) on the shapes of the
 * demo and T6-small linear layers. Not part of make check; `make bench-cpu`.
 *   bench/cpu/bench_matmul [N] [reps]     (N = tokens per micro-batch, default 512) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "backend.h"
#include "cpu/cpu_ops.h"
#include "util.h"

static double bench(t6_backend *be, int N, int C, int OC, int reps)
{
    float *inp = t6_calloc((size_t)N * C, 4), *w = t6_calloc((size_t)OC * C, 4), *out = t6_calloc((size_t)N * OC, 4);
    float *dinp = t6_calloc((size_t)N * C, 4), *dw = t6_calloc((size_t)OC * C, 4);
    for (size_t i = 0; i < (size_t)N * C; i++) inp[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)OC * C; i++) w[i] = (float)(i % 5) * 0.1f;
    /* warm-up: the first calls on a thread pay OpenBLAS's buffer allocation and page faults */
    be->ops->matmul_fwd(be, out, OC, inp, C, w, N, C, OC, 0);
    be->ops->matmul_bwd(be, dinp, C, dw, out, OC, inp, C, w, N, C, OC, 0);
    const double t0 = t6_now();
    for (int r = 0; r < reps; r++) {
        be->ops->matmul_fwd(be, out, OC, inp, C, w, N, C, OC, 0);
        be->ops->matmul_bwd(be, dinp, C, dw, out, OC, inp, C, w, N, C, OC, 0);
    }
    const double dt = (t6_now() - t0) / reps;
    free(inp); free(w); free(out); free(dinp); free(dw);
    return 6.0 * N * C * OC / dt / 1e9;   /* fwd + dinp + dw */
}

int main(int argc, char **argv)
{
    const int N = argc > 1 ? atoi(argv[1]) : 512, reps = argc > 2 ? atoi(argv[2]) : 3;
    static const struct { const char *what; int C, OC; } shapes[] = {
        {"demo fc1 (64->170)", 64, 170},
        {"demo lm_head (64->512)", 64, 512},
        {"small W_B_q (768->384)", 768, 384},
        {"small fc1 (768->2048)", 768, 2048},
        {"small proj (2048->768)", 2048, 768},
        {"small lm_head (768->50304)", 768, 50304},
    };
    static const char *modes[] = {"blas", "blas-threaded", "blocked"};
    printf("N = %d tokens, %d threads; GFLOP/s of forward + both backward products\n", N, omp_get_max_threads());
    printf("%-28s %10s %14s %10s\n", "shape", modes[0], modes[1], modes[2]);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        printf("%-28s", shapes[s].what);
        for (int mi = 0; mi < 3; mi++) {
#ifndef T6_HAVE_BLAS
            if (mi < 2) { printf(" %10s", "n/a"); continue; }
#endif
            setenv("T6_CPU_MATMUL", modes[mi], 1);
            t6_backend_config bc = {.device = T6_BACKEND_CPU};
            t6_backend *be = t6_backend_create(&bc, 0);
            if (s == 0) bench(be, N, shapes[s].C, shapes[s].OC, reps);   /* process start-up (thread pools) */
            printf(mi == 1 ? " %14.1f" : " %10.1f", bench(be, N, shapes[s].C, shapes[s].OC, reps));
            fflush(stdout);
            t6_backend_destroy(be);
        }
        printf("\n");
    }
    return 0;
}
