/* evrun.c -- the evaluation driver: reads the tasks, builds lm-eval's requests (few-shot
 * examples drawn as random.Random(1234).sample draws them), tokenizes them, packs them
 * into rows and batches, runs the model's forward through the backend and scores the
 * continuation tokens with a log-softmax over the full (padded) vocabulary.
 *
 * Determinism over world sizes: rows and batches are formed identically on every rank
 * (longest first, as lm-eval orders them); batch i runs on rank i % world, so every
 * row is computed in the same batch shape whatever the number of ranks, and the
 * per-request results are summed over ranks (one owner, zeros elsewhere). */
#include "config.h"

#include "eval/evrun.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "eval/pyrandom.h"
#include "signals.h"
#include "util.h"

/* lm-eval's few-shot seed (evaluator.simple_evaluate fewshot_random_seed) */
#define FEWSHOT_SEED 1234

/* A row of the model's input: one or several requests sharing the same input tokens
 * (single-token continuations after the same context, e.g. MMLU's " A".." D"). */
typedef struct {
    size_t first;   /* first request */
    int n;          /* requests (consecutive) */
    int len;        /* input tokens */
    int nc;         /* positions scored: the most continuation tokens of its requests */
} ev_row;

static int cmp_rows(const void *a, const void *b)
{
    const ev_row *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;   /* longest first */
    return x->first < y->first ? -1 : x->first > y->first;
}

static void grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    *p = t6_realloc(*p, c * elem);
    *cap = c;
}

/* Reads task t and appends its requests to R (strings -> tokens, truncated). */
static void build_task(t6_ev_results *R, t6_ev_task *T, const t6_deck *deck, t6_bpe_state *bs, int eot,
                       size_t *req_cap)
{
    char err[2048];
    const t6_task_info *info = t6_task_get((t6_task_id)T->id);
    if (t6_ev_read(T->id, deck->data.eval_dir, 0, R->limit, &T->docs, err, sizeof err) != 0)
        t6_fatal_hint("fix the file named, or point data.eval_dir at the task folders (doc/eval.md lists them)",
                      "eval task %s: %s", info->name, err);
    t6_ev_docs fs = {0};
    if (R->num_fewshot > 0) {
        if (R->num_fewshot > 64) t6_fatal("eval.num_fewshot = %d: at most 64", R->num_fewshot);
        int rc = t6_ev_read(T->id, deck->data.eval_dir, 1, 0, &fs, err, sizeof err);
        if (rc < 0) t6_fatal("eval task %s (few-shot split): %s", info->name, err);
        if (rc > 0 || fs.n < (size_t)R->num_fewshot)
            t6_fatal_hint("set eval.num_fewshot = 0, drop the task from eval.tasks, or provide its train split",
                          "eval task %s: eval.num_fewshot = %d but %s", info->name, R->num_fewshot,
                          rc > 0 ? err : "the few-shot split has fewer documents");
    }
    t6_pyrandom rnd;
    t6_pyrandom_seed(&rnd, FEWSHOT_SEED);
    T->req0 = R->n_req;
    T->doc_req0 = t6_malloc((T->docs.n + 1) * sizeof(size_t));
    size_t nlen_cap = 0;
    T->norm_len = NULL;
    for (size_t d = 0; d < T->docs.n; d++) {
        const t6_ev_raw *doc = &T->docs.docs[d];
        const t6_ev_raw *ex[64];
        int nex = 0;
        if (R->num_fewshot > 0) {
            nex = t6_ev_fewshot_pick(T->id, &rnd, &fs, doc, R->num_fewshot, ex);
            if (nex < R->num_fewshot)
                t6_fatal("eval task %s: %s has fewer than %d few-shot documents for %s", info->name,
                         fs.path ? fs.path : "the few-shot split", R->num_fewshot,
                         doc->subject >= 0 ? t6_mmlu_subject(doc->subject) : "this task");
        }
        char *prefix = t6_ev_fewshot_prefix(info, doc, ex, nex);
        t6_ev_pair pairs[64];
        if (doc->n_choices > 64) t6_fatal("%s:%ld: more than 64 choices", T->docs.path, doc->line);
        int np = t6_ev_build_requests(info, doc, prefix, pairs);
        free(prefix);
        T->doc_req0[d] = R->n_req - T->req0;
        grow((void **)&R->req, req_cap, R->n_req + (size_t)np, sizeof *R->req);
        grow((void **)&T->norm_len, &nlen_cap, R->n_req - T->req0 + (size_t)np, sizeof(double));
        for (int i = 0; i < np; i++) {
            int32_t *ct, *co;
            size_t nct, nco;
            if (t6_ev_encode_pair(bs, eot, pairs[i].ctx, pairs[i].cont, &ct, &nct, &co, &nco, err, sizeof err))
                t6_fatal("%s:%ld: %s", T->docs.path, doc->line, err);
            if (nco == 0) t6_fatal("%s:%ld: choice %d has an empty continuation", T->docs.path, doc->line, i);
            t6_ev_request *q = &R->req[R->n_req];
            memset(q, 0, sizeof *q);
            q->task = T->id;
            q->doc = (long)d;
            q->choice = i;
            q->n_ctx_full = (int)nct;
            t6_ev_window(ct, nct, co, nco, R->max_len, &q->tok, &q->n_tok, &q->n_cont);
            /* acc_norm divides by len(choice): Python characters of the choice text */
            T->norm_len[R->n_req - T->req0] = (double)t6_ev_pylen(doc->choices[i]);
            R->n_req++;
            free(ct);
            free(co);
            free(pairs[i].ctx);
            free(pairs[i].cont);
        }
    }
    T->doc_req0[T->docs.n] = R->n_req - T->req0;
    T->n_req = R->n_req - T->req0;
    t6_ev_docs_free(&fs);
}

