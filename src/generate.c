/* generate.c -- job = "generate" (doc/generate.md): reads the prompts (deck, file or
 * stdin), encodes them (GPT-2 BPE, or token ids for the synthetic demo language),
 * loads the checkpoint the eval job would (output.resume, run_dir/checkpoints) into an
 * inference-only model, and decodes batch_size prompts at a time: a prefill (in groups
 * of rows, generate.prefill_tokens) writes the KV cache (kvcache.c), then one decode
 * step per token (model.c; a replayed CUDA graph where generate.cuda_graphs). Each
 * row's text goes through a textstream (UTF-8 and stop-string hold-back) and is
 * printed in prompt order: the first unfinished row of a batch streams live, the
 * others are buffered until it is done. Runs on rank 0 (other MPI ranks idle). */
#include "config.h"

#include "generate.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "bpe.h"
#include "ckpt.h"
#include "dist.h"
#include "hf.h"
#include "kvcache.h"
#include "model.h"
#include "rng.h"
#include "sample.h"
#include "signals.h"
#include "textstream.h"
#include "util.h"

typedef struct {
    const char *text;        /* as given (not owned) */
    char where[320];         /* "generate.prompts[2]", "FILE:LINE" */
    int32_t *ids;
    int n;
} prompt;

typedef struct {
    t6_deck *deck;
    const t6_generate_config *gc;
    prompt *p;
    int np;
    char **owned;            /* texts read from the prompt file */
    int n_owned;
    t6_bpe *bpe;
    int n_valid;             /* ids the tokenizer can print: the sampler's range */
    int out_errno;           /* the first failed write to stdout (0: none) */
} gen_ctx;

/* ---- prompts ------------------------------------------------------------------------ */

