/* gen_check.c -- generation on the CUDA backend checked against the CPU backend at the
 * model level, on the GPU machine (never part of make check: CI has no GPU; run by
 * tests/gpu/gen_check.sh). For every attention type with a KV cache, in fp32 and bf16
 * precision, the same weights on both backends:
 *
 *  - prefill of three prompts of different lengths (one row of length 1), then S decode
 *    steps that all feed the tokens the CPU chose greedily (so both follow one path):
 *    the CUDA logits of the prefill and of every step against the CPU's, as
 *    max |gpu - cpu| / max |cpu| over the step's rows. Tolerances: fp32 1e-4 (the
 *    CUDA fp32 path is fp32 throughout, cuBLASLt with CUBLAS_COMPUTE_32F; sums in
 *    another order give ~1e-6); bf16 5e-2: the CPU runs in fp32 on the bf16-rounded
 *    weights while CUDA rounds every activation to bf16 (2^-9 relative) at the ~12
 *    stages of each layer and in the cache, and these roundings add up like a random
 *    walk to ~1e-2 of the largest logit (gpu_check's model part uses 1e-2 on the loss,
 *    which averages them out). The share of rows whose argmax agrees is printed (INFO).
 *  - the CUDA decode steps replayed as a CUDA graph (kv->use_graphs) against the same
 *    steps launched op by op: bitwise equal logits (the same kernels on the same
 *    buffers), and the graph was replayed for every step but the first;
 *  - the CUDA prefill in groups of one row against all rows at once (tolerance as
 *    against the CPU: GEMMs of another row count may sum in another order).
 *
 * "small" is a 2-layer model of small widths; "wide" the widths of T6 small (d 768,
 * 12 heads of 64, vocabulary 50304) with 2 layers and a 600-token prompt, the shapes the
 * tensor-core decode kernel and the GEMMs of real models take.
 * Prints PASS/FAIL per check and a summary; exit 0 when all pass.
 * Usage: gen_check [small|wide|all] */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "kvcache.h"
#include "model.h"
#include "params.h"
#include "util.h"

#define GPU_TEST_RNG_SEED 0x2545f4914f6cdd1dull
#include "gpu_test.h"

static int g_fail = 0, g_checks = 0;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    g_checks++;
    if (!ok) g_fail++;
}


/* max |a - b| / max |b|; infinite when a holds a non-finite value */
static double rel(const float *a, const float *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        const double e = fabs((double)a[i] - b[i]);
        if (e > num) num = e;
        if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
    }
    return num / (den > 0 ? den : 1.0);
}

static int argmax(const float *x, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[k]) k = i;
    return k;
}

typedef struct {
    const char *name;
    t6_model_config cfg;
    int B, T, S;                 /* rows, longest prompt, decode steps */
    int lens[3];
} gen_case;

/* One generation on backend be: prefill (model made for rows_per rows), then S steps.
 * feed (S x B tokens): read, or chosen as the argmax of this run's logits when choose.
 * Logits: pre (B x V), steps (S x B x V). Returns the graph replays. */
static long session(const gen_case *gc, t6_backend *be, const float *params, int rows_per, int graphs,
                    const int32_t *prompt, int32_t *feed, int choose, float *pre, float *steps)
{
    const t6_model_config *c = &gc->cfg;
    const int B = gc->B, T = gc->T, S = gc->S, V = c->vocab_size;
    t6_model *m = t6_model_create_inference(c, be, rows_per, T, rows_per);
    t6_model_set_params(m, params);
    t6_kvcache *kv = t6_kvcache_create(m, B, T + S);
    kv->use_graphs = graphs;
    t6_kvcache_prefill(kv, m, prompt, gc->lens, B, T, pre);
    const float *lg = pre;
    for (int s = 0; s < S; s++) {
        int32_t tok[3], pos[3];
        for (int b = 0; b < B; b++) {
            if (choose) feed[s * B + b] = argmax(lg + (size_t)b * V, V);
            tok[b] = feed[s * B + b];
            pos[b] = gc->lens[b] + s;
        }
        t6_model_decode_step(m, kv, tok, pos, steps + (size_t)s * B * V);
        lg = steps + (size_t)s * B * V;
    }
    const long replays = kv->graph_steps;
    t6_kvcache_destroy(kv);
    t6_model_destroy(m);
    return replays;
}

