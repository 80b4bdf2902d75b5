/* main.c -- the `t6` batch executable: parses the command line, loads the deck and
 * either runs its job (t6_job_run) or, with --check, prints the derived quantities of
 * the deck without running anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cpu/blas_env.h"
#include "deck.h"
#include "hf.h"
#include "generate.h"
#include "deckpath.h"
#include "mandeck.h"
#include "memtrack.h"
#include "model.h"
#include "params.h"
#include "train.h"
#include "util.h"
#include "version.h"

/* The options, in the order --help lists them. tests/deck/help.sh checks that every
 * option listed is accepted and that every "--..." literal of this file is listed. */
static void usage(FILE *f)
{
    fprintf(f,
            "Usage: t6 DECK.cfg [--set section.key=value]...\n"
            "       t6 --check DECK.cfg [--set section.key=value]... [--ranks N]\n"
            "       t6 --print-deck DECK.cfg [--set section.key=value]...\n"
            "       t6 --export-hf CKPT DIR [--dtype fp32|bf16] [--vocab DIR|none]\n"
            "       t6 --help | --help-deck | --man-deck | --deck-path | --version\n"
            "\n"
            "Runs the job of a libconfig deck (train, eval or generate) of the T6 model (Tensor\n"
            "Product Attention) or, with --check, validates the deck and prints what it implies.\n"
            "An eval job scores lm-evaluation-harness tasks (eval.tasks, doc/eval.md) besides the\n"
            "validation loss; --set eval.json=- prints its results as JSON.\n"
            "DECK is a file, or a deck name looked up as NAME and NAME.cfg in the folders of\n"
            "$T6_DECK_PATH (colon-separated) and then in the installed input folder\n"
            "(t6 --check t6_small).\n"
            "\n"
            "Options:\n"
            "  --check DECK      validate DECK and print the model summary, parameter counts\n"
            "                    (a line 'parameters: N'), tokens per optimizer step, FLOPs per\n"
            "                    token, KV-cache sizes and (job train) the memory one rank needs\n"
            "                    for the micro-batch, for each train.recompute; runs nothing\n"
            "  --print-deck DECK validate DECK and print it resolved, in canonical libconfig form\n"
            "  --export-hf CKPT DIR\n"
            "                    write checkpoint CKPT in the Hugging Face layout the reference\n"
            "                    code loads: DIR/config.json, model.safetensors, vocab.json,\n"
            "                    merges.txt (doc/formats/hf-export.md); read back with\n"
            "                    model.init_from = \"hf:DIR\"\n"
            "  --dtype TYPE      with --export-hf: fp32 (default, exact) or bf16 (rounded to nearest even)\n"
            "  --vocab DIR       with --export-hf: folder with the GPT-2 encoder.json and vocab.bpe to\n"
            "                    ship as vocab.json / merges.txt (default: vocab); none: no tokenizer files\n"
            "  --set KEY=VALUE   override a deck key (e.g. --set train.max_steps=100); typed by\n"
            "                    the key; lists as a,b,c or [\"a\", \"b\"]; may be repeated\n"
            "  --ranks N         with --check: number of ranks (GPUs) for the batch arithmetic and\n"
            "                    the bytes per rank (weights, gradients, AdamW state with train.zero\n"
            "                    0 and 1, communication per step) (default 1)\n"
            "  --help            this text\n"
            "  --help-deck       every deck key: key, type, default, allowed, meaning (tab-separated)\n"
            "  --man-deck        the manual page t6-deck(5), generated from the same key table (roff)\n"
            "  --deck-path       the folders searched for a deck given by name, one per line\n"
            "  --version         version, commit, build options (CUDA archs, MPI, BLAS, HDF5,\n"
            "                    libconfig) and the installed deck folder\n"
            "\n"
            "Deck sections: job = \"train\"|\"eval\"|\"generate\"; model = {...}; data = {...};\n"
            "train = {...}; optim = {...}; output = {...}; eval = {...}; backend = {...};\n"
            "generate = {...} (text generation: doc/generate.md). Every key is described in\n"
            "doc/deck.md and man t6-deck; decks for the paper's models are in input/ (installed:\n"
            "t6 --deck-path), a CPU demo in input/demo.cfg (train it, then generate from it with\n"
            "--set job=generate).\n");
}

