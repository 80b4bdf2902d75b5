/* data.c -- training / validation token streams over t6-corpus shards (see data.h
 * for the sampling definition) and the builtin synthetic demo corpus. */
#include "data.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus.h"
#include "h5io.h"     /* t6_mkdir_p */
#include "manifest.h"
#include "util.h"

#define DEMO_VOCAB 512
#define DEMO_PREFIX "builtin:demo-"

typedef struct {
    char *path;
    char key[48];          /* deck key that named it, e.g. "data.train[0]" */
    t6_corpus *c;
    uint64_t n_tokens;
    uint64_t n_windows;    /* non-overlapping windows of seq_len (+1 target) tokens */
    uint64_t first_window; /* cumulative windows of the shards before this one */
} shard;

typedef struct {
    shard *s;
    int n;
    uint64_t n_windows;
} split;

struct t6_data {
    split train, val;
    int B, T, accum, rank, world, vocab;
    t6_sampling sampling;
    uint64_t seed;
    uint64_t next;
    /* epoch mode: permutation of the current epoch */
    uint32_t *perm;
    uint64_t perm_epoch;
    int perm_valid;
    int32_t *buf;          /* T+1 tokens */
    uint64_t fingerprint;  /* of the training shards, rank 0 (t6_data_fingerprint) */
};

/* ---- counter-based random numbers: splitmix64 finalizer over (seed, stream, k) ---- */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint64_t hash3(uint64_t seed, uint64_t stream, uint64_t k)
{
    return mix64(mix64(mix64(seed) ^ stream) ^ k);
}
/* Uniform integer in [0, n) (n > 0) from a 64-bit hash; the modulo bias is below
 * n / 2^64, far under anything a training run can see. */
static uint64_t below(uint64_t h, uint64_t n) { return h % n; }

/* ---- files ---- */
static void add_shard(split *sp, const char *path, const char *key)
{
    sp->s = t6_realloc(sp->s, (size_t)(sp->n + 1) * sizeof *sp->s);
    shard *s = &sp->s[sp->n++];
    memset(s, 0, sizeof *s);
    s->path = t6_strdup(path);
    snprintf(s->key, sizeof s->key, "%s", key);
}

/* Resolves one deck entry (file, glob or builtin) into shards. */
static void resolve_entry(split *sp, const char *entry, const char *key, const t6_deck *deck,
                          t6_dist *dist)
{
    if (strncmp(entry, DEMO_PREFIX, strlen(DEMO_PREFIX)) == 0) {
        const char *which = entry + strlen(DEMO_PREFIX);
        if (strcmp(which, "train") != 0 && strcmp(which, "val") != 0)
            t6_fatal_hint("use \"builtin:demo-train\" or \"builtin:demo-val\"",
                          "%s = \"%s\": unknown builtin corpus", key, entry);
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/data", deck->output.run_dir);
        snprintf(path, sizeof path, "%s/demo_%s.h5", dir, which);
        if (dist->rank == 0 && access(path, R_OK) != 0) {
            char err[512];
            t6_mkdir_p(dir);
            if (t6_demo_corpus_write(path, which, err, sizeof err) != 0)
                t6_fatal("%s = \"%s\": cannot write the demo corpus '%s': %s", key, entry, path, err);
        }
        t6_dist_barrier(dist);
        add_shard(sp, path, key);
        return;
    }
    if (strpbrk(entry, "*?[")) {
        glob_t g;
        int rc = glob(entry, 0, NULL, &g);
        if (rc != 0 || g.gl_pathc == 0) {
            if (rc == 0) globfree(&g);
            t6_fatal_hint("check the pattern and that t6-prep wrote the shards",
                          "%s = \"%s\": the pattern matches no file", key, entry);
        }
        for (size_t i = 0; i < g.gl_pathc; i++) add_shard(sp, g.gl_pathv[i], key);  /* glob sorts */
        globfree(&g);
        return;
    }
    if (access(entry, R_OK) != 0)
        t6_fatal_hint("check the path (relative paths are relative to the working directory)",
                      "%s = \"%s\": cannot read the file: %s", key, entry, strerror(errno));
    add_shard(sp, entry, key);
}

/* Opens every shard of a split: checks it against t6-prep's manifest when one is
 * beside it, skips (with a warning) a shard shorter than one sequence, and with
 * data.verify = "full" reads it once (Fletcher-32 checksums, every token < vocab),
 * the shards shared out over the ranks. */
