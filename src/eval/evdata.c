/* evdata.c -- the task files: which file of eval_dir holds the split lm-eval scores,
 * and the readers of each original layout (AI2 ARC/OBQA JSONL, Hugging Face JSONL
 * exports, SuperGLUE BoolQ, HellaSwag JSONL and the klosax text, PIQA JSONL + labels,
 * the SciQ JSON array (or its zip), WinoGrande JSONL, MMLU CSV through libcsv,
 * LAMBADA JSONL, and Hugging Face save_to_disk folders, whose Arrow files arrow.c
 * turns into the same JSON records as the Hugging Face JSONL exports). Each reader
 * yields t6_ev_raw documents: lm-eval's doc_to_text, doc_to_choice and gold, before
 * any prompt is assembled. Every malformed record is an error naming the file and
 * line (row, for an Arrow file). */
#include "eval/evtask.h"

#include <archive.h>
#include <archive_entry.h>
#include <csv.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/arrow.h"
#include "util.h"

/* ---- the task table -------------------------------------------------------------- */

static const t6_task_info TASKS[T6_TASK_COUNT] = {
    {"arc_easy", "ARC-E", T6_EV_MC, 1, "test"},
    {"arc_challenge", "ARC-C", T6_EV_MC, 1, "test"},
    {"boolq", "BoolQ", T6_EV_MC, 0, "validation"},
    {"hellaswag", "HellaSwag", T6_EV_MC, 1, "validation"},
    {"openbookqa", "OBQA", T6_EV_MC, 1, "test"},
    {"piqa", "PIQA", T6_EV_MC, 1, "validation"},
    {"winogrande", "WinoGrande", T6_EV_PARTIAL, 0, "validation"},
    {"mmlu", "MMLU", T6_EV_MC, 0, "test"},
    {"sciq", "SciQ", T6_EV_MC, 1, "test"},
    {"lambada_openai", "LAMBADA", T6_EV_LOGLIK, 0, "test"},
};

const t6_task_info *t6_task_get(t6_task_id id) { return (id >= 0 && id < T6_TASK_COUNT) ? &TASKS[id] : NULL; }

int t6_task_lookup(const char *name)
{
    for (int i = 0; i < T6_TASK_COUNT; i++)
        if (strcmp(TASKS[i].name, name) == 0) return i;
    return -1;
}

static const struct { const char *name; int cat; } MMLU[T6_MMLU_SUBJECTS] = {
    {"abstract_algebra", 0}, {"anatomy", 0}, {"astronomy", 0}, {"business_ethics", 3},
    {"clinical_knowledge", 3}, {"college_biology", 0}, {"college_chemistry", 0},
    {"college_computer_science", 0}, {"college_mathematics", 0}, {"college_medicine", 3},
    {"college_physics", 0}, {"computer_security", 0}, {"conceptual_physics", 0}, {"econometrics", 2},
    {"electrical_engineering", 0}, {"elementary_mathematics", 0}, {"formal_logic", 1}, {"global_facts", 3},
    {"high_school_biology", 0}, {"high_school_chemistry", 0}, {"high_school_computer_science", 0},
    {"high_school_european_history", 1}, {"high_school_geography", 2},
    {"high_school_government_and_politics", 2}, {"high_school_macroeconomics", 2},
    {"high_school_mathematics", 0}, {"high_school_microeconomics", 2}, {"high_school_physics", 0},
    {"high_school_psychology", 2}, {"high_school_statistics", 0}, {"high_school_us_history", 1},
    {"high_school_world_history", 1}, {"human_aging", 3}, {"human_sexuality", 2}, {"international_law", 1},
    {"jurisprudence", 1}, {"logical_fallacies", 1}, {"machine_learning", 0}, {"management", 3},
    {"marketing", 3}, {"medical_genetics", 3}, {"miscellaneous", 3}, {"moral_disputes", 1},
    {"moral_scenarios", 1}, {"nutrition", 3}, {"philosophy", 1}, {"prehistory", 1},
    {"professional_accounting", 3}, {"professional_law", 1}, {"professional_medicine", 3},
    {"professional_psychology", 2}, {"public_relations", 2}, {"security_studies", 2}, {"sociology", 2},
    {"us_foreign_policy", 2}, {"virology", 3}, {"world_religions", 1},
};
static const char *const MMLU_CATS[T6_MMLU_CATEGORIES] = {"stem", "humanities", "social_sciences", "other"};

const char *t6_mmlu_subject(int i) { return MMLU[i].name; }
int t6_mmlu_category(int i) { return MMLU[i].cat; }
const char *t6_mmlu_category_name(int c) { return MMLU_CATS[c]; }

/* ---- documents ------------------------------------------------------------------- */

void t6_ev_docs_free(t6_ev_docs *d)
{
    for (size_t i = 0; i < d->n; i++) {
        t6_ev_raw *r = &d->docs[i];
        free(r->text);
        free(r->target);
        for (int c = 0; c < r->n_choices; c++) free(r->choices[c]);
        free(r->choices);
    }
    free(d->docs);
    free(d->path);
    memset(d, 0, sizeof *d);
}

static t6_ev_raw *new_doc(t6_ev_docs *d, long line)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 256;
        d->docs = t6_realloc(d->docs, d->cap * sizeof *d->docs);
    }
    t6_ev_raw *r = &d->docs[d->n++];
    memset(r, 0, sizeof *r);
    r->subject = -1;
    r->line = line;
    return r;
}

static void set_choices(t6_ev_raw *r, int n)
{
    r->n_choices = n;
    r->choices = t6_calloc((size_t)n, sizeof(char *));
}

/* ---- file access ----------------------------------------------------------------- */

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whole file into memory (NUL-terminated). A ".bz2" file is decompressed; with
 * `member`, the file is an archive (zip) and that member is read. */