static void help_deck(void)
{
    int n;
    const t6_deck_key_doc *k = t6_deck_keys(&n);
    for (int i = 0; i < n; i++) printf("%s\t%s\t%s\t%s\t%s\n", k[i].key, k[i].type, k[i].def, k[i].allowed, k[i].doc);
}

static const char *group_name(int g)
{
    switch (g) {
    case T6_GROUP_EMBEDDING: return "embedding (wte = lm_head, tied)";
    case T6_GROUP_ATTENTION: return "attention";
    case T6_GROUP_MLP: return "mlp (SwiGLU)";
    default: return "?";
    }
}

static const char *model_family(t6_attn_type a)
{
    switch (a) {
    case T6_ATTN_TPA: return "T6 (TPA)";
    case T6_ATTN_TPA_KVONLY: return "T6 (TPA on K/V only)";
    case T6_ATTN_MHA: return "LLaMA (MHA)";
    case T6_ATTN_MQA: return "LLaMA (MQA)";
    case T6_ATTN_GQA: return "LLaMA (GQA)";
    case T6_ATTN_MLA: return "LLaMA (MLA)";
    }
    return "?";
}

/* --check's memory estimate: what one rank's model and AdamW allocate for the deck's
 * micro-batch, from the model's own creation code run on the meta backend (model.h), for
 * the deck's train.recompute and, on one line each for scripts, for all three modes.
 * With train.zero = 1 a rank holds the moments of its shard only, at most
 * ceil(N / ranks) parameters (as memory_figures and src/gradsync.c). */
static void check_memory(const t6_deck *d, size_t n_params, int ranks)
{
    const t6_model_config *m = &d->model;
    const int B = d->train.micro_batch, T = d->train.seq_len;
    const int cuda = d->backend.device == T6_BACKEND_CUDA, bf16 = cuda && d->backend.precision == T6_PREC_BF16;
    const size_t owned = d->train.zero ? (n_params + (size_t)ranks - 1) / (size_t)ranks : n_params;
    const size_t adam = 2 * sizeof(float) * owned;
    t6_model_mem e[3];
    for (int r = 0; r < 3; r++)
        t6_model_memory_estimate(m, d->backend.device, d->backend.precision, B, T, (t6_recompute)r, &e[r]);
    const t6_model_mem *x = &e[d->train.recompute];
    char b[4][32];
    printf("memory estimate per rank (%s, %s activations; micro_batch %d x seq_len %d, train.recompute = \"%s\"):\n",
           cuda ? "cuda" : "cpu", bf16 ? "bf16" : "fp32", B, T, t6_recompute_name(d->train.recompute));
    printf("  weights (fp32 parameters and gradients%s): %s\n", cuda ? ", compute copy" : "",
           t6_fmt_mem(b[0], sizeof b[0], x->weights));
    if (d->train.zero)
        printf("  AdamW moments (fp32 m and v of this rank's shard, train.zero = 1 over %d rank(s)): %s\n", ranks,
               t6_fmt_mem(b[0], sizeof b[0], adam));
    else
        printf("  AdamW moments (fp32 m and v): %s\n", t6_fmt_mem(b[0], sizeof b[0], adam));
    printf("  activations kept for the backward: %s (per layer %s, shared recompute buffers %s, logits %s)\n",
           t6_fmt_mem(b[0], sizeof b[0], x->activations), t6_fmt_mem(b[1], sizeof b[1], x->per_layer),
           t6_fmt_mem(b[2], sizeof b[2], x->recompute), t6_fmt_mem(b[3], sizeof b[3], x->logits));
    printf("  backward scratch (activation gradients; TPA: the fused factor output): %s\n",
           t6_fmt_mem(b[0], sizeof b[0], x->scratch));
    printf("  total: %s, before the backend's own buffers and the ops' temporaries (%s)\n",
           t6_fmt_mem(b[0], sizeof b[0], x->total + adam),
           cuda ? "cuBLASLt workspace, padded GEMM operands, scratch: the peak t6 reports includes them"
                : "the attention backward's per-head gradients: the peak t6 reports includes them");
    for (int r = 0; r < 3; r++)
        printf("memory estimate bytes, recompute %s: activations %zu, total %zu\n", t6_recompute_name((t6_recompute)r),
               e[r].activations, e[r].total + adam);
}