static void add_prompt(gen_ctx *g, const char *text, const char *where)
{
    g->p = t6_realloc(g->p, sizeof(prompt) * (size_t)(g->np + 1));
    prompt *p = &g->p[g->np++];
    memset(p, 0, sizeof *p);
    p->text = text;
    snprintf(p->where, sizeof p->where, "%s", where);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        t6_fatal_hint("give a readable file, or \"-\" for stdin", "generate.prompt_file = \"%s\": cannot open: %s", path,
                      strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = t6_malloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = t6_realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) t6_fatal("generate.prompt_file = \"%s\": read error: %s", path, strerror(errno));
    if (f != stdin) fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Prompts of the prompt file: by line (blank lines skipped), by paragraph (separated by
 * blank lines, lines joined with \n) or the whole file (one trailing newline dropped). */
static void read_prompt_file(gen_ctx *g)
{
    const char *path = g->gc->prompt_file;
    const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
    size_t len;
    char *all = read_all(path, &len);
    if (memchr(all, '\0', len)) t6_fatal("generate.prompt_file = \"%s\": contains a NUL byte (allowed: text)", path);
    /* a UTF-8 byte order mark (Windows editors write one) is not text of the first
     * prompt: invisible in messages, it made "401" an unknown id or fed the model a
     * U+FEFF token */
    if (len >= 3 && memcmp(all, "\xEF\xBB\xBF", 3) == 0) {
        memmove(all, all + 3, len - 2);   /* with the terminating NUL */
        len -= 3;
        fprintf(stderr, "generate: %s: skipping the UTF-8 byte order mark at its start\n", name);
    }
    char where[320];
    const int before = g->np;
    if (g->gc->prompt_split == T6_SPLIT_WHOLE) {
        if (len && all[len - 1] == '\n') all[--len] = '\0';
        if (len && all[len - 1] == '\r') all[--len] = '\0';
        snprintf(where, sizeof where, "%s:1", name);
        if (len) add_prompt(g, all, where);
    } else {
        /* split into lines (\r\n or \n), then one prompt per non-blank line, or per
         * run of non-blank lines joined with \n (a paragraph starts at its first line) */
        int line = 0, pline = 0;
        char *para = NULL;
        size_t plen = 0;
        char *s = all;
        const char *end_all = all + len;
        while (s <= end_all) {
            char *e = memchr(s, '\n', (size_t)(end_all - s));
            char *stop = e ? e : (char *)end_all;
            if (!e && s == end_all) break;   /* no text after the last newline */
            line++;
            size_t l = (size_t)(stop - s);
            if (l && s[l - 1] == '\r') l--;
            s[l] = '\0';
            if (g->gc->prompt_split == T6_SPLIT_LINE) {
                if (l) {
                    snprintf(where, sizeof where, "%s:%d", name, line);
                    add_prompt(g, s, where);
                }
            } else if (l) {
                if (!para) pline = line;
                para = t6_realloc(para, plen + l + 2);
                if (plen) para[plen++] = '\n';
                memcpy(para + plen, s, l);
                plen += l;
                para[plen] = '\0';
            }
            if (para && (!l || !e)) {   /* a blank line or the end closes a paragraph */
                snprintf(where, sizeof where, "%s:%d", name, pline);
                g->owned = t6_realloc(g->owned, sizeof(char *) * (size_t)(g->n_owned + 1));
                g->owned[g->n_owned++] = para;
                add_prompt(g, para, where);
                para = NULL;
                plen = 0;
            }
            if (!e) break;
            s = e + 1;
        }
        if (para) {   /* the file ended with a newline right after the paragraph */
            snprintf(where, sizeof where, "%s:%d", name, pline);
            g->owned = t6_realloc(g->owned, sizeof(char *) * (size_t)(g->n_owned + 1));
            g->owned[g->n_owned++] = para;
            add_prompt(g, para, where);
        }
    }
    if (g->np == before)
        t6_fatal_hint("one prompt per line (generate.prompt_split = \"line\"); blank lines are skipped",
                      "generate.prompt_file = \"%s\": no prompts in it (empty prompt)", path);
    g->owned = t6_realloc(g->owned, sizeof(char *) * (size_t)(g->n_owned + 1));
    g->owned[g->n_owned++] = all;
}

static void tokenize(gen_ctx *g)
{
    const t6_model_config *m = &g->deck->model;
    const int V = m->vocab_size;
    t6_bpe_state *st = NULL;
    if (g->gc->tokenizer == T6_TOK_GPT2) {
        char err[1024];
        int pinned = 1;
        g->bpe = t6_bpe_load(g->gc->vocab_dir, &pinned, err, sizeof err);
        if (!g->bpe)
            t6_fatal_hint("fetch it with tools/fetch-gpt2-vocab.sh DIR, or use generate.tokenizer = \"ids\"",
                          "generate.vocab_dir = \"%s\": cannot load the GPT-2 vocabulary: %s", g->gc->vocab_dir, err);
        if (!pinned)
            fprintf(stderr, "%s: warning: %s: not the GPT-2 files tiktoken pins; text may differ from the model's training\n",
                    t6_progname(), g->gc->vocab_dir);
        st = t6_bpe_state_new(g->bpe);
        g->n_valid = t6_bpe_vocab_size(g->bpe) < V ? t6_bpe_vocab_size(g->bpe) : V;
    } else {
        g->n_valid = V;
    }
    for (int i = 0; i < g->np; i++) {
        prompt *p = &g->p[i];
        if (!p->text[0])
            t6_fatal_hint("every prompt needs at least one token", "%s: the prompt is empty", p->where);
        if (st) {
            t6_tokvec tv = {0};
            int rc = t6_bpe_encode(st, p->text, strlen(p->text), 1, &tv);
            if (rc == -1) t6_fatal_hint("prompts are UTF-8 text", "%s: the prompt is not valid UTF-8", p->where);
            if (rc != 0) t6_fatal("%s: the tokenizer failed on the prompt (PCRE2 error %d)", p->where, rc);
            p->n = (int)tv.n;
            p->ids = t6_malloc(sizeof(int32_t) * (tv.n ? tv.n : 1));
            for (size_t j = 0; j < tv.n; j++) p->ids[j] = (int32_t)tv.v[j];
            t6_tokvec_free(&tv);
            for (int j = 0; j < p->n; j++)
                if (p->ids[j] >= V)
                    t6_fatal_hint("the gpt2 tokenizer needs a model over the GPT-2 vocabulary (model.vocab_size >= "
                                  "50257); the demo language's prompts are ids (generate.tokenizer = \"ids\")",
                                  "%s: its GPT-2 token %d (at token %d) is outside the model's vocabulary of %d", p->where,
                                  p->ids[j], j, V);
        } else {
            const char *s = p->text;
            int cap = 16;
            p->ids = t6_malloc(sizeof(int32_t) * (size_t)cap);
            for (;;) {
                while (*s == ' ' || *s == '\t' || *s == ',' || *s == '\n' || *s == '\r') s++;
                if (!*s) break;
                char *end;
                errno = 0;
                long v = strtol(s, &end, 10);
                if (end == s || errno || v < 0 || v >= V || (*end && !strchr(" \t,\r\n", *end)))
                    t6_fatal_hint("tokenizer \"ids\": token ids 0..model.vocab_size-1 separated by spaces",
                                  "%s: \"%.40s\" is not a token id of the vocabulary of %d", p->where, s, V);
                if (p->n == cap) p->ids = t6_realloc(p->ids, sizeof(int32_t) * (size_t)(cap *= 2));
                p->ids[p->n++] = (int32_t)v;
                s = end;
            }
        }
        if (p->n == 0) t6_fatal_hint("every prompt needs at least one token", "%s: the prompt is empty (no tokens)", p->where);
        /* a prompt of block_size tokens still yields one token, predicted from its last
         * position, as every later token is predicted from at most block_size positions */
        if (p->n > m->block_size)
            t6_fatal_hint("shorten the prompt (the model sees at most model.block_size tokens)",
                          "%s: the prompt has %d tokens, more than model.block_size = %d (allowed: at most %d tokens)",
                          p->where, p->n, m->block_size, m->block_size);
    }
    if (st) t6_bpe_state_free(st);
}

/* ---- weights ------------------------------------------------------------------------ */

/* Weights named by generate.source = "hf:DIR" or by model.init_from (an HF export or a
 * checkpoint's parameters), which, as for job eval, take the place of the run's
 * checkpoints; 0 when neither is set. Before this, model.init_from was ignored and the
 * run's newest checkpoint silently used instead. */
static int load_named_weights(gen_ctx *g, t6_model *model)
{
    const t6_deck *d = g->deck;
    const char *src = g->gc->source, *init = d->init_from;
    const int have_init = init && *init && strcmp(init, "none") != 0;
    const int src_hf = strncmp(src, "hf:", 3) == 0;
    if (src_hf && have_init && strcmp(init, src) != 0)
        t6_fatal_hint("set one of the two (model.init_from = \"none\", or generate.source = \"checkpoint\")",
                      "generate.source = \"%s\" and model.init_from = \"%s\" name different weights", src, init);
    if (!src_hf && !have_init) return 0;
    const char *spec = src_hf ? src : init, *key = src_hf ? "generate.source" : "model.init_from";
    const t6_param_layout *pl = t6_model_layout(model);
    float *params = t6_malloc(pl->n_params * sizeof(float));
    char err[2048];
    if (t6_init_from(spec, &d->model, pl, params, err, sizeof err) < 0)
        t6_fatal_hint("see doc/generate.md and doc/formats/hf-export.md", "%s = \"%s\": %s", key, spec, err);
    fprintf(stderr, "generate: weights from %s (%s)\n", spec, key);
    t6_model_set_params(model, params);
    free(params);
    return 1;
}

/* The checkpoint job eval would use: output.resume = auto (newest valid one in
 * run_dir/checkpoints) or a path; "never" has nothing to generate from. */
static void load_weights(gen_ctx *g, t6_model *model)
{
    if (load_named_weights(g, model)) return;
    const t6_deck *d = g->deck;
    const char *mode = d->output.resume ? d->output.resume : "auto";
    const t6_param_layout *pl = t6_model_layout(model);
    const size_t n = pl->n_params;
    char dir[4200], err[1024];
    snprintf(dir, sizeof dir, "%s/checkpoints", d->output.run_dir);
    t6_ckpt_tensors t = {t6_malloc(n * sizeof(float)), t6_malloc(n * sizeof(float)), t6_malloc(n * sizeof(float))};
    t6_ckpt_state st;
    memset(&st, 0, sizeof st);
    if (strcmp(mode, "never") == 0)
        t6_fatal_hint("set output.resume = \"auto\" or a checkpoint path",
                      "output.resume = \"never\": job \"generate\" needs a checkpoint");
    if (strcmp(mode, "auto") == 0) {
        char **paths = NULL;
        long *steps = NULL;
        int np = t6_ckpt_list(dir, &paths, &steps), found = -1;
        for (int i = 0; i < np && found < 0; i++) {
            if (t6_ckpt_load(paths[i], d, pl, 0, &t, &st, err, sizeof err) == 0) found = i;
            else fprintf(stderr, "%s: warning: skipping checkpoint '%s': %s\n", t6_progname(), paths[i], err);
        }
        if (found < 0)
            t6_fatal_hint("train first (same output.run_dir), or set output.resume to a checkpoint path",
                          "job \"generate\" needs a checkpoint in '%s' but %s", dir,
                          np == 0 ? "there is none" : "none of them is valid");
        fprintf(stderr, "generate: weights from %s (step %ld)\n", paths[found], st.step);
        t6_ckpt_list_free(paths, steps, np);
    } else {
        if (t6_ckpt_load(mode, d, pl, 0, &t, &st, err, sizeof err) != 0)
            t6_fatal_hint("give a complete checkpoint file, or \"auto\"",
                          "output.resume = \"%s\": not a valid checkpoint: %s", mode, err);
        fprintf(stderr, "generate: weights from %s (step %ld)\n", mode, st.step);
    }
    t6_model_set_params(model, t.params);
    free(t.params);
    free(t.m);
    free(t.v);
}

/* ---- output ------------------------------------------------------------------------- */

typedef struct {
    int idx;                 /* prompt index */
    int done, ngen, pos;     /* finished; tokens generated; position of the next token to feed */
    t6_textstream ts;
    int started;             /* its header and prompt were printed */
    int cut;                 /* ended by a signal: an unfinished character is dropped */
} row_state;

static void print_head(gen_ctx *g, row_state *r)
{
    const prompt *p = &g->p[r->idx];
    if (g->np > 1) printf("== prompt %d/%d ==\n", r->idx + 1, g->np);
    if (g->gc->tokenizer == T6_TOK_IDS) {
        for (int j = 0; j < p->n; j++) printf(j ? " %d" : "%d", p->ids[j]);
        printf(" |");
    } else {
        fputs(p->text, stdout);
    }
    r->started = 1;
}

/* Prints what can be printed, in prompt order; returns the new cursor. A failed write
 * to stdout (a full disk, a closed pipe) is recorded in g->out_errno for the caller. */
static int flush_rows(gen_ctx *g, row_state *rows, int nb, int cursor)
{
    while (cursor < nb) {
        row_state *r = &rows[cursor];
        if (!r->started) print_head(g, r);
        const char *out;
        size_t n = t6_textstream_take(&r->ts, r->done ? (r->cut ? T6_TS_CUT : T6_TS_END) : T6_TS_MORE, &out);
        if (n) fwrite(out, 1, n, stdout);
        if (!r->done) break;
        fputc('\n', stdout);
        cursor++;
    }
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && !g->out_errno) g->out_errno = errno ? errno : EIO;
    return cursor;
}