static int slurp(const char *path, const char *member, char **data, size_t *n, char *err, size_t err_len)
{
    *data = NULL;
    *n = 0;
    size_t len = strlen(path);
    int bz2 = len > 4 && strcmp(path + len - 4, ".bz2") == 0;
    if (!bz2 && !member) {
        FILE *f = fopen(path, "rb");
        if (!f) { t6_seterr(err, err_len, "%s: cannot open: %s", path, strerror(errno)); return -1; }
        size_t cap = 1 << 16;
        char *b = t6_malloc(cap + 1);
        size_t got;
        while ((got = fread(b + *n, 1, cap - *n, f)) > 0) {
            *n += got;
            if (*n == cap) { cap *= 2; b = t6_realloc(b, cap + 1); }
        }
        int bad = ferror(f);
        fclose(f);
        if (bad) { free(b); t6_seterr(err, err_len, "%s: read error", path); return -1; }
        b[*n] = '\0';
        *data = b;
        return 0;
    }
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    if (member) archive_read_support_format_all(a); else archive_read_support_format_raw(a);
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        t6_seterr(err, err_len, "%s: cannot open: %s", path, archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    struct archive_entry *e;
    int found = 0, rc = 0;
    while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (member && strcmp(archive_entry_pathname(e), member) != 0) continue;
        found = 1;
        size_t cap = 1 << 20;
        char *b = t6_malloc(cap + 1);
        la_ssize_t got;
        while ((got = archive_read_data(a, b + *n, cap - *n)) > 0) {
            *n += (size_t)got;
            if (*n == cap) { cap *= 2; b = t6_realloc(b, cap + 1); }
        }
        if (got < 0) {
            t6_seterr(err, err_len, "%s: %s", path, archive_error_string(a));
            free(b);
            archive_read_free(a);
            return -1;
        }
        b[*n] = '\0';
        *data = b;
        break;
    }
    if (!found) {
        if (rc == ARCHIVE_FATAL || rc == ARCHIVE_WARN) t6_seterr(err, err_len, "%s: %s", path, archive_error_string(a));
        else t6_seterr(err, err_len, "%s: no member '%s'", path, member ? member : "(data)");
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    return 0;
}

/* ---- JSON helpers ---------------------------------------------------------------- */

typedef struct {
    const char *path;
    long line;
    char *err;
    size_t err_len;
} jctx;

static const char *jstr(jctx *c, json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) {
        t6_seterr(c->err, c->err_len, "%s:%ld: field \"%s\" missing or not a string", c->path, c->line, key);
        return NULL;
    }
    return json_string_value(v);
}

static json_t *jarr(jctx *c, json_t *o, const char *key, size_t min)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_array(v) || json_array_size(v) < min) {
        t6_seterr(c->err, c->err_len, "%s:%ld: field \"%s\" missing or not an array of at least %zu", c->path,
                  c->line, key, min);
        return NULL;
    }
    return v;
}

/* Strings of a JSON array into the document's choices. */
static int strings_to_choices(jctx *c, t6_ev_raw *r, json_t *arr, const char *what)
{
    set_choices(r, (int)json_array_size(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s)) {
            t6_seterr(c->err, c->err_len, "%s:%ld: %s[%zu] is not a string", c->path, c->line, what, i);
            return -1;
        }
        r->choices[i] = t6_strdup(json_string_value(s));
    }
    return 0;
}

/* gold = index of answerKey among the labels (labels may be "A".."E" or "1".."5") */
static int gold_from_key(jctx *c, t6_ev_raw *r, json_t *labels, const char *key)
{
    while (*key == ' ') key++;   /* openbookqa: answerKey.lstrip() */
    for (size_t i = 0; i < json_array_size(labels); i++) {
        json_t *l = json_array_get(labels, i);
        if (json_is_string(l) && strcmp(json_string_value(l), key) == 0) { r->gold = (int)i; return 0; }
    }
    t6_seterr(c->err, c->err_len, "%s:%ld: answerKey \"%s\" is not one of the choice labels", c->path, c->line, key);
    return -1;
}

/* ---- per-layout record readers (one JSON object each) ---------------------------- */

/* ARC / OpenBookQA: AI2's {"question":{"stem","choices":[{"text","label"}]},"answerKey"},
 * Hugging Face's {"question"|"question_stem","choices":{"text":[],"label":[]},"answerKey"},
 * or MosaicML's {"query","choices":[],"gold"}. */
