/* main.c -- t6-prep: turns text corpora (plain text, JSONL, Parquet, archives such as
 * OpenWebText's) into GPT-2-tokenized t6-corpus HDF5 shards (doc/prep.md).
 *
 * Pipeline: the main thread reads a batch of documents (bounded by --batch-mb), the
 * batch is tokenized in parallel (OpenMP, one tokenizer state per thread), then the
 * main thread appends the documents in input order to the shard output (prep/output.c).
 * Because order is fixed by the input and each document's tokens depend only on its
 * text, the output is identical for every thread count. The command line lives in
 * prep/options.c. A signal stops the run within one document per thread: nothing of
 * it reaches the output folder. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe.h"
#include "corpus.h"
#include "options.h"
#include "output.h"
#include "readers.h"
#include "util.h"

typedef struct {
    options o;
    t6_bpe *bpe;
    char **files;
    uint64_t *sizes;
    int n_files;
    t6_out *out;
    /* counters */
    uint64_t docs, bytes, skipped, replaced_docs, replacements;
    char first_skips[5][1100];
    int n_first_skips;
    /* the output directory, when it exists before the run: never read as input */
    int out_known;
    dev_t out_dev;
    ino_t out_ino;
    int out_skipped;
} prep;

static volatile sig_atomic_t interrupted;
static void on_signal(int s) { interrupted = s; }

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void add_file(prep *P, const char *path, uint64_t size)
{
    P->files = t6_realloc(P->files, (size_t)(P->n_files + 1) * sizeof *P->files);
    P->sizes = t6_realloc(P->sizes, (size_t)(P->n_files + 1) * sizeof *P->sizes);
    P->files[P->n_files] = t6_strdup(path);
    P->sizes[P->n_files++] = size;
}

static void expand(prep *P, const char *path, int top)
{
    struct stat st;
    if (stat(path, &st) != 0) t6_fatal_hint("check the path", "input '%s': %s", path, strerror(errno));
    if (S_ISREG(st.st_mode)) {
        const char *ext = P->o.ro.member_ext;
        size_t a = strlen(path), b = ext ? strlen(ext) : 0;
        if (top || !ext || (a >= b && strcmp(path + a - b, ext) == 0)) add_file(P, path, (uint64_t)st.st_size);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (top) t6_fatal("input '%s' is neither a file nor a directory", path);
        return;
    }
    /* an input directory that holds -o (t6-prep -o data/out data): the shards and
     * manifest of an earlier run must not be read back as text into the new corpus */
    if (P->out_known && st.st_dev == P->out_dev && st.st_ino == P->out_ino) {
        if (top) t6_fatal_hint("name the input files or directories beside it", "input '%s' is the output directory -o '%s'", path, P->o.outdir);
        if (!P->out_skipped++) fprintf(stderr, "t6-prep: note: not reading '%s': it is the output directory\n", path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) t6_fatal("input directory '%s': %s", path, strerror(errno));
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        names = t6_realloc(names, (size_t)(n + 1) * sizeof *names);
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        names[n] = t6_malloc(l);
        snprintf(names[n++], l, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmpstr);
    for (int i = 0; i < n; i++) {
        expand(P, names[i], 0);
        free(names[i]);
    }
    free(names);
}


static uint64_t splitmix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* 64-bit hash of a document's bytes (FNV-1a over 8-byte words, then mixed): the
 * --val fraction choice depends on the text alone, not on input order or threads, and
 * exact duplicates land in the same split. */
static uint64_t content_hash(const char *t, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, t + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ (unsigned char)t[i]) * 0x100000001b3ull;
    return splitmix(h);
}

/* ---- progress ---- */
typedef struct {
    int tty;
    double t0, last;
    uint64_t total;
} progress;

