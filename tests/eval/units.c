/* units.c -- unit tests of the evaluation pieces (src/eval/) that need no model:
 * Python's random.Random(1234) stream and sample/shuffle (expected values printed by
 * CPython 3.11), lm-eval's string functions (HellaSwag preprocess, len, rstrip),
 * acc vs acc_norm and the standard errors on crafted numbers (per document, and per task
 * through t6_ev_score_task: MMLU's size-weighted groups), MMLU CSV edge cases and
 * malformed inputs (errors naming file and line), left truncation, and -- with the
 * data folder -- each task's first request against strings and GPT-2 token ids
 * checked by hand from the original files.
 *   units SCRATCH_DIR [T6_DATA]   (without T6_DATA the data-driven checks are skipped) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "eval/evrun.h"
#include "eval/evtask.h"
#include "eval/pyrandom.h"

static int fails = 0, checks = 0;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } } while (0)
static int close_to(double a, double b, double tol) { return fabs(a - b) <= tol * (1.0 + fabs(b)); }

static void test_pyrandom(void)
{
    t6_pyrandom r;
    /* random.Random(1234): [r.getrandbits(32) for _ in range(3)] */
    t6_pyrandom_seed(&r, 1234);
    uint32_t w[3] = {4150886329u, 3342196574u, 1892932127u};
    for (int i = 0; i < 3; i++) {
        uint32_t g = t6_pyrandom_getrandbits(&r, 32);
        CHECK(g == w[i], "getrandbits(32) #%d = %u, Python gives %u", i, g, w[i]);
    }
    /* [r.sample(range(11679), 2) for _ in range(3)]: SciQ's train split, 2-shot */
    t6_pyrandom_seed(&r, 1234);
    size_t want[3][2] = {{7220, 1914}, {122, 1485}, {9539, 572}}, got[64];
    for (int d = 0; d < 3; d++) {
        t6_pyrandom_sample(&r, 11679, 2, got);
        CHECK(got[0] == want[d][0] && got[1] == want[d][1], "sample(range(11679), 2) #%d = [%zu, %zu], Python [%zu, %zu]",
              d, got[0], got[1], want[d][0], want[d][1]);
    }
    /* small population (the pool branch): [r.sample(range(5), 2) for _ in range(3)] */
    t6_pyrandom_seed(&r, 1234);
    size_t want5[3][2] = {{3, 0}, {0, 4}, {4, 0}};
    for (int d = 0; d < 3; d++) {
        t6_pyrandom_sample(&r, 5, 2, got);
        CHECK(got[0] == want5[d][0] && got[1] == want5[d][1], "sample(range(5), 2) #%d = [%zu, %zu]", d, got[0], got[1]);
    }
    /* k > 5: setsize = 21 + 4**ceil(log(3k, 4)); r.sample(range(100), 30)[:10] */
    t6_pyrandom_seed(&r, 1234);
    size_t want30[10] = {99, 56, 14, 0, 11, 74, 4, 85, 88, 10};
    t6_pyrandom_sample(&r, 100, 30, got);
    int ok = 1;
    for (int i = 0; i < 10; i++) ok &= got[i] == want30[i];
    CHECK(ok, "sample(range(100), 30)[:10] differs from Python's: %zu %zu %zu ...", got[0], got[1], got[2]);
    /* randrange(1) draws (and discards) bits; then getrandbits(32) */
    t6_pyrandom_seed(&r, 1234);
    CHECK(t6_pyrandom_randbelow(&r, 1) == 0 && t6_pyrandom_randbelow(&r, 1) == 0, "randbelow(1) != 0");
    uint32_t g = t6_pyrandom_getrandbits(&r, 32);
    CHECK(g == 32175636u, "after two randrange(1): getrandbits(32) = %u, Python 32175636", g);
    /* x = list(range(10)); r.shuffle(x); r.random() */
    t6_pyrandom_seed(&r, 1234);
    size_t x[10], wx[10] = {2, 8, 3, 5, 6, 4, 9, 0, 1, 7};
    for (int i = 0; i < 10; i++) x[i] = (size_t)i;
    t6_pyrandom_shuffle(&r, x, 10);
    ok = 1;
    for (int i = 0; i < 10; i++) ok &= x[i] == wx[i];
    CHECK(ok, "shuffle(range(10)) differs from Python's");
    double u = t6_pyrandom_random(&r);
    CHECK(u == 0.23680977536311776, "random() after shuffle = %.17g, Python 0.23680977536311776", u);
    /* a seed above 2**32: init_by_array over two words */
    t6_pyrandom_seed(&r, (1ull << 40) + 5);
    g = t6_pyrandom_getrandbits(&r, 32);
    CHECK(g == 2166296868u, "Random(2**40 + 5).getrandbits(32) = %u, Python 2166296868", g);
    CHECK(t6_pyrandom_sample(&r, 3, 4, got) == -1, "sample(k > n) must fail as Python's ValueError");
}