static int rec_arc(jctx *c, json_t *o, t6_ev_raw *r, int obqa)
{
    json_t *q = json_object_get(o, "question");
    if (json_is_object(q)) {
        const char *stem = jstr(c, q, "stem");
        json_t *ch = stem ? jarr(c, q, "choices", 2) : NULL;
        const char *key = ch ? jstr(c, o, "answerKey") : NULL;
        if (!key) return -1;
        set_choices(r, (int)json_array_size(ch));
        json_t *labels = json_array();
        for (size_t i = 0; i < json_array_size(ch); i++) {
            json_t *e = json_array_get(ch, i);
            const char *t = json_is_object(e) ? jstr(c, e, "text") : NULL;
            const char *l = t ? jstr(c, e, "label") : NULL;
            if (!l) { json_decref(labels); return -1; }
            r->choices[i] = t6_strdup(t);
            json_array_append_new(labels, json_string(l));
        }
        int rc = gold_from_key(c, r, labels, key);
        json_decref(labels);
        if (rc) return -1;
        r->text = t6_strdup(stem);
    } else if (json_object_get(o, "query")) {
        const char *query = jstr(c, o, "query");
        json_t *ch = query ? jarr(c, o, "choices", 2) : NULL;
        json_t *g = ch ? json_object_get(o, "gold") : NULL;
        if (!ch) return -1;
        if (!json_is_integer(g) || json_integer_value(g) < 0 || (size_t)json_integer_value(g) >= json_array_size(ch)) {
            t6_seterr(c->err, c->err_len, "%s:%ld: \"gold\" missing or out of range", c->path, c->line);
            return -1;
        }
        if (strings_to_choices(c, r, ch, "choices")) return -1;
        r->gold = (int)json_integer_value(g);
        /* MosaicML's ARC query is already "Question: ...\nAnswer:"; OBQA's is the stem */
        r->text = t6_strdup(query);
        return 0;
    } else {
        const char *stem = jstr(c, o, obqa ? "question_stem" : "question");
        json_t *ch = stem ? json_object_get(o, "choices") : NULL;
        json_t *texts = json_is_object(ch) ? jarr(c, ch, "text", 2) : NULL;
        json_t *labels = texts ? jarr(c, ch, "label", json_array_size(texts)) : NULL;
        const char *key = labels ? jstr(c, o, "answerKey") : NULL;
        if (!key) {
            if (stem && !texts) t6_seterr(c->err, c->err_len, "%s:%ld: field \"choices\" missing or malformed", c->path, c->line);
            return -1;
        }
        if (strings_to_choices(c, r, texts, "choices.text") || gold_from_key(c, r, labels, key)) return -1;
        r->text = t6_strdup(stem);
    }
    if (!obqa) {
        /* doc_to_text "Question: {{question}}\nAnswer:" */
        size_t n = strlen(r->text) + 32;
        char *t = t6_malloc(n);
        snprintf(t, n, "Question: %s\nAnswer:", r->text);
        free(r->text);
        r->text = t;
    }
    return 0;
}

/* BoolQ: SuperGLUE layout {"question","passage","label"} with label true/false (JSON
 * boolean, 0/1, or the strings "true"/"false" of the OpenCompass copy). */
static int rec_boolq(jctx *c, json_t *o, t6_ev_raw *r)
{
    const char *q = jstr(c, o, "question");
    const char *p = q ? jstr(c, o, "passage") : NULL;
    if (!p) return -1;
    json_t *l = json_object_get(o, "label");
    int gold = -1;
    if (json_is_boolean(l)) gold = json_is_true(l);
    else if (json_is_integer(l) && (json_integer_value(l) == 0 || json_integer_value(l) == 1)) gold = (int)json_integer_value(l);
    else if (json_is_string(l) && strcmp(json_string_value(l), "true") == 0) gold = 1;
    else if (json_is_string(l) && strcmp(json_string_value(l), "false") == 0) gold = 0;
    if (gold < 0) {
        t6_seterr(c->err, c->err_len, "%s:%ld: field \"label\" missing or not true/false", c->path, c->line);
        return -1;
    }
    size_t n = strlen(p) + strlen(q) + 32;
    r->text = t6_malloc(n);
    snprintf(r->text, n, "%s\nQuestion: %s?\nAnswer:", p, q);
    set_choices(r, 2);
    r->choices[0] = t6_strdup("no");
    r->choices[1] = t6_strdup("yes");
    r->gold = gold;
    return 0;
}

/* HellaSwag, rowanz's original layout (hellaswag_val.jsonl): lm-eval's process_docs */
static int rec_hellaswag(jctx *c, json_t *o, t6_ev_raw *r)
{
    const char *al = jstr(c, o, "activity_label");
    const char *a = al ? jstr(c, o, "ctx_a") : NULL;
    const char *b = a ? jstr(c, o, "ctx_b") : NULL;
    json_t *end = b ? jarr(c, o, "endings", 2) : NULL;
    if (!end) return -1;
    json_t *l = json_object_get(o, "label");
    long gold = json_is_integer(l) ? (long)json_integer_value(l)
              : json_is_string(l) ? strtol(json_string_value(l), NULL, 10) : -1;
    if (gold < 0 || (size_t)gold >= json_array_size(end)) {
        t6_seterr(c->err, c->err_len, "%s:%ld: field \"label\" missing or out of range", c->path, c->line);
        return -1;
    }
    char *cap = t6_ev_capitalize(b);
    size_t n = strlen(al) + strlen(a) + strlen(cap) + 8;
    char *q = t6_malloc(n);
    snprintf(q, n, "%s: %s %s", al, a, cap);
    free(cap);
    r->text = t6_ev_hellaswag_preprocess(q);
    free(q);
    set_choices(r, (int)json_array_size(end));
    for (size_t i = 0; i < json_array_size(end); i++) {
        json_t *s = json_array_get(end, i);
        if (!json_is_string(s)) {
            t6_seterr(c->err, c->err_len, "%s:%ld: endings[%zu] is not a string", c->path, c->line, i);
            return -1;
        }
        r->choices[i] = t6_ev_hellaswag_preprocess(json_string_value(s));
    }
    r->gold = (int)gold;
    return 0;
}

/* PIQA: {"goal","sol1","sol2"} with the label from the .lst file (or a "label" field) */
static int rec_piqa(jctx *c, json_t *o, t6_ev_raw *r)
{
    const char *g = jstr(c, o, "goal");
    const char *s1 = g ? jstr(c, o, "sol1") : NULL;
    const char *s2 = s1 ? jstr(c, o, "sol2") : NULL;
    if (!s2) return -1;
    size_t n = strlen(g) + 32;
    r->text = t6_malloc(n);
    snprintf(r->text, n, "Question: %s\nAnswer:", g);
    set_choices(r, 2);
    r->choices[0] = t6_strdup(s1);
    r->choices[1] = t6_strdup(s2);
    json_t *l = json_object_get(o, "label");
    r->gold = json_is_integer(l) ? (int)json_integer_value(l) : -1;
    return 0;
}

/* SciQ: {"question","distractor1..3","correct_answer","support"}: choices
 * [d1, d2, d3, correct], gold 3; text "{support.lstrip()}\nQuestion: {q}\nAnswer:" */