static void open_split(split *sp, char **entries, int n, const char *name, const t6_deck *deck,
                       t6_dist *dist, int T)
{
    char key[48], err[1024];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "data.%s[%d]", name, i);
        resolve_entry(sp, entries[i], key, deck, dist);
    }
    int kept = 0, runts = 0;
    for (int i = 0; i < sp->n; i++) {
        shard *s = &sp->s[i];
        s->c = t6_corpus_open(s->path, err, sizeof err);
        if (!s->c)
            t6_fatal_hint("re-run t6-prep for this shard or remove it from the deck",
                          "%s: corpus '%s' cannot be used: %s", s->key, s->path, err);
        const t6_corpus_meta *m = t6_corpus_get_meta(s->c);
        int checked;
        if (t6_manifest_check(s->path, m->n_tokens, m->n_documents, &checked, err, sizeof err) != 0)
            t6_fatal("%s: %s", s->key, err);
        s->n_tokens = m->n_tokens;
        if (s->n_tokens < (uint64_t)T + 1) {
            /* a short last shard of an older t6-prep (today's merges it) must not
             * make the whole glob unusable */
            if (dist->rank == 0)
                fprintf(stderr, "%s: warning: %s: skipping corpus '%s': it holds %llu tokens, fewer than one sequence "
                        "of train.seq_len + 1 = %d\n", t6_progname(), s->key, s->path, (unsigned long long)s->n_tokens, T + 1);
            t6_corpus_close(s->c);
            free(s->path);
            runts++;
            continue;
        }
        sp->s[kept++] = *s;
    }
    sp->n = kept;
    if (kept == 0 && runts > 0)
        t6_fatal_hint("use larger shards or a shorter train.seq_len",
                      "data.%s: every shard holds fewer than one sequence of train.seq_len + 1 = %d tokens", name, T + 1);
    for (int i = 0; i < sp->n; i++) {
        shard *s = &sp->s[i];
        s->n_windows = (s->n_tokens - 1) / (uint64_t)T;
        s->first_window = sp->n_windows;
        sp->n_windows += s->n_windows;
        if (deck->data.verify == T6_VERIFY_FULL && i % dist->world == dist->rank &&
            t6_corpus_verify(s->c, err, sizeof err) != 0)
            t6_fatal_hint("re-run t6-prep for this shard; data.verify = \"quick\" skips this check (not the damage)",
                          "%s: %s", s->key, err);
    }
}

/* ---- the training split's fingerprint (data.h) ---------------------------------- */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t split_fingerprint(const split *sp)
{
    enum { SAMPLE = 4096 };
    char err[512];
    int32_t *buf = t6_malloc(SAMPLE * sizeof(int32_t));
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < sp->n; i++) {
        const shard *s = &sp->s[i];
        const t6_corpus_meta *m = t6_corpus_get_meta(s->c);
        uint64_t counts[2] = {m->n_tokens, m->n_documents};
        h = fnv1a(h, counts, sizeof counts);
        h = fnv1a(h, m->vocab_hash, strlen(m->vocab_hash));
        uint64_t n = s->n_tokens, len = n < SAMPLE ? n : SAMPLE;
        uint64_t at[3] = {0, (n - len) / 2, n - len};
        for (int k = 0; k < 3; k++) {
            if (t6_corpus_read(s->c, at[k], (size_t)len, buf, err, sizeof err) != 0)
                t6_fatal_hint("the file may be truncated or damaged: re-run t6-prep for it",
                              "%s: reading tokens [%llu, %llu) of corpus '%s' failed: %s", s->key,
                              (unsigned long long)at[k], (unsigned long long)(at[k] + len), s->path, err);
            h = fnv1a(h, buf, (size_t)len * sizeof(int32_t));
        }
    }
    free(buf);
    return h ? h : 1;   /* 0 means "unknown" */
}

uint64_t t6_data_fingerprint(const t6_data *d) { return d->fingerprint; }

uint64_t t6_data_train_tokens(const t6_data *d)
{
    uint64_t n = 0;
    for (int i = 0; i < d->train.n; i++) n += d->train.s[i].n_tokens;
    return n;
}

/* Every shard must come from the same tokenizer as the first training shard, and
 * the model's vocabulary must cover it. */