static void show(prep *P, progress *pg, uint64_t done, int final)
{
    if (P->o.quiet) return;
    double now = t6_now(), el = now - pg->t0;
    if (!final && now - pg->last < (pg->tty ? 0.25 : P->o.progress_interval)) return;
    pg->last = now;
    double frac = pg->total ? (double)done / (double)pg->total : 0;
    if (frac > 1) frac = 1;
    double mbs = el > 0 ? (double)P->bytes / 1e6 / el : 0;
    double eta = frac > 0.001 ? el * (1 - frac) / frac : 0;
    char tk[32], dc[32];
    t6_fmt_count(tk, sizeof tk, (long long)(t6_out_tokens(P->out, 0) + t6_out_tokens(P->out, 1)));
    t6_fmt_count(dc, sizeof dc, (long long)P->docs);
    if (pg->tty) {
        int w = 30, f = (int)(frac * w);
        char bar[64];
        for (int i = 0; i < w; i++) bar[i] = i < f ? '#' : '.';
        bar[w] = 0;
        fprintf(stderr, "\r[%s] %5.1f%% %s docs %s tokens %.1f MB/s ETA %02d:%02d:%02d%s", bar, 100 * frac, dc, tk, mbs,
                (int)eta / 3600, (int)eta / 60 % 60, (int)eta % 60, final ? "\n" : "");
    } else {
        fprintf(stderr, "t6-prep: %.1f%% %s docs %s tokens %.1f MB/s elapsed %.0fs ETA %.0fs\n", 100 * frac, dc, tk, mbs, el, eta);
    }
    fflush(stderr);
}

/* ---- main loop ---- */
typedef struct {
    size_t off, len;     /* in the batch text arena */
    int src;
    uint64_t rec;        /* record index over all inputs (val selection) */
    int tid;             /* thread that tokenized it */
    size_t tstart, tn;   /* its tokens in vec[tid] */
    int status;          /* 0 ok, 1 skipped (invalid utf-8) */
    uint64_t hash;       /* of the text: the val selection depends on content only */
    int json;            /* a raw JSONL line: the text field is extracted by the worker */
    uint64_t line;       /* its line number */
    char *msg;           /* why it was skipped (status 3) */
    size_t nrepl;
} bdoc;

typedef struct {
    size_t len, idx;
} lenidx;

/* a batch of documents: their bytes back to back in arena */
typedef struct {
    char *arena;
    size_t cap, used;
    bdoc *docs;
    size_t nd, docs_cap;
} batch;

/* where reading stands over all input files */
typedef struct {
    t6_reader *r;
    int fi, done;
    uint64_t done_bytes, rec;
} input;

static void skip_note(prep *P, const char *why);

/* Reads documents into bt until it holds batch_bytes (or 1M documents) or the input
 * ends. Runs on one thread while others tokenize the previous batch: it touches only
 * the reader, bt and the skip counters. */
static void read_batch(prep *P, input *in, batch *bt, size_t batch_bytes)
{
    char err[1024];
    while (bt->used < batch_bytes && bt->nd < (1u << 20) && !interrupted) {
        if (!in->r) {
            if (in->fi >= P->n_files) { in->done = 1; break; }
            in->r = t6_reader_open(P->files[in->fi], &P->o.ro, err, sizeof err);
            if (!in->r) t6_fatal("%s", err);
        }
        const char *text;
        size_t len;
        int rc = t6_reader_next(in->r, &text, &len, err, sizeof err);
        if (rc < 0) t6_fatal("%s", err);
        if (rc == 0) {
            t6_reader_close(in->r);
            in->r = NULL;
            in->done_bytes += P->sizes[in->fi];
            in->fi++;
            continue;
        }
        in->rec++;
        if (rc == 2) { skip_note(P, err); continue; }
        if (bt->used + len + 1 > bt->cap) {
            size_t c = bt->used + len + 1;
            if (c < batch_bytes + 1) c = batch_bytes + 1;
            bt->arena = t6_realloc(bt->arena, bt->cap = c);
        }
        memcpy(bt->arena + bt->used, text, len);
        if (bt->nd == bt->docs_cap) bt->docs = t6_realloc(bt->docs, (bt->docs_cap = bt->docs_cap ? 2 * bt->docs_cap : 4096) * sizeof *bt->docs);
        bt->docs[bt->nd++] = (bdoc){.off = bt->used, .len = len, .src = in->fi, .rec = in->rec - 1,
                                    .json = t6_reader_is_raw_jsonl(in->r), .line = t6_reader_record(in->r)};
        bt->used += len;
        P->bytes += len;
    }
}

