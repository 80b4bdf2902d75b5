/* deck.c -- the libconfig deck parser of t6: one static table of keys (T6_DECK_KEYS
 * below) drives parsing, defaults, type and range checks, `--set` overrides, the
 * canonical text written into checkpoints and the documentation dump that
 * tests/deck/ compares with doc/deck.md.
 *
 * Order of resolution: table defaults -> deck file -> --set overrides (last wins) ->
 * model.size presets for the keys still unset -> derived values -> cross-key checks.
 * Every message has the form
 *     LOCATION: KEY = VALUE: PROBLEM (allowed: WHAT)
 * where LOCATION is "file:line" for a value from the deck, "--set key=value" for an
 * override and the deck path for a default or derived value. */
#include "deck.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* ---- the key table ------------------------------------------------------------- */

typedef enum {
    K_INT,    /* int field */
    K_LONG,   /* long field */
    K_U64,    /* uint64_t field (stored through int64 in libconfig) */
    K_FLOAT,  /* double field; integer literals are accepted */
    K_STR,    /* char * field, non-empty */
    K_ENUM,   /* int-sized enum field; value = index into the enum's names */
    K_LIST,   /* char ** + count (data.train, data.val); a single string is a 1-list */
    K_SIZE,   /* model.size: a preset, kept in the load context, not in t6_deck */
    K_BOOL,   /* int field, 0 or 1; libconfig true/false (or the text on --set) */
} key_kind;

/* How the default is obtained. */
enum { D_VALUE = 0, D_DERIVED, D_NONE };
/* Range flags. */
enum { R_LO_OPEN = 1, R_HI_OPEN = 2 };

typedef struct {
    key_kind kind;
    size_t off;               /* offset of the field in t6_deck */
    int defmode;              /* D_VALUE: parse doc.def; else resolved in code */
    double lo, hi;            /* numeric range */
    int rflags;
    const char *const *names; /* K_ENUM / K_SIZE: allowed names, NULL-terminated */
} key_rule;

static const char *const E_JOB[] = {"train", "eval", "generate", NULL};
static const char *const E_SIZE[] = {"small", "medium", "large", "xl", NULL};
static const char *const E_ATTN[] = {"tpa", "tpa_kvonly", "mha", "mqa", "gqa", "mla", NULL};
static const char *const E_SAMPLING[] = {"random", "epoch", NULL};
static const char *const E_VERIFY[] = {"full", "quick", NULL};
static const char *const E_ACCUM[] = {"mean", "sum", NULL};
static const char *const E_SCHED[] = {"cosine", "wsd", "constant", NULL};
static const char *const E_DEVICE[] = {"cpu", "cuda", NULL};
static const char *const E_PREC[] = {"fp32", "bf16", NULL};
static const char *const E_DIVERGE[] = {"stop", "skip", NULL};
static const char *const E_RECOMPUTE[] = {"none", "attention", "block", NULL};
static const char *const E_TOK[] = {"gpt2", "ids", NULL};
static const char *const E_SPLIT[] = {"line", "paragraph", "whole", NULL};

#define BIG 1e12
#define OFF(f) offsetof(t6_deck, f)

/* X(key, type, default, allowed, meaning, kind, offset, defmode, lo, hi, rflags, names)
 * The doc columns (key..meaning) are what `t6 --help-deck` prints and doc/deck.md
 * must list verbatim; the rest is how the parser treats the key. Keep the allowed
 * text and the numeric range in agreement. */