static void check_meta(t6_data *d, const shard *ref, const shard *s)
{
    const t6_corpus_meta *a = t6_corpus_get_meta(ref->c), *b = t6_corpus_get_meta(s->c);
    if (strcmp(a->tokenizer, b->tokenizer) != 0 || strcmp(a->vocab_hash, b->vocab_hash) != 0)
        t6_fatal_hint("prepare every shard of a run with the same tokenizer",
                      "%s: corpus '%s' has tokenizer \"%s\" (vocab_hash %.16s...) but %s '%s' has \"%s\" (vocab_hash %.16s...)",
                      s->key, s->path, b->tokenizer, b->vocab_hash, ref->key, ref->path, a->tokenizer, a->vocab_hash);
    if (b->vocab_size > d->vocab)
        t6_fatal_hint("set model.vocab_size to at least the corpus vocab_size (GPT-2: 50304 >= 50257)",
                      "%s: corpus '%s' has vocab_size %d, larger than model.vocab_size = %d",
                      s->key, s->path, b->vocab_size, d->vocab);
}

t6_data *t6_data_open(const t6_deck *deck, t6_dist *dist)
{
    t6_data *d = t6_calloc(1, sizeof *d);
    double t0 = t6_now();
    d->B = deck->train.micro_batch;
    d->T = deck->train.seq_len;
    d->accum = deck->train.grad_accum > 0 ? deck->train.grad_accum : 1;
    d->rank = dist->rank;
    d->world = dist->world;
    d->vocab = deck->model.vocab_size;
    d->sampling = deck->data.sampling;
    d->seed = deck->train.seed;
    if (deck->data.n_train <= 0)
        t6_fatal_hint("name at least one corpus shard in data.train", "data.train is empty");
    open_split(&d->train, deck->data.train, deck->data.n_train, "train", deck, dist, d->T);
    open_split(&d->val, deck->data.val, deck->data.n_val, "val", deck, dist, d->T);
    for (int i = 0; i < d->train.n; i++) check_meta(d, &d->train.s[0], &d->train.s[i]);
    for (int i = 0; i < d->val.n; i++) check_meta(d, &d->train.s[0], &d->val.s[i]);
    if (dist->rank == 0) d->fingerprint = split_fingerprint(&d->train);
    /* (no barrier for the verification: a rank that finds damage stops the run
     * through t6_fatal, which aborts every rank) */
    if (dist->rank == 0 && deck->data.verify == T6_VERIFY_FULL && t6_now() - t0 > 2)
        fprintf(stderr, "%s: data: verified %d shard(s) in %.1f s (data.verify = \"quick\" skips the scan)\n", t6_progname(),
                d->train.n + d->val.n, t6_now() - t0);
    /* evaluation reads the first eval_iters x micro_batch windows of the val split;
     * more than it holds would silently average repeats */
    uint64_t want = (uint64_t)deck->train.eval_iters * (uint64_t)d->B;
    if (dist->rank == 0 && d->val.n > 0 && want > d->val.n_windows)
        fprintf(stderr, "%s: warning: train.eval_iters x train.micro_batch = %d x %d = %llu sequences per evaluation, but "
                "the validation shards hold %llu windows of train.seq_len + 1 tokens: windows repeat\n"
                "  hint: set train.eval_iters to at most %llu\n", t6_progname(), deck->train.eval_iters, d->B,
                (unsigned long long)want, (unsigned long long)d->val.n_windows,
                (unsigned long long)(d->val.n_windows / (uint64_t)d->B > 0 ? d->val.n_windows / (uint64_t)d->B : 1));
    d->buf = t6_malloc(((size_t)d->T + 1) * sizeof(int32_t));
    return d;
}

void t6_data_close(t6_data *d)
{
    if (!d) return;
    split *sps[2] = {&d->train, &d->val};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < sps[k]->n; i++) {
            t6_corpus_close(sps[k]->s[i].c);
            free(sps[k]->s[i].path);
        }
        free(sps[k]->s);
    }
    free(d->perm);
    free(d->buf);
    free(d);
}

/* Reads T+1 tokens at `start` of shard s into tokens/targets (one row). */
static void read_window(t6_data *d, shard *s, uint64_t start, int32_t *tokens, int32_t *targets)
{
    char err[512];
    const int T = d->T;
    if (t6_corpus_read(s->c, start, (size_t)T + 1, d->buf, err, sizeof err) != 0)
        t6_fatal_hint("the file may be truncated or damaged: re-run t6-prep for it",
                      "%s: reading tokens [%llu, %llu) of corpus '%s' failed: %s", s->key,
                      (unsigned long long)start, (unsigned long long)(start + T + 1), s->path, err);
    const int V = t6_corpus_get_meta(s->c)->vocab_size;
    for (int i = 0; i <= T; i++)
        if (d->buf[i] < 0 || d->buf[i] >= V)
            t6_fatal_hint("the file is damaged: re-run t6-prep for it",
                          "%s: corpus '%s' holds token %d at offset %llu, outside its vocab_size %d",
                          s->key, s->path, (int)d->buf[i], (unsigned long long)(start + i), V);
    memcpy(tokens, d->buf, (size_t)T * sizeof(int32_t));
    memcpy(targets, d->buf + 1, (size_t)T * sizeof(int32_t));
}