/* --check: what a training rank holds and sends per step (doc/performance.md), with
 * and without ZeRO-1 (train.zero), on this deck's backend: weights are the fp32
 * master plus the compute copy (bf16 or fp32 on CUDA; the master itself on the CPU),
 * gradients fp32, AdamW's two fp32 moments either whole or for the largest shard
 * ceil(N / ranks). Volumes are those of ring collectives over the largest shard: an
 * all-reduce of the gradient is a reduce-scatter plus an all-gather, so ZeRO-1 (the
 * gradient reduce-scattered, the parameters all-gathered) moves as many bytes. */
static void memory_figures(const t6_deck *d, size_t n, int ranks)
{
    const int cuda = d->backend.device == T6_BACKEND_CUDA;
    const long long N = (long long)n, shard = (long long)((n + (size_t)ranks - 1) / (size_t)ranks);
    const long long master = 4 * N, compute = cuda ? (d->backend.precision == T6_PREC_BF16 ? 2 : 4) * N : 0;
    const long long grads = 4 * N, opt0 = 8 * N, opt1 = 8 * shard;
    const long long ring = 4LL * (ranks - 1) * shard;
    printf("weights bytes per rank: %lld (fp32 master %lld + compute copy %lld)\n", master + compute, master, compute);
    printf("gradient bytes per rank: %lld (fp32)\n", grads);
    printf("optimizer bytes per rank, zero 0: %lld (AdamW m and v, fp32, %lld parameters)\n", opt0, N);
    printf("optimizer bytes per rank, zero 1: %lld (AdamW m and v of a shard of at most %lld parameters)\n", opt1, shard);
    const double gib = 1024.0 * 1024.0 * 1024.0;
    printf("training state bytes per rank, zero 0: %lld (%.2f GiB)\n", master + compute + grads + opt0,
           (double)(master + compute + grads + opt0) / gib);
    printf("training state bytes per rank, zero 1: %lld (%.2f GiB)\n", master + compute + grads + opt1,
           (double)(master + compute + grads + opt1) / gib);
    printf("communication bytes per rank per step, zero 0: %lld (all-reduce of the fp32 gradient: "
           "2 x (ranks-1) x shard x 4)\n", 2 * ring);
    printf("communication bytes per rank per step, zero 1: %lld (reduce-scatter of the gradient %lld + all-gather "
           "of the fp32 parameters %lld)\n", 2 * ring, ring, ring);
}

