/* bench_cpu.c -- CPU forward+backward throughput of the model of a deck (not part of
 * make check; build with `make bench-cpu`, results in bench/cpu/RESULTS.md).
 *
 *   bench/cpu/bench_cpu DECK [--set k=v]... [--steps N] [--matmul blas|blocked|blas-threaded]
 *
 * Times t6_model_forward + t6_model_backward on random tokens at the deck's
 * micro_batch x seq_len after one warm-up step and reports tokens/s, ms/step and the
 * model FLOP rate (6N + 12 L h dh T per token, as t6 --check). Threads: OMP_NUM_THREADS
 * or backend.threads. The matmul path comes from T6_CPU_MATMUL (set by --matmul). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>

#include "config.h"
#include "backend.h"
#include "deck.h"
#include "model.h"
#include "params.h"
#include "rng.h"
#include "util.h"

/* CPU seconds of the whole process (all threads): on a shared machine this moves far
 * less than wall time when other jobs compete for the cores. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    t6_set_progname("bench_cpu");
    const char *deck_path = NULL, *sets[32];
    int n_sets = 0, steps = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--set") == 0 && i + 1 < argc && n_sets < 32) sets[n_sets++] = argv[++i];
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--matmul") == 0 && i + 1 < argc) setenv("T6_CPU_MATMUL", argv[++i], 1);
        else if (!deck_path) deck_path = argv[i];
        else t6_fatal_hint("bench_cpu DECK [--set k=v]... [--steps N] [--matmul blas|blocked|blas-threaded]",
                           "unexpected argument '%s'", argv[i]);
    }
    T6_CHECK(deck_path, "bench_cpu DECK [--set k=v]... [--steps N] [--matmul blas|blocked|blas-threaded]",
             "no deck given");
    t6_deck deck;
    char err[1024];
    if (t6_deck_load(&deck, deck_path, sets, n_sets, err, sizeof err) != 0) t6_fatal("%s", err);
    deck.backend.device = T6_BACKEND_CPU;
    t6_backend *be = t6_backend_create(&deck.backend, 0);
    const t6_model_config *c = &deck.model;
    const int B = deck.train.micro_batch, T = deck.train.seq_len, N = B * T;
    t6_model *m = t6_model_create(c, be, B, T);
    t6_model_init_params(m, deck.train.seed);
    int32_t *x = t6_malloc(sizeof(int32_t) * N), *y = t6_malloc(sizeof(int32_t) * N);
    t6_rng r;
    t6_rng_init(&r, 1, 1);
    for (int i = 0; i < N; i++) {
        x[i] = (int32_t)t6_rng_next_below(&r, (uint64_t)c->vocab_size);
        y[i] = (int32_t)t6_rng_next_below(&r, (uint64_t)c->vocab_size);
    }
    const size_t n_params = t6_model_layout(m)->n_params;
    const double flops_tok = t6_flops_per_token(c, n_params, T);
    double tf = 0.0, tb = 0.0, tcpu = 0.0;
    float loss = 0.0f;
    for (int s = 0; s <= steps; s++) {
        t6_model_zero_grad(m);
        const double c0 = cpu_seconds();
        const double t0 = t6_now();
        loss = t6_model_forward(m, x, y, 1, 1.0f);
        const double t1 = t6_now();
        t6_model_backward(m);
        const double t2 = t6_now();
        if (s > 0) {   /* step 0 warms up caches and page faults */
            tf += t1 - t0;
            tb += t2 - t1;
            tcpu += cpu_seconds() - c0;
        }
    }
#ifdef T6_HAVE_BLAS
    const char *mm = getenv("T6_CPU_MATMUL");
#endif
    printf("deck %s: %s L=%d d=%d h=%d dh=%d V=%d, %zu parameters, B=%d T=%d, %d threads, matmul %s\n",
           deck_path, t6_attn_name(c->attention), c->n_layer, c->n_embd, c->n_head, c->head_dim, c->vocab_size,
           n_params, B, T, omp_get_max_threads(),
#ifdef T6_HAVE_BLAS
           mm ? mm : "blas"
#else
           "blocked (no BLAS in this build)"
#endif
    );
    const double step = (tf + tb) / steps;
    printf("  loss %.4f  fwd %.1f ms  bwd %.1f ms  fwd+bwd %.1f ms/step  %.0f tokens/s  %.2f GFLOP/s (model FLOPs)\n"
           "  CPU time %.1f ms/step (all threads): %.0f tokens per CPU-second\n",
           loss, 1e3 * tf / steps, 1e3 * tb / steps, 1e3 * step, N / step, flops_tok * N / step / 1e9,
           1e3 * tcpu / steps, N / (tcpu / steps));
    free(x);
    free(y);
    t6_model_destroy(m);
    t6_backend_destroy(be);
    t6_deck_free(&deck);
    return 0;
}
