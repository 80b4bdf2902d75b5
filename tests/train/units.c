/* units.c -- unit tests of the training pieces that need no model: learning-rate
 * schedules (values at the defining points), AdamW + clipping against a scalar
 * double-precision transcription of PyTorch's AdamW and clip_grad_norm_, and the
 * data loader (targets = inputs shifted by one, disjoint rank streams, one global
 * batch whatever the rank/accumulation split, epoch = a permutation of windows).
 *   units SCRATCH_DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "corpus.h"
#include "data.h"
#include "deckdiff.h"
#include "optim.h"
#include "schedule.h"
#include "util.h"

static int fails = 0, checks = 0;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } } while (0)
static int close_to(double a, double b, double tol) { return fabs(a - b) <= tol * (1.0 + fabs(b)); }

static void test_schedule(void)
{
    t6_optim_config o;
    memset(&o, 0, sizeof o);
    o.lr = 6e-4; o.min_lr = 3e-5; o.warmup_steps = 100; o.decay_steps = 1100;
    o.schedule = T6_SCHED_COSINE;
    CHECK(t6_schedule_lr(&o, 0) == 0.0, "cosine: lr(0) = %g, want 0 (warmup from 0)", t6_schedule_lr(&o, 0));
    CHECK(close_to(t6_schedule_lr(&o, 50), 3e-4, 1e-12), "cosine: lr(50) = %g, want lr*50/100", t6_schedule_lr(&o, 50));
    CHECK(close_to(t6_schedule_lr(&o, 100), 6e-4, 1e-12), "cosine: lr(warmup) = %g, want peak", t6_schedule_lr(&o, 100));
    CHECK(close_to(t6_schedule_lr(&o, 600), (6e-4 + 3e-5) / 2, 1e-12), "cosine: midpoint %g", t6_schedule_lr(&o, 600));
    CHECK(close_to(t6_schedule_lr(&o, 1100), 3e-5, 1e-12), "cosine: lr(decay_steps) = %g", t6_schedule_lr(&o, 1100));
    CHECK(t6_schedule_lr(&o, 5000) == 3e-5, "cosine: after decay %g, want min_lr", t6_schedule_lr(&o, 5000));
    double prev = 1;
    int mono = 1;
    for (long it = 100; it <= 1100; it++) { double v = t6_schedule_lr(&o, it); if (v > prev + 1e-18) mono = 0; prev = v; }
    CHECK(mono, "cosine: not monotonically decreasing after warmup");
    o.schedule = T6_SCHED_WSD; o.wsd_decay_frac = 0.2;   /* decay over the last 220: [880, 1100] */
    CHECK(close_to(t6_schedule_lr(&o, 500), 6e-4, 1e-12), "wsd: stable phase %g", t6_schedule_lr(&o, 500));
    CHECK(close_to(t6_schedule_lr(&o, 880), 6e-4, 1e-12), "wsd: end of stable phase %g", t6_schedule_lr(&o, 880));
    CHECK(close_to(t6_schedule_lr(&o, 990), (6e-4 + 3e-5) / 2, 1e-12), "wsd: decay midpoint %g", t6_schedule_lr(&o, 990));
    CHECK(close_to(t6_schedule_lr(&o, 1100), 3e-5, 1e-12), "wsd: end %g", t6_schedule_lr(&o, 1100));
    CHECK(t6_schedule_lr(&o, 20) > 0 && t6_schedule_lr(&o, 20) < 6e-4 * 0.21, "wsd: warmup %g", t6_schedule_lr(&o, 20));
    o.schedule = T6_SCHED_CONSTANT;
    CHECK(close_to(t6_schedule_lr(&o, 5000), 6e-4, 1e-12), "constant: %g", t6_schedule_lr(&o, 5000));
    CHECK(close_to(t6_schedule_lr(&o, 10), 6e-5, 1e-12), "constant: warmup %g", t6_schedule_lr(&o, 10));
}