/* Window w (0 .. n_windows-1) of a split -> shard and start offset. */
static shard *locate_window(split *sp, uint64_t w, uint64_t T, uint64_t *start)
{
    int lo = 0, hi = sp->n - 1;
    while (lo < hi) {     /* last shard whose first_window <= w */
        int mid = (lo + hi + 1) / 2;
        if (sp->s[mid].first_window <= w) lo = mid; else hi = mid - 1;
    }
    *start = (w - sp->s[lo].first_window) * T;
    return &sp->s[lo];
}

static void make_perm(t6_data *d, uint64_t epoch)
{
    uint64_t W = d->train.n_windows;
    if (W > UINT32_MAX)
        t6_fatal_hint("use data.sampling = \"random\" for corpora this large",
                      "epoch sampling supports at most %u windows, the corpus has %llu", UINT32_MAX,
                      (unsigned long long)W);
    if (!d->perm) d->perm = t6_malloc((size_t)W * sizeof(uint32_t));
    for (uint64_t i = 0; i < W; i++) d->perm[i] = (uint32_t)i;
    /* Fisher-Yates driven by the counter-based hash of (seed, epoch, i) */
    for (uint64_t i = W - 1; i > 0; i--) {
        uint64_t j = below(hash3(d->seed, 0x45504f4348ull + epoch, i), i + 1);
        uint32_t t = d->perm[i];
        d->perm[i] = d->perm[j];
        d->perm[j] = t;
    }
    d->perm_epoch = epoch;
    d->perm_valid = 1;
}

static void sample(t6_data *d, uint64_t k, int32_t *tokens, int32_t *targets)
{
    split *sp = &d->train;
    const uint64_t T = (uint64_t)d->T;
    if (d->sampling == T6_SAMPLE_EPOCH) {
        uint64_t W = sp->n_windows, e = k / W;
        if (!d->perm_valid || d->perm_epoch != e) make_perm(d, e);
        uint64_t start;
        shard *s = locate_window(sp, d->perm[k % W], T, &start);
        read_window(d, s, start, tokens, targets);
    } else {
        /* the reference: a random shard, then a random start with T+1 tokens after it */
        shard *s = &sp->s[below(hash3(d->seed, 0x5348415244ull, k), (uint64_t)sp->n)];
        uint64_t start = below(hash3(d->seed, 0x5354415254ull, k), s->n_tokens - T);
        read_window(d, s, start, tokens, targets);
    }
}

void t6_data_train_batch(t6_data *d, int micro, int32_t *tokens, int32_t *targets)
{
    const size_t T = (size_t)d->T;
    for (int b = 0; b < d->B; b++) {
        uint64_t j = ((uint64_t)d->rank * (uint64_t)d->accum + (uint64_t)micro) * (uint64_t)d->B + (uint64_t)b;
        sample(d, d->next + j, tokens + (size_t)b * T, targets + (size_t)b * T);
    }
}

void t6_data_advance(t6_data *d)
{
    d->next += (uint64_t)d->B * (uint64_t)d->accum * (uint64_t)d->world;
}

int t6_data_has_val(const t6_data *d) { return d->val.n > 0; }

void t6_data_val_batch(t6_data *d, int it, int32_t *tokens, int32_t *targets)
{
    const size_t T = (size_t)d->T;
    for (int b = 0; b < d->B; b++) {
        uint64_t k = (uint64_t)it * (uint64_t)d->B + (uint64_t)b;
        uint64_t start;
        shard *s = locate_window(&d->val, k % d->val.n_windows, T, &start);
        read_window(d, s, start, tokens + (size_t)b * T, targets + (size_t)b * T);
    }
}

void t6_data_get_state(const t6_data *d, t6_data_state *st)
{
    st->seed = d->seed;
    st->next = d->next;
    st->n_windows = d->train.n_windows;
    st->sampling = (int)d->sampling;
    st->fingerprint = d->fingerprint;
}