#define T6_DECK_KEYS(X)                                                                              \
    X("job", "string", "train", "train, eval, generate",                                             \
      "what `t6 DECK` runs: training (with periodic evaluation), evaluation of a checkpoint, or text generation", \
      K_ENUM, OFF(job), D_VALUE, 0, 0, 0, E_JOB)                                                     \
    X("model.size", "string", "none", "small, medium, large, xl",                                    \
      "paper preset: fills n_layer, n_embd and the paper's n_head for model.attention",              \
      K_SIZE, 0, D_NONE, 0, 0, 0, E_SIZE)                                                            \
    X("model.attention", "string", "tpa", "tpa, tpa_kvonly, mha, mqa, gqa, mla",                     \
      "attention type: TPA (T6), TPA on K/V only, multi-head, multi-query, grouped-query, multi-head latent", \
      K_ENUM, OFF(model.attention), D_VALUE, 0, 0, 0, E_ATTN)                                        \
    X("model.n_layer", "int", "from model.size", "1..1024",                                          \
      "transformer blocks L (required without model.size)",                                          \
      K_INT, OFF(model.n_layer), D_DERIVED, 1, 1024, 0, NULL)                                        \
    X("model.n_embd", "int", "from model.size", "1..65536",                                          \
      "model width d (required without model.size)",                                                 \
      K_INT, OFF(model.n_embd), D_DERIVED, 1, 65536, 0, NULL)                                        \
    X("model.n_head", "int", "from model.size", "1..4096",                                           \
      "query heads h (required without model.size); paper head counts equalize parameters",         \
      K_INT, OFF(model.n_head), D_DERIVED, 1, 4096, 0, NULL)                                         \
    X("model.head_dim", "int", "64", "2..1024, even",                                                \
      "per-head feature size dh (even: RoPE rotates pairs)",                                         \
      K_INT, OFF(model.head_dim), D_VALUE, 2, 1024, 0, NULL)                                         \
    X("model.q_rank", "int", "6", "1..1024", "TPA rank RQ of the query factors (tpa only)",          \
      K_INT, OFF(model.q_rank), D_VALUE, 1, 1024, 0, NULL)                                           \
    X("model.k_rank", "int", "2", "1..1024", "TPA rank RK of the key factors (tpa, tpa_kvonly)",     \
      K_INT, OFF(model.k_rank), D_VALUE, 1, 1024, 0, NULL)                                           \
    X("model.v_rank", "int", "2", "1..1024", "TPA rank RV of the value factors (tpa, tpa_kvonly)",   \
      K_INT, OFF(model.v_rank), D_VALUE, 1, 1024, 0, NULL)                                           \
    X("model.n_kv_head", "int", "derived", "1..4096",                                                \
      "K/V heads: mha = n_head, mqa = 1, gqa required and dividing n_head; ignored by tpa*",         \
      K_INT, OFF(model.n_kv_head), D_DERIVED, 1, 4096, 0, NULL)                                      \
    X("model.q_lora_rank", "int", "512", "1..65536",                                                 \
      "MLA query latent size d'_c (q_a_proj output; mla only)",                                      \
      K_INT, OFF(model.q_lora_rank), D_VALUE, 1, 65536, 0, NULL)                                     \
    X("model.kv_lora_rank", "int", "256", "1..65536",                                                \
      "MLA key/value latent size d_c, cached per token with the rotary key (mla only)",              \
      K_INT, OFF(model.kv_lora_rank), D_VALUE, 1, 65536, 0, NULL)                                    \
    X("model.qk_rope_head_dim", "int", "32", "2..1024, even",                                        \
      "MLA rotary part d_R of each query/key head, shared by all heads for keys; head_dim is the non-rotary part (mla only)", \
      K_INT, OFF(model.qk_rope_head_dim), D_VALUE, 2, 1024, 0, NULL)                                 \
    X("model.v_head_dim", "int", "64", "1..1024, <= head_dim + qk_rope_head_dim",                    \
      "MLA value head size (mla only)",                                                              \
      K_INT, OFF(model.v_head_dim), D_VALUE, 1, 1024, 0, NULL)                                       \
    X("model.vocab_size", "int", "50304", "1..16777216",                                             \
      "embedding rows (GPT-2's 50257 padded to a multiple of 128); >= the corpus vocab",             \
      K_INT, OFF(model.vocab_size), D_VALUE, 1, 16777216, 0, NULL)                                   \
    X("model.block_size", "int", "1024", "1..1048576", "longest sequence the model accepts",         \
      K_INT, OFF(model.block_size), D_VALUE, 1, 1048576, 0, NULL)                                    \
    X("model.mlp_hidden", "int", "floor(8*n_embd/3)", "1..1048576", "SwiGLU hidden size",            \
      K_INT, OFF(model.mlp_hidden), D_DERIVED, 1, 1048576, 0, NULL)                                  \
    X("model.rope_base", "float", "10000", "> 0", "RoPE base (theta)",                               \
      K_FLOAT, OFF(model.rope_base), D_VALUE, 0, INFINITY, R_LO_OPEN, NULL)                          \
    X("model.init_from", "string", "none", "none, hf:DIR, or a checkpoint file",                     \
      "initial weights: a Hugging Face export (t6 --export-hf) or a t6 checkpoint's parameters",    \
      K_STR, OFF(init_from), D_VALUE, 0, 0, 0, NULL)                                                 \
    X("data.train", "string list", "[]", "t6-corpus HDF5 files, globs or builtin:demo-train",        \
      "training shards; required for job train; existence is checked when training starts",          \
      K_LIST, OFF(data.train), D_VALUE, 0, 0, 0, NULL)                                               \
    X("data.val", "string list", "[]", "t6-corpus HDF5 files, globs or builtin:demo-val",            \
      "validation shards; required for job eval and when train.eval_interval > 0",                   \
      K_LIST, OFF(data.val), D_VALUE, 0, 0, 0, NULL)                                                 \
    X("data.sampling", "string", "random", "random, epoch",                                          \
      "random: each sequence at a uniformly random offset (reference); epoch: shuffled pass",       \
      K_ENUM, OFF(data.sampling), D_VALUE, 0, 0, 0, E_SAMPLING)                                      \
    X("data.verify", "string", "full", "full, quick",                                                \
      "full: read every shard at start (checksums, token < vocab); quick: metadata only (huge sets)",\
      K_ENUM, OFF(data.verify), D_VALUE, 0, 0, 0, E_VERIFY)                                          \
    X("data.eval_dir", "string", "none", "a folder with one folder per task (doc/eval.md)",            \
      "task files for eval.tasks, e.g. ../shared/data/eval; required with eval.tasks",              \
      K_STR, OFF(data.eval_dir), D_NONE, 0, 0, 0, NULL)                                              \
    X("data.vocab_dir", "string", "none", "a folder with encoder.json and vocab.bpe",                \
      "GPT-2 BPE files (as t6-prep --vocab) for eval.tasks; required with eval.tasks",              \
      K_STR, OFF(data.vocab_dir), D_NONE, 0, 0, 0, NULL)                                             \
    X("train.micro_batch", "int", "8", "1..65536", "sequences per rank per micro-step",              \
      K_INT, OFF(train.micro_batch), D_VALUE, 1, 65536, 0, NULL)                                     \
    X("train.seq_len", "int", "model.block_size", "1..model.block_size",                             \
      "tokens per training sequence",                                                                \
      K_INT, OFF(train.seq_len), D_DERIVED, 1, 1048576, 0, NULL)                                     \
    X("train.grad_accum", "int", "1", "1..65536",                                                    \
      "micro-steps per optimizer step per rank; not together with global_batch",                     \
      K_INT, OFF(train.grad_accum), D_VALUE, 1, 65536, 0, NULL)                                      \
    X("train.global_batch", "int", "none", "1..16777216",                                            \
      "sequences per optimizer step over all ranks; grad_accum = global_batch / (micro_batch * ranks)", \
      K_INT, OFF(train.global_batch), D_NONE, 1, 16777216, 0, NULL)                                  \
    X("train.max_steps", "int", "100000", "1..1000000000000", "optimizer steps of the run",          \
      K_LONG, OFF(train.max_steps), D_VALUE, 1, BIG, 0, NULL)                                        \
    X("train.eval_interval", "int", "1000", "0..1000000000", "steps between evaluations; 0 = never", \
      K_INT, OFF(train.eval_interval), D_VALUE, 0, 1e9, 0, NULL)                                     \
    X("train.eval_iters", "int", "200", "1..1000000", "validation batches per evaluation",           \
      K_INT, OFF(train.eval_iters), D_VALUE, 1, 1e6, 0, NULL)                                        \
    X("train.log_interval", "int", "10", "1..1000000000", "steps between log lines",                 \
      K_INT, OFF(train.log_interval), D_VALUE, 1, 1e9, 0, NULL)                                      \
    X("train.seed", "int", "1337", "0..9223372036854775807", "seed of initialization and sampling",  \
      K_U64, OFF(train.seed), D_VALUE, 0, 9223372036854775807.0, 0, NULL)                            \
    X("train.accum_mode", "string", "mean", "mean, sum",                                             \
      "gradient accumulation: mean (correct) or sum (the reference's quirk, for parity)",            \
      K_ENUM, OFF(train.accum_mode), D_VALUE, 0, 0, 0, E_ACCUM)                                      \
    X("train.zero", "int", "0", "0, 1",                                                              \
      "1: ZeRO-1, each rank keeps and updates 1/ranks of the AdamW moments (doc/running.md)",       \
      K_INT, OFF(train.zero), D_VALUE, 0, 1, 0, NULL)                                                \
    X("train.bucket_mb", "float", "25", "0..1024",                                                   \
      "MB of fp32 gradient per reduction bucket, sent while the backward runs; 0 = after it",       \
      K_FLOAT, OFF(train.bucket_mb), D_VALUE, 0, 1024, 0, NULL)                                      \
    X("train.loss_spike_factor", "float", "0", "0 (off) or > 1",                                     \
      "divergence guard: a step whose loss exceeds this times the running mean of recent losses",   \
      K_FLOAT, OFF(train.loss_spike_factor), D_VALUE, 0, INFINITY, 0, NULL)                          \
    X("train.grad_norm_limit", "float", "0", ">= 0; 0 = off",                                        \
      "divergence guard: a step whose gradient norm (before clipping) exceeds this",                 \
      K_FLOAT, OFF(train.grad_norm_limit), D_VALUE, 0, INFINITY, 0, NULL)                            \
    X("train.on_divergence", "string", "stop", "stop, skip",                                         \
      "what a guarded divergence does: stop the run, or skip the step (no parameter update)",       \
      K_ENUM, OFF(train.on_divergence), D_VALUE, 0, 0, 0, E_DIVERGE)                                 \
    X("train.max_skipped_steps", "int", "10", "1..1000000",                                          \
      "on_divergence = skip: this many skipped steps in a row stop the run",                         \
      K_INT, OFF(train.max_skipped_steps), D_VALUE, 1, 1e6, 0, NULL)                                 \
    X("train.recompute", "string", "none", "none, attention, block",                                 \
      "activation recomputation: keep all activations, or recompute the attention (from the Q/K/V projections) or the whole block (from its input) in the backward; same gradients, less memory", \
      K_ENUM, OFF(train.recompute), D_VALUE, 0, 0, 0, E_RECOMPUTE)                                   \
    X("optim.lr", "float", "0.0006", "> 0", "peak learning rate (AdamW)",                            \
      K_FLOAT, OFF(optim.lr), D_VALUE, 0, INFINITY, R_LO_OPEN, NULL)                                 \
    X("optim.min_lr", "float", "optim.lr / 10", "0..optim.lr", "learning rate at and after decay_steps", \
      K_FLOAT, OFF(optim.min_lr), D_DERIVED, 0, INFINITY, 0, NULL)                                   \
    X("optim.warmup_steps", "int", "2000", "0..optim.decay_steps",                                   \
      "linear warmup from 0 (lr * step / warmup_steps)",                                             \
      K_LONG, OFF(optim.warmup_steps), D_VALUE, 0, BIG, 0, NULL)                                     \
    X("optim.decay_steps", "int", "train.max_steps", "1..1000000000000",                             \
      "step at which the schedule reaches min_lr (reference: lr_decay_iters)",                       \
      K_LONG, OFF(optim.decay_steps), D_DERIVED, 1, BIG, 0, NULL)                                    \
    X("optim.schedule", "string", "cosine", "cosine, wsd, constant",                                 \
      "after warmup: cosine to min_lr, warmup-stable-decay, or constant lr",                         \
      K_ENUM, OFF(optim.schedule), D_VALUE, 0, 0, 0, E_SCHED)                                        \
    X("optim.wsd_decay_frac", "float", "0.2", "> 0 and <= 1",                                        \
      "wsd: fraction of decay_steps spent decaying (linearly) at the end",                           \
      K_FLOAT, OFF(optim.wsd_decay_frac), D_VALUE, 0, 1, R_LO_OPEN, NULL)                            \
    X("optim.beta1", "float", "0.9", ">= 0 and < 1", "AdamW beta1",                                  \
      K_FLOAT, OFF(optim.beta1), D_VALUE, 0, 1, R_HI_OPEN, NULL)                                     \
    X("optim.beta2", "float", "0.95", ">= 0 and < 1", "AdamW beta2",                                 \
      K_FLOAT, OFF(optim.beta2), D_VALUE, 0, 1, R_HI_OPEN, NULL)                                     \
    X("optim.eps", "float", "1e-08", "> 0", "AdamW epsilon",                                         \
      K_FLOAT, OFF(optim.eps), D_VALUE, 0, INFINITY, R_LO_OPEN, NULL)                                \
    X("optim.weight_decay", "float", "0.1", ">= 0", "decoupled weight decay, on every parameter",    \
      K_FLOAT, OFF(optim.weight_decay), D_VALUE, 0, INFINITY, 0, NULL)                               \
    X("optim.grad_clip", "float", "1", ">= 0", "global gradient-norm clip; 0 = no clipping",         \
      K_FLOAT, OFF(optim.grad_clip), D_VALUE, 0, INFINITY, 0, NULL)                                  \
    X("output.run_dir", "string", "runs/<deck name>", "a non-empty path",                            \
      "directory of checkpoints, metrics and the status file",                                       \
      K_STR, OFF(output.run_dir), D_DERIVED, 0, 0, 0, NULL)                                          \
    X("output.checkpoint_interval", "int", "1000", "0..1000000000",                                  \
      "steps between rolling checkpoints; 0 = only at the end and on signals",                       \
      K_INT, OFF(output.checkpoint_interval), D_VALUE, 0, 1e9, 0, NULL)                              \
    X("output.keep_last", "int", "3", "1..1000000", "rolling checkpoints kept",                      \
      K_INT, OFF(output.keep_last), D_VALUE, 1, 1e6, 0, NULL)                                        \
    X("output.milestone_interval", "int", "0", "0..1000000000",                                      \
      "checkpoints at multiples of this step are never deleted; 0 = none",                           \
      K_INT, OFF(output.milestone_interval), D_VALUE, 0, 1e9, 0, NULL)                               \
    X("output.metrics", "string", "metrics.h5", "a non-empty file name",                             \
      "metrics file, relative to run_dir",                                                           \
      K_STR, OFF(output.metrics), D_VALUE, 0, 0, 0, NULL)                                            \
    X("output.resume", "string", "auto", "auto, never, or a checkpoint path",                        \
      "auto: newest valid checkpoint in run_dir; never: refuse existing checkpoints; or a file",     \
      K_STR, OFF(output.resume), D_VALUE, 0, 0, 0, NULL)                                             \
    X("output.resume_force", "bool", "false", "true, false",                                         \
      "resume even when the deck changed keys that break the model or the data stream",             \
      K_BOOL, OFF(output.resume_force), D_VALUE, 0, 1, 0, NULL)                                      \
    X("eval.tasks", "string list", "[]",                                                             \
      "arc_easy, arc_challenge, boolq, hellaswag, openbookqa, piqa, winogrande, mmlu, sciq, lambada_openai", \
      "lm-eval tasks job eval scores (doc/eval.md); [] = validation loss only",                      \
      K_LIST, OFF(eval.tasks), D_VALUE, 0, 0, 0, NULL)                                               \
    X("eval.num_fewshot", "int", "0", "0..64", "few-shot examples per question (lm-eval --num_fewshot)", \
      K_INT, OFF(eval.num_fewshot), D_VALUE, 0, 64, 0, NULL)                                         \
    X("eval.limit", "int", "0", "0..1000000000",                                                     \
      "score only the first N documents of each task (MMLU: of each subject); 0 = all",             \
      K_LONG, OFF(eval.limit), D_VALUE, 0, 1e9, 0, NULL)                                             \
    X("eval.results", "string", "<checkpoint>.eval-<N>shot.h5", "a file path",                      \
      "HDF5 results file of eval.tasks (doc/formats/eval-results.md)",                               \
      K_STR, OFF(eval.results), D_NONE, 0, 0, 0, NULL)                                               \
    X("eval.json", "string", "none", "a file path, or - for stdout",                                 \
      "also write the eval.tasks results as JSON",                                                   \
      K_STR, OFF(eval.json), D_NONE, 0, 0, 0, NULL)                                                  \
    X("backend.device", "string", "cpu", "cpu, cuda", "where the model runs (one rank per GPU)",     \
      K_ENUM, OFF(backend.device), D_VALUE, 0, 0, 0, E_DEVICE)                                       \
    X("backend.precision", "string", "fp32 on cpu, bf16 on cuda", "fp32, bf16",                      \
      "activation/weight precision; bf16 keeps fp32 master weights (cuda only)",                     \
      K_ENUM, OFF(backend.precision), D_DERIVED, 0, 0, 0, E_PREC)                                    \
    X("backend.threads", "int", "0", "0..4096", "CPU threads per rank; 0 = OpenMP default",          \
      K_INT, OFF(backend.threads), D_VALUE, 0, 4096, 0, NULL)                                        \
    X("generate.prompts", "string list", "[]", "non-empty strings",                                  \
      "prompts: text (tokenizer gpt2) or token ids separated by spaces (tokenizer ids)",             \
      K_LIST, OFF(generate.prompts), D_VALUE, 0, 0, 0, NULL)                                         \
    X("generate.prompt_file", "string", "none", "a readable file, or - for stdin",                   \
      "more prompts from a file (after generate.prompts), split by generate.prompt_split",           \
      K_STR, OFF(generate.prompt_file), D_NONE, 0, 0, 0, NULL)                                       \
    X("generate.prompt_split", "string", "line", "line, paragraph, whole",                           \
      "prompt_file: one prompt per line, per blank-line-separated paragraph, or the whole file",     \
      K_ENUM, OFF(generate.prompt_split), D_VALUE, 0, 0, 0, E_SPLIT)                                 \
    X("generate.source", "string", "checkpoint", "checkpoint, init, hf:DIR",                         \
      "weights: checkpoint = as job eval (model.init_from, else output.resume, run_dir); init = fresh from train.seed (benchmarks); hf:DIR = a Hugging Face export", \
      K_STR, OFF(generate.source), D_VALUE, 0, 0, 0, NULL)                                           \
    X("generate.tokenizer", "string", "gpt2", "gpt2, ids",                                           \
      "gpt2: GPT-2 BPE text in and out; ids: prompts and output are token ids (the demo language)",  \
      K_ENUM, OFF(generate.tokenizer), D_VALUE, 0, 0, 0, E_TOK)                                      \
    X("generate.vocab_dir", "string", "vocab", "a folder with encoder.json and vocab.bpe",           \
      "GPT-2 vocabulary for tokenizer gpt2 (tools/fetch-gpt2-vocab.sh)",                             \
      K_STR, OFF(generate.vocab_dir), D_VALUE, 0, 0, 0, NULL)                                        \
    X("generate.max_new_tokens", "int", "64", "1..1048576",                                          \
      "tokens generated per prompt at most (also ends at block_size)",                               \
      K_INT, OFF(generate.max_new_tokens), D_VALUE, 1, 1048576, 0, NULL)                             \
    X("generate.temperature", "float", "1", ">= 0", "sampling temperature; 0 = greedy (argmax)",     \
      K_FLOAT, OFF(generate.temperature), D_VALUE, 0, INFINITY, 0, NULL)                             \
    X("generate.top_k", "int", "0", "0..16777216", "sample among the k most likely tokens; 0 = all", \
      K_INT, OFF(generate.top_k), D_VALUE, 0, 16777216, 0, NULL)                                     \
    X("generate.top_p", "float", "1", "> 0 and <= 1",                                                \
      "nucleus sampling: the smallest set of tokens with probability >= top_p; 1 = all",             \
      K_FLOAT, OFF(generate.top_p), D_VALUE, 0, 1, R_LO_OPEN, NULL)                                  \
    X("generate.sample_seed", "int", "1337", "0..9223372036854775807",                               \
      "seed of sampling; prompt i draws from its own random stream (sample_seed, i)",                \
      K_U64, OFF(generate.sample_seed), D_VALUE, 0, 9223372036854775807.0, 0, NULL)                  \
    X("generate.stop", "string list", "[]", "non-empty strings",                                     \
      "a prompt's generation ends after the text first contains one of these",                       \
      K_LIST, OFF(generate.stop), D_VALUE, 0, 0, 0, NULL)                                            \
    X("generate.eot_token", "int", "50256 for gpt2, -1 for ids", "-1..16777215",                     \
      "end-of-text token that ends a generation (not printed); -1 = none",                           \
      K_INT, OFF(generate.eot_token), D_DERIVED, -1, 16777215, 0, NULL)                              \
    X("generate.batch_size", "int", "8", "1..65536",                                                 \
      "prompts decoded together (one KV cache of batch_size x max length)",                          \
      K_INT, OFF(generate.batch_size), D_VALUE, 1, 65536, 0, NULL)                                   \
    X("generate.prefill_tokens", "int", "65536", "1..1073741824",                                    \
      "tokens per prefill forward: a batch's prompts go through it in groups of this many tokens' rows (at least one row)", \
      K_INT, OFF(generate.prefill_tokens), D_VALUE, 1, 1073741824, 0, NULL)                          \
    X("generate.cuda_graphs", "bool", "true", "true, false",                                         \
      "cuda: record one decode step (all layers) as a CUDA graph and replay it per token (false: launch every kernel)", \
      K_BOOL, OFF(generate.cuda_graphs), D_VALUE, 0, 1, 0, NULL)

