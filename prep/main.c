/* main.c -- t6-prep: turns text corpora (plain text, JSONL, Parquet, archives such as
 * OpenWebText's) into GPT-2-tokenized t6-corpus HDF5 shards (doc/prep.md).
 *
 * Pipeline: the main thread reads a batch of documents (bounded by --batch-mb), the
 * batch is tokenized in parallel (OpenMP, one tokenizer state per thread), then the
 * main thread appends the documents in input order to the shard writers. Because
 * order is fixed by the input and each document's tokens depend only on its text,
 * the output is identical for every thread count. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe.h"
#include "config.h"
#include "corpus.h"
#include "readers.h"
#include "util.h"

typedef enum { EOT_PREFIX, EOT_SUFFIX, EOT_NONE } eot_mode;
typedef enum { VAL_FIRST_SHARD, VAL_FRACTION, VAL_NONE } val_mode;
typedef enum { BAD_REPLACE, BAD_SKIP, BAD_ERROR } bad_mode;

typedef struct {
    const char *vocab, *outdir, *name;
    t6_reader_opts ro;
    eot_mode eot;
    val_mode val;
    double val_fraction;
    uint64_t seed, shard_tokens;
    bad_mode bad_utf8;
    int threads, strict, force, quiet;
    double batch_mb, progress_interval;
} options;

/* one output stream (train or val) */
typedef struct {
    const char *split;
    t6_corpus_writer *w;
    int index;           /* index of the open (or next) shard */
    uint64_t tokens;     /* in the open shard */
    int first_src, last_src;
    uint64_t total_tokens, total_docs;
    int n_shards;
} stream;

typedef struct {
    options o;
    t6_bpe *bpe;
    char **files;
    uint64_t *sizes;
    int n_files;
    stream train, val;
    int *shared_index;   /* fineweb layout: one shard counter for both splits */
    char **written;
    int n_written;
    /* counters */
    uint64_t docs, bytes, skipped, replaced_docs, replacements;
    char first_skips[5][1100];
    int n_first_skips;
} prep;

static volatile sig_atomic_t interrupted;
static void on_signal(int s) { interrupted = s; }

static void usage(FILE *f)
{
    fprintf(f,
"usage: t6-prep --vocab DIR -o OUTDIR [options] INPUT...\n"
"Tokenizes text with GPT-2 BPE (byte-exact with tiktoken) into t6-corpus HDF5 shards.\n"
"INPUT: files or directories (searched recursively, sorted). Formats by name:\n"
"  *.parquet, *.jsonl/*.json[.gz], *.tar/*.tar.xz/*.xz/*.zip (archives), else text.\n"
"  --vocab DIR            encoder.json + vocab.bpe (tools/fetch-gpt2-vocab.sh)\n"
"  -o, --out DIR          output directory (created if missing)\n"
"  --name NAME            shard name prefix (default: corpus)\n"
"  --layout fineweb|owt   presets: fineweb = --eot prefix --val first-shard;\n"
"                         owt = --eot suffix --val fraction --val-fraction 0.0005\n"
"  --eot prefix|suffix|none   where <|endoftext|> goes around each document\n"
"  --val first-shard|fraction|none\n"
"  --val-fraction F       share of documents held out (default 0.0005)\n"
"  --seed N               seed of the val selection (default 2357)\n"
"  --shard-tokens N       tokens per shard (default 100000000)\n"
"  --format auto|text|jsonl|parquet|archive\n"
"  --field NAME           JSONL/Parquet text field (default text)\n"
"  --delimiter STR        text files: split documents on STR (\\n escapes ok)\n"
"  --member-ext EXT       archives/directories: only files ending in EXT\n"
"  --invalid-utf8 replace|skip|error   (default replace, as Python errors='replace')\n"
"  --strict               any skipped record is an error\n"
"  --max-doc-bytes N      larger documents are skipped (default 1 GiB)\n"
"  -j, --threads N        tokenizer threads (default: all cores)\n"
"  --batch-mb N           text per parallel batch (default 32)\n"
"  --progress-interval S  seconds between progress lines when not on a TTY (default 10)\n"
"  --force                replace existing shards of the same name\n"
"  -q, --quiet            no progress output\n"
"  --version, --help\n");
}