void t6_data_set_state(t6_data *d, const t6_data_state *st, const char *ckpt)
{
    if (st->sampling != (int)d->sampling)
        t6_fatal_hint("resume with the data.sampling the run started with",
                      "checkpoint '%s' was written with data.sampling = \"%s\", the deck says \"%s\"", ckpt,
                      st->sampling == T6_SAMPLE_EPOCH ? "epoch" : "random",
                      d->sampling == T6_SAMPLE_EPOCH ? "epoch" : "random");
    if (st->seed != d->seed)
        t6_fatal_hint("resume with the train.seed the run started with",
                      "checkpoint '%s' was written with train.seed = %llu, the deck says %llu", ckpt,
                      (unsigned long long)st->seed, (unsigned long long)d->seed);
    if (d->sampling == T6_SAMPLE_EPOCH && st->n_windows != d->train.n_windows)
        fprintf(stderr, "%s: warning: checkpoint '%s' saw %llu training windows, the corpus now has %llu: "
                "the epoch order changes from here on\n", t6_progname(), ckpt,
                (unsigned long long)st->n_windows, (unsigned long long)d->train.n_windows);
    d->next = st->next;
    d->perm_valid = 0;
}

/* ---- the builtin demo corpus ------------------------------------------------------
 * A small made-up language over 512 token ids, generated by this code alone (no
 * third-party text), with structure a tiny transformer learns in seconds:
 *  - 70% of documents: word chains, each word (1..400) followed by one of its four
 *    successors with probabilities .55/.25/.12/.08 (a bigram model: entropy ~1.6 nats
 *    against ln 512 = 6.2 for a uniform guess);
 *  - 15%: counting runs 401, 402, ... 510 (wrapping), from a random start;
 *  - 15%: a random span of 6-12 words, the separator 511, then the span again and
 *    again (solvable only by attending back: the copy structure of induction heads).
 * Token 0 ends every document (<|endoftext|> of this language). */
typedef struct { uint64_t s; } demo_rng;
static uint64_t demo_next(demo_rng *r) { r->s += 0x9e3779b97f4a7c15ull; return mix64(r->s); }
static uint32_t demo_below(demo_rng *r, uint32_t n) { return (uint32_t)(demo_next(r) % n); }

int t6_demo_corpus_write(const char *path, const char *which, char *err, size_t err_len)
{
    const int is_train = strcmp(which, "train") == 0;
    const uint64_t target = is_train ? 600000 : 60000;
    t6_corpus_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.version = T6_CORPUS_VERSION;
    snprintf(meta.tokenizer, sizeof meta.tokenizer, "t6-demo");
    snprintf(meta.vocab_hash, sizeof meta.vocab_hash, "t6-demo-language-v1");
    meta.vocab_size = DEMO_VOCAB;
    meta.eot_id = 0;
    snprintf(meta.split, sizeof meta.split, "%s", is_train ? "train" : "val");
    snprintf(meta.source, sizeof meta.source, "builtin:demo-%s (t6 synthetic demo language v1)", which);
    meta.token_bits = 16;
    t6_corpus_writer *w = t6_corpus_writer_open(path, &meta, err, err_len);
    if (!w) return -1;

    uint32_t succ[401][4];
    demo_rng tr = {0x74362d64656d6fULL};    /* the language itself: same for both splits */
    for (int a = 1; a <= 400; a++)
        for (int c = 0; c < 4; c++) succ[a][c] = 1 + demo_below(&tr, 400);
    demo_rng r = {is_train ? 0x747261696eULL : 0x76616cULL};   /* the documents */
    uint32_t doc[400];
    while (t6_corpus_writer_tokens(w) < target) {
        int len = 32 + (int)demo_below(&r, 224), n = 0;
        uint32_t kind = demo_below(&r, 100);
        if (kind < 70) {
            uint32_t cur = 1 + demo_below(&r, 400);
            while (n < len) {
                doc[n++] = cur;
                uint32_t p = demo_below(&r, 100);
                int c = p < 55 ? 0 : p < 80 ? 1 : p < 92 ? 2 : 3;
                cur = succ[cur][c];
            }
        } else if (kind < 85) {
            uint32_t cur = 401 + demo_below(&r, 110);
            while (n < len) {
                doc[n++] = cur;
                cur = cur == 510 ? 401 : cur + 1;
            }
        } else {
            uint32_t span[12];
            int sl = 6 + (int)demo_below(&r, 7);
            for (int i = 0; i < sl; i++) span[i] = 1 + demo_below(&r, 400);
            while (n + sl + 1 <= len) {
                for (int i = 0; i < sl; i++) doc[n++] = span[i];
                doc[n++] = 511;
            }
            if (n == 0) for (int i = 0; i < sl; i++) doc[n++] = span[i];
        }
        doc[n++] = 0;
        if (t6_corpus_writer_append(w, doc, (size_t)n, err, err_len) != 0) {
            t6_corpus_writer_abort(w);
            return -1;
        }
    }
    return t6_corpus_writer_close(w, err, err_len);
}
