/* evtask.h -- zero/few-shot evaluation tasks as lm-evaluation-harness 0.4.x defines
 * them (doc/eval.md): the documents of a task read from its original files, the
 * (context, continuation) requests built from them, and the per-task metrics.
 *
 * Layers: evdata.c reads files into t6_ev_raw documents (one struct for every task:
 * doc_to_text, doc_to_choice, gold); evprompt.c turns a document plus its few-shot
 * examples into request strings and tokens; evscore.c turns log-likelihoods into
 * acc / acc_norm / perplexity with lm-eval's standard errors; evrun.c batches the
 * requests through the model; evreport.c prints and writes the results. */
#ifndef T6_EVAL_EVTASK_H
#define T6_EVAL_EVTASK_H

#include <stddef.h>
#include <stdint.h>

#include "eval/pyrandom.h"

/* How a task's documents become requests. */
typedef enum {
    T6_EV_MC = 0,     /* one context, one request per choice: " " + choice */
    T6_EV_PARTIAL,    /* winogrande: one context per choice, one shared continuation */
    T6_EV_LOGLIK,     /* lambada: one request, continuation = target (acc = is_greedy) */
} t6_ev_kind;

/* The tasks, in the paper's column order (ARC-E .. SciQ), then lambada. */
typedef enum {
    T6_TASK_ARC_EASY = 0,
    T6_TASK_ARC_CHALLENGE,
    T6_TASK_BOOLQ,
    T6_TASK_HELLASWAG,
    T6_TASK_OPENBOOKQA,
    T6_TASK_PIQA,
    T6_TASK_WINOGRANDE,
    T6_TASK_MMLU,
    T6_TASK_SCIQ,
    T6_TASK_LAMBADA,
    T6_TASK_COUNT
} t6_task_id;
enum { T6_PAPER_TASKS = 9 };

typedef struct {
    const char *name;        /* lm-eval task name */
    const char *column;      /* paper column header */
    t6_ev_kind kind;
    int paper_norm;          /* 1: the paper reports acc_norm, 0: acc */
    const char *split;       /* the split lm-eval scores */
} t6_task_info;

const t6_task_info *t6_task_get(t6_task_id id);
/* -1 when the name is unknown */
int t6_task_lookup(const char *name);

/* One document: what lm-eval's doc_to_text / doc_to_choice / doc_to_target give. */
typedef struct {
    char *text;       /* doc_to_text (MC, LOGLIK); NULL for PARTIAL */
    char **choices;   /* doc_to_choice texts (PARTIAL: the sentence prefixes + option) */
    int n_choices;
    int gold;         /* index of the right choice (LOGLIK: 0) */
    char *target;     /* PARTIAL: continuation text (no delimiter); LOGLIK: the target */
    int subject;      /* MMLU subject index, else -1 */
    long line;        /* line / record of the source file (1-based), for messages */
} t6_ev_raw;

typedef struct {
    t6_ev_raw *docs;
    size_t n, cap;
    char *path;       /* main file (messages) */
} t6_ev_docs;

void t6_ev_docs_free(t6_ev_docs *d);

/* MMLU subjects (lm-eval's 57, alphabetical) and their category (0 stem,
 * 1 humanities, 2 social sciences, 3 other, as lm-eval's mmlu group). */
enum { T6_MMLU_SUBJECTS = 57, T6_MMLU_CATEGORIES = 4 };
const char *t6_mmlu_subject(int i);
int t6_mmlu_category(int i);
const char *t6_mmlu_category_name(int c);

/* Reads the documents lm-eval scores for task `id` from eval_dir (evdata.c): the
 * test/validation split, at most `limit` of them (0 = all; MMLU: per subject, as
 * lm-eval's --limit). fewshot = 1 reads the few-shot split instead (train, MMLU dev);
 * returns 1 (no error) with an empty set and a reason in err when that split does not
 * exist. -1 with a message naming the file and line on any error. */
int t6_ev_read(int id, const char *eval_dir, int fewshot, long limit, t6_ev_docs *out, char *err,
               size_t err_len);

/* Parsers of the individual layouts, exposed for the tests. Each appends to out. */
int t6_ev_parse_csv_mmlu(const char *path, const char *data, size_t n, int subject, long limit, t6_ev_docs *out,
                         char *err, size_t err_len);