static void test_strings(void)
{
    char *p = t6_ev_hellaswag_preprocess("[step] Water the plant.");
    CHECK(strcmp(p, " Water the plant.") == 0, "preprocess keeps the space left by a leading tag: '%s'", p);
    free(p);
    p = t6_ev_hellaswag_preprocess("  How to dry a plant [title] Cut the stem.  [step] Hang  it. ");
    CHECK(strcmp(p, "How to dry a plant. Cut the stem.  Hang it.") == 0, "preprocess: '%s'", p);
    free(p);
    p = t6_ev_hellaswag_preprocess("a [b\nc] d [e");   /* '.' does not cross a newline; an open '[' stays */
    CHECK(strcmp(p, "a [b\nc] d [e") == 0, "preprocess across a newline: '%s'", p);
    free(p);
    p = t6_ev_capitalize("he IS here");
    CHECK(strcmp(p, "He is here") == 0, "capitalize: '%s'", p);
    free(p);
    CHECK(t6_ev_pylen("caf\xc3\xa9") == 4, "len('café') = %zu, want 4 characters (5 bytes)", t6_ev_pylen("caf\xc3\xa9"));
    CHECK(t6_ev_pylen("\xe2\x80\x94x") == 2, "len('—x') = %zu", t6_ev_pylen("\xe2\x80\x94x"));
    const char *s = "Answer: \t\xc2\xa0\n";   /* NBSP is whitespace to Python's rstrip */
    CHECK(t6_ev_rstrip_len(s, strlen(s)) == 7, "rstrip_len = %zu, want 7", t6_ev_rstrip_len(s, strlen(s)));
    s = "x\xc3\xa9";
    CHECK(t6_ev_rstrip_len(s, strlen(s)) == 3, "rstrip must keep 'é'");
}

static void test_scores(void)
{
    /* acc picks the largest sum; acc_norm divides by the choice's character count */
    double ll[2] = {-10.0, -12.0}, len[2] = {5.0, 20.0}, acc, accn;
    t6_ev_doc_scores(ll, len, 2, 1, &acc, &accn);
    CHECK(acc == 0.0 && accn == 1.0, "acc %g acc_norm %g, want 0 and 1 (-10/5 < -12/20)", acc, accn);
    t6_ev_doc_scores(ll, len, 2, 0, &acc, &accn);
    CHECK(acc == 1.0 && accn == 0.0, "gold 0: acc %g acc_norm %g", acc, accn);
    double tie[3] = {-1.0, -1.0, -3.0}, one[3] = {1, 1, 1};
    t6_ev_doc_scores(tie, one, 3, 0, &acc, &accn);
    CHECK(acc == 1.0, "a tie goes to the first choice (numpy.argmax)");
    /* mean_stderr([1,0,1,1]) = sqrt(0.75/3)/2 = 0.25 */
    double x[4] = {1, 0, 1, 1};
    CHECK(close_to(t6_ev_mean_stderr(x, 4), 0.25, 1e-15), "mean_stderr = %.17g, want 0.25", t6_ev_mean_stderr(x, 4));
    CHECK(isnan(t6_ev_mean_stderr(x, 1)), "mean_stderr of one value must be NaN");
    /* pooled: sizes 10, 30 with stderrs 0.1, 0.05:
     * var = (9*0.01*10 + 29*0.0025*30) / (40 - 2) = (0.9 + 2.175) / 38; sqrt(var / 40) */
    double se[2] = {0.1, 0.05}, sz[2] = {10, 30};
    double want = sqrt((0.9 + 2.175) / 38.0 / 40.0);
    CHECK(close_to(t6_ev_pooled_stderr(se, sz, 2), want, 1e-14), "pooled = %.17g, want %.17g",
          t6_ev_pooled_stderr(se, sz, 2), want);
}

/* Task-level metrics (t6_ev_score_task) on crafted log-likelihoods: acc vs acc_norm,
 * BoolQ without acc_norm, LAMBADA's perplexity, and MMLU's two-level group with subjects
 * of unequal sizes, so a plain mean of subject means (or of categories) would differ from
 * lm-eval's size-weighted one. Expected values are computed here from the formulas
 * (lm-eval's mean_stderr and pooled_sample_stderr written out), not by the code tested. */
static t6_ev_request *g_req;
static size_t g_nreq;

/* a task of nd documents, each with nc choices; ll[d][c], len (may be NULL) per choice */
static void crafted_task(t6_ev_results *R, t6_ev_task *T, int id, int nd, int nc, const double *ll,
                         const double *len, const int *gold, const int *subject, const int *greedy)
{
    memset(T, 0, sizeof *T);
    T->id = id;
    T->used = 1;
    T->docs.n = (size_t)nd;
    T->docs.docs = calloc((size_t)nd, sizeof(t6_ev_raw));
    T->doc_req0 = malloc(((size_t)nd + 1) * sizeof(size_t));
    T->norm_len = malloc((size_t)(nd * nc) * sizeof(double));
    T->req0 = g_nreq;
    for (int d = 0; d < nd; d++) {
        T->docs.docs[d].gold = gold ? gold[d] : 0;
        T->docs.docs[d].subject = subject ? subject[d] : -1;
        T->doc_req0[d] = (size_t)(d * nc);
        for (int c = 0; c < nc; c++) {
            t6_ev_request *q = &g_req[g_nreq++];
            memset(q, 0, sizeof *q);
            q->task = id;
            q->doc = d;
            q->choice = c;
            q->ll = ll[d * nc + c];
            q->greedy = greedy ? greedy[d] : 0;
            T->norm_len[d * nc + c] = len ? len[d * nc + c] : 1.0;
        }
    }
    T->doc_req0[nd] = (size_t)(nd * nc);
    T->n_req = (size_t)(nd * nc);
    R->req = g_req;
    R->n_req = g_nreq;
    t6_ev_score_task(R, T);
}