static int by_len_desc(const void *a, const void *b)
{
    const lenidx *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? 1 : -1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void skip_note(prep *P, const char *why)
{
    P->skipped++;
    if (P->o.strict) t6_fatal_hint("drop --strict to skip and count such records", "%s", why);
    if (P->n_first_skips < 5) snprintf(P->first_skips[P->n_first_skips++], sizeof P->first_skips[0], "%s", why);
}


/* per-thread tokenizer state and scratch */
typedef struct {
    int nt;
    t6_bpe_state **states;
    t6_tokvec *vecs;
    char **fix, **jscr;
    size_t *fixcap, *jcap;
    lenidx *order;
    size_t order_cap;
} workers;

static void workers_init(workers *W, const t6_bpe *bpe, int nt)
{
    memset(W, 0, sizeof *W);
    W->nt = nt;
    W->states = t6_calloc((size_t)nt, sizeof *W->states);
    W->vecs = t6_calloc((size_t)nt, sizeof *W->vecs);
    W->fix = t6_calloc((size_t)nt, sizeof *W->fix);
    W->jscr = t6_calloc((size_t)nt, sizeof *W->jscr);
    W->fixcap = t6_calloc((size_t)nt, sizeof *W->fixcap);
    W->jcap = t6_calloc((size_t)nt, sizeof *W->jcap);
    for (int i = 0; i < nt; i++) W->states[i] = t6_bpe_state_new(bpe);
}

static void workers_free(workers *W)
{
    for (int i = 0; i < W->nt; i++) {
        t6_bpe_state_free(W->states[i]);
        t6_tokvec_free(&W->vecs[i]);
        free(W->fix[i]);
        free(W->jscr[i]);
    }
    free(W->states); free(W->vecs); free(W->fix); free(W->jscr); free(W->fixcap); free(W->jcap); free(W->order);
}

/* Tokenizes document b (on thread tid) into W->vecs[tid]. */
static void tokenize_doc(prep *P, workers *W, int tid, bdoc *b, const char *arena, uint32_t eot)
{
    const char *t = arena + b->off;
    size_t n = b->len;
    t6_tokvec *v = &W->vecs[tid];
    b->tid = tid;
    b->tstart = v->n;
    b->tn = 0;
    if (b->json) {
        char why[512];
        if (t6_jsonl_line(t, n, P->o.ro.field, &W->jscr[tid], &W->jcap[tid], &t, &n, why, sizeof why) != 1) {
            b->status = 3;
            b->msg = t6_strdup(why);
            return;
        }
    }
    b->hash = content_hash(t, n);
    if (t6_utf8_valid_prefix(t, n) != n) {
        if (P->o.bad_utf8 != BAD_REPLACE) { b->status = 1; return; }
        n = t6_utf8_sanitize(t, n, &W->fix[tid], &W->fixcap[tid], &b->nrepl);
        t = W->fix[tid];
    }
    /* the delimiter travels with the document, so a document is one append */
    t6_tokvec_reserve(v, 2);
    if (P->o.eot == EOT_PREFIX) v->v[v->n++] = eot;
    if (t6_bpe_encode(W->states[tid], t, n, 0, v) != 0) b->status = 2;
    t6_tokvec_reserve(v, 1);
    if (P->o.eot == EOT_SUFFIX) v->v[v->n++] = eot;
    b->tn = v->n - b->tstart;
}

/* One thread reads the next batch while the others tokenize this one, longest
 * documents first so that one big document does not finish last on its own (the write
 * order is the input order). A signal skips the rest of the batch. */
static void tokenize_batch(prep *P, workers *W, batch *a, input *in, batch *next, size_t batch_bytes)
{
    size_t nd = a->nd;
    for (int i = 0; i < W->nt; i++) W->vecs[i].n = 0;
    if (nd > W->order_cap) W->order = t6_realloc(W->order, (W->order_cap = nd) * sizeof *W->order);
    for (size_t d = 0; d < nd; d++) W->order[d] = (lenidx){a->docs[d].len, d};
    qsort(W->order, nd, sizeof *W->order, by_len_desc);
    uint32_t eot = (uint32_t)t6_bpe_eot(P->bpe);
#pragma omp parallel
    {
#pragma omp single nowait
        {
            if (!in->done) read_batch(P, in, next, batch_bytes);
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < nd; k++)
            if (!interrupted) tokenize_doc(P, W, omp_get_thread_num(), &a->docs[W->order[k].idx], a->arena, eot);
    }
}

/* Hands the tokenized documents to the output in input order. */
static void write_batch(prep *P, workers *W, batch *a)
{
    char err[1024];
    const options *o = &P->o;
    for (size_t d = 0; d < a->nd && !interrupted; d++) {
        bdoc *b = &a->docs[d];
        if (b->status == 2)
            t6_fatal("'%s': document %" PRIu64 ": the tokenizer's regular expression failed (PCRE2 resource limit)",
                     P->files[b->src], b->rec + 1);
        if (b->status == 3) {
            snprintf(err, sizeof err, "'%s': line %" PRIu64 ": %s", P->files[b->src], b->line, b->msg);
            free(b->msg);
            skip_note(P, err);
            continue;
        }
        if (b->status) {
            snprintf(err, sizeof err, "'%s': %s %" PRIu64 ": invalid UTF-8", P->files[b->src], b->json ? "line" : "document",
                     b->json ? b->line : b->rec + 1);
            if (o->bad_utf8 == BAD_ERROR) t6_fatal_hint("--invalid-utf8 replace keeps such documents (U+FFFD, as Python)", "%s", err);
            skip_note(P, err);
            continue;
        }
        if (b->nrepl) { P->replaced_docs++; P->replacements += b->nrepl; }
        int val = 0;
        if (o->val == VAL_FIRST_SHARD) val = t6_out_first_shard_open(P->out);
        else if (o->val == VAL_FRACTION) val = (double)(splitmix(o->seed ^ b->hash) >> 11) * 0x1.0p-53 < o->val_fraction;
        t6_out_doc(P->out, val, W->vecs[b->tid].v + b->tstart, b->tn, b->src);
        P->docs++;
    }
}

static t6_out *cleanup_out;      /* set while a failed exit must clean up */
static int exit_code = 1;         /* of such an exit: 1 (t6_fatal) or 130 (signal) */

/* Runs on exit() before HDF5's own exit handler. After a failed write (disk full)
 * HDF5 1.10 keeps the file half-closed and its handler crashes on it (SIGSEGV), so a
 * failed run removes its temporary folder and ends here, without it. */
static void cleanup_on_exit(void)
{
    if (!cleanup_out) return;
    t6_out_abort(cleanup_out);
    fflush(NULL);
    _exit(exit_code);
}

static void stop_if_interrupted(void)
{
    if (!interrupted) return;
    fprintf(stderr, "\nt6-prep: interrupted by signal %d; nothing was written to the output folder\n", (int)interrupted);
    exit_code = 130;
    exit(130);
}

static void load_inputs(prep *P)
{
    char err[1024];
    int pinned = 0;
    P->bpe = t6_bpe_load(P->o.vocab, &pinned, err, sizeof err);
    if (!P->bpe) t6_fatal_hint("get the files with tools/fetch-gpt2-vocab.sh DIR", "%s", err);
    if (!pinned) fprintf(stderr, "t6-prep: warning: %s/{encoder.json,vocab.bpe} are not the files tiktoken pins for gpt2\n", P->o.vocab);
    struct stat st;
    if (stat(P->o.outdir, &st) == 0 && S_ISDIR(st.st_mode)) {
        P->out_known = 1;
        P->out_dev = st.st_dev;
        P->out_ino = st.st_ino;
    }
    for (int i = 0; i < P->o.n_inputs; i++) expand(P, P->o.inputs[i], 1);
    if (P->n_files == 0) t6_fatal("no input files found under the given paths");
}

static void open_output(prep *P)
{
    t6_corpus_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.tokenizer, sizeof m.tokenizer, "gpt2");
    snprintf(m.vocab_hash, sizeof m.vocab_hash, "%s", t6_bpe_hash(P->bpe));
    m.vocab_size = t6_bpe_vocab_size(P->bpe);
    m.eot_id = t6_bpe_eot(P->bpe);
    P->out = t6_out_open(&P->o, &m, P->files);
    cleanup_out = P->out;
    atexit(cleanup_on_exit);
}