/* A NaN or infinite logit means the weights or the arithmetic broke (a damaged or
 * diverged checkpoint, an overflow): the argmax or draw over them would be a token
 * printed as if it were the model's choice. Stops with an error instead. */
static void check_logits(const gen_ctx *g, const row_state *r, const float *l, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(l[i]))
            t6_fatal_hint("the weights hold NaN, infinite or overflowing values (a damaged or diverged checkpoint?)",
                          "%s: the model's logits for generated token %d are not finite (logit of token %d is %s); "
                          "the text printed so far is all that is valid",
                          g->p[r->idx].where, r->ngen + 1, i, isnan(l[i]) ? "NaN" : "infinite");
}

/* Text of one generated token into the row's stream. */
static void push_token(gen_ctx *g, row_state *r, int tok)
{
    if (g->bpe) {
        char buf[256];
        const uint32_t id = (uint32_t)tok;
        size_t n = t6_bpe_decode(g->bpe, &id, 1, buf, sizeof buf);
        if (n == (size_t)-1 || n > sizeof buf) n = 0;   /* cannot happen below n_valid */
        t6_textstream_push(&r->ts, buf, n);
    } else {
        char buf[32];
        int n = snprintf(buf, sizeof buf, " %d", tok);
        t6_textstream_push(&r->ts, buf, (size_t)n);
    }
}