static int rec_sciq(jctx *c, json_t *o, t6_ev_raw *r)
{
    const char *f[6] = {"question", "distractor1", "distractor2", "distractor3", "correct_answer", "support"};
    const char *v[6];
    for (int i = 0; i < 6; i++)
        if (!(v[i] = jstr(c, o, f[i]))) return -1;
    const char *sup = v[5];
    while (*sup && t6_ev_rstrip_len(sup, 1) == 0) sup++;   /* .lstrip() (ASCII whitespace; one byte at a time) */
    size_t n = strlen(sup) + strlen(v[0]) + 32;
    r->text = t6_malloc(n);
    snprintf(r->text, n, "%s\nQuestion: %s\nAnswer:", sup, v[0]);
    set_choices(r, 4);
    for (int i = 0; i < 4; i++) r->choices[i] = t6_strdup(v[1 + i]);
    r->gold = 3;
    return 0;
}

/* WinoGrande {"sentence","option1","option2","answer":"1"|"2"}: lm-eval's partial
 * evaluation: choices = sentence[:i] + option, target = sentence[i+1:].strip() */
static int rec_winogrande(jctx *c, json_t *o, t6_ev_raw *r)
{
    const char *s = jstr(c, o, "sentence");
    const char *o1 = s ? jstr(c, o, "option1") : NULL;
    const char *o2 = o1 ? jstr(c, o, "option2") : NULL;
    json_t *a = o2 ? json_object_get(o, "answer") : NULL;
    if (!o2) return -1;
    const char *us = strchr(s, '_');
    if (!us) {
        t6_seterr(c->err, c->err_len, "%s:%ld: sentence has no \"_\" blank", c->path, c->line);
        return -1;
    }
    const char *as = json_is_string(a) ? json_string_value(a) : "";
    if (strcmp(as, "1") && strcmp(as, "2")) {
        t6_seterr(c->err, c->err_len, "%s:%ld: field \"answer\" is not \"1\" or \"2\"", c->path, c->line);
        return -1;
    }
    r->gold = as[0] - '1';
    size_t pre = (size_t)(us - s);
    set_choices(r, 2);
    const char *opt[2] = {o1, o2};
    for (int i = 0; i < 2; i++) {
        size_t n = pre + strlen(opt[i]) + 1;
        r->choices[i] = t6_malloc(n);
        memcpy(r->choices[i], s, pre);
        strcpy(r->choices[i] + pre, opt[i]);
    }
    /* .strip(): Python whitespace on both sides */
    const char *t = us + 1;
    while (*t && t6_ev_rstrip_len(t, 1) == 0) t++;
    size_t tl = t6_ev_rstrip_len(t, strlen(t));
    r->target = t6_malloc(tl + 1);
    memcpy(r->target, t, tl);
    r->target[tl] = '\0';
    return 0;
}

/* LAMBADA: lm-eval's {"text"} (context = all but the last " "-separated word, target
 * " " + last word) or MosaicML's {"context","continuation"} */
static int rec_lambada(jctx *c, json_t *o, t6_ev_raw *r)
{
    set_choices(r, 1);
    if (json_object_get(o, "text")) {
        const char *t = jstr(c, o, "text");
        if (!t) return -1;
        const char *sp = strrchr(t, ' ');
        size_t pre = sp ? (size_t)(sp - t) : 0;
        r->text = t6_malloc(pre + 1);
        memcpy(r->text, t, pre);
        r->text[pre] = '\0';
        const char *last = sp ? sp + 1 : t;
        r->target = t6_malloc(strlen(last) + 2);
        sprintf(r->target, " %s", last);
    } else {
        const char *ctx = jstr(c, o, "context");
        const char *cont = ctx ? jstr(c, o, "continuation") : NULL;
        if (!cont) return -1;
        r->text = t6_strdup(ctx);
        r->target = t6_malloc(strlen(cont) + 2);
        sprintf(r->target, "%s%s", cont[0] == ' ' ? "" : " ", cont);
    }
    r->choices[0] = t6_strdup(r->target);
    r->gold = 0;
    return 0;
}

/* ---- JSONL / JSON-array drivers -------------------------------------------------- */

static int parse_record(int id, jctx *c, json_t *o, t6_ev_raw *r)
{
    if (!json_is_object(o)) {
        t6_seterr(c->err, c->err_len, "%s:%ld: not a JSON object", c->path, c->line);
        return -1;
    }
    switch (id) {
    case T6_TASK_ARC_EASY: case T6_TASK_ARC_CHALLENGE: return rec_arc(c, o, r, 0);
    case T6_TASK_OPENBOOKQA: return rec_arc(c, o, r, 1);
    case T6_TASK_BOOLQ: return rec_boolq(c, o, r);
    case T6_TASK_HELLASWAG: return rec_hellaswag(c, o, r);
    case T6_TASK_PIQA: return rec_piqa(c, o, r);
    case T6_TASK_SCIQ: return rec_sciq(c, o, r);
    case T6_TASK_WINOGRANDE: return rec_winogrande(c, o, r);
    case T6_TASK_LAMBADA: return rec_lambada(c, o, r);
    }
    t6_seterr(c->err, c->err_len, "%s: task has no JSON reader", c->path);
    return -1;
}

