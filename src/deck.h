/* deck.h -- the run configuration ("deck"): what a libconfig file describes, after
 * parsing, defaulting and validation. Every key is documented in doc/deck.md; the
 * table of keys in deck.c is the single source both the parser and the doc test use. */
#ifndef T6_DECK_H
#define T6_DECK_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    T6_ATTN_TPA = 0,     /* Tensor Product Attention: Q, K, V all factorized */
    T6_ATTN_TPA_KVONLY,  /* TPA for K and V; Q a standard projection */
    T6_ATTN_MHA,         /* multi-head attention (LLaMA baseline) */
    T6_ATTN_MQA,         /* one K/V head shared by all query heads */
    T6_ATTN_GQA,         /* n_kv_head K/V heads, each shared by n_head/n_kv_head query heads */
    T6_ATTN_MLA,         /* multi-head latent attention (DeepSeek-V2 baseline, doc/model.md) */
} t6_attn_type;

typedef struct {
    t6_attn_type attention;
    int n_layer;
    int n_embd;        /* d */
    int n_head;        /* h (query heads) */
    int head_dim;      /* dh */
    int q_rank;        /* RQ (TPA only) */
    int k_rank;        /* RK (TPA, TPA-KVonly) */
    int v_rank;        /* RV (TPA, TPA-KVonly) */
    int n_kv_head;     /* K/V heads: h for MHA/TPA/MLA, 1 for MQA, G for GQA */
    int q_lora_rank;       /* MLA: query latent d'_c */
    int kv_lora_rank;      /* MLA: key/value latent d_c */
    int qk_rope_head_dim;  /* MLA: rotary part d_R of each query/key head (head_dim is the non-rotary part) */
    int v_head_dim;        /* MLA: value head size */
    int vocab_size;    /* padded vocabulary (50304 for GPT-2) */
    int block_size;    /* maximum sequence length */
    int mlp_hidden;    /* derived: floor(8*d/3) */
    double rope_base;  /* 10000 */
} t6_model_config;

typedef enum { T6_SAMPLE_RANDOM = 0, T6_SAMPLE_EPOCH } t6_sampling;
typedef enum { T6_VERIFY_FULL = 0, T6_VERIFY_QUICK } t6_verify;

typedef struct {
    char **train;      /* file names or globs of training corpus shards */
    int n_train;
    char **val;        /* file names or globs of validation shards (may be empty) */
    int n_val;
    t6_sampling sampling;
    t6_verify verify;  /* full: scan every shard when opened; quick: metadata only */
    char *eval_dir;    /* task files of eval.tasks (NULL: not given) */
    char *vocab_dir;   /* encoder.json + vocab.bpe (NULL: not given) */
} t6_data_config;

typedef enum { T6_ACCUM_MEAN = 0, T6_ACCUM_SUM_REFERENCE } t6_accum_mode;
/* Activation recomputation (doc/training.md, "Memory"): what the forward keeps for the
 * backward. none: everything; attention: each block's attention inputs (the outputs of
 * the Q/K/V projections), the attention forward rerun in the backward; block: each
 * block's input (the residual stream), the whole block's forward rerun in the backward. */
typedef enum { T6_RECOMPUTE_NONE = 0, T6_RECOMPUTE_ATTENTION, T6_RECOMPUTE_BLOCK } t6_recompute;

typedef struct {
    int micro_batch;   /* sequences per rank per micro-step */
    int seq_len;       /* tokens per sequence (<= block_size) */
    int grad_accum;    /* micro-steps per optimizer step per rank; 0 = derive from global_batch */
    int global_batch;  /* sequences per optimizer step over all ranks; 0 = not given */
    long max_steps;
    int eval_interval; /* 0 = never */
    int eval_iters;
    int log_interval;
    uint64_t seed;
    t6_accum_mode accum_mode;
    int zero;                  /* 1: ZeRO-1 sharded AdamW state over the ranks */
    double bucket_mb;          /* gradient reduction bucket (MB of fp32); 0 = one pass after the backward */
    /* divergence guard (doc/training.md): 0 turns a criterion off */
    double loss_spike_factor;  /* loss > factor x running mean of recent losses */
    double grad_norm_limit;    /* gradient norm before clipping > limit */
    int on_divergence;         /* t6_on_divergence */
    int max_skipped_steps;     /* skips in a row after which the run stops anyway */
    t6_recompute recompute;    /* activation recomputation in the backward */
} t6_train_config;

typedef enum { T6_DIVERGE_STOP = 0, T6_DIVERGE_SKIP } t6_on_divergence;

typedef enum { T6_SCHED_COSINE = 0, T6_SCHED_WSD, T6_SCHED_CONSTANT } t6_schedule;

typedef struct {
    double lr;             /* peak learning rate */
    double min_lr;
    long warmup_steps;
    long decay_steps;      /* step at which the schedule reaches min_lr (reference: lr_decay_iters) */
    t6_schedule schedule;
    double wsd_decay_frac; /* WSD: fraction of decay_steps spent decaying at the end */
    double beta1, beta2, eps;
    double weight_decay;
    double grad_clip;      /* 0 = no clipping */
} t6_optim_config;

