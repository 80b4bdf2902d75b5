/* evrun.h -- `job = "eval"` with an eval.tasks list: builds every task's requests,
 * scores them through the model in batches split over the MPI ranks, and reports
 * (evreport.c). train.c calls t6_eval_tasks after loading the checkpoint. */
#ifndef T6_EVAL_EVRUN_H
#define T6_EVAL_EVRUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "deck.h"
#include "dist.h"
#include "eval/evtask.h"
#include "model.h"

/* One request as the model saw it. */
typedef struct {
    int task;          /* t6_task_id */
    long doc;          /* document index within the task (MMLU: subjects concatenated) */
    int choice;
    int32_t *tok;      /* (ctx + cont)[-(max_len + 1):]: the input is tok[0..n_tok-1) */
    int n_tok;
    int n_cont;        /* continuation tokens at the end of tok */
    int n_ctx_full;    /* context tokens before truncation (for the report) */
    double ll;         /* summed log-likelihood of the continuation */
    int greedy;        /* every continuation token was the argmax */
} t6_ev_request;

/* A task's documents, requests and metrics. */
typedef struct {
    int id;
    int used;
    t6_ev_docs docs;
    size_t req0, n_req;     /* its requests in the global array */
    size_t *doc_req0;       /* first request of each document */
    double *norm_len;       /* per request: len(choice) in Python characters */
    t6_ev_metrics m;
    t6_ev_metrics sub[T6_MMLU_SUBJECTS + T6_MMLU_CATEGORIES];   /* MMLU subjects, then categories */
    long sub_n[T6_MMLU_SUBJECTS + T6_MMLU_CATEGORIES];
} t6_ev_task;

typedef struct {
    t6_ev_task tasks[T6_TASK_COUNT];
    t6_ev_request *req;
    size_t n_req;
    int num_fewshot;
    long limit;
    int max_len;
    long step;
    const char *ckpt;
    int world;
    double seconds;
    long n_rows, n_batches;
    int limit_cut;          /* eval.limit left out documents of at least one task */
    char vocab_hash[80];
} t6_ev_results;

/* The job's exit status: 0, or 1 when a stop signal ended the scoring early (nothing
 * printed or written as a result; a scheduler must not take it for a finished job). */
int t6_eval_tasks(const t6_deck *deck, t6_dist *dist, t6_model *model, const char *ckpt_path, long step);

/* Fatal (all ranks, before any scoring) when eval.results (or its default beside
 * ckpt_path) or eval.json cannot be written; creates nothing that stays. */
void t6_eval_check_outputs(const t6_deck *deck, t6_dist *dist, const char *ckpt_path);

/* Scores R->req[0..n_req) (R->max_len set): rows, batches of at most cap_tokens tokens,
 * forward, log-softmax over V; results summed over the ranks. *stopped = 1 when a stop
 * signal ended it early (results then incomplete). Exposed for the tests. */
void t6_ev_score_requests(t6_ev_results *R, t6_dist *dist, t6_model *model, int cap_tokens, int V, int *stopped);

/* Metrics from the requests' log-likelihoods (evrun.c), exposed for the tests. */
void t6_ev_score_task(t6_ev_results *R, t6_ev_task *t);

/* evreport.c */
/* The results file's path: eval.results, else "<checkpoint without .h5>.eval-<k>shot.h5"
 * (model.init_from = "hf:DIR": "DIR.eval-<k>shot.h5"). */
void t6_ev_results_path(const char *results, const char *ckpt_path, int num_fewshot, char *out, size_t len);
/* Before the scoring: can the output `path` of deck key `key` be written (not a
 * directory; "<path>.tmp" can be created beside it)? 0, or -1 with a message naming
 * the key, the path and the reason in err. Creates nothing that stays. */
int t6_ev_check_output(const char *key, const char *path, char *err, size_t err_len);
void t6_ev_print_table(const t6_ev_results *R, FILE *f);
int t6_ev_write_json(const t6_ev_results *R, const char *path, char *err, size_t err_len);
int t6_ev_write_h5(const t6_ev_results *R, const char *path, char *err, size_t err_len);

#endif