static int parse_jsonl(int id, const char *path, const char *data, size_t n, long limit, t6_ev_docs *out,
                       char *err, size_t err_len)
{
    jctx c = {path, 0, err, err_len};
    const char *p = data, *end = data + n;
    long taken = 0;
    while (p < end && (limit <= 0 || taken < limit)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        c.line++;
        size_t len = (size_t)(le - p);
        int blank = 1;
        for (size_t i = 0; i < len; i++)
            if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') { blank = 0; break; }
        if (!blank) {
            json_error_t je;
            json_t *o = json_loadb(p, len, 0, &je);
            if (!o) {
                t6_seterr(err, err_len, "%s:%ld: invalid JSON: %s (column %d)", path, c.line, je.text, je.column);
                return -1;
            }
            t6_ev_raw *r = new_doc(out, c.line);
            int rc = parse_record(id, &c, o, r);
            json_decref(o);
            if (rc) return -1;
            taken++;
        }
        p = le + 1;
    }
    return 0;
}

/* SciQ's pretty-printed array: the line of each record is found by counting newlines
 * up to the record's position (jansson reports positions only for errors), so a bad
 * record is still named by line. */
static int parse_json_array(int id, const char *path, const char *data, size_t n, long limit, t6_ev_docs *out,
                            char *err, size_t err_len)
{
    json_error_t je;
    json_t *a = json_loadb(data, n, 0, &je);
    if (!a) {
        t6_seterr(err, err_len, "%s:%d: invalid JSON: %s", path, je.line, je.text);
        return -1;
    }
    if (!json_is_array(a)) {
        json_decref(a);
        t6_seterr(err, err_len, "%s:1: expected a JSON array of records", path);
        return -1;
    }
    /* record k starts at the k-th '{' at nesting depth 1 outside strings */
    long *lines = t6_calloc(json_array_size(a) + 1, sizeof(long));
    long line = 1;
    size_t k = 0;
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n && k < json_array_size(a); i++) {
        char ch = data[i];
        if (ch == '\n') line++;
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = 0;
            continue;
        }
        if (ch == '"') in_str = 1;
        else if (ch == '[' || ch == '{') {
            if (ch == '{' && depth == 1) lines[k++] = line;
            depth++;
        } else if (ch == ']' || ch == '}') depth--;
    }
    jctx c = {path, 0, err, err_len};
    int rc = 0;
    for (size_t i = 0; i < json_array_size(a) && (limit <= 0 || (long)i < limit); i++) {
        c.line = lines[i] ? lines[i] : (long)i + 1;
        t6_ev_raw *r = new_doc(out, c.line);
        if ((rc = parse_record(id, &c, json_array_get(a, i), r))) break;
    }
    free(lines);
    json_decref(a);
    return rc;
}

/* ---- Hugging Face save_to_disk folders (Arrow IPC stream files) ------------------ */

/* A `datasets` save_to_disk folder: state.json lists the split's Arrow files in order
 * ("_data_files"), each row of them is one record in the layout of the Hugging Face
 * JSONL exports (the JSON object t6_arrow_row_json makes), and dataset_info.json, when
 * present, gives the split's row count, checked so that a stream cut at a message
 * boundary (legal for a stream) is not taken for the whole split. Records are named by
 * row (1-based, over all the files) in messages, after the .arrow file (or the folder
 * when there are several). */