/* Nothing to train on is an error, not an empty success. */
static void check_not_empty(prep *P)
{
    if (t6_out_tokens(P->out, 0) + t6_out_tokens(P->out, 1) > 0) return;
    if (P->skipped)
        t6_fatal_hint("check --field / --format, or the skip reasons", "the input gave no tokens: all %" PRIu64
                      " record(s) were skipped; the first: %s", P->skipped, P->first_skips[0]);
    t6_fatal_hint("check the input paths and --member-ext", "the input gave no tokens (%" PRIu64 " empty document(s) in %d file(s))",
                  P->docs, P->n_files);
}

static void summary(prep *P, double el)
{
    char a[32], b[32], c[32], d[32];
    uint64_t tr = t6_out_tokens(P->out, 0), va = t6_out_tokens(P->out, 1);
    printf("t6-prep: %s documents, %s tokens (train %s, val %s) from %d input file(s), %.1f MB in %.1f s (%.1f MB/s, %d threads)\n",
           t6_fmt_count(a, sizeof a, (long long)P->docs), t6_fmt_count(b, sizeof b, (long long)(tr + va)),
           t6_fmt_count(c, sizeof c, (long long)tr), t6_fmt_count(d, sizeof d, (long long)va),
           P->n_files, (double)P->bytes / 1e6, el, el > 0 ? (double)P->bytes / 1e6 / el : 0, P->o.threads);
}