static char *unescape(const char *s)
{
    char *o = t6_malloc(strlen(s) + 1), *p = o;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *p++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 'r' ? '\r' : *s;
        } else *p++ = *s;
    }
    *p = 0;
    return o;
}

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


/* ---- output ---- */
static void open_shard(prep *P, stream *s)
{
    char path[4096], err[1024];
    int idx = P->shared_index ? *P->shared_index : s->index;
    snprintf(path, sizeof path, "%s/%s_%s_%06d.h5", P->o.outdir, P->o.name, s->split, idx);
    t6_corpus_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.tokenizer, sizeof m.tokenizer, "gpt2");
    snprintf(m.vocab_hash, sizeof m.vocab_hash, "%s", t6_bpe_hash(P->bpe));
    m.vocab_size = t6_bpe_vocab_size(P->bpe);
    m.eot_id = t6_bpe_eot(P->bpe);
    snprintf(m.split, sizeof m.split, "%s", s->split);
    s->w = t6_corpus_writer_open(path, &m, err, sizeof err);
    if (!s->w) t6_fatal_hint("check that the output directory is writable and has space", "%s", err);
    s->tokens = 0;
    s->first_src = -1;
    P->written = t6_realloc(P->written, (size_t)(P->n_written + 1) * sizeof *P->written);
    P->written[P->n_written++] = t6_strdup(path);
}

static void close_shard(prep *P, stream *s)
{
    if (!s->w) return;
    char err[1024];
    char src[512];
    static const char *eotn[] = {"prefix", "suffix", "none"};
    if (s->first_src == s->last_src)
        snprintf(src, sizeof src, "t6-prep (eot %s): %s", eotn[P->o.eot], P->files[s->first_src]);
    else
        snprintf(src, sizeof src, "t6-prep (eot %s): %s .. %s (%d files)", eotn[P->o.eot], P->files[s->first_src],
                 P->files[s->last_src], s->last_src - s->first_src + 1);
    t6_corpus_writer_set_source(s->w, src);
    if (t6_corpus_writer_close(s->w, err, sizeof err) != 0) {
        s->w = NULL;
        t6_fatal_hint("check free space and permissions of the output directory", "%s", err);
    }
    s->w = NULL;
    s->n_shards++;
    if (P->shared_index) (*P->shared_index)++;
    else s->index++;
}

static void abort_all(prep *P)
{
    if (P->train.w) t6_corpus_writer_abort(P->train.w);
    if (P->val.w) t6_corpus_writer_abort(P->val.w);
    P->train.w = P->val.w = NULL;
}

static prep *fatal_ctx;
static void cleanup_on_exit(void)
{
    if (fatal_ctx) abort_all(fatal_ctx);
}

/* Appends one document's tokens, cutting at shard boundaries like the reference
 * (llm.c fineweb.py): a shard is closed when it holds exactly --shard-tokens. */