#define DOC_ROW(key, type, def, allowed, doc, ...) {key, type, def, allowed, doc},
static const t6_deck_key_doc KEY_DOCS[] = {T6_DECK_KEYS(DOC_ROW)};
#define RULE_ROW(key, type, def, allowed, doc, kind, off, defmode, lo, hi, rflags, names) \
    {kind, off, defmode, lo, hi, rflags, names},
static const key_rule KEY_RULES[] = {T6_DECK_KEYS(RULE_ROW)};
enum { N_KEYS = (int)(sizeof KEY_DOCS / sizeof KEY_DOCS[0]) };

static const char *const SECTIONS[] = {"model", "data", "train", "optim", "output", "eval", "backend", "generate", NULL};
/* the tasks eval.tasks accepts (src/eval/evdata.c holds their definitions) */
static const char *const EVAL_TASKS[] = {"arc_easy", "arc_challenge", "boolq", "hellaswag", "openbookqa", "piqa",
                                         "winogrande", "mmlu", "sciq", "lambada_openai", NULL};

const t6_deck_key_doc *t6_deck_keys(int *n)
{
    if (n) *n = N_KEYS;
    return KEY_DOCS;
}

/* Paper presets (shared/spec/t6-model.md): L, d, and h per attention type in the
 * order of t6_attn_type (tpa, tpa_kvonly, mha, mqa, gqa with G = 2, mla). MLA's head
 * counts are the released configs' (tensorgi/TPA config/train_llama_mla_*: 13 heads at
 * small where the paper's Table 10 says 12), with the class-default latent ranks
 * 512/256 at every size: those counts, not Table 10's, give the paper's parameter
 * classes (../shared/spec/mla.md; input/mla_*_table10.cfg has the other reading). */
static const struct { int n_layer, n_embd, n_head[6]; } PRESETS[] = {
    {12, 768, {34, 22, 12, 23, 22, 13}},
    {24, 1024, {47, 29, 16, 31, 30, 23}},
    {36, 1280, {61, 37, 20, 39, 38, 34}},
    {48, 1600, {78, 47, 25, 49, 48, 49}},
};

const char *t6_attn_name(t6_attn_type a)
{
    return (a >= 0 && a <= T6_ATTN_MLA) ? E_ATTN[a] : "?";
}