/* PyTorch AdamW (amsgrad off, maximize off) and clip_grad_norm_, in double. */
static void adamw_ref(double *p, double *m, double *v, const double *g0, int n, double lr, double b1, double b2,
                      double eps, double wd, long t, double clip, double *norm_out, int *clipped)
{
    double ss = 0;
    for (int i = 0; i < n; i++) ss += g0[i] * g0[i];
    double norm = sqrt(ss), coef = clip / (norm + 1e-6), s = coef < 1 ? coef : 1;
    *norm_out = norm;
    *clipped = coef < 1;
    for (int i = 0; i < n; i++) {
        double g = g0[i] * s;
        p[i] *= 1 - lr * wd;
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        double mh = m[i] / (1 - pow(b1, (double)t)), vh = v[i] / (1 - pow(b2, (double)t));
        p[i] -= lr * mh / (sqrt(vh) + eps);
    }
}

static void test_adamw(void)
{
    t6_backend_config bc;
    memset(&bc, 0, sizeof bc);
    bc.device = T6_BACKEND_CPU;
    bc.threads = 1;
    t6_backend *be = t6_backend_create(&bc, 0);
    t6_optim_config oc;
    memset(&oc, 0, sizeof oc);
    oc.beta1 = 0.9; oc.beta2 = 0.95; oc.eps = 1e-8; oc.weight_decay = 0.1; oc.grad_clip = 1.0;
    enum { N = 7 };
    t6_optim o;
    t6_optim_init(&o, be, &oc, N);
    float *p = be->ops->alloc(be, N * sizeof(float)), *g = be->ops->alloc(be, N * sizeof(float));
    float ph[N], gh[N];
    double pr[N], mr[N] = {0}, vr[N] = {0}, gr[N];
    for (int i = 0; i < N; i++) { ph[i] = 0.1f * (float)(i - 3); pr[i] = ph[i]; }
    be->ops->to_device(be, p, ph, sizeof ph);
    double lrs[4] = {1e-3, 2e-3, 5e-2, 1e-2};
    for (int step = 0; step < 4; step++) {
        /* step 2 gets a large gradient: clipped; the others are small: not clipped */
        double mag = step == 2 ? 3.0 : 0.05;
        for (int i = 0; i < N; i++) { gh[i] = (float)(mag * sin(1.0 + i + 3.0 * step)); gr[i] = gh[i]; }
        be->ops->to_device(be, g, gh, sizeof gh);
        t6_optim_stats st;
        t6_optim_step(&o, p, NULL, g, lrs[step], &st);
        double nref;
        int cref;
        adamw_ref(pr, mr, vr, gr, N, lrs[step], 0.9, 0.95, 1e-8, 0.1, step + 1, 1.0, &nref, &cref);
        CHECK(close_to(st.grad_norm, nref, 1e-6), "adamw step %d: grad norm %g, want %g", step, st.grad_norm, nref);
        CHECK(st.clipped == cref, "adamw step %d: clipped %d, want %d", step, st.clipped, cref);
        be->ops->to_host(be, ph, p, sizeof ph);
        for (int i = 0; i < N; i++)
            CHECK(fabs(ph[i] - pr[i]) < 2e-6, "adamw step %d: p[%d] = %.8f, reference %.8f", step, i, ph[i], pr[i]);
    }
    CHECK(o.t == 4, "adamw: %ld updates counted, want 4", o.t);

    /* moment get/set (what checkpoints use): the moments are the reference's, and an
     * optimizer given them by set continues exactly as the original; the split
     * grad_norm + apply is the same update as step */
    float mh[N], vh[N], mh2[N], vh2[N];
    long t = -1;
    t6_optim_get_moments(&o, mh, vh, &t);
    CHECK(t == 4, "get_moments: t = %ld, want 4", t);
    for (int i = 0; i < N; i++)
        CHECK(fabs(mh[i] - mr[i]) < 1e-6 && fabs(vh[i] - vr[i]) < 1e-7, "get_moments: m[%d] = %g (ref %g), v = %g (ref %g)",
              i, mh[i], mr[i], vh[i], vr[i]);
    t6_optim o2;
    t6_optim_init(&o2, be, &oc, N);
    t6_optim_set_moments(&o2, mh, vh, t);
    float *p2 = be->ops->alloc(be, N * sizeof(float));
    be->ops->to_host(be, ph, p, sizeof ph);
    be->ops->to_device(be, p2, ph, sizeof ph);
    for (int i = 0; i < N; i++) gh[i] = (float)(0.07 * cos(2.0 + i));
    be->ops->to_device(be, g, gh, sizeof gh);
    t6_optim_stats st1, st2;
    t6_optim_step(&o, p, NULL, g, 3e-3, &st1);
    double norm = t6_optim_grad_norm(&o2, g);
    t6_optim_apply(&o2, p2, NULL, g, 3e-3, norm, &st2);
    float ph2[N];
    be->ops->to_host(be, ph, p, sizeof ph);
    be->ops->to_host(be, ph2, p2, sizeof ph2);
    t6_optim_get_moments(&o, mh, vh, NULL);
    t6_optim_get_moments(&o2, mh2, vh2, &t);
    CHECK(memcmp(ph, ph2, sizeof ph) == 0 && memcmp(mh, mh2, sizeof mh) == 0 && memcmp(vh, vh2, sizeof vh) == 0,
          "set_moments + apply differs from the original optimizer's step");
    CHECK(t == 5 && st1.grad_norm == st2.grad_norm, "after set_moments + apply: t = %ld, norms %g / %g", t,
          st1.grad_norm, st2.grad_norm);
    be->ops->free(be, p2);
    t6_optim_free(&o2);
    be->ops->free(be, p);
    be->ops->free(be, g);
    t6_optim_free(&o);
    t6_backend_destroy(be);
}