/* Rows: the requests of one document share a row when their inputs are the same
 * tokens and each scores a single token (lm-eval's one-token-continuation grouping). */
static ev_row *make_rows(const t6_ev_results *R, size_t *n_rows)
{
    ev_row *rows = t6_malloc((R->n_req ? R->n_req : 1) * sizeof *rows);
    size_t n = 0;
    for (size_t i = 0; i < R->n_req;) {
        const t6_ev_request *a = &R->req[i];
        size_t j = i + 1;
        if (a->n_cont == 1)
            while (j < R->n_req) {
                const t6_ev_request *b = &R->req[j];
                if (b->task != a->task || b->doc != a->doc || b->n_cont != 1 || b->n_tok != a->n_tok ||
                    memcmp(a->tok, b->tok, (size_t)(a->n_tok - 1) * sizeof(int32_t)) != 0)
                    break;
                j++;
            }
        rows[n].first = i;
        rows[n].n = (int)(j - i);
        rows[n].len = a->n_tok - 1;
        n++;
        i = j;
    }
    qsort(rows, n, sizeof *rows, cmp_rows);
    *n_rows = n;
    return rows;
}

/* Log-softmax of one logits row over all V entries, in double. */
/* The log-sum-exp (double, over the float logits shifted by their max) and the argmax of
 * one position's logits: what every request scored at that position needs. */
static void position_stats(const float *x, int V, double *lse, int *argmax)
{
    float mx = x[0];
    int am = 0;
    for (int v = 1; v < V; v++)
        if (x[v] > mx) { mx = x[v]; am = v; }
    double s = 0.0;
    for (int v = 0; v < V; v++) s += exp((double)x[v] - (double)mx);
    *lse = (double)mx + log(s);
    *argmax = am;
}

/* Logits copied back per chunk of rows (host floats): bounds the host buffer while
 * keeping the copies few and large. */
#define EV_CHUNK_FLOATS ((size_t)64 << 20)