const char *t6_recompute_name(t6_recompute r)
{
    return (r >= 0 && r <= T6_RECOMPUTE_BLOCK) ? E_RECOMPUTE[r] : "?";
}

/* ---- load context -------------------------------------------------------------- */

enum { SRC_DEFAULT = 0, SRC_FILE, SRC_SET, SRC_PRESET, SRC_DERIVED };

typedef struct {
    const char *path;
    t6_deck *deck;
    int size;                   /* index into E_SIZE, -1 = none */
    int src[N_KEYS];
    int line[N_KEYS];
    const char *file[N_KEYS];   /* source file of a SRC_FILE value (differs under @include) */
    const char *set[N_KEYS];    /* the --set argument of a SRC_SET value */
    int sec_line[8];            /* line of each group of SECTIONS in the file, 0 = absent */
    const char *dir;            /* the deck's folder ("" for the current one): @include base */
    char owned[N_KEYS][256];    /* file names of values from @include'd files */
    const char *const *applied; /* the --set overrides applied so far (for messages) */
    int n_applied;
    char *err;
    size_t err_len;
} load_ctx;

/* A typed value on its way from the file or the command line into the deck. */
typedef struct {
    long long i;
    double f;
    const char *s;
    char **list;
    int n;
} value;

static int key_index(const char *key)
{
    for (int i = 0; i < N_KEYS; i++)
        if (strcmp(KEY_DOCS[i].key, key) == 0) return i;
    return -1;
}

static int levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int *row = t6_malloc((lb + 1) * sizeof *row);
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            int best = diag + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    int d = row[lb];
    free(row);
    return d;
}

static const char *nearest_key(const char *key)
{
    int best = -1, bd = INT_MAX;
    for (int i = 0; i < N_KEYS; i++) {
        int d = levenshtein(key, KEY_DOCS[i].key);
        if (d < bd) { bd = d; best = i; }
    }
    return KEY_DOCS[best].key;
}

static const char *nearest_section(const char *name)
{
    int best = 0, bd = INT_MAX;
    for (int i = 0; SECTIONS[i]; i++) {
        int d = levenshtein(name, SECTIONS[i]);
        if (d < bd) { bd = d; best = i; }
    }
    return SECTIONS[best];
}

static void *field(t6_deck *d, int k) { return (char *)d + KEY_RULES[k].off; }

/* Text of a libconfig setting's value for messages. */
static void setting_text(const config_setting_t *s, char *buf, size_t len)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT: snprintf(buf, len, "%d", config_setting_get_int(s)); break;
    case CONFIG_TYPE_INT64: snprintf(buf, len, "%lld", (long long)config_setting_get_int64(s)); break;
    case CONFIG_TYPE_FLOAT: snprintf(buf, len, "%g", config_setting_get_float(s)); break;
    case CONFIG_TYPE_BOOL: snprintf(buf, len, "%s", config_setting_get_bool(s) ? "true" : "false"); break;
    case CONFIG_TYPE_STRING: snprintf(buf, len, "\"%s\"", config_setting_get_string(s)); break;
    case CONFIG_TYPE_GROUP: snprintf(buf, len, "{ ... }"); break;
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        size_t o = 0;
        o += (size_t)snprintf(buf + o, len - o, "[");
        for (int i = 0; i < config_setting_length(s) && o < len; i++) {
            char el[256];
            setting_text(config_setting_get_elem(s, (unsigned)i), el, sizeof el);
            o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : " ", el);
        }
        if (o < len) snprintf(buf + o, len - o, " ]");
        break;
    }
    default: snprintf(buf, len, "?");
    }
}

static const char *type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "int";
    case CONFIG_TYPE_FLOAT: return "float";
    case CONFIG_TYPE_STRING: return "string";
    case CONFIG_TYPE_BOOL: return "bool";
    case CONFIG_TYPE_GROUP: return "group";
    case CONFIG_TYPE_ARRAY: return "array";
    case CONFIG_TYPE_LIST: return "list";
    default: return "?";
    }
}

/* Shortest %g text that reads back to the same double, always with a '.' or an 'e'
 * so that libconfig reads it as a float. */
static void fmt_float(char *buf, size_t len, double v)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (strpbrk(buf, "eE") && v == floor(v) && fabs(v) < 1e15) snprintf(buf, len, "%.1f", v);
    if (!strpbrk(buf, ".eEn")) strncat(buf, ".0", len - strlen(buf) - 1);
}

/* Text of a key's current value in the deck. */
static void value_text(const t6_deck *d, int k, char *buf, size_t len, int size)
{
    const key_rule *r = &KEY_RULES[k];
    const void *p = (const char *)d + r->off;
    switch (r->kind) {
    case K_INT: snprintf(buf, len, "%d", *(const int *)p); break;
    case K_LONG: snprintf(buf, len, "%ld", *(const long *)p); break;
    case K_U64: snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    case K_FLOAT: fmt_float(buf, len, *(const double *)p); break;
    case K_STR: snprintf(buf, len, "\"%s\"", *(char *const *)p ? *(char *const *)p : ""); break;
    case K_ENUM: snprintf(buf, len, "\"%s\"", r->names[*(const int *)p]); break;
    case K_SIZE: snprintf(buf, len, "\"%s\"", size >= 0 ? E_SIZE[size] : "none"); break;
    case K_BOOL: snprintf(buf, len, "%s", *(const int *)p ? "true" : "false"); break;
    case K_LIST: {
        char **l = *(char **const *)p;
        int n = *(const int *)((const char *)p + sizeof(char **));
        size_t o = (size_t)snprintf(buf, len, "[");
        for (int i = 0; i < n && o < len; i++)
            o += (size_t)snprintf(buf + o, len - o, "%s\"%s\"", i ? ", " : " ", l[i]);
        if (o < len) snprintf(buf + o, len - o, " ]");
        break;
    }
    }
}

/* Line of the group holding key k (0 when the file has no such group). */
static int section_line(const load_ctx *c, int k)
{
    const char *key = KEY_DOCS[k].key, *dot = strchr(key, '.');
    if (!dot) return 0;
    for (int i = 0; SECTIONS[i]; i++)
        if (strlen(SECTIONS[i]) == (size_t)(dot - key) && strncmp(SECTIONS[i], key, (size_t)(dot - key)) == 0)
            return c->sec_line[i];
    return 0;
}

/* Where a value came from; a default or derived value points at its group in the file. */
static void location(const load_ctx *c, int k, char *buf, size_t len)
{
    int sl = section_line(c, k);
    switch (c->src[k]) {
    case SRC_FILE: snprintf(buf, len, "%s:%d", c->file[k], c->line[k]); break;
    case SRC_SET: snprintf(buf, len, "--set %s", c->set[k]); break;
    default:
        if (sl > 0) snprintf(buf, len, "%s:%d", c->path, sl);
        else snprintf(buf, len, "%s", c->path);
        break;
    }
}

/* location(), and when --set overrides were applied but the value blamed is not one
 * of them, the overrides: a contradiction they brought about is theirs, though the
 * value named may well be the file's. */
static void blame_location(const load_ctx *c, int k, char *loc, size_t len)
{
    location(c, k, loc, len);
    if (c->src[k] == SRC_SET || c->n_applied == 0) return;
    size_t l = strlen(loc);
    l += (size_t)snprintf(loc + l, len - l, " (after");
    for (int i = 0; i < c->n_applied && l < len; i++)
        l += (size_t)snprintf(loc + l, len - l, "%s --set %s", i ? "," : "", c->applied[i]);
    if (l < len) snprintf(loc + l, len - l, ")");
}

static const char *origin_note(const load_ctx *c, int k)
{
    switch (c->src[k]) {
    case SRC_DEFAULT: return " (default)";
    case SRC_PRESET: return " (from model.size)";
    case SRC_DERIVED: return " (derived)";
    default: return "";
    }
}

/* "LOC: KEY = VALUE: PROBLEM (allowed: ALLOWED)" with VALUE given or taken from the deck. */
static int failv(load_ctx *c, int k, const char *valtext, const char *allowed, const char *fmt, va_list ap)
{
    char loc[1024], val[1024], msg[1024];
    blame_location(c, k, loc, sizeof loc);
    if (valtext) snprintf(val, sizeof val, "%s", valtext);
    else value_text(c->deck, k, val, sizeof val, c->size);
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(c->err, c->err_len, "%s: %s = %s%s: %s (allowed: %s)", loc, KEY_DOCS[k].key, val,
             valtext ? "" : origin_note(c, k), msg, allowed ? allowed : KEY_DOCS[k].allowed);
    return -1;
}

static int fail(load_ctx *c, int k, const char *valtext, const char *allowed, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(load_ctx *c, int k, const char *valtext, const char *allowed, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(c, k, valtext, allowed, fmt, ap);
    va_end(ap);
    return -1;
}

/* Of the keys given, the one to blame for a contradiction: the first one set in the
 * file or on the command line, else the first. */
static int blame(const load_ctx *c, int n, ...)
{
    va_list ap;
    int first = -1, pick = -1;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        int k = key_index(va_arg(ap, const char *));
        if (first < 0) first = k;
        if (pick < 0 && (c->src[k] == SRC_FILE || c->src[k] == SRC_SET)) pick = k;
    }
    va_end(ap);
    return pick >= 0 ? pick : first;
}