/* ---- data loader ---- */
#define VOC 997
static const char *corpus_path;

static t6_data *open_data(t6_deck *deck, t6_dist *dist, int rank, int world, int accum, t6_sampling samp)
{
    static char *train[1], *val[1];
    memset(deck, 0, sizeof *deck);
    train[0] = (char *)corpus_path;
    val[0] = (char *)corpus_path;
    deck->data.train = train; deck->data.n_train = 1;
    deck->data.val = val; deck->data.n_val = 1;
    deck->data.sampling = samp;
    deck->train.micro_batch = 3; deck->train.seq_len = 16; deck->train.grad_accum = accum;
    deck->train.seed = 42;
    deck->model.vocab_size = 1024;
    deck->output.run_dir = (char *)"/nonexistent";
    memset(dist, 0, sizeof *dist);
    dist->rank = rank; dist->world = world;
    return t6_data_open(deck, dist);
}

/* The global batch of one step as a sorted list of window first tokens. */
static int cmp_i(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static int global_batch(int world, int accum, t6_sampling samp, int steps, int *firsts)
{
    int n = 0;
    t6_deck deck;
    t6_dist dist;
    int32_t tok[3 * 16], tgt[3 * 16];
    for (int r = 0; r < world; r++) {
        t6_data *d = open_data(&deck, &dist, r, world, accum, samp);
        for (int s = 0; s < steps; s++) {
            for (int mu = 0; mu < accum; mu++) {
                t6_data_train_batch(d, mu, tok, tgt);
                for (int b = 0; b < 3; b++) {
                    const int32_t *x = tok + b * 16, *y = tgt + b * 16;
                    int shifted = 1;
                    for (int i = 0; i < 16; i++) if (y[i] != (x[i] + 7) % VOC) shifted = 0;
                    CHECK(shifted, "data: targets are not the inputs shifted by one");
                    /* inverse of token = 7 j mod VOC gives the position j mod VOC; keep
                     * (step, first token) so steps are not mixed */
                    firsts[n++] = s * 100000 + x[0];
                }
            }
            t6_data_advance(d);
        }
        t6_data_close(d);
    }
    qsort(firsts, (size_t)n, sizeof *firsts, cmp_i);
    return n;
}

static void test_data(const char *dir)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/units_corpus.h5", dir);
    corpus_path = path;
    t6_corpus_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.version = T6_CORPUS_VERSION;
    snprintf(meta.tokenizer, sizeof meta.tokenizer, "units");
    snprintf(meta.vocab_hash, sizeof meta.vocab_hash, "units");
    meta.vocab_size = VOC;
    snprintf(meta.split, sizeof meta.split, "train");
    meta.token_bits = 16;
    char err[512];
    t6_corpus_writer *w = t6_corpus_writer_open(path, &meta, err, sizeof err);
    CHECK(w != NULL, "corpus writer: %s", err);
    if (!w) return;
    uint32_t doc[50];
    /* 16*60+1 tokens: exactly 60 non-overlapping windows of 16 (+1) */
    const int ntok = 16 * 60 + 1;
    for (int i = 0; i < ntok; i += 50) {
        int k = 0;
        for (int j = i; j < i + 50 && j < ntok; j++) doc[k++] = (uint32_t)((j * 7) % VOC);
        t6_corpus_writer_append(w, doc, (size_t)k, err, sizeof err);
    }
    CHECK(t6_corpus_writer_close(w, err, sizeof err) == 0, "corpus close: %s", err);

    for (int samp = 0; samp < 2; samp++) {
        const char *name = samp ? "epoch" : "random";
        int a[64], b[64], c[64];
        int na = global_batch(1, 4, (t6_sampling)samp, 2, a);
        int nb = global_batch(2, 2, (t6_sampling)samp, 2, b);
        int nc = global_batch(4, 1, (t6_sampling)samp, 2, c);
        CHECK(na == 24 && nb == 24 && nc == 24, "%s: %d/%d/%d sequences, want 24", name, na, nb, nc);
        CHECK(memcmp(a, b, sizeof(int) * 24) == 0 && memcmp(a, c, sizeof(int) * 24) == 0,
              "%s: the global batch depends on the rank/accumulation split", name);
    }
    /* epoch: one epoch (60 windows = 5 steps of 12) visits every window once, and two
     * ranks never share a window */
    int firsts[64];
    int n = 0;
    t6_deck deck;
    t6_dist dist;
    int32_t tok[3 * 16], tgt[3 * 16];
    for (int r = 0; r < 2; r++) {
        t6_data *d = open_data(&deck, &dist, r, 2, 2, T6_SAMPLE_EPOCH);
        for (int s = 0; s < 5; s++) {
            for (int mu = 0; mu < 2; mu++) {
                t6_data_train_batch(d, mu, tok, tgt);
                for (int bb = 0; bb < 3; bb++) firsts[n++] = tok[bb * 16];
            }
            t6_data_advance(d);
        }
        if (r == 1) {
            t6_data_state st;
            t6_data_get_state(d, &st);
            CHECK(st.next == 60 && st.n_windows == 60, "epoch: state next=%llu windows=%llu, want 60/60",
                  (unsigned long long)st.next, (unsigned long long)st.n_windows);
        }
        t6_data_close(d);
    }
    qsort(firsts, (size_t)n, sizeof *firsts, cmp_i);
    int distinct = 1, aligned = 1;
    for (int i = 0; i < n; i++) {
        if (i > 0 && firsts[i] == firsts[i - 1]) distinct = 0;
        /* window w starts at token 16 w: first token 7*16*w mod VOC */
        int found = 0;
        for (int wdx = 0; wdx < 60; wdx++) if ((7 * 16 * wdx) % VOC == firsts[i]) found = 1;
        if (!found) aligned = 0;
    }
    CHECK(n == 60 && distinct, "epoch: an epoch of 60 windows repeats a window (n=%d)", n);
    CHECK(aligned, "epoch: a window does not start at a multiple of seq_len");
}