/* --check: everything the deck implies, without running. */
static int check(t6_deck *d, int ranks)
{
    char err[2048], b1[64], b2[64];
    if (t6_deck_resolve_world(d, ranks, err, sizeof err)) t6_fatal("%s", err);
    const t6_model_config *m = &d->model;
    t6_param_layout pl;
    t6_param_layout_init(&pl, m);

    printf("deck: %s\n", d->path);
    printf("job: %s\n", d->job == T6_JOB_TRAIN ? "train" : d->job == T6_JOB_EVAL ? "eval" : "generate");
    printf("model: %s, attention %s\n", model_family(m->attention), t6_attn_name(m->attention));
    printf("  n_layer %d, n_embd %d, n_head %d, head_dim %d, n_kv_head %d\n", m->n_layer, m->n_embd, m->n_head,
           m->head_dim, m->n_kv_head);
    if (m->attention == T6_ATTN_TPA) printf("  ranks q/k/v %d/%d/%d\n", m->q_rank, m->k_rank, m->v_rank);
    if (m->attention == T6_ATTN_TPA_KVONLY) printf("  ranks k/v %d/%d\n", m->k_rank, m->v_rank);
    if (m->attention == T6_ATTN_MLA)
        printf("  latents q/kv %d/%d, rope head dim %d, value head dim %d (q/k heads %d)\n", m->q_lora_rank,
               m->kv_lora_rank, m->qk_rope_head_dim, m->v_head_dim, m->head_dim + m->qk_rope_head_dim);
    printf("  vocab_size %d, block_size %d, mlp_hidden %d, rope_base %g\n", m->vocab_size, m->block_size,
           m->mlp_hidden, m->rope_base);

    printf("parameters by group:\n");
    for (int g = 0; g < T6_GROUP_COUNT; g++)
        printf("  %-32s %15s\n", group_name(g), t6_fmt_count(b1, sizeof b1, (long long)pl.group_params[g]));
    if (m->n_layer > 0) {
        size_t attn = 0, mlp = 0;
        for (int i = 0; i < pl.n_tensors; i++)
            if (pl.tensors[i].layer == 0) {
                if (pl.tensors[i].group == T6_GROUP_ATTENTION) attn += pl.tensors[i].numel;
                else if (pl.tensors[i].group == T6_GROUP_MLP) mlp += pl.tensors[i].numel;
            }
        printf("  per layer: attention %s, mlp %s\n", t6_fmt_count(b1, sizeof b1, (long long)attn),
               t6_fmt_count(b2, sizeof b2, (long long)mlp));
    }
    printf("parameters: %zu\n", pl.n_params);
    printf("parameters (readable): %s\n", t6_fmt_count(b1, sizeof b1, (long long)pl.n_params));

    long long seqs = (long long)d->train.micro_batch * d->train.grad_accum * ranks;
    long long tokens = seqs * d->train.seq_len;
    printf("ranks: %d\n", ranks);
    printf("sequences per optimizer step: %lld (micro_batch %d x grad_accum %d x ranks %d)\n", seqs,
           d->train.micro_batch, d->train.grad_accum, ranks);
    printf("tokens per optimizer step: %lld (x seq_len %d)\n", tokens, d->train.seq_len);
    printf("tokens over max_steps: %s\n", t6_fmt_count(b1, sizeof b1, tokens * d->train.max_steps));
    double fpt = t6_flops_per_token(m, pl.n_params, d->train.seq_len);
    if (m->attention == T6_ATTN_MLA)
        printf("FLOPs per token: %.0f (6N + 6*L*h*(dh_qk + dh_v)*T = 6*%zu + 6*%d*%d*(%d + %d)*%d)\n", fpt, pl.n_params,
               m->n_layer, m->n_head, m->head_dim + m->qk_rope_head_dim, m->v_head_dim, d->train.seq_len);
    else
        printf("FLOPs per token: %.0f (6N + 12*L*h*dh*T = 6*%zu + 12*%d*%d*%d*%d)\n", fpt, pl.n_params, m->n_layer,
               m->n_head, m->head_dim, d->train.seq_len);
    printf("FLOPs per optimizer step: %.6g\n", fpt * (double)tokens);

    long kv = t6_kv_cache_numbers_per_token_layer(m);
    if (m->attention == T6_ATTN_TPA || m->attention == T6_ATTN_TPA_KVONLY)
        printf("KV cache per token per layer: %ld numbers ((k_rank + v_rank) * (n_head + head_dim) = %d * %d)\n",
               kv, m->k_rank + m->v_rank, m->n_head + m->head_dim);
    else if (m->attention == T6_ATTN_MLA)
        printf("KV cache per token per layer: %ld numbers (kv_lora_rank + qk_rope_head_dim = %d + %d)\n", kv,
               m->kv_lora_rank, m->qk_rope_head_dim);
    else
        printf("KV cache per token per layer: %ld numbers (2 * n_kv_head * head_dim = 2 * %d * %d)\n", kv,
               m->n_kv_head, m->head_dim);
    printf("KV cache bf16 bytes per token per layer: %ld\n", 2 * kv);
    printf("KV cache bf16 bytes per token (all layers): %ld\n", 2 * kv * m->n_layer);
    printf("KV cache bf16 bytes at block_size %d: %s\n", m->block_size,
           t6_fmt_count(b1, sizeof b1, 2LL * kv * m->n_layer * m->block_size));
    /* what job = "generate" allocates: the backend's element type (fp32 on the CPU), one
     * cache of generate.batch_size rows, each at most block_size tokens long */
    const int eb = d->backend.precision == T6_PREC_BF16 ? 2 : 4;
    printf("KV cache bytes per token per layer on this deck's backend (%s): %ld\n", eb == 2 ? "bf16" : "fp32", eb * kv);
    printf("KV cache of job generate at most: batch_size %d x block_size %d x %d layers x %ld bytes = %s\n",
           d->generate.batch_size, m->block_size, m->n_layer, eb * kv,
           t6_fmt_count(b1, sizeof b1, (long long)eb * kv * m->n_layer * m->block_size * d->generate.batch_size));
    memory_figures(d, pl.n_params, ranks);
    if (d->job == T6_JOB_TRAIN) check_memory(d, pl.n_params, ranks);
    printf("backend: %s, %s\n", d->backend.device == T6_BACKEND_CUDA ? "cuda" : "cpu",
           d->backend.precision == T6_PREC_BF16 ? "bf16" : "fp32");
    printf("run_dir: %s\n", d->output.run_dir);
    printf("deck OK\n");
    t6_param_layout_free(&pl);
    return 0;
}