static int given(const load_ctx *c, int k) { return c->src[k] == SRC_FILE || c->src[k] == SRC_SET; }

/* ---- storing values ------------------------------------------------------------ */

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

/* Range-checks v and stores it into the deck field of key k. */
static int store(load_ctx *c, int k, const value *v, const char *valtext)
{
    const key_rule *r = &KEY_RULES[k];
    void *p = field(c->deck, k);
    switch (r->kind) {
    case K_BOOL:
        *(int *)p = v->i != 0;
        return 0;
    case K_INT:
    case K_LONG:
    case K_U64: {
        if ((double)v->i < r->lo || (double)v->i > r->hi)
            return fail(c, k, valtext, NULL, "out of range");
        if (r->kind == K_INT) *(int *)p = (int)v->i;
        else if (r->kind == K_LONG) *(long *)p = (long)v->i;
        else *(uint64_t *)p = (uint64_t)v->i;
        return 0;
    }
    case K_FLOAT: {
        double x = v->f;
        int bad = !isfinite(x) || x < r->lo || x > r->hi || ((r->rflags & R_LO_OPEN) && x == r->lo) ||
                  ((r->rflags & R_HI_OPEN) && x == r->hi);
        if (bad) return fail(c, k, valtext, NULL, "out of range");
        *(double *)p = x;
        return 0;
    }
    case K_STR:
        if (!v->s[0]) return fail(c, k, valtext, NULL, "must not be empty");
        free(*(char **)p);
        *(char **)p = t6_strdup(v->s);
        return 0;
    case K_ENUM:
    case K_SIZE:
        for (int i = 0; r->names[i]; i++)
            if (strcmp(r->names[i], v->s) == 0) {
                if (r->kind == K_SIZE) c->size = i;
                else *(int *)p = i;
                return 0;
            }
        return fail(c, k, valtext, NULL, "invalid value");
    case K_LIST: {
        int *n = (int *)((char *)p + sizeof(char **));
        free_list(*(char ***)p, *n);
        *(char ***)p = t6_calloc((size_t)(v->n ? v->n : 1), sizeof(char *));
        for (int i = 0; i < v->n; i++) {
            if (!v->list[i][0]) {
                *n = i;
                return fail(c, k, valtext,
                            strncmp(KEY_DOCS[k].key, "data.", 5) == 0 ? "t6-corpus HDF5 files, globs or builtin names, none empty"
                                                                      : NULL,
                            "element %d is empty", i);
            }
            (*(char ***)p)[i] = t6_strdup(v->list[i]);
        }
        *n = v->n;
        return 0;
    }
    }
    return 0;
}

/* The name of a file libconfig read: the deck itself, or an @include'd file, whose
 * name libconfig keeps as written (relative to the deck's folder). */
static const char *source_name(const load_ctx *c, const char *sf, char *buf, size_t len)
{
    if (!sf || strcmp(sf, c->path) == 0) return c->path;
    if (sf[0] == '/' || !c->dir[0]) snprintf(buf, len, "%s", sf);
    else snprintf(buf, len, "%s/%s", c->dir, sf);
    return buf;
}

/* libconfig reads an integer without the L suffix as 32 bits and wraps a larger one
 * (3000000000 -> -1294967296) without a word. The number as written on the setting's
 * line, if it differs from what libconfig made of it; else NULL. */
static const char *wrapped_int(const load_ctx *c, int k, const config_setting_t *s, char *out, size_t len)
{
    const char *leaf = strrchr(KEY_DOCS[k].key, '.');
    leaf = leaf ? leaf + 1 : KEY_DOCS[k].key;
    char buf[4096];
    const char *found = NULL;
    FILE *f = fopen(c->file[k], "r");
    for (int n = 1; f && fgets(buf, sizeof buf, f); n++) {
        if (n != c->line[k]) continue;
        for (char *p = strstr(buf, leaf); p; p = strstr(p + 1, leaf)) {
            char *q = p + strlen(leaf);
            while (*q == ' ' || *q == '\t') q++;
            if (*q != '=' && *q != ':') continue;
            q++;
            while (*q == ' ' || *q == '\t') q++;
            char *e;
            errno = 0;
            long long v = strtoll(q, &e, 0);
            if (e != q && *e != 'L' && (errno == ERANGE || v != (long long)config_setting_get_int64(s))) {
                snprintf(out, len, "%.*s", (int)(e - q), q);
                found = out;
            }
            break;
        }
        break;
    }
    if (f) fclose(f);
    return found;
}

/* A value from a libconfig setting: type-checked against the key's kind. */
static int take_setting(load_ctx *c, int k, const config_setting_t *s, int from_file)
{
    const key_rule *r = &KEY_RULES[k];
    char text[1024];
    setting_text(s, text, sizeof text);
    if (from_file) {
        c->src[k] = SRC_FILE;
        c->line[k] = config_setting_source_line(s);
        c->file[k] = source_name(c, config_setting_source_file(s), c->owned[k], sizeof c->owned[k]);
    }
    int t = config_setting_type(s);
    value v = {0};
    switch (r->kind) {
    case K_INT:
    case K_LONG:
    case K_U64:
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            return fail(c, k, text, NULL, "wrong type %s, expected %s", type_name(t), KEY_DOCS[k].type);
        char raw[64];
        if (from_file && t == CONFIG_TYPE_INT && wrapped_int(c, k, s, raw, sizeof raw))
            return fail(c, k, raw, NULL, "libconfig reads integers as 32 bits and made it %lld; write %sL (the L suffix "
                        "makes it 64-bit)", (long long)config_setting_get_int64(s), raw);
        v.i = (long long)config_setting_get_int64(s);
        return store(c, k, &v, text);
    case K_FLOAT:
        if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) v.f = (double)config_setting_get_int64(s);
        else if (t == CONFIG_TYPE_FLOAT) v.f = config_setting_get_float(s);
        else return fail(c, k, text, NULL, "wrong type %s, expected float", type_name(t));
        return store(c, k, &v, text);
    case K_STR:
    case K_ENUM:
    case K_SIZE:
        if (t != CONFIG_TYPE_STRING)
            return fail(c, k, text, NULL, "wrong type %s, expected string", type_name(t));
        v.s = config_setting_get_string(s);
        return store(c, k, &v, text);
    case K_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            return fail(c, k, text, NULL, "wrong type %s, expected bool (true or false)", type_name(t));
        v.i = config_setting_get_bool(s);
        return store(c, k, &v, text);
    case K_LIST: {
        if (t == CONFIG_TYPE_STRING) {
            const char *one = config_setting_get_string(s);
            v.list = (char **)&one;
            v.n = 1;
            return store(c, k, &v, text);
        }
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
            return fail(c, k, text, NULL, "wrong type %s, expected a list of strings", type_name(t));
        v.n = config_setting_length(s);
        v.list = t6_calloc((size_t)(v.n ? v.n : 1), sizeof(char *));
        for (int i = 0; i < v.n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                free(v.list);
                return fail(c, k, text, NULL, "element %d has type %s, expected a list of strings", i,
                            type_name(config_setting_type(e)));
            }
            v.list[i] = (char *)config_setting_get_string(e);
        }
        int rc = store(c, k, &v, text);
        free(v.list);
        return rc;
    }
    }
    return 0;
}

/* Splits "a,b , c" into trimmed pieces (empty text -> empty list). */
static char **split_commas(const char *s, int *n)
{
    *n = 0;
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return t6_calloc(1, sizeof(char *));
    int cap = 1;
    for (const char *q = s; *q; q++) cap += *q == ',';
    char **out = t6_calloc((size_t)cap, sizeof(char *));
    const char *a = s;
    for (;;) {
        const char *b = strchr(a, ',');
        size_t len = b ? (size_t)(b - a) : strlen(a);
        while (len && isspace((unsigned char)*a)) { a++; len--; }
        while (len && isspace((unsigned char)a[len - 1])) len--;
        char *piece = t6_malloc(len + 1);
        memcpy(piece, a, len);
        piece[len] = '\0';
        out[(*n)++] = piece;
        if (!b) break;
        a = b + 1;
    }
    return out;
}

/* A value from `--set key=text`, typed by the key's kind. Strings may be quoted;
 * lists are comma-separated ("a.h5,b.h5") or in libconfig syntax (["a.h5", "b.h5"]). */