static void emit(prep *P, stream *s, const uint32_t *t, size_t n, int src)
{
    char err[1024];
    s->total_docs++;
    while (n > 0) {
        /* --val first-shard: the rest of a document cut at the end of the val shard
         * goes on in the first train shard */
        if (P->shared_index) s = *P->shared_index == 0 ? &P->val : &P->train;
        if (!s->w) open_shard(P, s);
        if (s->first_src < 0) s->first_src = src;
        s->last_src = src;
        uint64_t room = P->o.shard_tokens - s->tokens;
        size_t k = n < room ? n : (size_t)room;
        if (t6_corpus_writer_append(s->w, t, k, err, sizeof err) != 0) t6_fatal("%s", err);
        s->tokens += k;
        s->total_tokens += k;
        t += k;
        n -= k;
        if (s->tokens == P->o.shard_tokens) close_shard(P, s);
    }
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
    t6_fmt_count(tk, sizeof tk, (long long)(P->train.total_tokens + P->val.total_tokens));
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

int main(int argc, char **argv)
{
    t6_set_progname("t6-prep");
    prep *P = t6_calloc(1, sizeof *P);
    options *o = &P->o;
    o->name = "corpus";
    o->eot = EOT_PREFIX;
    o->val = VAL_FIRST_SHARD;
    o->val_fraction = 0.0005;
    o->seed = 2357;
    o->shard_tokens = 100000000;
    o->threads = omp_get_max_threads();
    o->batch_mb = 32;
    o->progress_interval = 10;
    o->ro.field = "text";
    o->ro.jsonl_raw = 1;
    enum { O_VOCAB = 256, O_NAME, O_LAYOUT, O_EOT, O_VAL, O_VALF, O_SEED, O_SHARD, O_FORMAT, O_FIELD, O_DELIM, O_EXT,
           O_BAD, O_STRICT, O_MAXDOC, O_BATCH, O_PINT, O_FORCE, O_VERSION };
    static const struct option lo[] = {
        {"vocab", 1, 0, O_VOCAB}, {"out", 1, 0, 'o'}, {"name", 1, 0, O_NAME}, {"layout", 1, 0, O_LAYOUT},
        {"eot", 1, 0, O_EOT}, {"val", 1, 0, O_VAL}, {"val-fraction", 1, 0, O_VALF}, {"seed", 1, 0, O_SEED},
        {"shard-tokens", 1, 0, O_SHARD}, {"format", 1, 0, O_FORMAT}, {"field", 1, 0, O_FIELD},
        {"delimiter", 1, 0, O_DELIM}, {"member-ext", 1, 0, O_EXT}, {"invalid-utf8", 1, 0, O_BAD},
        {"strict", 0, 0, O_STRICT}, {"max-doc-bytes", 1, 0, O_MAXDOC}, {"threads", 1, 0, 'j'},
        {"batch-mb", 1, 0, O_BATCH}, {"progress-interval", 1, 0, O_PINT}, {"force", 0, 0, O_FORCE},
        {"quiet", 0, 0, 'q'}, {"version", 0, 0, O_VERSION}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "o:j:qh", lo, NULL)) != -1) {
        switch (c) {
        case O_VOCAB: o->vocab = optarg; break;
        case 'o': o->outdir = optarg; break;
        case O_NAME: o->name = optarg; break;
        case O_LAYOUT:
            if (!strcmp(optarg, "fineweb")) { o->eot = EOT_PREFIX; o->val = VAL_FIRST_SHARD; }
            else if (!strcmp(optarg, "owt")) { o->eot = EOT_SUFFIX; o->val = VAL_FRACTION; o->val_fraction = 0.0005; }
            else t6_fatal_hint("allowed: fineweb, owt", "--layout '%s' is unknown", optarg);
            break;
        case O_EOT:
            if (!strcmp(optarg, "prefix")) o->eot = EOT_PREFIX;
            else if (!strcmp(optarg, "suffix")) o->eot = EOT_SUFFIX;
            else if (!strcmp(optarg, "none")) o->eot = EOT_NONE;
            else t6_fatal_hint("allowed: prefix, suffix, none", "--eot '%s' is unknown", optarg);
            break;
        case O_VAL:
            if (!strcmp(optarg, "first-shard")) o->val = VAL_FIRST_SHARD;
            else if (!strcmp(optarg, "fraction")) o->val = VAL_FRACTION;
            else if (!strcmp(optarg, "none")) o->val = VAL_NONE;
            else t6_fatal_hint("allowed: first-shard, fraction, none", "--val '%s' is unknown", optarg);
            break;
        case O_VALF:
            o->val_fraction = strtod(optarg, &end);
            if (*end || !(o->val_fraction >= 0 && o->val_fraction <= 1)) t6_fatal_hint("a number in [0, 1]", "--val-fraction '%s'", optarg);
            break;
        case O_SEED: o->seed = strtoull(optarg, &end, 10); if (*end) t6_fatal("--seed '%s' is not an integer", optarg); break;
        case O_SHARD: {
            double v = strtod(optarg, &end);
            if (*end || v < 1 || v > 1e15) t6_fatal_hint("e.g. 1e8", "--shard-tokens '%s' is not a positive count", optarg);
            o->shard_tokens = (uint64_t)v;
            break;
        }
        case O_FORMAT:
            if (!strcmp(optarg, "auto")) o->ro.format = T6_FMT_AUTO;
            else if (!strcmp(optarg, "text")) o->ro.format = T6_FMT_TEXT;
            else if (!strcmp(optarg, "jsonl")) o->ro.format = T6_FMT_JSONL;
            else if (!strcmp(optarg, "parquet")) o->ro.format = T6_FMT_PARQUET;
            else if (!strcmp(optarg, "archive")) o->ro.format = T6_FMT_ARCHIVE;
            else t6_fatal_hint("allowed: auto, text, jsonl, parquet, archive", "--format '%s' is unknown", optarg);
            break;
        case O_FIELD: o->ro.field = optarg; break;
        case O_DELIM: o->ro.delimiter = unescape(optarg); if (!*o->ro.delimiter) t6_fatal("--delimiter is empty"); break;
        case O_EXT: o->ro.member_ext = optarg; break;
        case O_BAD:
            if (!strcmp(optarg, "replace")) o->bad_utf8 = BAD_REPLACE;
            else if (!strcmp(optarg, "skip")) o->bad_utf8 = BAD_SKIP;
            else if (!strcmp(optarg, "error")) o->bad_utf8 = BAD_ERROR;
            else t6_fatal_hint("allowed: replace, skip, error", "--invalid-utf8 '%s' is unknown", optarg);
            break;
        case O_STRICT: o->strict = 1; break;
        case O_MAXDOC: o->ro.max_doc = (size_t)strtod(optarg, &end); if (*end || !o->ro.max_doc) t6_fatal("--max-doc-bytes '%s'", optarg); break;
        case 'j': o->threads = (int)strtol(optarg, &end, 10); if (*end || o->threads < 1 || o->threads > 1024) t6_fatal("--threads '%s'", optarg); break;
        case O_BATCH: o->batch_mb = strtod(optarg, &end); if (*end || o->batch_mb <= 0) t6_fatal("--batch-mb '%s'", optarg); break;
        case O_PINT: o->progress_interval = strtod(optarg, &end); if (*end || o->progress_interval < 0) t6_fatal("--progress-interval '%s'", optarg); break;
        case O_FORCE: o->force = 1; break;
        case 'q': o->quiet = 1; break;
        case O_VERSION: printf("t6-prep %s\n", PACKAGE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!o->vocab) t6_fatal_hint("get the files with tools/fetch-gpt2-vocab.sh DIR", "--vocab DIR is required");
    if (!o->outdir) t6_fatal_hint("e.g. -o data/fineweb", "-o OUTDIR is required");
    if (optind >= argc) t6_fatal_hint("t6-prep --help", "no input files");
    for (const char *q = o->name; *q; q++)
        if (*q == '/' || *q == ' ') t6_fatal("--name '%s' must not contain '/' or spaces", o->name);

    char err[1024];
    int pinned = 0;
    P->bpe = t6_bpe_load(o->vocab, &pinned, err, sizeof err);
    if (!P->bpe) t6_fatal_hint("get the files with tools/fetch-gpt2-vocab.sh DIR", "%s", err);
    if (!pinned) fprintf(stderr, "t6-prep: warning: %s/{encoder.json,vocab.bpe} are not the files tiktoken pins for gpt2\n", o->vocab);
    for (int i = optind; i < argc; i++) expand(P, argv[i], 1);
    if (P->n_files == 0) t6_fatal("no input files found under the given paths");

    /* output directory and stale shards */
    mkdir(o->outdir, 0777);
    struct stat st;
    if (stat(o->outdir, &st) != 0 || !S_ISDIR(st.st_mode)) t6_fatal("output '%s' is not a directory", o->outdir);
    if (access(o->outdir, W_OK) != 0) t6_fatal_hint("choose another -o", "output directory '%s' is not writable: %s", o->outdir, strerror(errno));
    {
        DIR *d = opendir(o->outdir);
        struct dirent *e;
        size_t nl = strlen(o->name);
        while (d && (e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (strncmp(e->d_name, o->name, nl) == 0 && e->d_name[nl] == '_' && l > 3 && strcmp(e->d_name + l - 3, ".h5") == 0 &&
                (strstr(e->d_name + nl, "_train_") == e->d_name + nl || strstr(e->d_name + nl, "_val_") == e->d_name + nl)) {
                if (!o->force) t6_fatal_hint("use --force to replace it, or another --name / -o", "'%s/%s' already exists", o->outdir, e->d_name);
                char p[4096];
                snprintf(p, sizeof p, "%s/%s", o->outdir, e->d_name);
                unlink(p);
            }
        }
        if (d) closedir(d);
    }

    P->train.split = "train";
    P->val.split = "val";
    static int shared = 0;
    if (o->val == VAL_FIRST_SHARD) P->shared_index = &shared;
    fatal_ctx = P;
    atexit(cleanup_on_exit);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    int nt = o->threads;
    omp_set_num_threads(nt);
    t6_bpe_state **states = t6_calloc((size_t)nt, sizeof *states);
    t6_tokvec *vecs = t6_calloc((size_t)nt, sizeof *vecs);
    char **fix = t6_calloc((size_t)nt, sizeof *fix);
    char **jscr = t6_calloc((size_t)nt, sizeof *jscr);
    size_t *jcap = t6_calloc((size_t)nt, sizeof *jcap);
    size_t *fixcap = t6_calloc((size_t)nt, sizeof *fixcap);
    for (int i = 0; i < nt; i++) states[i] = t6_bpe_state_new(P->bpe);
    size_t batch_bytes = (size_t)(o->batch_mb * 1e6);
    size_t order_cap = 0;
    lenidx *order = NULL;
    uint32_t eot = (uint32_t)t6_bpe_eot(P->bpe);

    progress pg = {isatty(2), t6_now(), 0, 0};
    for (int i = 0; i < P->n_files; i++) pg.total += P->sizes[i];
    input in = {0};
    batch bt[2] = {{0}, {0}};
    int cur = 0;
    read_batch(P, &in, &bt[0], batch_bytes);
    for (;;) {
        batch *a = &bt[cur], *next = &bt[cur ^ 1];
        next->nd = next->used = 0;
        if (interrupted) {
            fprintf(stderr, "\nt6-prep: interrupted by signal %d; removing unfinished shards\n", (int)interrupted);
            exit(130);
        }
        size_t nd = a->nd;
        bdoc *docs = a->docs;
        const char *arena = a->arena;
        /* 1+2. one thread reads the next batch while the others tokenize this one,
         * longest documents first so that one big document does not finish last on
         * its own (the write order below is the input order) */
        for (int i = 0; i < nt; i++) vecs[i].n = 0;
        if (nd > order_cap) order = t6_realloc(order, (order_cap = nd) * sizeof *order);
        for (size_t d = 0; d < nd; d++) order[d] = (lenidx){docs[d].len, d};
        qsort(order, nd, sizeof *order, by_len_desc);
        bad_mode bm = o->bad_utf8;
        eot_mode eotm = o->eot;
        const char *field = o->ro.field;
#pragma omp parallel
        {
#pragma omp single nowait
            {
                if (!in.done) read_batch(P, &in, next, batch_bytes);
            }
#pragma omp for schedule(dynamic, 1)
            for (size_t k = 0; k < nd; k++) {
                int tid = omp_get_thread_num();
                bdoc *b = &docs[order[k].idx];
                const char *t = arena + b->off;
                size_t n = b->len;
                b->tid = tid;
                b->tstart = vecs[tid].n;
                b->tn = 0;
                if (b->json) {
                    char why[512];
                    if (t6_jsonl_line(t, n, field, &jscr[tid], &jcap[tid], &t, &n, why, sizeof why) != 1) {
                        b->status = 3;
                        b->msg = t6_strdup(why);
                        continue;
                    }
                }
                b->hash = content_hash(t, n);
                if (t6_utf8_valid_prefix(t, n) != n) {
                    if (bm != BAD_REPLACE) { b->status = 1; b->tn = 0; continue; }
                    n = t6_utf8_sanitize(t, n, &fix[tid], &fixcap[tid], &b->nrepl);
                    t = fix[tid];
                }
                /* the delimiter travels with the document, so a document is one append */
                t6_tokvec_reserve(&vecs[tid], 2);
                if (eotm == EOT_PREFIX) vecs[tid].v[vecs[tid].n++] = eot;
                if (t6_bpe_encode(states[tid], t, n, 0, &vecs[tid]) != 0) b->status = 2;
                t6_tokvec_reserve(&vecs[tid], 1);
                if (eotm == EOT_SUFFIX) vecs[tid].v[vecs[tid].n++] = eot;
                b->tn = vecs[tid].n - b->tstart;
            }
        }
        /* 3. write in input order */
        for (size_t d = 0; d < nd; d++) {
            bdoc *b = &docs[d];
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
            stream *s = &P->train;
            if (o->val == VAL_FIRST_SHARD) s = shared == 0 ? &P->val : &P->train;
            else if (o->val == VAL_FRACTION) {
                double u = (double)(splitmix(o->seed ^ b->hash) >> 11) * 0x1.0p-53;
                if (u < o->val_fraction) s = &P->val;
            }
            emit(P, s, vecs[b->tid].v + b->tstart, b->tn, b->src);
            P->docs++;
        }
        show(P, &pg, in.done_bytes + (in.r ? t6_reader_pos(in.r) : 0), 0);
        cur ^= 1;
        if (in.done && bt[cur].nd == 0) break;
    }
    close_shard(P, &P->val);
    close_shard(P, &P->train);
    fatal_ctx = NULL;
    show(P, &pg, pg.total, 1);

    double el = t6_now() - pg.t0;
    char a[32], b2[32], c2[32], d2[32];
    printf("t6-prep: %s documents, %s tokens (train %s, val %s) from %d input file(s), %.1f MB in %.1f s (%.1f MB/s, %d threads)\n",
           t6_fmt_count(a, sizeof a, (long long)P->docs), t6_fmt_count(b2, sizeof b2, (long long)(P->train.total_tokens + P->val.total_tokens)),
           t6_fmt_count(c2, sizeof c2, (long long)P->train.total_tokens), t6_fmt_count(d2, sizeof d2, (long long)P->val.total_tokens),
           P->n_files, (double)P->bytes / 1e6, el, el > 0 ? (double)P->bytes / 1e6 / el : 0, nt);
    for (int i = 0; i < P->n_written; i++) printf("  wrote %s\n", P->written[i]);
    if (P->replaced_docs)
        printf("t6-prep: %" PRIu64 " document(s) had invalid UTF-8: %" PRIu64 " sequence(s) replaced by U+FFFD\n", P->replaced_docs, P->replacements);
    if (P->skipped) {
        printf("t6-prep: skipped %" PRIu64 " record(s); first ones:\n", P->skipped);
        for (int i = 0; i < P->n_first_skips; i++) printf("  %s\n", P->first_skips[i]);
    }
    for (int i = 0; i < nt; i++) {
        t6_bpe_state_free(states[i]);
        t6_tokvec_free(&vecs[i]);
        free(fix[i]);
        free(jscr[i]);
    }
    free(jscr);
    free(jcap);
    free(states);
    free(vecs);
    free(fix);
    free(fixcap);
    for (int k = 0; k < 2; k++) {
        free(bt[k].docs);
        free(bt[k].arena);
    }
    free(order);
    for (int i = 0; i < P->n_files; i++) free(P->files[i]);
    for (int i = 0; i < P->n_written; i++) free(P->written[i]);
    free(P->files);
    free(P->sizes);
    free(P->written);
    t6_bpe_free(P->bpe);
    free(P);
    return 0;
}