static int read_hf_arrow(int id, const char *state_path, long limit, t6_ev_docs *out, char *err, size_t err_len)
{
    char dir[4200], fp[4400];
    snprintf(dir, sizeof dir, "%s", state_path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0'; else snprintf(dir, sizeof dir, ".");
    json_error_t je;
    json_t *st = json_load_file(state_path, 0, &je);
    if (!st) { t6_seterr(err, err_len, "%s:%d: invalid JSON: %s", state_path, je.line, je.text); return -1; }
    json_t *files = json_object_get(st, "_data_files");
    if (!json_is_array(files) || json_array_size(files) == 0) {
        t6_seterr(err, err_len, "%s: \"_data_files\" missing or empty (not a datasets save_to_disk folder?)", state_path);
        json_decref(st);
        return -1;
    }
    const char *sp = json_string_value(json_object_get(st, "_split"));
    char *split = sp ? t6_strdup(sp) : NULL;   /* outlives st */
    long long rows = 0;
    int rc = 0;
    for (size_t k = 0; k < json_array_size(files) && !rc; k++) {
        const char *fn = json_string_value(json_object_get(json_array_get(files, k), "filename"));
        if (!fn || !*fn || strchr(fn, '/') || strcmp(fn, "..") == 0) {
            t6_seterr(err, err_len, "%s: \"_data_files\"[%zu].filename missing or not a plain file name", state_path, k);
            rc = -1;
            break;
        }
        snprintf(fp, sizeof fp, "%s/%s", dir, fn);
        if (!out->path) out->path = t6_strdup(json_array_size(files) == 1 ? fp : dir);
        t6_arrow_table t;
        if (t6_arrow_open(fp, &t, err, err_len)) { rc = -1; break; }
        jctx c = {out->path, 0, err, err_len};
        for (int b = 0; b < t.n_batches && !rc; b++)
            for (int64_t i = 0; i < t.batches[b].length; i++) {
                c.line = (long)++rows;
                if (limit > 0 && (long)out->n >= limit) continue;   /* still counted */
                json_t *o = t6_arrow_row_json(&t, &t.batches[b], i, err, err_len);
                if (!o) { rc = -1; break; }
                t6_ev_raw *r = new_doc(out, c.line);
                rc = parse_record(id, &c, o, r);
                json_decref(o);
                if (rc) break;
            }
        t6_arrow_close(&t);
    }
    json_decref(st);
    snprintf(fp, sizeof fp, "%s/dataset_info.json", dir);
    if (rc || !split || !file_exists(fp)) { free(split); return rc; }
    json_t *info = json_load_file(fp, 0, &je);
    if (!info) {
        t6_seterr(err, err_len, "%s:%d: invalid JSON: %s", fp, je.line, je.text);
        free(split);
        return -1;
    }
    json_t *ne = json_object_get(json_object_get(json_object_get(info, "splits"), split), "num_examples");
    if (json_is_integer(ne) && json_integer_value(ne) != rows) {
        t6_seterr(err, err_len, "%s: the Arrow files hold %lld rows but %s gives the %s split %lld (a truncated file?)",
                  out->path, rows, fp, split, (long long)json_integer_value(ne));
        rc = -1;
    }
    json_decref(info);
    free(split);
    return rc;
}

/* ---- HellaSwag, klosax text (6 lines per item) ----------------------------------- */

int t6_ev_parse_hellaswag_text(const char *path, const char *data, size_t n, long limit, t6_ev_docs *out,
                               char *err, size_t err_len)
{
    const char *p = data, *end = data + n;
    long line = 0, taken = 0;
    char *f[6];
    while (p < end && (limit <= 0 || taken < limit)) {
        long first = line + 1;
        for (int i = 0; i < 6; i++) {
            if (p >= end) {
                for (int j = 0; j < i; j++) free(f[j]);
                t6_seterr(err, err_len, "%s:%ld: truncated item (6 lines per item: context, label, 4 endings)",
                          path, line + 1);
                return -1;
            }
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            size_t len = (size_t)(le - p);
            if (len && p[len - 1] == '\r') len--;
            f[i] = t6_malloc(len + 1);
            memcpy(f[i], p, len);
            f[i][len] = '\0';
            line++;
            p = le + 1;
        }
        char *e;
        long gold = strtol(f[1], &e, 10);
        int bad = e == f[1] || *e || gold < 0 || gold > 3;
        if (bad) {
            t6_seterr(err, err_len, "%s:%ld: label \"%s\" is not 0..3", path, first + 1, f[1]);
            for (int j = 0; j < 6; j++) free(f[j]);
            return -1;
        }
        t6_ev_raw *r = new_doc(out, first);
        r->text = t6_ev_hellaswag_preprocess(f[0]);
        set_choices(r, 4);
        for (int i = 0; i < 4; i++) r->choices[i] = t6_ev_hellaswag_preprocess(f[2 + i]);
        r->gold = (int)gold;
        for (int j = 0; j < 6; j++) free(f[j]);
        taken++;
    }
    return 0;
}

/* ---- MMLU CSV (libcsv) ----------------------------------------------------------- */

typedef struct {
    const char *path;
    char *fields[8];
    int nf;
    long line, row_start;      /* line being fed; first line of the current row */
    int subject;
    long limit, taken;
    t6_ev_docs *out;
    int failed;
    char *err;
    size_t err_len;
} csvctx;

static void csv_field(void *s, size_t len, void *data)
{
    csvctx *c = data;
    if (c->nf < 8) {
        c->fields[c->nf] = t6_malloc(len + 1);
        memcpy(c->fields[c->nf], s, len);
        c->fields[c->nf][len] = '\0';
    }
    c->nf++;
}

static void csv_row(int term, void *data)
{
    (void)term;
    csvctx *c = data;
    int nf = c->nf;
    long start = c->row_start;
    c->row_start = c->line + 1;
    c->nf = 0;
    if (!c->failed && (c->limit <= 0 || c->taken < c->limit)) {
        if (nf != 6) {
            t6_seterr(c->err, c->err_len, "%s:%ld: %d fields, expected 6 (question,A,B,C,D,answer)", c->path, start, nf);
            c->failed = 1;
        } else if (strlen(c->fields[5]) != 1 || c->fields[5][0] < 'A' || c->fields[5][0] > 'D') {
            t6_seterr(c->err, c->err_len, "%s:%ld: answer \"%s\" is not A, B, C or D", c->path, start, c->fields[5]);
            c->failed = 1;
        } else {
            t6_ev_raw *r = new_doc(c->out, start);
            r->subject = c->subject;
            /* doc_to_text "{{question.strip()}}\nA. {{choices[0]}}\nB. ...\nAnswer:" */
            const char *q = c->fields[0];
            while (*q && t6_ev_rstrip_len(q, 1) == 0) q++;
            size_t ql = t6_ev_rstrip_len(q, strlen(q));
            size_t n = ql + strlen(c->fields[1]) + strlen(c->fields[2]) + strlen(c->fields[3]) + strlen(c->fields[4]) + 64;
            r->text = t6_malloc(n);
            snprintf(r->text, n, "%.*s\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer:", (int)ql, q, c->fields[1], c->fields[2],
                     c->fields[3], c->fields[4]);
            set_choices(r, 4);
            for (int i = 0; i < 4; i++) {
                char l[2] = {(char)('A' + i), 0};
                r->choices[i] = t6_strdup(l);
            }
            r->gold = c->fields[5][0] - 'A';
            c->taken++;
        }
    }
    for (int i = 0; i < nf && i < 8; i++) free(c->fields[i]);
}

static int no_space(unsigned char ch) { (void)ch; return 0; }

int t6_ev_parse_csv_mmlu(const char *path, const char *data, size_t n, int subject, long limit, t6_ev_docs *out,
                         char *err, size_t err_len)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        t6_seterr(err, err_len, "%s: cannot initialise the CSV parser", path);
        return -1;
    }
    /* Python's csv keeps spaces around unquoted fields; libcsv trims them by default */
    csv_set_space_func(&p, no_space);
    csvctx c = {.path = path, .line = 0, .row_start = 1, .subject = subject, .limit = limit, .out = out,
                .err = err, .err_len = err_len};
    const char *s = data, *end = data + n;
    int rc = 0;
    /* fed line by line so that rows and errors can be named by line */
    while (s < end && !c.failed) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
        c.line++;
        if (csv_parse(&p, s, len, csv_field, csv_row, &c) != len) {
            t6_seterr(err, err_len, "%s:%ld: malformed CSV: %s", path, c.line, csv_strerror(csv_error(&p)));
            rc = -1;
            break;
        }
        s += len;
    }
    if (!rc && !c.failed && csv_fini(&p, csv_field, csv_row, &c) != 0) {
        t6_seterr(err, err_len, "%s:%ld: malformed CSV at end of file: %s", path, c.row_start,
                  csv_strerror(csv_error(&p)));
        rc = -1;
    }
    for (int i = 0; i < c.nf && i < 8; i++) free(c.fields[i]);
    csv_free(&p);
    return (rc || c.failed) ? -1 : 0;
}