static void crafted_free(t6_ev_task *T)
{
    free(T->docs.docs);
    free(T->doc_req0);
    free(T->norm_len);
}

/* sample standard deviation / sqrt(n), written out */
static double se_of(const double *x, int n)
{
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[i] / n;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m) / (n - 1);
    return sqrt(v / n);
}

static void test_task_scores(void)
{
    static t6_ev_request req[256];
    static t6_ev_results R;
    g_req = req;
    g_nreq = 0;
    memset(&R, 0, sizeof R);
    t6_ev_task T;

    /* ARC-Easy: doc 0 acc wrong / acc_norm right, doc 1 both right, doc 2 both wrong */
    double ll[6] = {-10, -12, -3, -4, -9, -1}, len[6] = {5, 20, 1, 1, 1, 1};
    int gold[3] = {1, 0, 0};
    crafted_task(&R, &T, T6_TASK_ARC_EASY, 3, 2, ll, len, gold, NULL, NULL);
    double a[3] = {0, 1, 0}, an[3] = {1, 1, 0};
    CHECK(close_to(T.m.acc, 1.0 / 3, 1e-15) && close_to(T.m.acc_stderr, se_of(a, 3), 1e-14),
          "arc: acc %.6f +- %.6f", T.m.acc, T.m.acc_stderr);
    CHECK(close_to(T.m.acc_norm, 2.0 / 3, 1e-15) && close_to(T.m.acc_norm_stderr, se_of(an, 3), 1e-14),
          "arc: acc_norm %.6f +- %.6f", T.m.acc_norm, T.m.acc_norm_stderr);
    CHECK(T.m.n == 3 && isnan(T.m.ppl), "arc: n %ld, no perplexity", T.m.n);
    crafted_free(&T);

    /* BoolQ reports acc only (the paper's metric; lm-eval's boolq has no acc_norm) */
    double lb[4] = {-1, -2, -2, -1};
    int gb[2] = {0, 0};
    crafted_task(&R, &T, T6_TASK_BOOLQ, 2, 2, lb, NULL, gb, NULL, NULL);
    CHECK(T.m.acc == 0.5 && isnan(T.m.acc_norm), "boolq: acc %g, acc_norm %g (want 0.5, NaN)", T.m.acc, T.m.acc_norm);
    crafted_free(&T);

    /* LAMBADA: acc = is_greedy, perplexity = exp(-mean loglik), stderr ppl * mean_stderr */
    double ll2[2] = {-1, -3};
    int greedy[2] = {1, 0};
    crafted_task(&R, &T, T6_TASK_LAMBADA, 2, 1, ll2, NULL, NULL, NULL, greedy);
    CHECK(T.m.acc == 0.5 && close_to(T.m.ppl, exp(2.0), 1e-14) && close_to(T.m.ppl_stderr, exp(2.0) * 1.0, 1e-14),
          "lambada: acc %g ppl %.6f +- %.6f (want 0.5, e^2 +- e^2)", T.m.acc, T.m.ppl, T.m.ppl_stderr);
    crafted_free(&T);

    /* MMLU: stem subjects s0 (2 docs: 1,0) and s1 (3 docs: 1,1,0); a humanities subject
     * h (4 docs: 1,0,0,0). Gold 0 throughout; a right answer has choice 0 highest. */
    int s0 = -1, s1 = -1, h = -1;
    for (int i = 0; i < T6_MMLU_SUBJECTS; i++) {
        if (t6_mmlu_category(i) == 0) { if (s0 < 0) s0 = i; else if (s1 < 0) s1 = i; }
        if (t6_mmlu_category(i) == 1 && h < 0) h = i;
    }
    int subj[9] = {s0, s0, s1, s1, s1, h, h, h, h};
    double right[9] = {1, 0, 1, 1, 0, 1, 0, 0, 0}, lm[36];
    int gm[9] = {0};
    for (int d = 0; d < 9; d++)
        for (int c = 0; c < 4; c++) lm[d * 4 + c] = (c == 0) == (right[d] == 1) ? -1.0 : -2.0 - c;
    crafted_task(&R, &T, T6_TASK_MMLU, 9, 4, lm, NULL, gm, subj, NULL);
    double se0 = se_of(right, 2), se1 = se_of(right + 2, 3), seh = se_of(right + 5, 4);
    CHECK(T.sub[s0].n == 2 && T.sub[s0].acc == 0.5 && close_to(T.sub[s0].acc_stderr, se0, 1e-14), "mmlu subject s0");
    CHECK(T.sub[s1].n == 3 && close_to(T.sub[s1].acc, 2.0 / 3, 1e-15), "mmlu subject s1: %g", T.sub[s1].acc);
    /* stem = (1 + 2) / 5 = 0.6, not the mean of subject means (0.5833) */
    const t6_ev_metrics *stem = &T.sub[T6_MMLU_SUBJECTS + 0], *hum = &T.sub[T6_MMLU_SUBJECTS + 1];
    double pst = sqrt((1 * se0 * se0 * 2 + 2 * se1 * se1 * 3) / (5.0 - 2) / 5.0);
    CHECK(stem->n == 5 && close_to(stem->acc, 0.6, 1e-15), "mmlu stem: n %ld acc %.6f, want 5 and 0.6 (size-weighted)",
          stem->n, stem->acc);
    CHECK(close_to(stem->acc_stderr, pst, 1e-13), "mmlu stem stderr %.8f, pooled %.8f", stem->acc_stderr, pst);
    double phu = sqrt((3 * seh * seh * 4) / (4.0 - 1) / 4.0);
    CHECK(hum->n == 4 && hum->acc == 0.25 && close_to(hum->acc_stderr, phu, 1e-13), "mmlu humanities");
    CHECK(T.sub[T6_MMLU_SUBJECTS + 2].n == 0 && T.sub[T6_MMLU_SUBJECTS + 3].n == 0, "empty categories have n 0");
    /* mmlu = (3 + 1) / 9, not the mean of the categories (0.425); stderr pooled over the
     * two categories with documents, from their own pooled stderrs */
    double pm = sqrt((4 * pst * pst * 5 + 3 * phu * phu * 4) / (9.0 - 2) / 9.0);
    CHECK(T.m.n == 9 && close_to(T.m.acc, 4.0 / 9, 1e-15), "mmlu: acc %.6f, want 4/9 (size-weighted)", T.m.acc);
    CHECK(close_to(T.m.acc_stderr, pm, 1e-13), "mmlu stderr %.8f, want %.8f", T.m.acc_stderr, pm);
    CHECK(isnan(T.m.acc_norm), "mmlu has no acc_norm");
    crafted_free(&T);
}