int main(int argc, char **argv)
{
    t6_blas_env_setup(argv);   /* may re-execute t6 once, so first */
    t6_set_progname("t6");
    enum { RUN, CHECK, PRINT, EXPORT } mode = RUN;
    const char *deck_path = NULL;
    const char *export_ckpt = NULL, *export_dir = NULL, *vocab = NULL, *dtype = NULL;
    const char **sets = t6_calloc((size_t)argc, sizeof *sets);
    int n_sets = 0, ranks = 1, ranks_given = 0;
    const char *hint = "see t6 --help";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--help-deck") == 0) {
            help_deck();
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            t6_print_version(stdout);
            return 0;
        } else if (strcmp(a, "--man-deck") == 0) {
            t6_man_deck(stdout);
            return 0;
        } else if (strcmp(a, "--deck-path") == 0) {
            t6_deck_path dp;
            t6_deck_path_init(&dp);
            for (int d = 0; d < dp.n_dirs; d++) printf("%s\n", dp.dirs[d]);
            t6_deck_path_free(&dp);
            return 0;
        } else if (strcmp(a, "--check") == 0 || strcmp(a, "--print-deck") == 0) {
            if (mode != RUN) t6_fatal_hint(hint, "%s: only one of --check, --print-deck and --export-hf", a);
            mode = strcmp(a, "--check") == 0 ? CHECK : PRINT;
        } else if (strcmp(a, "--export-hf") == 0) {
            if (mode != RUN) t6_fatal_hint(hint, "%s: only one of --check, --print-deck and --export-hf", a);
            if (i + 2 >= argc) t6_fatal_hint(hint, "--export-hf needs two arguments: CKPT DIR");
            mode = EXPORT;
            export_ckpt = argv[++i];
            export_dir = argv[++i];
        } else if (strcmp(a, "--dtype") == 0) {
            if (i + 1 >= argc) t6_fatal_hint(hint, "--dtype needs fp32 or bf16");
            dtype = argv[++i];
            if (strcmp(dtype, "fp32") != 0 && strcmp(dtype, "bf16") != 0)
                t6_fatal_hint(hint, "--dtype %s: unknown (allowed: fp32, bf16)", dtype);
        } else if (strcmp(a, "--vocab") == 0) {
            if (i + 1 >= argc) t6_fatal_hint(hint, "--vocab needs a folder (or none)");
            vocab = argv[++i];
        } else if (strcmp(a, "--set") == 0) {
            if (i + 1 >= argc) t6_fatal_hint(hint, "--set needs an argument section.key=value");
            sets[n_sets++] = argv[++i];
        } else if (strcmp(a, "--ranks") == 0) {
            if (i + 1 >= argc) t6_fatal_hint(hint, "--ranks needs a number");
            char *end;
            long r = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || r < 1 || r > 1000000)
                t6_fatal_hint(hint, "--ranks %s: not a rank count (allowed: 1..1000000)", argv[i]);
            ranks = (int)r;
            ranks_given = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            t6_fatal_hint(hint, "unknown option %s (allowed: --check, --print-deck, --export-hf, --dtype, --vocab, "
                                "--set, --ranks, --help, --help-deck, --man-deck, --deck-path, --version)", a);
        } else {
            if (deck_path) t6_fatal_hint(hint, "more than one deck given: %s and %s", deck_path, a);
            deck_path = a;
        }
    }
    if ((dtype || vocab) && mode != EXPORT) t6_fatal_hint(hint, "--dtype and --vocab only apply to --export-hf");
    if (mode == EXPORT) {
        if (deck_path) t6_fatal_hint(hint, "--export-hf takes no deck (got %s)", deck_path);
        if (n_sets) t6_fatal_hint(hint, "--set does not apply to --export-hf");
        t6_hf_export_opts o = {dtype && strcmp(dtype, "bf16") == 0 ? T6_HF_BF16 : T6_HF_FP32,
                               vocab && strcmp(vocab, "none") == 0 ? NULL : vocab ? vocab : "vocab", NULL};
        char err[4096];
        if (t6_hf_export_checkpoint(export_ckpt, export_dir, &o, err, sizeof err) != 0)
            t6_fatal_hint("doc/formats/hf-export.md describes the export", "--export-hf: %s", err);
        printf("exported %s to %s (%s%s)\n", export_ckpt, export_dir, o.dtype == T6_HF_BF16 ? "bf16" : "fp32",
               o.vocab_dir ? ", with tokenizer files" : ", no tokenizer files");
        free(sets);
        return 0;
    }
    if (!deck_path) {
        usage(stderr);
        t6_fatal_hint(hint, "no deck given");
    }
    if (ranks_given && mode != CHECK) t6_fatal_hint(hint, "--ranks only applies to --check");

    t6_deck deck;
    char err[4096];
    /* A bare name ("t6_small") that is not a file here is looked up in the deck path. */
    t6_deck_path dp;
    t6_deck_path_init(&dp);
    char *found = t6_deck_find(&dp, deck_path, err, sizeof err);
    t6_deck_path_free(&dp);
    if (!found) t6_fatal_hint("t6 --deck-path lists the folders searched; decks are named NAME or NAME.cfg", "%s", err);
    deck_path = found;
    if (t6_deck_load(&deck, deck_path, sets, n_sets, err, sizeof err))
        t6_fatal_hint("every key is described in doc/deck.md", "%s", err);
    free(sets);

    int rc;
    if (mode == CHECK) {
        rc = check(&deck, ranks);
    } else if (mode == PRINT) {
        char *s = t6_deck_to_string(&deck);
        fputs(s, stdout);
        free(s);
        rc = 0;
    } else {
        rc = deck.job == T6_JOB_GENERATE ? t6_generate_run(&deck) : t6_job_run(&deck);
    }
    t6_deck_free(&deck);
    free(found);
    return rc;
}