static void run_case(const gen_case *gc, t6_backend *cpu, int bf)
{
    const t6_model_config *c = &gc->cfg;
    const char *prec = bf ? "bf16" : "fp32";
    const char *an = t6_attn_name(c->attention);
    const int B = gc->B, T = gc->T, S = gc->S, V = c->vocab_size;
    const double tol = bf ? 5e-2 : 1e-4;
    t6_backend_config gcfg = {T6_BACKEND_CUDA, bf ? T6_PREC_BF16 : T6_PREC_FP32, 0};
    t6_backend *gpu = t6_backend_create(&gcfg, 0);
    printf("== %s %s %s (L=%d d=%d h=%d G=%d dh=%d V=%d; prompts %d/%d/%d, %d steps) ==\n", gc->name, an, prec,
           c->n_layer, c->n_embd, c->n_head, c->n_kv_head, c->head_dim, V, gc->lens[0], gc->lens[1], gc->lens[2], S);

    /* weights: the initialization plus noise (so the zero-initialized output
     * projections carry signal), bf16-rounded for the bf16 run so both sides start
     * from the same numbers */
    t6_model *init = t6_model_create_inference(c, cpu, 1, 1, 1);
    const size_t np = t6_model_layout(init)->n_params;
    float *params = t6_malloc(np * sizeof(float));
    t6_model_init_params(init, 4242);
    t6_model_get_params(init, params);
    t6_model_destroy(init);
    for (size_t i = 0; i < np; i++) {
        params[i] += (float)((2.0 * urand() - 1.0) * 0.02);
        if (bf) params[i] = bf16_round(params[i]);
    }
    int32_t *prompt = t6_malloc(sizeof(int32_t) * (size_t)B * T), *feed = t6_malloc(sizeof(int32_t) * (size_t)S * B);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) prompt[b * T + t] = t < gc->lens[b] ? (int32_t)(urand() * V) : 0;

    const size_t npre = (size_t)B * V, nst = (size_t)S * B * V;
    float *pre_c = t6_malloc(npre * sizeof(float)), *st_c = t6_malloc(nst * sizeof(float));
    float *pre_g = t6_malloc(npre * sizeof(float)), *st_g = t6_malloc(nst * sizeof(float));
    float *pre_e = t6_malloc(npre * sizeof(float)), *st_e = t6_malloc(nst * sizeof(float));
    float *pre_1 = t6_malloc(npre * sizeof(float)), *st_1 = t6_malloc(nst * sizeof(float));
    session(gc, cpu, params, B, 0, prompt, feed, 1, pre_c, st_c);
    const long replays = session(gc, gpu, params, B, 1, prompt, feed, 0, pre_g, st_g);
    session(gc, gpu, params, B, 0, prompt, feed, 0, pre_e, st_e);
    session(gc, gpu, params, 1, 1, prompt, feed, 0, pre_1, st_1);

    double e = rel(pre_g, pre_c, npre);
    check(e <= tol, "%-5s %-10s %s prefill logits vs CPU: rel err %.3e (tol %.0e)", gc->name, an, prec, e, tol);
    double worst = 0.0;
    int agree = 0;
    for (int s = 0; s < S; s++) {
        const double es = rel(st_g + (size_t)s * B * V, st_c + (size_t)s * B * V, (size_t)B * V);
        if (es > worst) worst = es;
        for (int b = 0; b < B; b++)
            agree += argmax(st_g + ((size_t)s * B + b) * V, V) == argmax(st_c + ((size_t)s * B + b) * V, V);
    }
    check(worst <= tol, "%-5s %-10s %s %d decode steps vs CPU (graph replays): worst rel err %.3e (tol %.0e)", gc->name,
          an, prec, S, worst, tol);
    printf("INFO %-5s %-10s %s argmax equal to the CPU's in %d of %d step rows\n", gc->name, an, prec, agree, S * B);
    check(memcmp(pre_g, pre_e, npre * sizeof(float)) == 0 && memcmp(st_g, st_e, nst * sizeof(float)) == 0,
          "%-5s %-10s %s CUDA graph replays = op-by-op launches (bitwise, prefill and %d steps)", gc->name, an, prec, S);
    check(replays == S - 1, "%-5s %-10s %s the decode step was replayed as a graph %ld times (want %d: all but the "
          "first, unrecorded, step)", gc->name, an, prec, replays, S - 1);
    const double e1 = rel(pre_1, pre_g, npre), e2 = rel(st_1, st_g, nst);
    check(e1 <= tol && e2 <= tol, "%-5s %-10s %s prefill one row at a time = all rows at once: rel err %.3e, steps %.3e "
          "(tol %.0e)", gc->name, an, prec, e1, e2, tol);

    free(pre_c); free(st_c); free(pre_g); free(st_g); free(pre_e); free(st_e); free(pre_1); free(st_1);
    free(prompt); free(feed); free(params);
    t6_backend_destroy(gpu);
}