static void test_window(void)
{
    int32_t ctx[6] = {1, 2, 3, 4, 5, 6}, cont[2] = {7, 8}, *tok;
    int n, nc;
    t6_ev_window(ctx, 6, cont, 2, 4, &tok, &n, &nc);   /* keep the last 5 = [4,5,6,7,8] */
    CHECK(n == 5 && nc == 2 && tok[0] == 4 && tok[4] == 8, "window: n %d nc %d first %d", n, nc, tok[0]);
    free(tok);
    t6_ev_window(ctx, 6, cont, 2, 100, &tok, &n, &nc);
    CHECK(n == 8 && nc == 2 && tok[0] == 1, "no truncation when it fits: n %d", n);
    free(tok);
    int32_t longc[5] = {9, 9, 9, 9, 9};
    t6_ev_window(ctx, 2, longc, 5, 3, &tok, &n, &nc);   /* continuation longer than the window */
    CHECK(n == 4 && nc == 3, "long continuation: n %d nc %d, want 4 and 3", n, nc);
    free(tok);
}

static void test_csv(const char *dir)
{
    char err[1024];
    t6_ev_docs d = {0};
    const char *a = "\"What is \"\"x\"\"?\nline2\",a, b ,c,d,B\n \tQ2 ,1,2,3,4,D";   /* no final newline */
    int rc = t6_ev_parse_csv_mmlu("a.csv", a, strlen(a), 3, 0, &d, err, sizeof err);
    CHECK(rc == 0 && d.n == 2, "csv: rc %d n %zu (%s)", rc, d.n, err);
    if (rc == 0 && d.n == 2) {
        CHECK(strcmp(d.docs[0].text, "What is \"x\"?\nline2\nA. a\nB.  b \nC. c\nD. d\nAnswer:") == 0,
              "csv: quoted newline / doubled quote / spaces: '%s'", d.docs[0].text);
        CHECK(d.docs[0].gold == 1 && d.docs[0].line == 1 && d.docs[1].line == 3, "csv: gold %d lines %ld %ld",
              d.docs[0].gold, d.docs[0].line, d.docs[1].line);
        CHECK(strncmp(d.docs[1].text, "Q2\nA. 1", 7) == 0 && d.docs[1].gold == 3, "csv: question.strip(): '%s'",
              d.docs[1].text);
        CHECK(d.docs[0].subject == 3 && strcmp(d.docs[0].choices[2], "C") == 0, "csv: choices are the letters");
    }
    t6_ev_docs_free(&d);
    const char *crlf = "q,a,b,c,d,A\r\nq2,a,b,c,d,C\r\n";
    rc = t6_ev_parse_csv_mmlu("c.csv", crlf, strlen(crlf), 0, 0, &d, err, sizeof err);
    CHECK(rc == 0 && d.n == 2 && d.docs[1].gold == 2, "csv: CRLF rows (rc %d n %zu)", rc, d.n);
    t6_ev_docs_free(&d);
    rc = t6_ev_parse_csv_mmlu("lim.csv", crlf, strlen(crlf), 0, 1, &d, err, sizeof err);
    CHECK(rc == 0 && d.n == 1, "csv: limit 1 gives %zu", d.n);
    t6_ev_docs_free(&d);
    const char *b = "q,a,b,c,d,A\n\"multi\nline\",a,b,c,D\n";
    rc = t6_ev_parse_csv_mmlu("b.csv", b, strlen(b), 0, 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "b.csv:2:") && strstr(err, "5 fields"), "csv: short row: '%s'", err);
    t6_ev_docs_free(&d);
    const char *c = "q,a,b,c,d,A\nq,a,b,c,d,E\n";
    rc = t6_ev_parse_csv_mmlu("e.csv", c, strlen(c), 0, 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "e.csv:2:") && strstr(err, "\"E\""), "csv: bad answer: '%s'", err);
    t6_ev_docs_free(&d);
    const char *u = "q,a,b,c,d,A\n\"open,a,b,c,d,A\n";
    rc = t6_ev_parse_csv_mmlu("u.csv", u, strlen(u), 0, 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "u.csv:2:"), "csv: unterminated quote: '%s'", err);
    t6_ev_docs_free(&d);
    const char *k = "Ctx: a man. he\n3\ne0\ne1\ne2\n";
    rc = t6_ev_parse_hellaswag_text("h.txt", k, strlen(k), 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "h.txt:6:") && strstr(err, "truncated"), "klosax truncated: '%s'", err);
    t6_ev_docs_free(&d);
    const char *k2 = "Ctx: a man. he\nx\ne0\ne1\ne2\ne3\n";
    rc = t6_ev_parse_hellaswag_text("h.txt", k2, strlen(k2), 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "h.txt:2:"), "klosax bad label: '%s'", err);
    t6_ev_docs_free(&d);

    /* JSONL readers through t6_ev_read: a malformed row is named by file and line */
    char path[1024], cmd[2048];
    snprintf(path, sizeof path, "%s/ev/arc_easy/original", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s/ev/hellaswag' '%s/ev/piqa/original' '%s/ev/lambada_openai'", path,
             dir, dir, dir);
    CHECK(system(cmd) == 0, "mkdir");
    snprintf(path, sizeof path, "%s/ev/arc_easy/original/ARC-Easy-Test.jsonl", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"id\":\"x\",\"question\":{\"stem\":\"Q?\",\"choices\":[{\"text\":\"a\",\"label\":\"1\"},"
               "{\"text\":\"b\",\"label\":\"2\"}]},\"answerKey\":\"2\"}\n");
    fprintf(f, "{\"id\":\"y\",\"question\":{\"stem\":\"Q?\",\"choices\":[{\"text\":\"a\",\"label\":\"A\"},"
               "{\"text\":\"b\",\"label\":\"B\"}]},\"answerKey\":\"C\"}\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/ev", dir);
    rc = t6_ev_read(T6_TASK_ARC_EASY, path, 0, 1, &d, err, sizeof err);
    CHECK(rc == 0 && d.n == 1 && d.docs[0].gold == 1 && strcmp(d.docs[0].text, "Question: Q?\nAnswer:") == 0,
          "arc: numeric labels, limit 1 (rc %d: %s)", rc, err);
    t6_ev_docs_free(&d);
    rc = t6_ev_read(T6_TASK_ARC_EASY, path, 0, 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "ARC-Easy-Test.jsonl:2:") && strstr(err, "answerKey"), "arc bad key: '%s'", err);
    rc = t6_ev_read(T6_TASK_ARC_CHALLENGE, path, 0, 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "arc_challenge/original/ARC-Challenge-Test.jsonl: no such file"),
          "missing task file: '%s'", err);
    rc = t6_ev_read(T6_TASK_ARC_EASY, path, 1, 0, &d, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "no few-shot split"), "missing train split: rc %d '%s'", rc, err);
    /* HellaSwag in rowanz's original layout: ctx_a + " " + ctx_b.capitalize() */
    snprintf(path, sizeof path, "%s/ev/hellaswag/hellaswag_val.jsonl", dir);
    f = fopen(path, "w");
    fprintf(f, "{\"ind\": 24, \"activity_label\": \"Roof shingle removal\", \"ctx_a\": \"A man is sitting on a roof.\","
               " \"ctx_b\": \"he\", \"ctx\": \"A man is sitting on a roof. he\", \"split\": \"val\", \"split_type\":"
               " \"indomain\", \"label\": 3, \"endings\": [\"is using wrap.\", \"[step] Water the plant.\", \"c\","
               " \"starts pulling up roofing on a roof.\"], \"source_id\": \"x\"}\n");
    fprintf(f, "{\"activity_label\": \"A\", \"ctx_a\": \"b\", \"ctx_b\": \"\", \"endings\": [\"x\"], \"label\": 0}\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/ev", dir);
    rc = t6_ev_read(T6_TASK_HELLASWAG, path, 0, 1, &d, err, sizeof err);
    CHECK(rc == 0 && d.n == 1, "hellaswag jsonl: rc %d %s", rc, err);
    if (rc == 0) {
        CHECK(strcmp(d.docs[0].text, "Roof shingle removal: A man is sitting on a roof. He") == 0, "hellaswag query '%s'",
              d.docs[0].text);
        CHECK(strcmp(d.docs[0].choices[1], " Water the plant.") == 0 && d.docs[0].gold == 3, "hellaswag ending '%s'",
              d.docs[0].choices[1]);
        t6_ev_pair pr[4];
        t6_ev_build_requests(t6_task_get(T6_TASK_HELLASWAG), &d.docs[0], "", pr);
        CHECK(strcmp(pr[1].cont, "  Water the plant.") == 0 && t6_ev_pylen(d.docs[0].choices[1]) == 17,
              "hellaswag continuation '%s' (acc_norm length 17)", pr[1].cont);
        for (int i = 0; i < 4; i++) { free(pr[i].ctx); free(pr[i].cont); }
    }
    t6_ev_docs_free(&d);
    rc = t6_ev_read(T6_TASK_HELLASWAG, path, 0, 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "hellaswag_val.jsonl:2:") && strstr(err, "endings"), "hellaswag 1 ending: '%s'", err);
    /* PIQA: a labels file shorter than the questions */
    snprintf(path, sizeof path, "%s/ev/piqa/original/valid.jsonl", dir);
    f = fopen(path, "w");
    fprintf(f, "{\"goal\": \"g1\", \"sol1\": \"a\", \"sol2\": \"b\"}\n{\"goal\": \"g2\", \"sol1\": \"a\", \"sol2\": \"b\"}\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/ev/piqa/original/valid-labels.lst", dir);
    f = fopen(path, "w");
    fprintf(f, "1\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/ev", dir);
    rc = t6_ev_read(T6_TASK_PIQA, path, 0, 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "valid-labels.lst:2:"), "piqa labels: '%s'", err);
    /* LAMBADA in lm-eval's layout */
    snprintf(path, sizeof path, "%s/ev/lambada_openai/lambada_test.jsonl", dir);
    f = fopen(path, "w");
    fprintf(f, "{\"text\": \"the cat sat on the mat\"}\nnot json\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/ev", dir);
    rc = t6_ev_read(T6_TASK_LAMBADA, path, 0, 1, &d, err, sizeof err);
    CHECK(rc == 0 && strcmp(d.docs[0].text, "the cat sat on the") == 0 && strcmp(d.docs[0].target, " mat") == 0,
          "lambada text split (rc %d %s)", rc, err);
    t6_ev_docs_free(&d);
    rc = t6_ev_read(T6_TASK_LAMBADA, path, 0, 0, &d, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "lambada_test.jsonl:2: invalid JSON"), "lambada bad line: '%s'", err);
}