void t6_ev_score_requests(t6_ev_results *R, t6_dist *dist, t6_model *model, int cap_tokens, int V, int *stopped)
{
    size_t n_rows;
    ev_row *rows = make_rows(R, &n_rows);
    /* batches: consecutive rows (longest first) padded to the first row's length */
    size_t *bstart = t6_malloc((n_rows + 1) * sizeof(size_t));
    int *bT = t6_malloc((n_rows + 1) * sizeof(int));
    size_t nb = 0;
    for (size_t r = 0; r < n_rows;) {
        int T = (rows[r].len + 7) / 8 * 8;
        if (T > R->max_len) T = R->max_len;
        int B = cap_tokens / T;
        if (B < 1) B = 1;
        bstart[nb] = r;
        bT[nb] = T;
        nb++;
        r += (size_t)B < n_rows - r ? (size_t)B : n_rows - r;
    }
    bstart[nb] = n_rows;
    R->n_rows = (long)n_rows;
    R->n_batches = (long)nb;
    if (dist->rank == 0) {
        size_t used = 0, padded = 0;
        for (size_t b = 0; b < nb; b++) {
            padded += (bstart[b + 1] - bstart[b]) * (size_t)bT[b];
            for (size_t r = bstart[b]; r < bstart[b + 1]; r++) used += (size_t)rows[r].len;
        }
        printf("eval: %zu rows (requests sharing a context and a one-token continuation share a row), "
               "%zu batches, %zu tokens (%.0f%% padding)\n", n_rows, nb, used,
               padded ? 100.0 * (double)(padded - used) / (double)padded : 0.0);
        fflush(stdout);
    }

    double *ll = t6_calloc(R->n_req ? R->n_req : 1, sizeof(double));
    double *gr = t6_calloc(R->n_req ? R->n_req : 1, sizeof(double));
    for (size_t r = 0; r < n_rows; r++) {
        rows[r].nc = 1;
        for (int k = 0; k < rows[r].n; k++)
            if (R->req[rows[r].first + (size_t)k].n_cont > rows[r].nc) rows[r].nc = R->req[rows[r].first + (size_t)k].n_cont;
    }
    float *lbuf = NULL;
    double *plse = NULL;
    int *parg = NULL;
    size_t pos_cap = 0;
    int32_t *tok = t6_malloc((size_t)cap_tokens * sizeof(int32_t));
    const int W = dist->world;
    size_t rounds = (nb + (size_t)W - 1) / (size_t)W;
    double t0 = t6_now(), last = t0;
    *stopped = 0;
    for (size_t round = 0; round < rounds; round++) {
        size_t b = round * (size_t)W + (size_t)dist->rank;
        if (b < nb) {
            int T = bT[b], B = (int)(bstart[b + 1] - bstart[b]);
            if (t6_model_set_shape(model, B, T) != 0)
                t6_fatal("eval: batch of %d x %d tokens does not fit the model's %d", B, T, cap_tokens);
            memset(tok, 0, (size_t)B * (size_t)T * sizeof(int32_t));
            for (int i = 0; i < B; i++) {
                const ev_row *rw = &rows[bstart[b] + (size_t)i];
                memcpy(tok + (size_t)i * T, R->req[rw->first].tok, (size_t)rw->len * sizeof(int32_t));
            }
            t6_model_forward(model, tok, NULL, 0, 0.0f);
            /* rows in chunks: copy each row's last nc positions (the ones its requests
             * score) into one host buffer, then the per-position softmax statistics in
             * parallel (each position by one thread, in order: the same numbers for any
             * thread count), then each request's sum over its positions */
            for (int i0 = 0; i0 < B;) {
                size_t npos = 0;
                int i1 = i0;
                while (i1 < B) {
                    size_t nc = (size_t)rows[bstart[b] + (size_t)i1].nc;
                    if (i1 > i0 && (npos + nc) * (size_t)V > EV_CHUNK_FLOATS) break;
                    npos += nc;
                    i1++;
                }
                if (npos > pos_cap) {
                    pos_cap = npos;
                    lbuf = t6_realloc(lbuf, pos_cap * (size_t)V * sizeof(float));
                    plse = t6_realloc(plse, pos_cap * sizeof(double));
                    parg = t6_realloc(parg, pos_cap * sizeof(int));
                }
                size_t off = 0;
                for (int i = i0; i < i1; i++) {
                    const ev_row *rw = &rows[bstart[b] + (size_t)i];
                    t6_model_get_logits_rows(model, (size_t)i * T + (size_t)(rw->len - rw->nc), (size_t)rw->nc,
                                             lbuf + off * (size_t)V);
                    off += (size_t)rw->nc;
                }
#pragma omp parallel for schedule(dynamic, 16)
                for (long p = 0; p < (long)npos; p++) position_stats(lbuf + (size_t)p * (size_t)V, V, &plse[p], &parg[p]);
                off = 0;
                for (int i = i0; i < i1; i++) {
                    const ev_row *rw = &rows[bstart[b] + (size_t)i];
                    const int base = rw->len - rw->nc;   /* position of the row's first copied logits */
                    for (int k = 0; k < rw->n; k++) {
                        size_t qi = rw->first + (size_t)k;
                        const t6_ev_request *q = &R->req[qi];
                        double sum = 0.0;
                        int g = 1;
                        for (int j = 0; j < q->n_cont; j++) {
                            int pos = rw->len - q->n_cont + j;   /* predicts tok[pos + 1] */
                            size_t pi = off + (size_t)(pos - base);
                            int32_t target = q->tok[pos + 1];
                            sum += (double)lbuf[pi * (size_t)V + (size_t)target] - plse[pi];
                            if (parg[pi] != target) g = 0;
                        }
                        ll[qi] = sum;
                        gr[qi] = g;
                    }
                    off += (size_t)rw->nc;
                }
                i0 = i1;
            }
        }
        /* the stop flag (signals.h): all ranks agree once per round of batches */
        t6_test_delay("T6_TEST_EVAL_DELAY_MS");
        *stopped = t6_dist_any(dist, t6_stop_requested() != 0);
        if (*stopped) break;
        double now = t6_now();
        if (dist->rank == 0 && (now - last >= 5.0 || round + 1 == rounds)) {
            double done = (double)(round + 1) / (double)rounds;
            fprintf(stderr, "eval: %zu/%zu batches (%.0f%%), %.0fs elapsed, ETA %.0fs\n",
                    (round + 1) * (size_t)W < nb ? (round + 1) * (size_t)W : nb, nb, 100.0 * done, now - t0,
                    (now - t0) * (1.0 - done) / done);
            last = now;
        }
    }
    if (!*stopped) {
        /* one owner per request, zeros elsewhere: the sum is exact */
        for (size_t o = 0; o < R->n_req; o += 1 << 20) {
            int n = (int)(R->n_req - o < (1u << 20) ? R->n_req - o : (1u << 20));
            t6_dist_sum_doubles(dist, ll + o, n);
            t6_dist_sum_doubles(dist, gr + o, n);
        }
        for (size_t i = 0; i < R->n_req; i++) {
            R->req[i].ll = ll[i];
            R->req[i].greedy = gr[i] != 0.0;
        }
    }
    free(ll); free(gr); free(lbuf); free(plse); free(parg); free(tok); free(rows); free(bstart); free(bT);
}