int t6_ev_parse_hellaswag_text(const char *path, const char *data, size_t n, long limit, t6_ev_docs *out,
                               char *err, size_t err_len);

/* ---- prompt construction (evprompt.c) ---- */

/* lm-eval's hellaswag preprocess(): strip, " [title]" -> ". ", drop "[...]", "  " -> " " */
char *t6_ev_hellaswag_preprocess(const char *s);
/* Python str.capitalize() on ASCII letters (other characters unchanged) */
char *t6_ev_capitalize(const char *s);
/* Python len(): code points of UTF-8 text */
size_t t6_ev_pylen(const char *s);
/* Length of s after Python str.rstrip() (Unicode whitespace) */
size_t t6_ev_rstrip_len(const char *s, size_t n);

/* One request: strings as lm-eval builds them. */
typedef struct {
    char *ctx;
    char *cont;
} t6_ev_pair;

/* The requests of document `doc` of a task with the few-shot prefix (may be ""):
 * out[0..n) (n = n_choices for MC/PARTIAL, 1 for LOGLIK). Strings are malloc'ed. */
int t6_ev_build_requests(const t6_task_info *t, const t6_ev_raw *doc, const char *prefix, t6_ev_pair *out);
/* The few-shot prefix (description + examples joined by "\n\n" + "\n\n") for a document;
 * examples = the chosen few-shot documents. */
char *t6_ev_fewshot_prefix(const t6_task_info *t, const t6_ev_raw *doc, const t6_ev_raw *const *examples, int n);

/* The few-shot examples of document doc (task id) as lm-eval draws them, into out[0..n):
 * MMLU the first n dev documents of doc's subject; every other task
 * rnd.sample(fewshot_docs, n), where rnd is the task's random.Random(1234), seeded once
 * per task and drawn for each document in document order. fs = the few-shot split
 * (t6_ev_read with fewshot = 1). Returns how many were found (fewer than n when the
 * split is short; -1 when n > 64 or n > fs->n). */
int t6_ev_fewshot_pick(int id, t6_pyrandom *rnd, const t6_ev_docs *fs, const t6_ev_raw *doc, int n,
                       const t6_ev_raw **out);

/* Tokens of a request as HFLM._encode_pair makes them: trailing whitespace of ctx moved
 * into cont, cont_tokens = enc(ctx + cont)[len(enc(ctx)):], an empty context -> [EOT].
 * Returns 0, or -1 with a message when the text is not valid UTF-8. */
struct t6_bpe_state;
int t6_ev_encode_pair(struct t6_bpe_state *s, int eot, const char *ctx, const char *cont, int32_t **ctx_tok,
                      size_t *n_ctx, int32_t **cont_tok, size_t *n_cont, char *err, size_t err_len);

/* Left truncation to the model's window: tok = (ctx + cont)[-(max_len + 1):] (the model's
 * input is tok[0..n_tok-1)), n_cont = continuation tokens scored at its end. */
void t6_ev_window(const int32_t *ctx, size_t nct, const int32_t *cont, size_t nco, int max_len, int32_t **tok,
                  int *n_tok, int *n_cont);

/* ---- scoring (evscore.c) ---- */

/* Index of the largest value (the first one on ties, as numpy.argmax) */
int t6_ev_argmax(const double *v, int n);
/* lm-eval's mean_stderr: sample std (n-1) / sqrt(n); NaN for n < 2 */
double t6_ev_mean_stderr(const double *x, size_t n);
/* lm-eval's pooled_sample_stderr over groups of sizes[i] with stderrs[i] */
double t6_ev_pooled_stderr(const double *stderrs, const double *sizes, int n);

typedef struct {
    double acc, acc_stderr;
    double acc_norm, acc_norm_stderr;   /* NaN where the task has no acc_norm */
    double ppl, ppl_stderr;             /* LOGLIK only, else NaN */
    long n;
} t6_ev_metrics;

/* Per-document acc / acc_norm from the choices' log-likelihoods and lengths */
void t6_ev_doc_scores(const double *ll, const double *len, int n, int gold, double *acc, double *acc_norm);

#endif