static void test_fewshot_format(void)
{
    t6_ev_raw e1 = {.text = "Q1", .gold = 1}, e2 = {.text = "Q2", .gold = 0}, doc = {.text = "Q3", .subject = -1};
    char *c1[2] = {"x", "A1"}, *c2[2] = {"A2", "y"};
    e1.choices = c1; e1.n_choices = 2;
    e2.choices = c2; e2.n_choices = 2;
    const t6_ev_raw *ex[2] = {&e1, &e2};
    char *p = t6_ev_fewshot_prefix(t6_task_get(T6_TASK_ARC_EASY), &doc, ex, 2);
    CHECK(strcmp(p, "Q1 A1\n\nQ2 A2\n\n") == 0, "few-shot prefix '%s'", p);
    free(p);
    t6_ev_raw m = {.text = "T", .subject = 0};
    p = t6_ev_fewshot_prefix(t6_task_get(T6_TASK_MMLU), &m, NULL, 0);
    CHECK(strcmp(p, "The following are multiple choice questions (with answers) about abstract algebra.\n\n") == 0,
          "mmlu description '%s'", p);
    free(p);
    /* winogrande examples: the right option's sentence prefix + " " + the rest */
    t6_ev_raw w = {.target = "got it.", .gold = 1};
    char *wc[2] = {"So A", "So B"};
    w.choices = wc; w.n_choices = 2;
    const t6_ev_raw *wx[1] = {&w};
    p = t6_ev_fewshot_prefix(t6_task_get(T6_TASK_WINOGRANDE), &doc, wx, 1);
    CHECK(strcmp(p, "So B got it.\n\n") == 0, "winogrande prefix '%s'", p);
    free(p);
}