static void mean_of(const double *x, size_t n, double *mean, double *se)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i];
    *mean = n ? s / (double)n : NAN;
    *se = t6_ev_mean_stderr(x, n);
}

void t6_ev_score_task(t6_ev_results *R, t6_ev_task *T)
{
    const t6_task_info *info = t6_task_get((t6_task_id)T->id);
    size_t nd = T->docs.n;
    double *acc = t6_malloc((nd ? nd : 1) * sizeof(double)), *accn = t6_malloc((nd ? nd : 1) * sizeof(double));
    double *lls = t6_malloc((nd ? nd : 1) * sizeof(double));
    for (size_t d = 0; d < nd; d++) {
        size_t a = T->doc_req0[d], b = T->doc_req0[d + 1];
        double ll[64];
        for (size_t i = a; i < b; i++) ll[i - a] = R->req[T->req0 + i].ll;
        if (info->kind == T6_EV_LOGLIK) {
            lls[d] = ll[0];
            acc[d] = R->req[T->req0 + a].greedy ? 1.0 : 0.0;
            accn[d] = acc[d];
        } else {
            t6_ev_doc_scores(ll, T->norm_len + a, (int)(b - a), T->docs.docs[d].gold, &acc[d], &accn[d]);
        }
    }
    t6_ev_metrics *m = &T->m;
    m->n = (long)nd;
    mean_of(acc, nd, &m->acc, &m->acc_stderr);
    m->acc_norm = m->acc_norm_stderr = m->ppl = m->ppl_stderr = NAN;
    if (info->kind == T6_EV_MC && T->id != T6_TASK_MMLU && T->id != T6_TASK_BOOLQ)
        mean_of(accn, nd, &m->acc_norm, &m->acc_norm_stderr);
    if (info->kind == T6_EV_LOGLIK) {
        double mll, sll;
        mean_of(lls, nd, &mll, &sll);
        m->ppl = exp(-mll);
        m->ppl_stderr = m->ppl * sll;   /* delta method (lm-eval bootstraps; doc/eval.md) */
    }
    if (T->id == T6_TASK_MMLU) {
        /* subjects, then lm-eval's two-level group: categories by size, mmlu by category */
        double *x = t6_malloc((nd ? nd : 1) * sizeof(double));
        double cse[T6_MMLU_CATEGORIES], cn[T6_MMLU_CATEGORIES];
        for (int c = 0; c < T6_MMLU_CATEGORIES; c++) {
            double se[T6_MMLU_SUBJECTS], sz[T6_MMLU_SUBJECTS], sum = 0.0;
            int k = 0;
            for (int s = 0; s < T6_MMLU_SUBJECTS; s++) {
                if (t6_mmlu_category(s) != c) continue;
                size_t n = 0;
                for (size_t d = 0; d < nd; d++)
                    if (T->docs.docs[d].subject == s) x[n++] = acc[d];
                t6_ev_metrics *ms = &T->sub[s];
                ms->n = (long)n;
                mean_of(x, n, &ms->acc, &ms->acc_stderr);
                ms->acc_norm = ms->acc_norm_stderr = ms->ppl = ms->ppl_stderr = NAN;
                T->sub_n[s] = (long)n;
                if (n == 0) continue;
                se[k] = ms->acc_stderr;
                sz[k] = (double)n;
                sum += ms->acc * (double)n;
                k++;
            }
            t6_ev_metrics *mc = &T->sub[T6_MMLU_SUBJECTS + c];
            double tot = 0.0;
            for (int i = 0; i < k; i++) tot += sz[i];
            mc->n = (long)tot;
            mc->acc = tot > 0 ? sum / tot : NAN;
            mc->acc_stderr = k ? t6_ev_pooled_stderr(se, sz, k) : NAN;
            mc->acc_norm = mc->acc_norm_stderr = mc->ppl = mc->ppl_stderr = NAN;
            T->sub_n[T6_MMLU_SUBJECTS + c] = (long)tot;
            cse[c] = mc->acc_stderr;
            cn[c] = tot;
        }
        double se[T6_MMLU_CATEGORIES], sz[T6_MMLU_CATEGORIES];
        int k = 0;
        for (int c = 0; c < T6_MMLU_CATEGORIES; c++)
            if (cn[c] > 0) { se[k] = cse[c]; sz[k] = cn[c]; k++; }
        m->acc_stderr = k ? t6_ev_pooled_stderr(se, sz, k) : NAN;   /* acc itself is the size-weighted mean */
        free(x);
    }
    free(acc); free(accn); free(lls);
}

