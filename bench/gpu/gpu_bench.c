/* gpu_bench.c -- steady-state training throughput of the CUDA backend in the
 * reference recipe (anchors.md): bf16, one AdamW step per micro-batch, global-norm
 * clipping at 1.0, sequence length 1024, random GPT-2-range tokens; median step time
 * over the timed steps after warm-up. Prints tokens/s, ms/step, model TFLOP/s
 * (6N + 12*L*h*dh*T per token), memory, and a per-op GPU-time breakdown (CUDA events
 * around every op, measured in a separate pass so the timed steps are not perturbed).
 * Memory is reported three ways: peak_GiB, the peak the backend counted over the whole
 * run (what PyTorch's max_memory_allocated reports: every buffer t6 allocates, cuBLASLt
 * workspace and scratch included); steady_peak_GiB, the same counted over the timed
 * steps alone (the autotuning's temporary outputs of the first steps left out); mem_GiB,
 * cudaMemGetInfo's device memory in use (CUDA context and library pools included).
 *
 * Usage: gpu_bench MODEL [micro_batch] [steps] [warmup] [recompute]
 *   MODEL: t6_small t6_medium t6_large t6_xl mha_small mha_medium (paper shapes, t6-model.md),
 *          mla_small mla_medium (the released MLA configs, ../shared/spec/mla.md: h = 13 / 23,
 *          q_lora_rank 512, kv_lora_rank 256, rope 32, values 64; the micro-batch of the
 *          other models of the size, 24 / 20)
 *   recompute: none (default), attention, block (train.recompute, doc/training.md) */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "optim.h"