static t6_model_config base_cfg(t6_attn_type at, int wide)
{
    t6_model_config m;
    memset(&m, 0, sizeof m);
    m.attention = at;
    m.n_layer = 2;
    m.head_dim = 64;
    m.rope_base = 10000.0;
    m.q_rank = 6; m.k_rank = 2; m.v_rank = 2;
    if (wide) {   /* T6 small's widths */
        m.n_embd = 768; m.n_head = 12; m.vocab_size = 50304; m.block_size = 1024;
    } else {
        m.n_embd = 160; m.n_head = 5; m.vocab_size = 515; m.block_size = 256;
    }
    m.n_kv_head = at == T6_ATTN_MQA ? 1 : at == T6_ATTN_GQA ? (wide ? 4 : 5) : m.n_head;
    if (at == T6_ATTN_GQA && !wide) { m.n_head = 4; m.n_kv_head = 2; m.n_embd = 128; }
    if (at == T6_ATTN_MLA) {   /* the released small preset's ranks when wide */
        m.q_lora_rank = wide ? 512 : 96; m.kv_lora_rank = wide ? 256 : 48;
        m.qk_rope_head_dim = 32; m.v_head_dim = 64;
    }
    m.mlp_hidden = 8 * m.n_embd / 3;
    return m;
}

int main(int argc, char **argv)
{
    t6_set_progname("gen_check");
    const char *what = argc > 1 ? argv[1] : "all";
    const int do_small = !strcmp(what, "all") || !strcmp(what, "small");
    const int do_wide = !strcmp(what, "all") || !strcmp(what, "wide");
    if (!do_small && !do_wide) {
        fprintf(stderr, "usage: gen_check [small|wide|all]\n");
        return 2;
    }
    t6_backend_config cc = {T6_BACKEND_CPU, T6_PREC_FP32, 0};
    t6_backend *cpu = t6_backend_create(&cc, 0);
    /* every attention type (MLA through its latent cache, src/mla_decode.c) */
    const t6_attn_type types[] = {T6_ATTN_TPA, T6_ATTN_TPA_KVONLY, T6_ATTN_MHA, T6_ATTN_MQA, T6_ATTN_GQA, T6_ATTN_MLA};
    for (int bf = 0; bf < 2; bf++)
        for (int i = 0; i < 6; i++) {
            if (do_small) {
                gen_case g = {"small", base_cfg(types[i], 0), 3, 37, 12, {37, 20, 1}};
                run_case(&g, cpu, bf);
            }
            if (do_wide) {
                gen_case g = {"wide", base_cfg(types[i], 1), 3, 600, 16, {600, 313, 1}};
                run_case(&g, cpu, bf);
            }
        }
    t6_backend_destroy(cpu);
    printf("gen_check: %d checks, %d failed\n", g_checks, g_fail);
    return g_fail ? 1 : 0;
}