/* ---- deck comparison on resume (deckdiff.c) ---- */
static void test_deckdiff(void)
{
    /* a shard list far longer than a line buffer, differing only at its end */
    char list_a[4096], list_b[4096], old_text[8192], new_text[8192];
    size_t o = 0;
    for (int i = 0; i < 100; i++) o += (size_t)snprintf(list_a + o, sizeof list_a - o, "%s\"shard_%03d.h5\"", i ? ", " : "[ ", i);
    snprintf(list_a + o, sizeof list_a - o, " ]");
    snprintf(list_b, sizeof list_b, "%s", list_a);
    list_b[strlen(list_b) - 5] = '9';   /* the last shard's name */
    const char *fmt = "# t6 deck, resolved (canonical form of x.cfg)\njob = \"train\";\nmodel = {\n  n_layer = 2;\n};\n"
                      "data = {\n  train = %s;\n};\ntrain = {\n  micro_batch = 4;\n  %s;\n  max_steps = %d;\n%s};\n"
                      "optim = {\n  lr = 0.003;\n};\noutput = {\n  resume = \"%s\";\n};\n";
    snprintf(old_text, sizeof old_text, fmt, list_a, "grad_accum = 2", 10, "", "auto");
    snprintf(new_text, sizeof new_text, fmt, list_a, "grad_accum = 2", 10, "  loss_spike_factor = 3.0;\n", "x.h5");
    t6_deck_change *c;
    int n = t6_deck_diff(old_text, new_text, &c);
    CHECK(n == 0, "deckdiff: resume target and a key the old deck lacked count as %d change(s), want 0", n);
    free(c);
    snprintf(new_text, sizeof new_text, fmt, list_b, "global_batch = 8", 20, "", "auto");
    n = t6_deck_diff(old_text, new_text, &c);
    CHECK(n == 4, "deckdiff: %d changes, want 4 (data.train, global_batch, max_steps, grad_accum)", n);
    int seen = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(c[i].key, "data.train") == 0 && c[i].breaking) seen |= 1;
        if (strcmp(c[i].key, "train.global_batch") == 0 && c[i].breaking && strcmp(c[i].old_value, "(not set)") == 0)
            seen |= 2;
        if (strcmp(c[i].key, "train.max_steps") == 0 && !c[i].breaking && strcmp(c[i].old_value, "10") == 0 &&
            strcmp(c[i].new_value, "20") == 0)
            seen |= 4;
        if (strcmp(c[i].key, "train.grad_accum") == 0 && c[i].breaking && strcmp(c[i].new_value, "(not set)") == 0)
            seen |= 8;
        if (strcmp(c[i].key, "model.n_layer") == 0 || strcmp(c[i].key, "optim.lr") == 0) seen |= 16;
    }
    CHECK(seen == 15, "deckdiff: changes found 0x%x, want 0xf (a long list's tail, global_batch/grad_accum, "
                      "max_steps as harmless, nothing unchanged)", seen);
    free(c);
    CHECK(t6_deck_key_breaks_resume("model.rope_base") && t6_deck_key_breaks_resume("train.seed") &&
          !t6_deck_key_breaks_resume("optim.lr") && !t6_deck_key_breaks_resume("train.max_steps") &&
          !t6_deck_key_breaks_resume("train.seq_lenx"),
          "deckdiff: breaking-key classification");
}