/* ---- where each split lives ------------------------------------------------------ */

/* Candidate files per task and split, relative to eval_dir/<task>/, first found wins.
 * The second column says which reader: j JSONL, a JSON array, z SciQ zip member,
 * k klosax text, p PIQA JSONL + labels file, r a Hugging Face save_to_disk folder (its
 * state.json; the rows are read from the Arrow files it lists). */
typedef struct { const char *rel; char fmt; } cand;

static const cand *candidates(int id, int fewshot)
{
    static const cand arc_e[] = {{"original/ARC-Easy-Test.jsonl", 'j'}, {"test.jsonl", 'j'}, {NULL, 0}};
    static const cand arc_e_tr[] = {{"original/ARC-Easy-Train.jsonl", 'j'}, {"train.jsonl", 'j'}, {NULL, 0}};
    static const cand arc_c[] = {{"original/ARC-Challenge-Test.jsonl", 'j'}, {"test.jsonl", 'j'}, {NULL, 0}};
    static const cand arc_c_tr[] = {{"original/ARC-Challenge-Train.jsonl", 'j'}, {"train.jsonl", 'j'}, {NULL, 0}};
    static const cand boolq[] = {{"original/val.jsonl", 'j'}, {"validation.jsonl", 'j'}, {NULL, 0}};
    static const cand boolq_tr[] = {{"original/train.jsonl", 'j'}, {"train.jsonl", 'j'}, {NULL, 0}};
    static const cand hs[] = {{"hellaswag_val.jsonl", 'j'}, {"original/hellaswag_val.jsonl", 'j'},
                              {"klosax-text/hellaswag_val_full.txt", 'k'},
                              {"klosax-text/hellaswag_val_full.txt.bz2", 'k'}, {NULL, 0}};
    static const cand hs_tr[] = {{"hellaswag_train.jsonl", 'j'}, {"original/hellaswag_train.jsonl", 'j'}, {NULL, 0}};
    static const cand obqa[] = {{"original/test.jsonl", 'j'}, {"mosaicml-icl/openbook_qa.jsonl", 'j'}, {NULL, 0}};
    static const cand obqa_tr[] = {{"original/train.jsonl", 'j'}, {NULL, 0}};
    static const cand piqa[] = {{"original/valid.jsonl", 'p'}, {"hf-arrow/validation/state.json", 'r'}, {NULL, 0}};
    static const cand piqa_tr[] = {{"original/train.jsonl", 'p'}, {NULL, 0}};
    /* no copy in the authors' layout here: the Arrow files of allenai/winogrande's
     * winogrande_xl validation split are the original form; validation.jsonl beside
     * them is a conversion, read only where the Arrow folder is absent */
    static const cand wg[] = {{"original/dev.jsonl", 'j'}, {"hf-arrow/validation/state.json", 'r'},
                              {"hf-arrow/validation.jsonl", 'j'}, {NULL, 0}};
    static const cand wg_tr[] = {{"original/train_xl.jsonl", 'j'}, {"hf-arrow/train/state.json", 'r'}, {NULL, 0}};
    static const cand sciq[] = {{"original/test.json", 'a'}, {NULL, 0}};
    static const cand sciq_tr[] = {{"original/train.json", 'a'}, {"original/SciQ.zip", 'z'}, {NULL, 0}};
    static const cand lam[] = {{"lambada_test.jsonl", 'j'}, {"original/lambada_test.jsonl", 'j'},
                               {"mosaicml-icl/lambada_openai.jsonl", 'j'}, {NULL, 0}};
    static const cand none[] = {{NULL, 0}};
    switch (id) {
    case T6_TASK_ARC_EASY: return fewshot ? arc_e_tr : arc_e;
    case T6_TASK_ARC_CHALLENGE: return fewshot ? arc_c_tr : arc_c;
    case T6_TASK_BOOLQ: return fewshot ? boolq_tr : boolq;
    case T6_TASK_HELLASWAG: return fewshot ? hs_tr : hs;
    case T6_TASK_OPENBOOKQA: return fewshot ? obqa_tr : obqa;
    case T6_TASK_PIQA: return fewshot ? piqa_tr : piqa;
    case T6_TASK_WINOGRANDE: return fewshot ? wg_tr : wg;
    case T6_TASK_SCIQ: return fewshot ? sciq_tr : sciq;
    case T6_TASK_LAMBADA: return fewshot ? none : lam;
    }
    return none;
}

/* PIQA labels: one 0/1 per line in <name>-labels.lst beside the JSONL. whole: the JSONL
 * was read to its end, so the labels must end with it too (more labels than questions
 * means the files do not belong together, or the JSONL was cut at a line boundary,
 * which nothing else could tell). */
