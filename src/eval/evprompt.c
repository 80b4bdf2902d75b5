/* evprompt.c -- from documents to lm-eval's request strings and tokens: the few-shot
 * examples (drawn as lm-eval's samplers draw them) and prefix (description + examples
 * joined by "\n\n"), the per-task context and
 * continuation (target delimiter " "), HFLM._encode_pair's whitespace move and
 * context/continuation token split, and the Python string functions the task
 * definitions use (len, rstrip, capitalize, HellaSwag's preprocess). */
#include "eval/evtask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "util.h"

size_t t6_ev_pylen(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Python's str.isspace() code points */
static int py_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

size_t t6_ev_rstrip_len(const char *s, size_t n)
{
    while (n > 0) {
        /* the last code point: back up over continuation bytes */
        size_t st = n - 1;
        while (st > 0 && ((unsigned char)s[st] & 0xC0) == 0x80) st--;
        const unsigned char *u = (const unsigned char *)s + st;
        uint32_t c;
        size_t len = n - st;
        if (u[0] < 0x80) c = u[0];
        else if (len == 2) c = ((u[0] & 0x1Fu) << 6) | (u[1] & 0x3Fu);
        else if (len == 3) c = ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu);
        else c = 0xFFFFFFFFu;
        if (!py_space(c)) break;
        n = st;
    }
    return n;
}

char *t6_ev_capitalize(const char *s)
{
    char *o = t6_strdup(s);
    for (size_t i = 0; o[i]; i++) {
        unsigned char c = (unsigned char)o[i];
        if (i == 0 && c >= 'a' && c <= 'z') o[i] = (char)(c - 32);
        else if (i > 0 && c >= 'A' && c <= 'Z') o[i] = (char)(c + 32);
    }
    return o;
}

/* str.replace(a, b): non-overlapping, left to right */
static char *replace_all(const char *s, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = 0;
    for (const char *p = s; (p = strstr(p, a)); p += la) n++;
    char *o = t6_malloc(strlen(s) + n * (lb > la ? lb - la : 0) + 1), *w = o;
    const char *p = s, *q;
    while ((q = strstr(p, a))) {
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, b, lb);
        w += lb;
        p = q + la;
    }
    strcpy(w, p);
    return o;
}

char *t6_ev_hellaswag_preprocess(const char *s)
{
    /* text.strip() */
    while (*s && t6_ev_rstrip_len(s, 1) == 0) s++;
    size_t n = t6_ev_rstrip_len(s, strlen(s));
    char *t = t6_malloc(n + 1);
    memcpy(t, s, n);
    t[n] = '\0';
    char *u = replace_all(t, " [title]", ". ");
    free(t);
    /* re.sub("\\[.*?\\]", "", text): '.' does not match a newline */
    char *v = t6_malloc(strlen(u) + 1), *w = v;
    for (const char *p = u; *p;) {
        if (*p == '[') {
            const char *q = p + 1;
            while (*q && *q != ']' && *q != '\n') q++;
            if (*q == ']') { p = q + 1; continue; }
        }
        *w++ = *p++;
    }
    *w = '\0';
    free(u);
    char *x = replace_all(v, "  ", " ");
    free(v);
    return x;
}

static char *cat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *o = t6_malloc(la + lb + lc + 1);
    memcpy(o, a, la);
    memcpy(o + la, b, lb);
    memcpy(o + la + lb, c, lc + 1);
    return o;
}

/* MMLU's description: "The following are multiple choice questions (with answers)
 * about {subject with spaces}.\n\n" */
static char *description(const t6_task_info *t, const t6_ev_raw *doc)
{
    if (doc->subject < 0 || strcmp(t->name, "mmlu") != 0) return t6_strdup("");
    char subj[128];
    snprintf(subj, sizeof subj, "%s", t6_mmlu_subject(doc->subject));
    for (char *p = subj; *p; p++)
        if (*p == '_') *p = ' ';
    char *o = t6_malloc(strlen(subj) + 80);
    sprintf(o, "The following are multiple choice questions (with answers) about %s.\n\n", subj);
    return o;
}

char *t6_ev_fewshot_prefix(const t6_task_info *t, const t6_ev_raw *doc, const t6_ev_raw *const *ex, int n)
{
    char *acc = description(t, doc);
    for (int i = 0; i < n; i++) {
        const t6_ev_raw *e = ex[i];
        char *one;
        if (t->kind == T6_EV_PARTIAL) one = cat3(e->choices[e->gold], " ", e->target);   /* choice[text] + " " + target */
        else if (t->kind == T6_EV_LOGLIK) one = cat3(e->text, "", e->target);
        else one = cat3(e->text, " ", e->choices[e->gold]);
        char *next = cat3(acc, one, "\n\n");
        free(acc);
        free(one);
        acc = next;
    }
    return acc;
}

/* MMLU: the first n of its subject's dev documents (lm-eval's first_n sampler); the
 * other tasks: rnd.sample(fewshot_docs, n) (the few-shot split is never the scored
 * split, so lm-eval draws exactly n and drops nothing). */