static void skip_report(prep *P)
{
    if (P->replaced_docs)
        printf("t6-prep: %" PRIu64 " document(s) had invalid UTF-8: %" PRIu64 " sequence(s) replaced by U+FFFD\n", P->replaced_docs, P->replacements);
    if (P->skipped) {
        printf("t6-prep: skipped %" PRIu64 " record(s); first ones:\n", P->skipped);
        for (int i = 0; i < P->n_first_skips; i++) printf("  %s\n", P->first_skips[i]);
    }
}

int main(int argc, char **argv)
{
    t6_set_progname("t6-prep");
    prep *P = t6_calloc(1, sizeof *P);
    prep_parse_args(&P->o, argc, argv);
    load_inputs(P);
    open_output(P);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    workers W;
    omp_set_num_threads(P->o.threads);
    workers_init(&W, P->bpe, P->o.threads);
    size_t batch_bytes = (size_t)(P->o.batch_mb * 1e6);
    progress pg = {isatty(2), t6_now(), 0, 0};
    for (int i = 0; i < P->n_files; i++) pg.total += P->sizes[i];
    input in = {0};
    batch bt[2] = {{0}, {0}};
    int cur = 0;
    read_batch(P, &in, &bt[0], batch_bytes);
    for (;;) {
        batch *a = &bt[cur], *next = &bt[cur ^ 1];
        next->nd = next->used = 0;
        stop_if_interrupted();
        tokenize_batch(P, &W, a, &in, next, batch_bytes);
        stop_if_interrupted();
        write_batch(P, &W, a);
        stop_if_interrupted();
        show(P, &pg, in.done_bytes + (in.r ? t6_reader_pos(in.r) : 0), 0);
        cur ^= 1;
        if (in.done && bt[cur].nd == 0) break;
    }
    check_not_empty(P);
    /* the manifest is written (every shard hashed) before the output folder is
     * touched, and a signal meanwhile still stops the run cleanly */
    if (t6_out_prepare(P->out, &interrupted) != 0) stop_if_interrupted();
    sigset_t block;                    /* the final move is short: let it finish */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, NULL);
    stop_if_interrupted();
    show(P, &pg, pg.total, 1);
    summary(P, t6_now() - pg.t0);
    t6_out_install(P->out);
    skip_report(P);

    workers_free(&W);
    for (int k = 0; k < 2; k++) {
        free(bt[k].docs);
        free(bt[k].arena);
    }
    for (int i = 0; i < P->n_files; i++) free(P->files[i]);
    free(P->files);
    free(P->sizes);
    cleanup_out = NULL;
    t6_out_free(P->out);
    t6_bpe_free(P->bpe);
    free(P);
    return 0;
}