/* log-line formatting: huge norms in scientific notation, durations as clocks */
static void test_log_format(void)
{
    char b[64];
    CHECK(strcmp(t6_fmt_value(b, sizeof b, 1.4252), "1.4252") == 0, "value 1.4252 -> %s", b);
    CHECK(strcmp(t6_fmt_value(b, sizeof b, 3e10), "3.000e+10") == 0, "value 3e10 -> %s", b);
    CHECK(strcmp(t6_fmt_value(b, sizeof b, 2.5e-6), "2.500e-06") == 0, "value 2.5e-6 -> %s", b);
    CHECK(strcmp(t6_fmt_value(b, sizeof b, 0), "0.0000") == 0, "value 0 -> %s", b);
    CHECK(strcmp(t6_fmt_duration(b, sizeof b, 65), "1:05") == 0, "65 s -> %s", b);
    CHECK(strcmp(t6_fmt_duration(b, sizeof b, 3 * 3600 + 61), "3:01:01") == 0, "3h1m1s -> %s", b);
    CHECK(strcmp(t6_fmt_duration(b, sizeof b, 2 * 86400 + 5), "2d 00:00:05") == 0, "2d5s -> %s", b);
    CHECK(strcmp(t6_fmt_duration(b, sizeof b, NAN), "?") == 0, "nan s -> %s", b);
}

int main(int argc, char **argv)
{
    test_log_format();
    const char *dir = argc > 1 ? argv[1] : ".";
    test_schedule();
    test_adamw();
    test_deckdiff();
    test_data(dir);
    printf("%d checks, %d failed\n", checks, fails);
    return fails ? 1 : 0;
}