void t6_eval_check_outputs(const t6_deck *deck, t6_dist *dist, const char *ckpt_path)
{
    const t6_eval_config *ec = &deck->eval;
    char path[4400], err[4600] = "";
    t6_ev_results_path(ec->results, ckpt_path, ec->num_fewshot, path, sizeof path);
    int bad = 0;
    if (dist->rank == 0)
        bad = t6_ev_check_output("eval.results", path, err, sizeof err) != 0 ||
              (ec->json && strcmp(ec->json, "-") != 0 && t6_ev_check_output("eval.json", ec->json, err, sizeof err) != 0);
    if (t6_dist_any(dist, bad)) {
        if (dist->rank == 0)
            t6_fatal_hint("point the key at a new file, or an earlier result, in an existing, writable directory "
                          "(nothing was scored)", "%s", err);
        exit(1);   /* the other ranks: rank 0 said why */
    }
}

int t6_eval_tasks(const t6_deck *deck, t6_dist *dist, t6_model *model, const char *ckpt_path, long step)
{
    const t6_eval_config *ec = &deck->eval;
    char err[2048];
    double t0 = t6_now();
    if (!deck->data.eval_dir || !deck->data.vocab_dir)
        t6_fatal_hint("set data.eval_dir (task files) and data.vocab_dir (encoder.json + vocab.bpe)",
                      "%s: eval.tasks needs %s", deck->path, !deck->data.eval_dir ? "data.eval_dir" : "data.vocab_dir");
    int pinned = 1;
    t6_bpe *bpe = t6_bpe_load(deck->data.vocab_dir, &pinned, err, sizeof err);
    if (!bpe) t6_fatal_hint("data.vocab_dir must hold GPT-2's encoder.json and vocab.bpe", "%s", err);
    if (!pinned && dist->rank == 0)
        fprintf(stderr, "%s: warning: %s/{encoder.json,vocab.bpe} are not the GPT-2 files tiktoken pins\n",
                t6_progname(), deck->data.vocab_dir);
    if (t6_bpe_vocab_size(bpe) > deck->model.vocab_size)
        t6_fatal_hint("the tasks need a model trained with the GPT-2 vocabulary (model.vocab_size >= 50257, "
                      "e.g. 50304), or data.vocab_dir naming that model's tokenizer",
                      "data.vocab_dir = \"%s\": the tokenizer has %d tokens but model.vocab_size is %d",
                      deck->data.vocab_dir, t6_bpe_vocab_size(bpe), deck->model.vocab_size);
    t6_bpe_state *bs = t6_bpe_state_new(bpe);

    t6_ev_results *R = t6_calloc(1, sizeof *R);
    R->num_fewshot = ec->num_fewshot;
    R->limit = ec->limit;
    R->max_len = deck->train.seq_len;
    R->step = step;
    R->ckpt = ckpt_path;
    R->world = dist->world;
    snprintf(R->vocab_hash, sizeof R->vocab_hash, "%s", t6_bpe_hash(bpe));
    size_t req_cap = 0;
    for (int i = 0; i < ec->n_tasks; i++) {
        int id = t6_task_lookup(ec->tasks[i]);
        if (id < 0) {
            char names[512] = "";
            for (int k = 0; k < T6_TASK_COUNT; k++) {
                strcat(names, k ? ", " : "");
                strcat(names, t6_task_get((t6_task_id)k)->name);
            }
            t6_fatal("%s: eval.tasks: unknown task \"%s\" (allowed: %s)", deck->path, ec->tasks[i], names);
        }
        t6_ev_task *T = &R->tasks[id];
        if (T->used) continue;
        T->used = 1;
        T->id = id;
        build_task(R, T, deck, bs, t6_bpe_eot(bpe), &req_cap);
        /* the readers stop at eval.limit documents: a task (an MMLU subject) that gave
         * fewer was read whole; one that gave exactly as many is taken as cut */
        if (R->limit > 0) {
            if (id == T6_TASK_MMLU) {
                long per[T6_MMLU_SUBJECTS] = {0};
                for (size_t d = 0; d < T->docs.n; d++)
                    if (T->docs.docs[d].subject >= 0 && T->docs.docs[d].subject < T6_MMLU_SUBJECTS) per[T->docs.docs[d].subject]++;
                for (int s = 0; s < T6_MMLU_SUBJECTS; s++) R->limit_cut |= per[s] >= R->limit;
            } else {
                R->limit_cut |= (long)T->docs.n >= R->limit;
            }
        }
    }
    t6_bpe_state_free(bs);
    t6_bpe_free(bpe);
    /* again (cheap): the files may have gone since, and callers other than run_eval */
    t6_eval_check_outputs(deck, dist, ckpt_path);
    char path[4400];
    t6_ev_results_path(ec->results, ckpt_path, R->num_fewshot, path, sizeof path);
    if (dist->rank == 0) {
        printf("eval: %zu requests from %d task(s), %d-shot, max length %d, %d rank(s)\n", R->n_req, ec->n_tasks,
               R->num_fewshot, R->max_len, dist->world);
        fflush(stdout);
    }
    int stopped = 0;
    t6_ev_score_requests(R, dist, model, deck->train.micro_batch * deck->train.seq_len, deck->model.vocab_size, &stopped);
    t6_model_set_shape(model, deck->train.micro_batch, deck->train.seq_len);   /* as setup() made it */
    R->seconds = t6_now() - t0;
    if (stopped) {
        if (dist->rank == 0) printf("eval: stopped by signal; no results written\n");
    } else {
        for (int id = 0; id < T6_TASK_COUNT; id++)
            if (R->tasks[id].used) t6_ev_score_task(R, &R->tasks[id]);
        if (dist->rank == 0) {
            t6_ev_print_table(R, stdout);
            if (t6_ev_write_h5(R, path, err, sizeof err))
                t6_fatal_hint("free space or point eval.results elsewhere; the table above is the result", "%s", err);
            printf("eval: results in %s (%.1fs, %ld rows in %ld batches)\n", path, R->seconds, R->n_rows,
                   R->n_batches);
            if (ec->json && t6_ev_write_json(R, ec->json, err, sizeof err))
                t6_fatal_hint("free space or point eval.json elsewhere; the HDF5 results are complete", "%s", err);
            fflush(stdout);
        }
    }
    for (int id = 0; id < T6_TASK_COUNT; id++) {
        t6_ev_docs_free(&R->tasks[id].docs);
        free(R->tasks[id].doc_req0);
        free(R->tasks[id].norm_len);
    }
    for (size_t i = 0; i < R->n_req; i++) free(R->req[i].tok);
    free(R->req);
    free(R);
    return stopped ? 1 : 0;
}