/* ---- with the data folder: first document of each task, strings and tokens ---- */

static t6_bpe *g_bpe;
static t6_bpe_state *g_bs;

/* request i of doc 0 of a task */
static int first_request(int id, const char *eval_dir, int i, t6_ev_pair *out, double *len, t6_ev_raw *raw)
{
    char err[1024];
    t6_ev_docs d;
    if (t6_ev_read(id, eval_dir, 0, 1, &d, err, sizeof err)) { printf("FAIL: %s\n", err); fails++; return -1; }
    t6_ev_pair pr[64];
    int n = t6_ev_build_requests(t6_task_get((t6_task_id)id), &d.docs[0], "", pr);
    *out = pr[i];
    *len = (double)t6_ev_pylen(d.docs[0].choices[i]);
    if (raw) { raw->gold = d.docs[0].gold; raw->n_choices = d.docs[0].n_choices; }
    for (int k = 0; k < n; k++)
        if (k != i) { free(pr[k].ctx); free(pr[k].cont); }
    t6_ev_docs_free(&d);
    return 0;
}

static void expect_req(int id, const char *ev, int i, const char *ctx, const char *cont, double len, int gold)
{
    t6_ev_pair p;
    double l;
    t6_ev_raw raw;
    const char *name = t6_task_get((t6_task_id)id)->name;
    if (first_request(id, ev, i, &p, &l, &raw)) return;
    CHECK(strcmp(p.ctx, ctx) == 0, "%s doc 0: context\n   got  '%s'\n   want '%s'", name, p.ctx, ctx);
    CHECK(strcmp(p.cont, cont) == 0, "%s doc 0 choice %d: continuation '%s', want '%s'", name, i, p.cont, cont);
    CHECK(l == len, "%s doc 0 choice %d: len %g, want %g", name, i, l, len);
    CHECK(raw.gold == gold, "%s doc 0: gold %d, want %d", name, raw.gold, gold);
    free(p.ctx);
    free(p.cont);
}