#include "params.h"
#include "profile.h"
#include "util.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    t6_set_progname("gpu_bench");
    const char *usage = "gpu_bench t6_small|t6_medium|t6_large|t6_xl|mha_small|mha_medium|mla_small|mla_medium "
                        "[B] [steps] [warmup] [none|attention|block]";
    if (argc < 2) t6_fatal_hint(usage, "no model given");
    const char *name = argv[1];
    t6_model_config c;
    memset(&c, 0, sizeof c);
    c.head_dim = 64; c.q_rank = 6; c.k_rank = 2; c.v_rank = 2;
    c.vocab_size = 50304; c.block_size = 1024; c.rope_base = 10000.0;
    int B;
    if (!strcmp(name, "t6_small")) { c.attention = T6_ATTN_TPA; c.n_layer = 12; c.n_embd = 768; c.n_head = 34; B = 24; }
    else if (!strcmp(name, "t6_medium")) { c.attention = T6_ATTN_TPA; c.n_layer = 24; c.n_embd = 1024; c.n_head = 47; B = 20; }
    else if (!strcmp(name, "t6_large")) { c.attention = T6_ATTN_TPA; c.n_layer = 36; c.n_embd = 1280; c.n_head = 61; B = 15; }
    else if (!strcmp(name, "t6_xl")) { c.attention = T6_ATTN_TPA; c.n_layer = 48; c.n_embd = 1600; c.n_head = 78; B = 6; }
    else if (!strcmp(name, "mha_small")) { c.attention = T6_ATTN_MHA; c.n_layer = 12; c.n_embd = 768; c.n_head = 12; B = 24; }
    else if (!strcmp(name, "mha_medium")) { c.attention = T6_ATTN_MHA; c.n_layer = 24; c.n_embd = 1024; c.n_head = 16; B = 20; }
    else if (!strcmp(name, "mla_small")) { c.attention = T6_ATTN_MLA; c.n_layer = 12; c.n_embd = 768; c.n_head = 13; B = 24; }
    else if (!strcmp(name, "mla_medium")) { c.attention = T6_ATTN_MLA; c.n_layer = 24; c.n_embd = 1024; c.n_head = 23; B = 20; }
    else t6_fatal_hint(usage, "unknown model '%s'", name);
    if (c.attention == T6_ATTN_MLA) {
        c.q_lora_rank = 512; c.kv_lora_rank = 256; c.qk_rope_head_dim = 32; c.v_head_dim = 64;
    }
    c.n_kv_head = c.n_head;
    c.mlp_hidden = 8 * c.n_embd / 3;
    if (argc > 2) B = atoi(argv[2]);
    int steps = argc > 3 ? atoi(argv[3]) : 20, warmup = argc > 4 ? atoi(argv[4]) : 6;
    t6_model_opts mo = {T6_RECOMPUTE_NONE};
    if (argc > 5) {
        int r = 0;
        while (r < 3 && strcmp(argv[5], t6_recompute_name((t6_recompute)r))) r++;
        if (r == 3) t6_fatal_hint(usage, "unknown recompute mode '%s'", argv[5]);
        mo.recompute = (t6_recompute)r;
    }
    if (B < 1 || steps < 1 || warmup < 0) t6_fatal_hint(usage, "micro-batch, steps and warmup must be positive");
    const int T = 1024, N = B * T;

    t6_backend_config bc = {T6_BACKEND_CUDA, T6_PREC_BF16, 0};
    t6_backend *be = t6_backend_create(&bc, 0);
    t6_cuda_prof_enable(be);          /* wrappers pass straight through until reset */
    t6_model *m = t6_model_create_opts(&c, be, B, T, &mo);
    const t6_param_layout *pl = t6_model_layout(m);
    t6_model_init_params(m, 1337);
    t6_optim_config oc;
    memset(&oc, 0, sizeof oc);
    oc.beta1 = 0.9; oc.beta2 = 0.95; oc.eps = 1e-8; oc.weight_decay = 0.1; oc.grad_clip = 1.0;
    t6_optim opt;
    t6_optim_init(&opt, be, &oc, pl->n_params);

    int32_t *tok = t6_malloc((size_t)N * sizeof(int32_t)), *tgt = t6_malloc((size_t)N * sizeof(int32_t));
    uint64_t s = 42;
    double *ms = t6_malloc(sizeof(double) * (size_t)(steps + warmup + 1));
    float loss = 0.0f;
    size_t warm_peak = 0, steady_peak = 0;
    for (int it = 0; it < warmup + steps + 3; it++) {
        int profiling = it >= warmup + steps;        /* 3 extra steps with per-op events */
        if (it == warmup + steps) t6_cuda_prof_reset();
        /* memory: the peak of the warm-up steps, then that of the timed steps alone */
        if (it == warmup || it == warmup + steps) {
            t6_mem_stats mst;
            t6_backend_mem_stats(be, &mst);
            if (it == warmup) warm_peak = mst.peak; else steady_peak = mst.peak;
            t6_backend_mem_reset_peak(be);
        }
        for (int i = 0; i < N; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            tok[i] = (int32_t)((s >> 33) % 50257);
            tgt[i] = (int32_t)((s >> 17) % 50257);
        }
        be->ops->sync(be);
        double t0 = t6_now();
        t6_model_zero_grad(m);
        loss = t6_model_forward(m, tok, tgt, 1, 1.0f);
        t6_model_backward(m);
        t6_optim_step(&opt, t6_model_params(m), NULL, t6_model_grads(m), 6e-4, NULL);
        t6_model_sync_compute_weights(m);
        be->ops->sync(be);
        double dt = (t6_now() - t0) * 1e3;
        if (!profiling && it >= warmup) ms[it - warmup] = dt;
        if (it < 2 || it == warmup + steps - 1) printf("step %d loss %.4f %.1f ms\n", it, loss, dt);
    }
    qsort(ms, (size_t)steps, sizeof(double), cmp_d);
    double med = ms[steps / 2];
    t6_mem_stats mst;
    t6_backend_mem_stats(be, &mst);   /* the profiled steps' */
    size_t whole_peak = warm_peak > steady_peak ? warm_peak : steady_peak;
    if (mst.peak > whole_peak) whole_peak = mst.peak;
    double tps = N / (med / 1e3);
    double fpt = t6_flops_per_token(&c, pl->n_params, T);
    size_t mem = t6_cuda_mem_used(be);
    printf("RESULT model=%s params=%zu B=%d T=%d recompute=%s ms/step=%.1f tokens/s=%.0f TFLOP/s=%.1f peak_GiB=%.2f "
           "steady_peak_GiB=%.2f mem_GiB=%.1f loss=%.4f\n",
           name, pl->n_params, B, T, t6_recompute_name(mo.recompute), med, tps, tps * fpt / 1e12,
           whole_peak / 1073741824.0, steady_peak / 1073741824.0, mem / 1073741824.0, loss);
    printf("per-op GPU time (3 profiled steps, events around each op):\n");
    t6_cuda_prof_report(stdout, 3);
    t6_optim_free(&opt);
    t6_model_destroy(m);
    t6_backend_destroy(be);
    free(tok); free(tgt); free(ms);
    return 0;
}