static int take_text(load_ctx *c, int k, const char *text)
{
    const key_rule *r = &KEY_RULES[k];
    value v = {0};
    char *end;
    switch (r->kind) {
    case K_INT:
    case K_LONG:
    case K_U64:
        /* blanks around the number are allowed on both sides (strtoll skips only the
         * leading ones); a number too large for 64 bits is out of range, not "not an
         * integer" */
        errno = 0;
        v.i = strtoll(text, &end, 10);
        end += strspn(end, " \t");
        if (errno == ERANGE && end != text && !*end)
            return fail(c, k, text, NULL, "out of range (does not fit in 64 bits), expected %s", KEY_DOCS[k].type);
        if (!*text || *end || errno || end == text + strspn(text, " \t"))
            return fail(c, k, text, NULL, "not an integer, expected %s", KEY_DOCS[k].type);
        return store(c, k, &v, text);
    case K_FLOAT:
        errno = 0;
        v.f = strtod(text, &end);
        end += strspn(end, " \t");
        if (!*text || *end || errno || end == text + strspn(text, " \t"))
            return fail(c, k, text, NULL, "not a number, expected float");
        return store(c, k, &v, text);
    case K_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) v.i = 1;
        else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) v.i = 0;
        else return fail(c, k, text, NULL, "not a bool");
        return store(c, k, &v, text);
    case K_STR:
    case K_ENUM:
    case K_SIZE: {
        size_t len = strlen(text);
        char *s = t6_strdup(text);
        if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
            memmove(s, s + 1, len - 2);
            s[len - 2] = '\0';
        }
        v.s = s;
        int rc = store(c, k, &v, text);
        free(s);
        return rc;
    }
    case K_LIST: {
        const char *t = text;
        while (isspace((unsigned char)*t)) t++;
        if (*t == '[' || *t == '(') {
            config_t cfg;
            config_init(&cfg);
            size_t len = strlen(text) + 16;
            char *src = t6_malloc(len);
            snprintf(src, len, "v = %s;", text);
            int ok = config_read_string(&cfg, src);
            free(src);
            if (!ok) {
                int rc = fail(c, k, text, NULL, "not a list: %s", config_error_text(&cfg));
                config_destroy(&cfg);
                return rc;
            }
            int rc = take_setting(c, k, config_lookup(&cfg, "v"), 0);
            config_destroy(&cfg);
            return rc;
        }
        v.list = split_commas(text, &v.n);
        int rc = store(c, k, &v, text);
        free_list(v.list, v.n);
        return rc;
    }
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------------- */

static int set_default(load_ctx *c, int k)
{
    const key_rule *r = &KEY_RULES[k];
    c->src[k] = SRC_DEFAULT;
    if (r->defmode != D_VALUE) return 0;
    if (r->kind == K_LIST) return 0; /* calloc'ed deck: empty list */
    return take_text(c, k, KEY_DOCS[k].def);
}

/* Walks the parsed file: every setting must be a known section/key. */
static int read_file(load_ctx *c, config_t *cfg)
{
    config_setting_t *root = config_root_setting(cfg);
    char text[1024], key[256];
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        int line = config_setting_source_line(s);
        char fbuf[1024];
        const char *file = source_name(c, config_setting_source_file(s), fbuf, sizeof fbuf);
        int is_section = 0;
        for (int j = 0; SECTIONS[j]; j++)
            if (strcmp(SECTIONS[j], name) == 0) {
                is_section = 1;
                c->sec_line[j] = line;
            }
        if (is_section) {
            if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
                setting_text(s, text, sizeof text);
                snprintf(c->err, c->err_len,
                         "%s:%d: %s = %s: wrong type %s, expected a group (allowed: %s = { key = value; ... };)",
                         file, line, name, text, type_name(config_setting_type(s)), name);
                return -1;
            }
            for (int j = 0; j < config_setting_length(s); j++) {
                config_setting_t *e = config_setting_get_elem(s, (unsigned)j);
                snprintf(key, sizeof key, "%s.%s", name, config_setting_name(e));
                int k = key_index(key);
                if (k < 0) {
                    setting_text(e, text, sizeof text);
                    snprintf(c->err, c->err_len,
                             "%s:%d: unknown key %s = %s; did you mean %s? (allowed: the keys of doc/deck.md)",
                             source_name(c, config_setting_source_file(e), fbuf, sizeof fbuf),
                             config_setting_source_line(e), key, text, nearest_key(key));
                    return -1;
                }
                if (take_setting(c, k, e, 1)) return -1;
            }
            continue;
        }
        int k = key_index(name);
        if (k >= 0 && !strchr(name, '.')) {
            if (take_setting(c, k, s, 1)) return -1;
            continue;
        }
        setting_text(s, text, sizeof text);
        if (config_setting_type(s) == CONFIG_TYPE_GROUP)
            snprintf(c->err, c->err_len,
                     "%s:%d: unknown section %s; did you mean %s? (allowed: job, model, data, train, optim, output, eval, backend, generate)",
                     file, line, name, nearest_section(name));
        else
            snprintf(c->err, c->err_len,
                     "%s:%d: unknown key %s = %s; did you mean %s? (allowed: the keys of doc/deck.md)",
                     file, line, name, text, nearest_key(name));
        return -1;
    }
    return 0;
}

static int apply_override(load_ctx *c, const char *ov)
{
    const char *eq = strchr(ov, '=');
    if (!eq || eq == ov) {
        snprintf(c->err, c->err_len, "--set %s: expected section.key=value (allowed: the keys of doc/deck.md)", ov);
        return -1;
    }
    char key[256];
    size_t kl = (size_t)(eq - ov);
    if (kl >= sizeof key) kl = sizeof key - 1;
    memcpy(key, ov, kl);
    key[kl] = '\0';
    int k = key_index(key);
    if (k < 0) {
        snprintf(c->err, c->err_len, "--set %s: unknown key %s; did you mean %s? (allowed: the keys of doc/deck.md)",
                 ov, key, nearest_key(key));
        return -1;
    }
    c->src[k] = SRC_SET;
    c->set[k] = ov;
    int rc = take_text(c, k, eq + 1);
    c->src[k] = SRC_SET;
    c->set[k] = ov;
    return rc;
}

/* Presets and derived values for keys not given. */
static int derive(load_ctx *c)
{
    t6_deck *d = c->deck;
    t6_model_config *m = &d->model;
    int kL = key_index("model.n_layer"), kD = key_index("model.n_embd"), kH = key_index("model.n_head");
    if (c->size >= 0) {
        if (!given(c, kL)) { m->n_layer = PRESETS[c->size].n_layer; c->src[kL] = SRC_PRESET; }
        if (!given(c, kD)) { m->n_embd = PRESETS[c->size].n_embd; c->src[kD] = SRC_PRESET; }
        if (!given(c, kH)) { m->n_head = PRESETS[c->size].n_head[m->attention]; c->src[kH] = SRC_PRESET; }
    }
    int req[3] = {kL, kD, kH};
    for (int i = 0; i < 3; i++)
        if (!given(c, req[i]) && c->src[req[i]] != SRC_PRESET) {
            char loc[1024];
            blame_location(c, req[i], loc, sizeof loc);
            snprintf(c->err, c->err_len,
                     "%s: %s is missing: required when model.size is not given (allowed: %s, or set model.size)",
                     loc, KEY_DOCS[req[i]].key, KEY_DOCS[req[i]].allowed);
            return -1;
        }
    int k = key_index("model.mlp_hidden");
    if (!given(c, k)) { m->mlp_hidden = (int)((8LL * m->n_embd) / 3); c->src[k] = SRC_DERIVED; }
    k = key_index("train.seq_len");
    if (!given(c, k)) { d->train.seq_len = m->block_size; c->src[k] = SRC_DERIVED; }
    k = key_index("optim.decay_steps");
    if (!given(c, k)) { d->optim.decay_steps = d->train.max_steps; c->src[k] = SRC_DERIVED; }
    k = key_index("optim.min_lr");
    if (!given(c, k)) { d->optim.min_lr = d->optim.lr / 10.0; c->src[k] = SRC_DERIVED; }
    k = key_index("backend.precision");
    if (!given(c, k)) {
        d->backend.precision = d->backend.device == T6_BACKEND_CUDA ? T6_PREC_BF16 : T6_PREC_FP32;
        c->src[k] = SRC_DERIVED;
    }
    k = key_index("output.run_dir");
    if (!given(c, k)) {
        const char *base = strrchr(c->path, '/');
        base = base ? base + 1 : c->path;
        size_t len = strlen(base);
        if (len > 4 && strcmp(base + len - 4, ".cfg") == 0) len -= 4;
        char dir[1024];
        snprintf(dir, sizeof dir, "runs/%.*s", (int)len, base);
        d->output.run_dir = t6_strdup(dir);
        c->src[k] = SRC_DERIVED;
    }
    k = key_index("train.global_batch");
    if (given(c, k)) d->global_batch_line = c->src[k] == SRC_FILE ? c->line[k] : -1;
    /* K/V heads */
    int kG = key_index("model.n_kv_head");
    switch (m->attention) {
    case T6_ATTN_TPA:
    case T6_ATTN_TPA_KVONLY:
    case T6_ATTN_MLA: m->n_kv_head = m->n_head; break;
    case T6_ATTN_MHA:
        if (given(c, kG) && m->n_kv_head != m->n_head)
            return fail(c, kG, NULL, "model.n_head (or leave it out)",
                        "attention \"mha\" has one K/V head per query head, model.n_head = %d", m->n_head);
        m->n_kv_head = m->n_head;
        break;
    case T6_ATTN_MQA:
        if (given(c, kG) && m->n_kv_head != 1)
            return fail(c, kG, NULL, "1 (or leave it out)", "attention \"mqa\" has a single K/V head");
        m->n_kv_head = 1;
        break;
    case T6_ATTN_GQA:
        if (!given(c, kG)) {
            char loc[1024];
            blame_location(c, kG, loc, sizeof loc);
            snprintf(c->err, c->err_len,
                     "%s: model.n_kv_head is missing: required for attention \"gqa\" (allowed: a divisor of model.n_head = %d)",
                     loc, m->n_head);
            return -1;
        }
        break;
    }
    if (!given(c, kG)) c->src[kG] = SRC_DERIVED;
    k = key_index("generate.eot_token");
    if (!given(c, k)) {
        d->generate.eot_token = d->generate.tokenizer == T6_TOK_GPT2 ? 50256 : -1;
        c->src[k] = SRC_DERIVED;
    }
    return 0;
}