int t6_ev_fewshot_pick(int id, t6_pyrandom *rnd, const t6_ev_docs *fs, const t6_ev_raw *doc, int n,
                       const t6_ev_raw **out)
{
    if (id == T6_TASK_MMLU) {
        int k = 0;
        for (size_t i = 0; i < fs->n && k < n; i++)
            if (fs->docs[i].subject == doc->subject) out[k++] = &fs->docs[i];
        return k;
    }
    size_t idx[64];
    if (n > 64 || t6_pyrandom_sample(rnd, fs->n, (size_t)n, idx)) return -1;
    for (int i = 0; i < n; i++) out[i] = &fs->docs[idx[i]];
    return n;
}

int t6_ev_build_requests(const t6_task_info *t, const t6_ev_raw *doc, const char *prefix, t6_ev_pair *out)
{
    switch (t->kind) {
    case T6_EV_MC:
        for (int i = 0; i < doc->n_choices; i++) {
            out[i].ctx = cat3(prefix, doc->text, "");
            out[i].cont = cat3(" ", doc->choices[i], "");
        }
        return doc->n_choices;
    case T6_EV_PARTIAL:
        for (int i = 0; i < doc->n_choices; i++) {
            out[i].ctx = cat3(prefix, doc->choices[i], "");
            out[i].cont = cat3(" ", doc->target, "");
        }
        return doc->n_choices;
    case T6_EV_LOGLIK:
        out[0].ctx = cat3(prefix, doc->text, "");
        out[0].cont = t6_strdup(doc->target);   /* loglikelihood output: no delimiter added */
        return 1;
    }
    return 0;
}

static int enc(t6_bpe_state *s, const char *text, size_t n, t6_tokvec *v, char *err, size_t err_len)
{
    v->n = 0;
    int rc = t6_bpe_encode(s, text, n, 0, v);
    if (rc) {
        t6_seterr(err, err_len, "%s", rc == -1 ? "text is not valid UTF-8" : "PCRE2 match failed");
        return -1;
    }
    return 0;
}

int t6_ev_encode_pair(t6_bpe_state *s, int eot, const char *ctx, const char *cont, int32_t **ctx_tok, size_t *n_ctx,
                      int32_t **cont_tok, size_t *n_cont, char *err, size_t err_len)
{
    t6_tokvec whole = {0}, c = {0};
    int rc = 0;
    size_t lc = strlen(ctx), lo = strlen(cont);
    if (lc == 0) {
        /* HFLM.loglikelihood: an empty context becomes [EOT] */
        if ((rc = enc(s, cont, lo, &c, err, err_len))) goto out;
        *n_ctx = 1;
        *ctx_tok = t6_malloc(sizeof(int32_t));
        (*ctx_tok)[0] = eot;
        *n_cont = c.n;
        *cont_tok = t6_malloc((c.n ? c.n : 1) * sizeof(int32_t));
        for (size_t i = 0; i < c.n; i++) (*cont_tok)[i] = (int32_t)c.v[i];
        goto out;
    }
    /* _encode_pair: trailing whitespace of the context moves into the continuation */
    size_t keep = t6_ev_rstrip_len(ctx, lc);
    char *all = t6_malloc(lc + lo + 1);
    memcpy(all, ctx, lc);
    memcpy(all + lc, cont, lo + 1);
    if ((rc = enc(s, all, lc + lo, &whole, err, err_len)) == 0) rc = enc(s, all, keep, &c, err, err_len);
    free(all);
    if (rc) goto out;
    /* the context tokens are enc(ctx) itself; the continuation is whole[len(enc(ctx)):] */
    size_t nc = c.n < whole.n ? c.n : whole.n;
    *n_ctx = c.n;
    *ctx_tok = t6_malloc((c.n ? c.n : 1) * sizeof(int32_t));
    for (size_t i = 0; i < c.n; i++) (*ctx_tok)[i] = (int32_t)c.v[i];
    *n_cont = whole.n - nc;
    *cont_tok = t6_malloc((*n_cont ? *n_cont : 1) * sizeof(int32_t));
    for (size_t i = 0; i < *n_cont; i++) (*cont_tok)[i] = (int32_t)whole.v[nc + i];
out:
    t6_tokvec_free(&whole);
    t6_tokvec_free(&c);
    return rc;
}

void t6_ev_window(const int32_t *ctx, size_t nct, const int32_t *cont, size_t nco, int max_len, int32_t **tok,
                  int *n_tok, int *n_cont)
{
    /* HFLM: inp = (context_enc + continuation_enc)[-(max_length + 1):][:-1]; we keep the
     * last token too (it is the last target), so the window is max_len + 1 long */
    size_t all = nct + nco, keep = all < (size_t)max_len + 1 ? all : (size_t)max_len + 1;
    *tok = t6_malloc((keep ? keep : 1) * sizeof(int32_t));
    for (size_t k = 0; k < keep; k++) {
        size_t s = all - keep + k;
        (*tok)[k] = s < nct ? ctx[s] : cont[s - nct];
    }
    *n_tok = (int)keep;
    /* a continuation longer than the window is scored on the part the window holds */
    *n_cont = (int)(nco < keep - 1 ? nco : keep - 1);
}