typedef struct {
    char *run_dir;
    int checkpoint_interval; /* steps; 0 = only at the end and on signals */
    int keep_last;           /* rolling checkpoints kept */
    int milestone_interval;  /* steps; checkpoints at multiples are never deleted; 0 = none */
    char *metrics;           /* metrics file name, relative to run_dir */
    char *resume;            /* "auto", "never" or a checkpoint path */
    int resume_force;        /* bool: resume even when the deck changed the model or data stream */
} t6_output_config;

typedef enum { T6_BACKEND_CPU = 0, T6_BACKEND_CUDA } t6_backend_kind;
typedef enum { T6_PREC_FP32 = 0, T6_PREC_BF16 } t6_precision;

typedef struct {
    t6_backend_kind device;
    t6_precision precision;
    int threads;             /* CPU threads per rank; 0 = OpenMP default */
} t6_backend_config;

/* job = "eval": lm-evaluation-harness tasks (doc/eval.md) */
typedef struct {
    char **tasks;            /* task names; empty = validation loss only */
    int n_tasks;
    int num_fewshot;
    long limit;              /* first N documents per task (MMLU: per subject); 0 = all */
    char *results;           /* HDF5 results file; NULL = beside the checkpoint */
    char *json;              /* JSON results file, "-" = stdout; NULL = none */
} t6_eval_config;

typedef enum { T6_TOK_GPT2 = 0, T6_TOK_IDS } t6_tokenizer_kind;
typedef enum { T6_SPLIT_LINE = 0, T6_SPLIT_PARAGRAPH, T6_SPLIT_WHOLE } t6_prompt_split;

/* job = "generate" (doc/generate.md) */
typedef struct {
    char **prompts;          /* prompt texts (gpt2) or token ids "1 2 3" (ids) */
    int n_prompts;
    char *prompt_file;       /* more prompts from a file, "-" = stdin; NULL = none */
    t6_prompt_split prompt_split;
    char *source;            /* "checkpoint" (output.resume / run_dir); "hf:DIR" reserved */
    t6_tokenizer_kind tokenizer;
    char *vocab_dir;         /* encoder.json + vocab.bpe (gpt2) */
    int max_new_tokens;
    double temperature;      /* 0 = greedy */
    int top_k;               /* 0 = off */
    double top_p;            /* 1 = off */
    uint64_t sample_seed;
    char **stop;             /* stop strings */
    int n_stop;
    int eot_token;           /* -1: none */
    int batch_size;          /* prompts decoded together */
    int prefill_tokens;      /* tokens per prefill forward (rows grouped to fit) */
    int cuda_graphs;         /* record the decode step as a CUDA graph and replay it */
} t6_generate_config;

typedef enum { T6_JOB_TRAIN = 0, T6_JOB_EVAL, T6_JOB_GENERATE } t6_job;

typedef struct {
    char *path;              /* deck file as given */
    t6_job job;
    t6_model_config model;
    t6_data_config data;
    t6_train_config train;
    t6_optim_config optim;
    t6_output_config output;
    t6_backend_config backend;
    char *init_from;         /* model.init_from: "none", "hf:DIR" or a checkpoint (src/hf.h) */
    t6_eval_config eval;
    t6_generate_config generate;
    int global_batch_line;   /* deck line of train.global_batch (0: default, -1: --set), for
                              * the messages of t6_deck_resolve_world */
} t6_deck;

/* Parses and validates a deck. `overrides` are "section.key=value" strings applied
 * after the file is read (the value's type follows the key's declared type). On any
 * error writes a message naming the file, line, key, value and what is allowed to
 * `err` and returns -1; returns 0 on success. */
int t6_deck_load(t6_deck *deck, const char *path, const char *const *overrides, int n_overrides,
                 char *err, size_t err_len);
void t6_deck_free(t6_deck *deck);

/* Validates the derived, cross-key constraints that need the world size (batch
 * divisibility); returns -1 with a message in err when violated. Sets grad_accum. */
int t6_deck_resolve_world(t6_deck *deck, int world_size, char *err, size_t err_len);

/* Writes the deck back as libconfig text (used to embed it in checkpoints). */
char *t6_deck_to_string(const t6_deck *deck);

const char *t6_attn_name(t6_attn_type a);
const char *t6_recompute_name(t6_recompute r);   /* "none", "attention", "block" */

/* Documentation table: one entry per accepted key, used by --help-deck and the
 * doc test that keeps doc/deck.md in agreement with the parser. */
typedef struct {
    const char *key;       /* "section.name" */
    const char *type;      /* "int", "float", "string", "string list", "bool" */
    const char *def;       /* default as text, or "required" / "derived" */
    const char *allowed;   /* allowed values or range */
    const char *doc;       /* one line */
} t6_deck_key_doc;
const t6_deck_key_doc *t6_deck_keys(int *n);

#endif