/* Cross-key constraints. */
static int validate(load_ctx *c)
{
    t6_deck *d = c->deck;
    t6_model_config *m = &d->model;
    char allowed[256];
    int k;
    if (m->head_dim % 2) {
        k = key_index("model.head_dim");
        return fail(c, k, NULL, NULL, "odd: RoPE rotates pairs of features");
    }
    if (m->attention == T6_ATTN_MHA && (long)m->n_head * m->head_dim != m->n_embd) {
        k = blame(c, 3, "model.n_head", "model.head_dim", "model.n_embd");
        snprintf(allowed, sizeof allowed, "model.n_head * model.head_dim = model.n_embd for attention \"mha\"");
        return fail(c, k, NULL, allowed, "model.n_head * model.head_dim = %d * %d = %ld differs from model.n_embd = %d",
                    m->n_head, m->head_dim, (long)m->n_head * m->head_dim, m->n_embd);
    }
    if (m->attention == T6_ATTN_MLA && m->qk_rope_head_dim % 2) {
        k = key_index("model.qk_rope_head_dim");
        return fail(c, k, NULL, NULL, "odd: RoPE rotates pairs of features");
    }
    if (m->attention == T6_ATTN_MLA && m->v_head_dim > m->head_dim + m->qk_rope_head_dim) {
        /* the attention ops take one head size: values are zero-padded to the query/key
         * head size (doc/model.md), which needs v_head_dim <= head_dim + qk_rope_head_dim */
        k = blame(c, 3, "model.v_head_dim", "model.head_dim", "model.qk_rope_head_dim");
        snprintf(allowed, sizeof allowed, "model.v_head_dim <= model.head_dim + model.qk_rope_head_dim = %d",
                 m->head_dim + m->qk_rope_head_dim);
        return fail(c, k, NULL, allowed, "model.v_head_dim = %d is larger than the query/key head size %d",
                    m->v_head_dim, m->head_dim + m->qk_rope_head_dim);
    }
    if (m->attention == T6_ATTN_GQA && m->n_head % m->n_kv_head) {
        k = blame(c, 2, "model.n_kv_head", "model.n_head");
        snprintf(allowed, sizeof allowed, "model.n_kv_head dividing model.n_head");
        if (k == key_index("model.n_kv_head"))
            return fail(c, k, NULL, allowed, "does not divide model.n_head = %d", m->n_head);
        return fail(c, k, NULL, allowed, "not a multiple of model.n_kv_head = %d", m->n_kv_head);
    }
    if (d->train.loss_spike_factor > 0 && d->train.loss_spike_factor <= 1) {
        k = key_index("train.loss_spike_factor");
        return fail(c, k, NULL, NULL, "a factor <= 1 would flag every ordinary step");
    }
    if (d->train.seq_len > m->block_size) {
        k = blame(c, 2, "train.seq_len", "model.block_size");
        snprintf(allowed, sizeof allowed, "train.seq_len <= model.block_size");
        if (k == key_index("train.seq_len"))
            return fail(c, k, NULL, allowed, "larger than model.block_size = %d", m->block_size);
        return fail(c, k, NULL, allowed, "smaller than train.seq_len = %d", d->train.seq_len);
    }
    int kA = key_index("train.grad_accum"), kB = key_index("train.global_batch");
    if (given(c, kA) && given(c, kB)) {
        k = blame(c, 2, "train.grad_accum", "train.global_batch");
        return fail(c, k, NULL, "either train.grad_accum or train.global_batch",
                    "given together with %s", k == kA ? "train.global_batch" : "train.grad_accum");
    }
    if (given(c, kB) && d->train.global_batch % d->train.micro_batch) {
        k = blame(c, 2, "train.global_batch", "train.micro_batch");
        snprintf(allowed, sizeof allowed, "train.global_batch a multiple of train.micro_batch = %d",
                 d->train.micro_batch);
        if (k == kB)
            return fail(c, k, NULL, allowed, "not divisible by train.micro_batch = %d", d->train.micro_batch);
        return fail(c, k, NULL, allowed, "does not divide train.global_batch = %d", d->train.global_batch);
    }
    if (given(c, kB)) d->train.grad_accum = 0; /* derived by t6_deck_resolve_world */
    if (d->optim.min_lr > d->optim.lr) {
        k = blame(c, 2, "optim.min_lr", "optim.lr");
        fmt_float(allowed, sizeof allowed, d->optim.lr);
        char a2[300];
        snprintf(a2, sizeof a2, "0..optim.lr = %s", allowed);
        if (k == key_index("optim.min_lr")) return fail(c, k, NULL, a2, "larger than optim.lr");
        fmt_float(allowed, sizeof allowed, d->optim.min_lr);
        return fail(c, k, NULL, "optim.lr >= optim.min_lr", "smaller than optim.min_lr = %s", allowed);
    }
    if (d->optim.warmup_steps > d->optim.decay_steps) {
        k = blame(c, 2, "optim.warmup_steps", "optim.decay_steps");
        snprintf(allowed, sizeof allowed, "optim.warmup_steps <= optim.decay_steps");
        if (k == key_index("optim.warmup_steps"))
            return fail(c, k, NULL, allowed, "larger than optim.decay_steps = %ld", d->optim.decay_steps);
        return fail(c, k, NULL, allowed, "smaller than optim.warmup_steps = %ld", d->optim.warmup_steps);
    }
    if (d->backend.precision == T6_PREC_BF16 && d->backend.device != T6_BACKEND_CUDA) {
        k = blame(c, 2, "backend.precision", "backend.device");
        return fail(c, k, NULL, "fp32 on backend.device = \"cpu\"", "bf16 needs backend.device = \"cuda\"");
    }
    if (d->job == T6_JOB_TRAIN && d->data.n_train == 0) {
        k = key_index("data.train");
        return fail(c, k, NULL, "at least one corpus file, glob or builtin:demo-train",
                    "empty: job \"train\" needs training data");
    }
    if (d->job == T6_JOB_EVAL && d->data.n_val == 0 && d->eval.n_tasks == 0) {
        k = key_index("data.val");
        return fail(c, k, NULL, "at least one corpus file, glob or builtin:demo-val, or eval.tasks",
                    "empty: job \"eval\" needs validation data or eval.tasks");
    }
    for (int i = 0; i < d->eval.n_tasks; i++) {
        int ok = 0;
        for (int j = 0; EVAL_TASKS[j]; j++) ok |= strcmp(EVAL_TASKS[j], d->eval.tasks[i]) == 0;
        if (!ok) {
            k = key_index("eval.tasks");
            return fail(c, k, NULL, KEY_DOCS[k].allowed, "unknown task \"%s\"", d->eval.tasks[i]);
        }
        /* a task listed twice is a slip in the list (scored once it would still be
         * counted twice in the report): named, not silently merged */
        for (int j = 0; j < i; j++)
            if (strcmp(d->eval.tasks[j], d->eval.tasks[i]) == 0) {
                k = key_index("eval.tasks");
                return fail(c, k, NULL, "each task at most once", "task \"%s\" listed twice", d->eval.tasks[i]);
            }
    }
    if (d->job == T6_JOB_EVAL && d->eval.n_tasks > 0 && (!d->data.eval_dir || !d->data.vocab_dir)) {
        k = key_index(!d->data.eval_dir ? "data.eval_dir" : "data.vocab_dir");
        return fail(c, k, "(not set)", KEY_DOCS[k].allowed, "missing: eval.tasks needs it");
    }
    if (d->job == T6_JOB_TRAIN && d->train.eval_interval > 0 && d->data.n_val == 0) {
        k = blame(c, 2, "train.eval_interval", "data.val");
        return fail(c, k, NULL, "0 (never) when data.val is empty", "evaluation needs data.val, which is empty");
    }
    if (d->job == T6_JOB_GENERATE && d->generate.n_prompts == 0 && !d->generate.prompt_file) {
        k = blame(c, 2, "generate.prompts", "generate.prompt_file");
        return fail(c, k, NULL, "at least one prompt in generate.prompts or a generate.prompt_file",
                    "job \"generate\" has no prompts");
    }
    k = key_index("generate.source");
    if (strcmp(d->generate.source, "checkpoint") != 0 && strcmp(d->generate.source, "init") != 0) {
        /* hf:DIR loads through t6_hf_load (src/hf.h) in generate.c */
        if (strncmp(d->generate.source, "hf:", 3) != 0 || !d->generate.source[3])
            return fail(c, k, NULL, NULL, "invalid value");
    }
    if (d->job == T6_JOB_GENERATE && d->generate.eot_token >= m->vocab_size) {
        k = key_index("generate.eot_token");   /* also when derived: the tokenizer's EOT is the problem */
        snprintf(allowed, sizeof allowed, "-1..model.vocab_size - 1 = %d", m->vocab_size - 1);
        return fail(c, k, NULL, allowed, "not a token of the model's vocabulary of %d", m->vocab_size);
    }
    return 0;
}

/* libconfig says only "cannot open include file": find the @include on that line and
 * name the file it looked for (relative names resolve against the deck's folder). */