static int piqa_labels(const char *jsonl, t6_ev_docs *out, size_t first, int whole, char *err, size_t err_len)
{
    char lp[4200];
    size_t l = strlen(jsonl);
    if (l > 6 && strcmp(jsonl + l - 6, ".jsonl") == 0) l -= 6;
    snprintf(lp, sizeof lp, "%.*s-labels.lst", (int)l, jsonl);
    int need = 0;
    for (size_t i = first; i < out->n; i++) need |= out->docs[i].gold < 0;
    if (!need) return 0;
    char *data;
    size_t n;
    if (slurp(lp, NULL, &data, &n, err, err_len)) return -1;
    const char *p = data;
    for (size_t i = first; i < out->n; i++) {
        long line = (long)(i - first) + 1;
        const char *nl = strchr(p, '\n');
        if (!*p || !(p[0] == '0' || p[0] == '1') || !(p[1] == '\n' || p[1] == '\r' || p[1] == '\0')) {
            t6_seterr(err, err_len, "%s:%ld: expected a label 0 or 1 for %s line %ld", lp, line, jsonl,
                      out->docs[i].line);
            free(data);
            return -1;
        }
        out->docs[i].gold = p[0] - '0';
        p = nl ? nl + 1 : p + 1;
    }
    if (whole) {
        long extra = 0;
        for (const char *q = p; *q;) {
            const char *nl = strchr(q, '\n');
            size_t len = nl ? (size_t)(nl - q) : strlen(q);
            if (len > 0 && !(len == 1 && q[0] == '\r')) extra++;
            q = nl ? nl + 1 : q + len;
        }
        if (extra > 0) {
            t6_seterr(err, err_len, "%s has %ld more label(s) than the %zu questions of %s: the two files do not "
                      "match (is %s truncated?)", lp, extra, out->n - first, jsonl, jsonl);
            free(data);
            return -1;
        }
    }
    free(data);
    return 0;
}

int t6_ev_read(int id, const char *eval_dir, int fewshot, long limit, t6_ev_docs *out, char *err, size_t err_len)
{
    const t6_task_info *t = t6_task_get((t6_task_id)id);
    char path[4200];
    memset(out, 0, sizeof *out);
    if (!t) { t6_seterr(err, err_len, "unknown task id %d", id); return -1; }
    if (id == T6_TASK_MMLU) {
        const char *split = fewshot ? "dev" : "test";
        for (int s = 0; s < T6_MMLU_SUBJECTS; s++) {
            snprintf(path, sizeof path, "%s/mmlu/original/data/%s/%s_%s.csv", eval_dir, split, MMLU[s].name, split);
            if (!file_exists(path)) {
                snprintf(path, sizeof path, "%s/mmlu/data/%s/%s_%s.csv", eval_dir, split, MMLU[s].name, split);
                if (!file_exists(path)) {
                    t6_seterr(err, err_len, "%s/mmlu/original/data/%s/%s_%s.csv: no such file (MMLU needs all 57 "
                              "subjects of the authors' data.tar)", eval_dir, split, MMLU[s].name, split);
                    t6_ev_docs_free(out);
                    return -1;
                }
            }
            char *data;
            size_t n;
            if (slurp(path, NULL, &data, &n, err, err_len) ||
                t6_ev_parse_csv_mmlu(path, data, n, s, fewshot ? 0 : limit, out, err, err_len)) {
                if (data) free(data);
                t6_ev_docs_free(out);
                return -1;
            }
            free(data);
        }
        snprintf(path, sizeof path, "%s/mmlu/original/data/%s", eval_dir, split);
        out->path = t6_strdup(path);
        return 0;
    }
    const cand *c = candidates(id, fewshot);
    for (; c->rel; c++) {
        snprintf(path, sizeof path, "%s/%s/%s", eval_dir, t->name, c->rel);
        if (file_exists(path)) break;
    }
    if (!c->rel) {
        const cand *c0 = candidates(id, fewshot);
        if (fewshot) {
            t6_seterr(err, err_len, "%s has no few-shot split here: %s%s%s%s (lm-eval draws %s's few-shot examples "
                      "from its train split)", t->name, c0->rel ? eval_dir : "", c0->rel ? "/" : "",
                      c0->rel ? t->name : "none exists for this task", c0->rel ? "/..." : "", t->name);
            if (c0->rel) {
                size_t o = strlen(err);
                snprintf(err + o, err_len - o, "; looked for");
                for (; c0->rel; c0++) {
                    o = strlen(err);
                    snprintf(err + o, err_len - o, " %s/%s/%s", eval_dir, t->name, c0->rel);
                }
            }
            return 1;
        }
        t6_seterr(err, err_len, "%s/%s/%s: no such file (task %s; looked for", eval_dir, t->name, c0->rel, t->name);
        for (; c0->rel; c0++) {
            size_t o = strlen(err);
            snprintf(err + o, err_len - o, " %s", c0->rel);
        }
        size_t o = strlen(err);
        snprintf(err + o, err_len - o, "; set data.eval_dir)");
        return -1;
    }
    long lim = fewshot ? 0 : limit;
    int rc;
    if (c->fmt == 'r') {
        rc = read_hf_arrow(id, path, lim, out, err, err_len);
        if (!rc && out->n == 0 && !fewshot) { t6_seterr(err, err_len, "%s: no documents", out->path); rc = -1; }
        if (rc) t6_ev_docs_free(out);
        return rc ? -1 : 0;
    }
    out->path = t6_strdup(path);
    char *data = NULL;
    size_t n = 0;
    const char *member = c->fmt == 'z' ? "SciQ dataset-2 3/train.json" : NULL;
    if (slurp(path, member, &data, &n, err, err_len)) { t6_ev_docs_free(out); return -1; }
    switch (c->fmt) {
    case 'k': rc = t6_ev_parse_hellaswag_text(path, data, n, lim, out, err, err_len); break;
    case 'a': case 'z': rc = parse_json_array(id, path, data, n, lim, out, err, err_len); break;
    default: rc = parse_jsonl(id, path, data, n, lim, out, err, err_len); break;
    }
    if (!rc && c->fmt == 'p') rc = piqa_labels(path, out, 0, lim <= 0, err, err_len);
    free(data);
    if (rc) { t6_ev_docs_free(out); return -1; }
    if (out->n == 0 && !fewshot) {
        t6_seterr(err, err_len, "%s: no documents", path);
        t6_ev_docs_free(out);
        return -1;
    }
    return 0;
}