static void expect_tokens(const char *ctx, const char *cont, const int32_t *ctx_tail, int n_tail, const int32_t *want,
                          int n_want, int n_ctx_want)
{
    int32_t *ct, *co;
    size_t nct, nco;
    char err[256];
    int rc = t6_ev_encode_pair(g_bs, 50256, ctx, cont, &ct, &nct, &co, &nco, err, sizeof err);
    CHECK(rc == 0, "encode_pair: %s", err);
    if (rc) return;
    int ok = (int)nco == n_want;
    for (int i = 0; ok && i < n_want; i++) ok = co[i] == want[i];
    CHECK(ok, "continuation tokens of '%s': %zu tokens, first %d", cont, nco, nco ? co[0] : -1);
    ok = (int)nct >= n_tail;
    for (int i = 0; ok && i < n_tail; i++) ok = ct[nct - (size_t)n_tail + (size_t)i] == ctx_tail[i];
    CHECK(ok, "context tokens of '%.30s...' end differently (%zu tokens)", ctx, nct);
    if (n_ctx_want >= 0) CHECK((int)nct == n_ctx_want, "context of '%s': %zu tokens, want %d", ctx, nct, n_ctx_want);
    free(ct);
    free(co);
}

static void test_tasks(const char *data)
{
    char ev[1024], vocab[1024], err[1024];
    snprintf(ev, sizeof ev, "%s/eval", data);
    snprintf(vocab, sizeof vocab, "%s/gpt2", data);
    g_bpe = t6_bpe_load(vocab, NULL, err, sizeof err);
    if (!g_bpe) { printf("FAIL: %s\n", err); fails++; return; }
    g_bs = t6_bpe_state_new(g_bpe);

    expect_req(T6_TASK_ARC_EASY, ev, 0,
               "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:",
               " Sunlight is the source of energy for nearly all ecosystems.", 59, 0);
    expect_req(T6_TASK_PIQA, ev, 1, "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:",
               " Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material, you "
               "will also need to supply it with a water bottle and a food dish.", 166, 0);
    expect_req(T6_TASK_WINOGRANDE, ev, 1, "Sarah was a much better surgeon than Maria so Maria",
               " always got the easier cases.", 51, 1);
    expect_req(T6_TASK_HELLASWAG, ev, 3, "Roof shingle removal: A man is sitting on a roof. he",
               " starts pulling up roofing on a roof.", 36, 3);
    expect_req(T6_TASK_OPENBOOKQA, ev, 1,
               "A person wants to start saving money so that they can afford a nice vacation at the end of the year. "
               "After looking over their budget and expenses, they decide the best way to save money is to",
               " quit eating lunch out", 21, 1);
    expect_req(T6_TASK_MMLU, ev, 1,
               "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\nA. 0\nB. 4\nC. 2\n"
               "D. 6\nAnswer:", " B", 1, 1);
    /* SciQ and BoolQ: long contexts, checked by their ends */
    t6_ev_pair p;
    double l;
    t6_ev_raw raw;
    if (first_request(T6_TASK_SCIQ, ev, 3, &p, &l, &raw) == 0) {
        const char *tail = "\nQuestion: Compounds that are capable of accepting electrons, such as o 2 or f2, are called "
                           "what?\nAnswer:";
        CHECK(strncmp(p.ctx, "Oxidants and Reductants Compounds", 33) == 0, "sciq context start '%.40s'", p.ctx);
        CHECK(strlen(p.ctx) > strlen(tail) && strcmp(p.ctx + strlen(p.ctx) - strlen(tail), tail) == 0,
              "sciq context end");
        CHECK(strcmp(p.cont, " oxidants") == 0 && raw.gold == 3 && l == 8, "sciq correct answer last, gold 3");
        free(p.ctx); free(p.cont);
    }
    if (first_request(T6_TASK_BOOLQ, ev, 1, &p, &l, &raw) == 0) {
        const char *tail = "\nQuestion: does ethanol take more energy make that produces?\nAnswer:";
        CHECK(strncmp(p.ctx, "Ethanol fuel -- All biomass", 27) == 0, "boolq passage with title '%.30s'", p.ctx);
        CHECK(strcmp(p.ctx + strlen(p.ctx) - strlen(tail), tail) == 0, "boolq context end");
        CHECK(strcmp(p.cont, " yes") == 0 && raw.gold == 0, "boolq: choices no/yes, label false -> 0");
        /* GPT-2 ids: "Answer" 33706, ":" 25; " no" 645, " yes" 3763 */
        int32_t tail_ids[2] = {33706, 25}, yes[1] = {3763}, no[1] = {645};
        expect_tokens(p.ctx, " yes", tail_ids, 2, yes, 1, -1);
        expect_tokens(p.ctx, " no", tail_ids, 2, no, 1, -1);
        free(p.ctx); free(p.cont);
    }
    if (first_request(T6_TASK_LAMBADA, ev, 0, &p, &l, &raw) == 0) {
        CHECK(strncmp(p.ctx, "In my palm is a clear stone", 27) == 0, "lambada context start");
        CHECK(strcmp(p.cont, " signs") == 0, "lambada target ' signs', got '%s'", p.cont);
        CHECK(strcmp(p.ctx + strlen(p.ctx) - 18, "I don't care about") == 0, "lambada context end");
        free(p.ctx); free(p.cont);
    }
    /* whitespace move: "Answer: " + "yes" scores as "Answer:" + " yes" */
    int32_t colon[2] = {33706, 25}, yes[1] = {3763};
    expect_tokens("Answer: ", "yes", colon, 2, yes, 1, 2);
    expect_tokens("Answer:", " yes", colon, 2, yes, 1, 2);
    /* an empty context becomes [EOT] and the continuation is encoded alone */
    int32_t eot[1] = {50256};
    expect_tokens("", " yes", eot, 1, yes, 1, 1);
    /* MMLU: " A" is one token (317) after "Answer:" */
    int32_t a_tok[1] = {317};
    expect_tokens("Answer:", " A", colon, 2, a_tok, 1, 2);

    /* SciQ few-shot: the train split is read from SciQ.zip; 11,679 documents */
    t6_ev_docs fs;
    int rc = t6_ev_read(T6_TASK_SCIQ, ev, 1, 0, &fs, err, sizeof err);
    CHECK(rc == 0 && fs.n == 11679, "sciq train split from the zip: rc %d n %zu (%s)", rc, rc == 0 ? fs.n : 0, err);
    if (rc == 0) t6_ev_docs_free(&fs);
    t6_ev_docs mm;
    rc = t6_ev_read(T6_TASK_MMLU, ev, 1, 0, &mm, err, sizeof err);
    CHECK(rc == 0 && mm.n == 285, "mmlu dev: %zu documents, want 285 (%s)", rc == 0 ? mm.n : 0, err);
    if (rc == 0) t6_ev_docs_free(&mm);
    rc = t6_ev_read(T6_TASK_MMLU, ev, 0, 0, &mm, err, sizeof err);
    CHECK(rc == 0 && mm.n == 14042, "mmlu test: %zu documents, want 14042 (%s)", rc == 0 ? mm.n : 0, err);
    if (rc == 0) t6_ev_docs_free(&mm);
    rc = t6_ev_read(T6_TASK_HELLASWAG, ev, 0, 0, &mm, err, sizeof err);
    CHECK(rc == 0 && mm.n == 10042, "hellaswag (klosax): %zu documents, want 10042 (%s)", rc == 0 ? mm.n : 0, err);
    if (rc == 0) t6_ev_docs_free(&mm);
    t6_bpe_state_free(g_bs);
    t6_bpe_free(g_bpe);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: units SCRATCH_DIR [T6_DATA]\n"); return 2; }
    test_pyrandom();
    test_strings();
    test_scores();
    test_task_scores();
    test_window();
    test_csv(argv[1]);
    test_fewshot_format();
    if (argc > 2) test_tasks(argv[2]);
    else printf("note: no data folder, task files not checked\n");
    printf("%d checks, %d failed\n", checks, fails);
    return fails ? 1 : 0;
}