static void include_error(const load_ctx *c, const char *file, int line, char *err, size_t err_len)
{
    char buf[4096], name[1024] = "", full[2200];
    FILE *f = fopen(file, "r");
    for (int n = 1; f && fgets(buf, sizeof buf, f); n++) {
        if (n != line) continue;
        const char *q = strstr(buf, "@include");
        q = q ? strchr(q, '"') : NULL;
        const char *e = q ? strchr(q + 1, '"') : NULL;
        if (e) snprintf(name, sizeof name, "%.*s", (int)(e - q - 1), q + 1);
        break;
    }
    if (f) fclose(f);
    if (!name[0]) {
        snprintf(err, err_len, "%s:%d: cannot open an @include'd file (allowed: a readable file, relative to the deck's folder)",
                 file, line);
        return;
    }
    if (name[0] == '/' || !c->dir[0]) snprintf(full, sizeof full, "%s", name);
    else snprintf(full, sizeof full, "%s/%s", c->dir, name);
    struct stat st;
    /* a readable file libconfig would not open: it stops at 10 nested includes, which
     * only a file including itself (directly or through others) reaches in a deck */
    const char *why = stat(full, &st) != 0 ? strerror(errno) : S_ISDIR(st.st_mode) ? "is a directory"
                      : access(full, R_OK) != 0 ? strerror(errno)
                      : "@include nested too deeply (libconfig stops at 10 levels): does it include itself?";
    snprintf(err, err_len, "%s:%d: @include \"%s\": '%s': %s (allowed: a readable file; a relative name is relative "
             "to the deck's folder)", file, line, name, full, why);
}

int t6_deck_load(t6_deck *deck, const char *path, const char *const *overrides, int n_overrides,
                 char *err, size_t err_len)
{
    memset(deck, 0, sizeof *deck);
    deck->path = t6_strdup(path);
    load_ctx c;
    memset(&c, 0, sizeof c);
    c.path = deck->path;
    c.deck = deck;
    c.size = -1;
    c.err = err;
    c.err_len = err_len;
    if (err_len) err[0] = '\0';

    for (int k = 0; k < N_KEYS; k++)
        if (set_default(&c, k)) goto fail; /* table defaults are checked like any value */

    config_t cfg;
    config_init(&cfg);
    char *dir = t6_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) { *slash = '\0'; config_set_include_dir(&cfg, dir); }
    c.dir = slash ? dir : "";
    struct stat st;
    int st_ok = stat(path, &st) == 0, st_errno = errno;
    if (st_ok && S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "%s: is a directory, not a deck (allowed: a libconfig file such as input/demo.cfg)", path);
        config_destroy(&cfg);
        free(dir);
        goto fail;
    }
    errno = 0;
    if (!config_read_file(&cfg, path)) {
        if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
            snprintf(err, err_len, "%s: cannot read the deck: %s (allowed: a readable libconfig file)", path,
                     strerror(!st_ok ? st_errno : errno ? errno : EIO));
        else {
            char fbuf[1024];
            const char *file = source_name(&c, config_error_file(&cfg), fbuf, sizeof fbuf);
            if (config_error_text(&cfg) && strstr(config_error_text(&cfg), "include"))
                include_error(&c, file, config_error_line(&cfg), err, err_len);
            else
                snprintf(err, err_len, "%s:%d: %s (libconfig syntax; see doc/deck.md)", file, config_error_line(&cfg),
                         config_error_text(&cfg));
        }
        config_destroy(&cfg);
        free(dir);
        goto fail;
    }
    int rc = read_file(&c, &cfg);
    config_destroy(&cfg);
    free(dir);
    c.dir = "";
    c.applied = overrides;
    if (rc == 0)
        for (int i = 0; i < n_overrides && rc == 0; i++) {
            rc = apply_override(&c, overrides[i]);
            c.n_applied = i + 1;
        }
    if (rc == 0) rc = derive(&c);
    if (rc == 0) rc = validate(&c);
    if (rc == 0) return 0;
fail:
    t6_deck_free(deck);
    return -1;
}

void t6_deck_free(t6_deck *d)
{
    if (!d) return;
    free(d->path);
    free_list(d->data.train, d->data.n_train);
    free_list(d->data.val, d->data.n_val);
    free_list(d->eval.tasks, d->eval.n_tasks);
    free(d->data.eval_dir);
    free(d->data.vocab_dir);
    free(d->eval.results);
    free(d->eval.json);
    free(d->output.run_dir);
    free(d->output.metrics);
    free(d->output.resume);
    free(d->init_from);
    free_list(d->generate.prompts, d->generate.n_prompts);
    free(d->generate.prompt_file);
    free(d->generate.source);
    free(d->generate.vocab_dir);
    free_list(d->generate.stop, d->generate.n_stop);
    memset(d, 0, sizeof *d);
}

int t6_deck_resolve_world(t6_deck *d, int world_size, char *err, size_t err_len)
{
    if (world_size < 1) {
        snprintf(err, err_len, "%s: number of ranks %d: out of range (allowed: >= 1)", d->path, world_size);
        return -1;
    }
    if (d->train.global_batch <= 0) {
        if (d->train.grad_accum < 1) d->train.grad_accum = 1;
        return 0;
    }
    long per_step = (long)d->train.micro_batch * world_size;
    if (d->train.global_batch % per_step) {
        char loc[512];
        if (d->global_batch_line > 0) snprintf(loc, sizeof loc, "%s:%d", d->path, d->global_batch_line);
        else if (d->global_batch_line < 0) snprintf(loc, sizeof loc, "%s (--set)", d->path);
        else snprintf(loc, sizeof loc, "%s", d->path);
        snprintf(err, err_len,
                 "%s: train.global_batch = %d: not divisible by train.micro_batch * ranks = %d * %d = %ld "
                 "(allowed: a multiple of %ld, or a rank count dividing %d)",
                 loc, d->train.global_batch, d->train.micro_batch, world_size, per_step, per_step,
                 d->train.global_batch / d->train.micro_batch);
        return -1;
    }
    d->train.grad_accum = (int)(d->train.global_batch / per_step);
    return 0;
}

/* ---- canonical text ------------------------------------------------------------ */

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < *cap - *len) { *len += (size_t)n; return; }
        *cap = *cap * 2 + (size_t)(n > 0 ? n : 0);
        *buf = t6_realloc(*buf, *cap);
    }
}

static void append_quoted(char **buf, size_t *len, size_t *cap, const char *s)
{
    append(buf, len, cap, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') append(buf, len, cap, "\\%c", *s);
        else if (*s == '\n') append(buf, len, cap, "\\n");
        else append(buf, len, cap, "%c", *s);
    }
    append(buf, len, cap, "\"");
}

char *t6_deck_to_string(const t6_deck *d)
{
    size_t cap = 4096, len = 0;
    char *buf = t6_malloc(cap);
    buf[0] = '\0';
    append(&buf, &len, &cap, "# t6 deck, resolved (canonical form of %s)\n", d->path ? d->path : "?");
    const char *open = NULL;
    for (int k = 0; k < N_KEYS; k++) {
        const key_rule *r = &KEY_RULES[k];
        const char *key = KEY_DOCS[k].key;
        if (r->kind == K_SIZE) continue; /* the preset is resolved into n_layer/n_embd/n_head */
        if (r->kind == K_STR && !*(char *const *)((const char *)d + r->off)) continue; /* unset (none) */
        if (strcmp(key, "train.grad_accum") == 0 && d->train.global_batch > 0) continue;
        if (strcmp(key, "train.global_batch") == 0 && d->train.global_batch <= 0) continue;
        if (r->kind == K_STR && !*(char *const *)((const char *)d + r->off)) continue; /* optional, not given */
        const char *dot = strchr(key, '.');
        size_t seclen = dot ? (size_t)(dot - key) : 0;
        if (open && (!dot || strncmp(open, key, seclen) || open[seclen] != '.')) {
            append(&buf, &len, &cap, "};\n");
            open = NULL;
        }
        if (dot && !open) {
            append(&buf, &len, &cap, "%.*s = {\n", (int)seclen, key);
            open = key;
        }
        const char *name = dot ? dot + 1 : key;
        append(&buf, &len, &cap, "%s%s = ", dot ? "  " : "", name);
        const void *p = (const char *)d + r->off;
        char num[64];
        switch (r->kind) {
        case K_INT: append(&buf, &len, &cap, "%d", *(const int *)p); break;
        case K_LONG: {
            long v = *(const long *)p;
            append(&buf, &len, &cap, "%ld%s", v, (v > INT_MAX || v < INT_MIN) ? "L" : "");
            break;
        }
        case K_U64: {
            unsigned long long v = *(const uint64_t *)p;
            append(&buf, &len, &cap, "%llu%s", v, v > INT_MAX ? "L" : "");
            break;
        }
        case K_FLOAT: fmt_float(num, sizeof num, *(const double *)p); append(&buf, &len, &cap, "%s", num); break;
        case K_STR: append_quoted(&buf, &len, &cap, *(char *const *)p ? *(char *const *)p : ""); break;
        case K_ENUM: append_quoted(&buf, &len, &cap, r->names[*(const int *)p]); break;
        case K_SIZE: break;
        case K_BOOL: append(&buf, &len, &cap, "%s", *(const int *)p ? "true" : "false"); break;
        case K_LIST: {
            char **l = *(char **const *)p;
            int n = *(const int *)((const char *)p + sizeof(char **));
            append(&buf, &len, &cap, "[");
            for (int i = 0; i < n; i++) {
                append(&buf, &len, &cap, i ? ", " : " ");
                append_quoted(&buf, &len, &cap, l[i]);
            }
            append(&buf, &len, &cap, n ? " ]" : "]");
            break;
        }
        }
        append(&buf, &len, &cap, ";\n");
    }
    if (open) append(&buf, &len, &cap, "};\n");
    return buf;
}