/* ---- the job ------------------------------------------------------------------------ */

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGUSR1: return "SIGUSR1";
    default: return "a signal";
    }
}

int t6_generate_run(t6_deck *deck)
{
    t6_dist dist;
    t6_dist_init(&dist);
    if (dist.rank != 0) {   /* generation is one process's work */
        t6_dist_finalize(&dist);
        return 0;
    }
    if (dist.world > 1) fprintf(stderr, "generate: runs on rank 0 only; %d other rank(s) idle\n", dist.world - 1);
    gen_ctx g;
    memset(&g, 0, sizeof g);
    g.deck = deck;
    g.gc = &deck->generate;
    const t6_generate_config *gc = g.gc;
    const t6_model_config *mc = &deck->model;
    char key[64];
    for (int i = 0; i < gc->n_prompts; i++) {
        snprintf(key, sizeof key, "generate.prompts[%d]", i);
        add_prompt(&g, gc->prompts[i], key);
    }
    if (gc->prompt_file) read_prompt_file(&g);
    tokenize(&g);

    int maxp = 0;
    for (int i = 0; i < g.np; i++)
        if (g.p[i].n > maxp) maxp = g.p[i].n;
    const int Bsz = gc->batch_size < g.np ? gc->batch_size : g.np;
    long want = (long)maxp + gc->max_new_tokens;
    const int M = want < mc->block_size ? (int)want : mc->block_size;
    const int V = mc->vocab_size;

    t6_signals_install();
    t6_signals_set_sigint_note("\nt6: SIGINT: stopping after this token; the text so far is printed, the exit "
                               "status is 130 (press Ctrl-C again to abort)\n");
    t6_backend *be = t6_backend_create(&deck->backend, dist.local_rank);
    /* an inference model for one group of prefill rows (doc/generate.md "Memory"): the
     * prompts of a batch go through the forward generate.prefill_tokens tokens' worth of
     * rows at a time, scoring only each row's last prompt position */
    int prefill_rows = gc->prefill_tokens / maxp;
    if (prefill_rows < 1) prefill_rows = 1;
    if (prefill_rows > Bsz) prefill_rows = Bsz;
    t6_model *model = t6_model_create_inference(mc, be, prefill_rows, maxp, prefill_rows);
    if (strcmp(gc->source, "init") == 0) {
        if (deck->init_from && *deck->init_from && strcmp(deck->init_from, "none") != 0)
            t6_fatal_hint("set model.init_from = \"none\", or generate.source = \"checkpoint\" to use its weights",
                          "generate.source = \"init\" (untrained weights) but model.init_from = \"%s\" names weights",
                          deck->init_from);
        /* untrained weights: for throughput measurements without a checkpoint */
        t6_model_init_params(model, deck->train.seed);
        fprintf(stderr, "generate: weights from the initialization (train.seed = %llu), not a checkpoint\n",
                (unsigned long long)deck->train.seed);
    } else {
        load_weights(&g, model);
    }
    {
        /* a cache larger than the machine's memory is refused before it is allocated:
         * on Linux the allocation succeeds (overcommit) and the OOM killer ends the job
         * (or a neighbour's) when the cache fills. The CUDA backend's allocation fails
         * cleanly instead. */
        const double want_bytes = (double)t6_kvcache_bytes_per_token_layer(mc, be->act_bytes) * Bsz * M * mc->n_layer;
        const double ram = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGE_SIZE);
        if (be->kind != T6_BACKEND_CUDA && ram > 0 && want_bytes > ram) {
            char a[64], b[64];
            t6_fatal_hint("lower generate.max_new_tokens (the cache holds the longest prompt + max_new_tokens, at most "
                          "model.block_size) or generate.batch_size; t6 --check prints the cache size",
                          "generate: the KV cache needs %s bytes (%d rows x %d tokens x %d layers), more than this "
                          "machine's %s bytes of memory", t6_fmt_count(a, sizeof a, (long long)want_bytes), Bsz, M,
                          mc->n_layer, t6_fmt_count(b, sizeof b, (long long)ram));
        }
    }
    t6_kvcache *kv = t6_kvcache_create(model, Bsz, M);
    kv->use_graphs = gc->cuda_graphs && be->kind == T6_BACKEND_CUDA;
    char nb[64];
    fprintf(stderr, "generate: %d prompt(s), batch %d, %s attention, KV cache %d rows x %d tokens x %d layers x %zu bytes = %s bytes\n",
            g.np, Bsz, t6_attn_name(mc->attention), Bsz, M, mc->n_layer,
            t6_kvcache_bytes_per_token_layer(mc, be->act_bytes), t6_fmt_count(nb, sizeof nb, (long long)kv->cache_bytes));
    fprintf(stderr, "generate: prefill in groups of %d row(s) of up to %d tokens (generate.prefill_tokens = %d); "
                    "decode step %s\n", prefill_rows, maxp, gc->prefill_tokens,
            kv->use_graphs ? "replayed as a CUDA graph" : "launched op by op");
    size_t mem_decode = 0;

    const t6_sampler smp = {gc->temperature, gc->top_k, gc->top_p};
    float *logits = t6_malloc(sizeof(float) * (size_t)Bsz * V);
    int32_t *tok = t6_malloc(sizeof(int32_t) * (size_t)Bsz * maxp);
    int32_t *ntok = t6_malloc(sizeof(int32_t) * (size_t)Bsz), *npos = t6_malloc(sizeof(int32_t) * (size_t)Bsz);
    int *lens = t6_malloc(sizeof(int) * (size_t)Bsz);
    row_state *rows = t6_calloc((size_t)Bsz, sizeof *rows);
    long total = 0, prompt_tokens = 0;
    int stopped = 0, hit_block = 0, n_cut = 0, n_not_run = 0;
    /* the most tokens this run can generate: max_new_tokens per prompt, fewer where the
     * window ends first (block_size + 1 - n; see "the window's end" in doc/generate.md) */
    long most = 0;
    for (int i = 0; i < g.np; i++) {
        const long cap = (long)mc->block_size + 1 - g.p[i].n;
        most += cap < gc->max_new_tokens ? cap : gc->max_new_tokens;
    }
    double t_prefill = 0.0;
    const double t0 = t6_now();
    for (int first = 0; first < g.np && !stopped && !g.out_errno; first += Bsz) {
        const int nbat = g.np - first < Bsz ? g.np - first : Bsz;
        int T = 0;
        for (int b = 0; b < nbat; b++)
            if (g.p[first + b].n > T) T = g.p[first + b].n;
        for (int b = 0; b < nbat; b++) {
            const prompt *p = &g.p[first + b];
            for (int t = 0; t < T; t++) tok[b * T + t] = t < p->n ? p->ids[t] : 0;   /* right-padded */
            lens[b] = p->n;
            row_state *r = &rows[b];
            memset(r, 0, sizeof *r);
            r->idx = first + b;
            r->pos = p->n;
            t6_textstream_init(&r->ts, (const char *const *)gc->stop, gc->n_stop);
        }
        const double tp = t6_now();
        t6_kvcache_prefill(kv, model, tok, lens, nbat, T, logits);   /* ends with a copy to the host */
        t_prefill += t6_now() - tp;
        for (int b = 0; b < nbat; b++) prompt_tokens += lens[b];
        int cursor = 0;
        for (;;) {
            int active = 0;
            for (int b = 0; b < Bsz; b++) {
                ntok[b] = 0;
                npos[b] = 0;   /* finished and unused rows decode a dummy token at position 0 */
                if (b >= nbat || rows[b].done) continue;
                row_state *r = &rows[b];
                check_logits(&g, r, logits + (size_t)b * V, g.n_valid);
                const double u = t6_rng_u01(t6_rng_u64(gc->sample_seed, (uint64_t)r->idx, (uint64_t)r->ngen));
                const int next = t6_sample_token(&smp, logits + (size_t)b * V, g.n_valid, u);
                r->ngen++;
                total++;
                if (next == gc->eot_token) { r->done = 1; continue; }
                push_token(&g, r, next);
                if (r->ts.stopped || r->ngen >= gc->max_new_tokens) { r->done = 1; continue; }
                if (r->pos >= M) { r->done = 1; hit_block = 1; continue; }
                ntok[b] = next;
                npos[b] = r->pos++;
                active++;
            }
            cursor = flush_rows(&g, rows, nbat, cursor);
            if (g.out_errno) break;   /* nobody can read the rest: reported below */
            /* the stop flag (signals.h), once per token: the rows still running are cut
             * short and printed as far as they got, whole characters only */
            if (active && (stopped = t6_stop_requested()) != 0) {
                for (int b = 0; b < nbat; b++)
                    if (!rows[b].done) {
                        rows[b].done = rows[b].cut = 1;
                        n_cut++;
                    }
                n_not_run = g.np - (first + nbat);
                cursor = flush_rows(&g, rows, nbat, cursor);
            }
            if (!active || stopped || g.out_errno) break;
            t6_test_delay("T6_TEST_GEN_DELAY_MS");
            t6_model_decode_step(model, kv, ntok, npos, logits);
            if (!mem_decode) mem_decode = be->ops->mem_in_use(be);   /* all decode buffers exist after one step */
        }
        for (int b = 0; b < nbat; b++) t6_textstream_free(&rows[b].ts);
    }
    const double dt = t6_now() - t0;
    if (hit_block)
        fprintf(stderr, "generate: note: some generations ended at model.block_size = %d tokens\n", mc->block_size);
    if (g.out_errno && g.out_errno != EPIPE)
        t6_fatal_hint("standard output must be writable to the end (a full disk loses the text)",
                      "generate: writing standard output failed after %ld of at most %ld tokens: %s", total, most,
                      strerror(g.out_errno));
    /* throughput (doc/generate.md): prefill = prompt tokens through the forward; decode =
     * the rest of the time (sampling, decode steps, printing) per generated token */
    const double t_dec = dt - t_prefill;
    fprintf(stderr, "generate: prefill %ld prompt tokens in %.3f s (%.1f tokens/s)\n", prompt_tokens, t_prefill,
            t_prefill > 0 ? prompt_tokens / t_prefill : 0.0);
    fprintf(stderr, "generate: decode %ld tokens in %.3f s (%.1f tokens/s, batch %d)\n", total, t_dec,
            t_dec > 0 ? total / t_dec : 0.0, Bsz);
    fprintf(stderr, "generate: KV cache %zu bytes (allocated once: the peak)\n", kv->cache_bytes);
    {
        /* peak memory: the largest sample after each prefill layer and the first decode step */
        const size_t peak = kv->mem_peak > mem_decode ? kv->mem_peak : mem_decode;
        fprintf(stderr, "generate: peak %s memory %zu bytes (%.2f GiB; %s)\n", be->kind == T6_BACKEND_CUDA ? "device" : "host",
                peak, peak / 1073741824.0,
                be->kind == T6_BACKEND_CUDA ? "in use on the device: total - free, the CUDA context included"
                                            : "resident set of the process");
    }
    if (kv->use_graphs || kv->graph_steps)
        fprintf(stderr, "generate: %ld decode steps replayed as a CUDA graph\n", kv->graph_steps);
    fprintf(stderr, "generate: %ld tokens in %.2f s (%.1f tokens/s)\n", total, dt, dt > 0 ? total / dt : 0.0);

    free(rows); free(lens); free(ntok); free(npos); free(tok); free(logits);
    t6_kvcache_destroy(kv);
    t6_model_destroy(model);
    t6_backend_destroy(be);
    for (int i = 0; i < g.np; i++) free(g.p[i].ids);
    free(g.p);
    for (int i = 0; i < g.n_owned; i++) free(g.owned[i]);
    free(g.owned);
    if (g.bpe) t6_bpe_free(g.bpe);
    t6_dist_finalize(&dist);
    /* cut short: a non-zero status as a shell gives a process a signal ended, 128 + the
     * signal (SIGINT 130, SIGTERM 143; the second-SIGINT abort's 130, t6-prep's), so a
     * batch system and `set -o pipefail` see the text is incomplete. Unlike training,
     * nothing was saved to resume from, hence not the training job's 0 ("stopped"). */
    if (g.out_errno == EPIPE) {
        fprintf(stderr, "generate: standard output was closed by its reader after %ld of at most %ld tokens; "
                        "stopped (exit status %d, as for SIGPIPE)\n", total, most, 128 + SIGPIPE);
        return 128 + SIGPIPE;
    }
    if (stopped) {
        fprintf(stderr, "generate: interrupted by %s after %ld of at most %ld tokens: %d prompt(s) cut short, "
                        "%d not run (exit status %d)\n", sig_name(stopped), total, most, n_cut, n_not_run,
                128 + stopped);
        return 128 + stopped;
    }
    return 0;
}
