/* evreport.c -- the results of an evaluation: the table on stdout (the paper's column
 * order, the paper's metric per task, then every metric with its standard error), the
 * JSON summary for scripts, and the HDF5 results file (doc/formats/eval-results.md:
 * per-task metrics and every request with the tokens the model saw). */
#include "config.h"

#include "eval/evrun.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5io.h"
#include "rundir.h"
#include "util.h"

#define T6_EVAL_FORMAT "t6-eval-results"
#define T6_EVAL_VERSION 3   /* 2: /requests/choice_chars; 3: /requests/gold */

/* The metric the paper's tables use for task t. */
static double paper_value(const t6_ev_task *t)
{
    const t6_task_info *i = t6_task_get((t6_task_id)t->id);
    if (i->kind == T6_EV_LOGLIK) return t->m.acc;
    return i->paper_norm ? t->m.acc_norm : t->m.acc;
}

static void row(FILE *f, const char *task, const char *metric, double v, double se, long n)
{
    if (isnan(v)) return;
    if (isnan(se)) fprintf(f, "%-34s %-9s %10.4f %9s %7ld\n", task, metric, v, "n/a", n);
    else fprintf(f, "%-34s %-9s %10.4f %9.4f %7ld\n", task, metric, v, se, n);
}

void t6_ev_print_table(const t6_ev_results *R, FILE *f)
{
    fprintf(f, "\n%-34s %-9s %10s %9s %7s\n", "task", "metric", "value", "stderr", "n");
    for (int id = 0; id < T6_TASK_COUNT; id++) {
        const t6_ev_task *t = &R->tasks[id];
        if (!t->used) continue;
        const char *name = t6_task_get((t6_task_id)id)->name;
        row(f, name, "acc", t->m.acc, t->m.acc_stderr, t->m.n);
        row(f, name, "acc_norm", t->m.acc_norm, t->m.acc_norm_stderr, t->m.n);
        row(f, name, "perplexity", t->m.ppl, t->m.ppl_stderr, t->m.n);
        if (id == T6_TASK_MMLU)
            for (int c = 0; c < T6_MMLU_CATEGORIES; c++) {
                char nm[64];
                snprintf(nm, sizeof nm, " - %s", t6_mmlu_category_name(c));
                const t6_ev_metrics *m = &t->sub[T6_MMLU_SUBJECTS + c];
                if (m->n > 0) row(f, nm, "acc", m->acc, m->acc_stderr, m->n);
            }
    }
    /* the paper's row: ARC-E .. SciQ | Avg (x100, the paper's metric per task) */
    fprintf(f, "\n%d-shot, paper metric x 100 (acc_norm: ARC-E/C, HellaSwag, OBQA, PIQA, SciQ; acc: BoolQ, "
               "WinoGrande, MMLU)\n", R->num_fewshot);
    double sum = 0.0;
    int n = 0;
    for (int id = 0; id < T6_PAPER_TASKS; id++)
        if (R->tasks[id].used) fprintf(f, "%11s", t6_task_get((t6_task_id)id)->column);
    fprintf(f, " | %7s", "Avg");
    if (R->tasks[T6_TASK_LAMBADA].used) fprintf(f, " | %9s %9s", "LAMBADA", "ppl");
    fprintf(f, "\n");
    for (int id = 0; id < T6_PAPER_TASKS; id++) {
        if (!R->tasks[id].used) continue;
        double v = 100.0 * paper_value(&R->tasks[id]);
        fprintf(f, "%11.2f", v);
        sum += v;
        n++;
    }
    if (n == T6_PAPER_TASKS) fprintf(f, " | %7.2f", sum / n);
    else if (n > 0) fprintf(f, " | %6.2f*", sum / n);
    else fprintf(f, " | %7s", "-");
    if (R->tasks[T6_TASK_LAMBADA].used)
        fprintf(f, " | %9.2f %9.3f", 100.0 * R->tasks[T6_TASK_LAMBADA].m.acc, R->tasks[T6_TASK_LAMBADA].m.ppl);
    fprintf(f, "\n");
    if (n > 0 && n < T6_PAPER_TASKS) fprintf(f, "* mean over the %d of the paper's 9 tasks evaluated\n", n);
    if (R->limit > 0 && R->limit_cut) fprintf(f, "eval.limit = %ld: not the full test sets\n", R->limit);
    else if (R->limit > 0) fprintf(f, "eval.limit = %ld: every task has fewer documents; these are the full sets\n", R->limit);
}

/* ---- output paths ---- */

void t6_ev_results_path(const char *results, const char *ckpt_path, int num_fewshot, char *out, size_t len)
{
    if (results) { snprintf(out, len, "%s", results); return; }
    /* beside the checkpoint; model.init_from = "hf:DIR": beside DIR */
    const char *src = ckpt_path ? ckpt_path : "";
    if (strncmp(src, "hf:", 3) == 0) src += 3;
    size_t l = strlen(src);
    while (l > 1 && src[l - 1] == '/') l--;
    if (l > 3 && strncmp(src + l - 3, ".h5", 3) == 0) l -= 3;
    if (l == 0) snprintf(out, len, "eval-%dshot.h5", num_fewshot);   /* no source known */
    else snprintf(out, len, "%.*s.eval-%dshot.h5", (int)l, src, num_fewshot);
}

/* "<path>.tmp.<pid>": one name per writer, so two evaluations writing the same path at
 * once never write into one temporary file (the later rename wins, whole); a writer
 * killed mid-write leaves its file, removed by the next evaluation of that path once
 * that pid is dead (t6_clean_temp_files). */
static void tmp_name(char *buf, size_t len, const char *path)
{
    snprintf(buf, len, "%s.tmp.%ld", path, (long)getpid());
}

/* Removes the temporary files of path's earlier writers that are dead. */
static void clean_stale_tmps(const char *path)
{
    char *d = t6_strdup(path), *b = t6_strdup(path), prefix[4400];
    snprintf(prefix, sizeof prefix, "%s.tmp.", basename(b));
    t6_clean_temp_files(dirname(d), prefix, "an evaluation result");
    free(d);
    free(b);
}

/* Both outputs are written to "<path>.tmp.<pid>" and renamed over path once complete, so
 * what must be possible before the scoring starts is: path is not a directory, and
 * the .tmp file can be created beside it (the directory exists and is writable, the
 * file system is not read-only). Creating and removing the .tmp file is the check
 * that also holds for root, for whom access(2) says yes on a read-only mount. */
/* 1 when the existing file at path is an earlier result of ours (HDF5 or JSON with
 * format "t6-eval-results"), which a rerun may replace. */
static int is_eval_result(const char *path, int json)
{
    if (json) {
        json_t *o = json_load_file(path, 0, NULL);
        const char *fmt = o ? json_string_value(json_object_get(o, "format")) : NULL;
        int yes = fmt && strcmp(fmt, T6_EVAL_FORMAT) == 0;
        json_decref(o);
        return yes;
    }
    t6_h5_quiet_state q = t6_h5_quiet_begin();
    int yes = 0;
    if (H5Fis_hdf5(path) > 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        char fmt[64];
        if (f >= 0) {
            yes = t6_h5_get_str(f, "format", fmt, sizeof fmt) == 0 && strcmp(fmt, T6_EVAL_FORMAT) == 0;
            H5Fclose(f);
        }
    }
    char why[64];
    t6_h5_reason(why, sizeof why);
    t6_h5_quiet_end(q);
    return yes;
}

int t6_ev_check_output(const char *key, const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        t6_seterr(err, err_len, "%s = \"%s\": is a directory, not a file path", key, path);
        return -1;
    }
    /* eval.json = /dev/stdout (whatever stdout is: a log file too), a pipe: written
     * straight into it (write_json) */
    const int json = strcmp(key, "eval.json") == 0;
    if (json && strncmp(path, "/dev/", 5) == 0) return 0;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (json) return 0;
        t6_seterr(err, err_len, "%s = \"%s\": not a regular file", key, path);
        return -1;
    }
    /* an existing file is replaced only when it is an earlier result: a checkpoint, a
     * metrics file or a corpus given by mistake (eval.results = the checkpoint just
     * evaluated) was overwritten before */
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && !is_eval_result(path, json)) {
        t6_seterr(err, err_len, "%s = \"%s\": the file exists and is not a \"%s\" %s file; not overwritten "
                  "(remove it, or choose another path)", key, path, T6_EVAL_FORMAT,
                  json ? "JSON" : "HDF5");
        return -1;
    }
    char tmp[4500];
    tmp_name(tmp, sizeof tmp, path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        t6_seterr(err, err_len, "%s = \"%s\": cannot create %s: %s", key, path, tmp, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(tmp);
    clean_stale_tmps(path);
    return 0;
}

/* The reason a write into the directory of path failed, for messages: the free space
 * of its file system, which is what "disk full" looks like from here. */
static void space_note(const char *path, char *buf, size_t len)
{
    char b[32];
    char *copy = t6_strdup(path);
    long long fb = t6_free_bytes(dirname(copy));
    free(copy);
    if (fb < 0) { snprintf(buf, len, "free space unknown"); return; }
    snprintf(buf, len, "%s free on its file system", t6_fmt_bytes(b, sizeof b, fb));
}

/* ---- JSON ---- */

static json_t *num(double v) { return isnan(v) || isinf(v) ? json_null() : json_real(v); }

static json_t *metrics_json(const t6_ev_metrics *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "acc", num(m->acc));
    json_object_set_new(o, "acc_stderr", num(m->acc_stderr));
    if (!isnan(m->acc_norm)) {
        json_object_set_new(o, "acc_norm", num(m->acc_norm));
        json_object_set_new(o, "acc_norm_stderr", num(m->acc_norm_stderr));
    }
    if (!isnan(m->ppl)) {
        json_object_set_new(o, "perplexity", num(m->ppl));
        json_object_set_new(o, "perplexity_stderr", num(m->ppl_stderr));
    }
    json_object_set_new(o, "n", json_integer(m->n));
    return o;
}

int t6_ev_write_json(const t6_ev_results *R, const char *path, char *err, size_t err_len)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(T6_EVAL_FORMAT));
    json_object_set_new(root, "version", json_integer(T6_EVAL_VERSION));
    json_object_set_new(root, "checkpoint", json_string(R->ckpt ? R->ckpt : ""));
    json_object_set_new(root, "step", json_integer(R->step));
    json_object_set_new(root, "num_fewshot", json_integer(R->num_fewshot));
    json_object_set_new(root, "limit", json_integer(R->limit));
    json_object_set_new(root, "max_length", json_integer(R->max_len));
    json_object_set_new(root, "requests", json_integer((json_int_t)R->n_req));
    json_object_set_new(root, "seconds", json_real(R->seconds));
    json_t *tasks = json_object();
    double sum = 0.0;
    int n = 0;
    for (int id = 0; id < T6_TASK_COUNT; id++) {
        const t6_ev_task *t = &R->tasks[id];
        if (!t->used) continue;
        json_t *o = metrics_json(&t->m);
        json_object_set_new(o, "paper_metric", json_string(t6_task_get((t6_task_id)id)->kind == T6_EV_LOGLIK ? "acc"
                                                           : t6_task_get((t6_task_id)id)->paper_norm ? "acc_norm" : "acc"));
        if (id == T6_TASK_MMLU) {
            json_t *g = json_object();
            for (int c = 0; c < T6_MMLU_CATEGORIES; c++)
                json_object_set_new(g, t6_mmlu_category_name(c), metrics_json(&t->sub[T6_MMLU_SUBJECTS + c]));
            json_object_set_new(o, "categories", g);
            json_t *s = json_object();
            for (int k = 0; k < T6_MMLU_SUBJECTS; k++)
                if (t->sub[k].n > 0) json_object_set_new(s, t6_mmlu_subject(k), metrics_json(&t->sub[k]));
            json_object_set_new(o, "subjects", s);
        }
        json_object_set_new(tasks, t6_task_get((t6_task_id)id)->name, o);
        if (id < T6_PAPER_TASKS) { sum += paper_value(t); n++; }
    }
    json_object_set_new(root, "tasks", tasks);
    json_object_set_new(root, "average", n ? json_real(sum / n) : json_null());
    json_object_set_new(root, "average_tasks", json_integer(n));
    int rc;
    if (strcmp(path, "-") == 0) {
        rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        printf("\n");
        json_decref(root);
        if (rc) { t6_seterr(err, err_len, "eval.json = \"-\": cannot write to stdout"); return -1; }
        return 0;
    }
    struct stat st;
    if (strncmp(path, "/dev/", 5) == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode))) {   /* /dev/stdout, a pipe */
        /* appended, after what t6 printed so far: "w" would truncate a log file that
         * /dev/stdout stands for (and a rename would replace the /dev entry itself) */
        fflush(stdout);
        fflush(stderr);
        FILE *f = fopen(path, "a");
        rc = !f || json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0 || fputc('\n', f) == EOF;
        int e = errno;
        if (f && fclose(f) != 0) rc = 1;
        json_decref(root);
        if (rc) { t6_seterr(err, err_len, "eval.json = \"%s\": cannot write: %s", path, strerror(e)); return -1; }
        return 0;
    }
    /* <path>.tmp.<pid>, renamed once whole: a full disk leaves the previous file as it was,
     * never a truncated JSON in its place (json_dump_file checks fclose) */
    char tmp[4500], note[96];
    tmp_name(tmp, sizeof tmp, path);
    errno = 0;
    rc = json_dump_file(root, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    int e = errno;
    json_decref(root);
    if (rc) {
        unlink(tmp);
        space_note(tmp, note, sizeof note);
        t6_seterr(err, err_len, "eval.json = \"%s\": writing %s failed (%s; %s); %s", path, tmp,
                  e ? strerror(e) : "error", note, "the previous file, if any, is unchanged");
        return -1;
    }
    if (t6_rename_durable(tmp, path, err, err_len) != 0) { unlink(tmp); return -1; }
    return 0;
}

/* ---- HDF5 ---- */

static int put(hid_t g, const char *name, hid_t mtype, hid_t ftype, const void *data, size_t n)
{
    hsize_t dim = n;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (n > 4096) {
        hsize_t chunk = 65536 < n ? 65536 : n;
        H5Pset_chunk(dcpl, 1, &chunk);
        H5Pset_deflate(dcpl, 4);
    }
    hid_t d = H5Dcreate2(g, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = d < 0 || (n > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0);
    if (d >= 0) H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return rc;
}

static void attr_str(hid_t o, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, v);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void attr_i64(hid_t o, const char *name, int64_t v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
    H5Sclose(sp);
}

/* A list of strings as a fixed-width string dataset. */
static int put_strings(hid_t g, const char *name, const char *const *s, size_t n)
{
    size_t w = 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(s[i]) + 1 > w) w = strlen(s[i]) + 1;
    char *buf = t6_calloc(n ? n : 1, w);
    for (size_t i = 0; i < n; i++) memcpy(buf + i * w, s[i], strlen(s[i]));
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, w);
    int rc = put(g, name, t, t, buf, n);
    H5Tclose(t);
    free(buf);
    return rc;
}

int t6_ev_write_h5(const t6_ev_results *R, const char *path, char *err, size_t err_len)
{
    char tmp[4500];
    tmp_name(tmp, sizeof tmp, path);
    t6_h5_quiet_state q = t6_h5_quiet_begin();
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        char why[256], note[96];
        t6_h5_reason(why, sizeof why);
        t6_h5_quiet_end(q);
        unlink(tmp);   /* a full disk fails the create after the file exists */
        space_note(tmp, note, sizeof note);
        t6_seterr(err, err_len, "eval.results = \"%s\": cannot create %s (%s; %s); the previous file, if any, is unchanged",
                  path, tmp, why[0] ? why : "HDF5 error", note);
        return -1;
    }
    attr_str(f, "format", T6_EVAL_FORMAT);
    attr_i64(f, "version", T6_EVAL_VERSION);
    attr_str(f, "checkpoint", R->ckpt ? R->ckpt : "");
    attr_i64(f, "step", R->step);
    attr_i64(f, "num_fewshot", R->num_fewshot);
    attr_i64(f, "limit", R->limit);
    attr_i64(f, "max_length", R->max_len);
    attr_i64(f, "fewshot_seed", 1234);
    attr_i64(f, "world_size", R->world);
    attr_str(f, "vocab_hash", R->vocab_hash);
    int rc = 0;

    /* metrics: one row per (task, metric), MMLU's categories and subjects as mmlu_<name> */
    size_t cap = 64, n = 0;
    const char **tn = t6_malloc(cap * sizeof *tn), **mn = t6_malloc(cap * sizeof *mn);
    double *val = t6_malloc(cap * sizeof *val), *se = t6_malloc(cap * sizeof *se);
    int64_t *cnt = t6_malloc(cap * sizeof *cnt);
    char (*names)[80] = t6_malloc((T6_MMLU_SUBJECTS + T6_MMLU_CATEGORIES) * sizeof *names);
    for (int id = 0; id < T6_TASK_COUNT; id++) {
        const t6_ev_task *t = &R->tasks[id];
        if (!t->used) continue;
        int nsub = id == T6_TASK_MMLU ? T6_MMLU_SUBJECTS + T6_MMLU_CATEGORIES : 0;
        for (int s = -1; s < nsub; s++) {
            const t6_ev_metrics *m = s < 0 ? &t->m : &t->sub[s];
            const char *name = t6_task_get((t6_task_id)id)->name;
            if (s >= 0) {
                if (m->n == 0) continue;
                snprintf(names[s], sizeof names[s], "mmlu_%s",
                         s < T6_MMLU_SUBJECTS ? t6_mmlu_subject(s) : t6_mmlu_category_name(s - T6_MMLU_SUBJECTS));
                name = names[s];
            }
            const char *mnames[3] = {"acc", "acc_norm", "perplexity"};
            double v[3] = {m->acc, m->acc_norm, m->ppl}, e[3] = {m->acc_stderr, m->acc_norm_stderr, m->ppl_stderr};
            for (int k = 0; k < 3; k++) {
                if (isnan(v[k])) continue;
                if (n == cap) {
                    cap *= 2;
                    tn = t6_realloc(tn, cap * sizeof *tn); mn = t6_realloc(mn, cap * sizeof *mn);
                    val = t6_realloc(val, cap * sizeof *val); se = t6_realloc(se, cap * sizeof *se);
                    cnt = t6_realloc(cnt, cap * sizeof *cnt);
                }
                tn[n] = name; mn[n] = mnames[k]; val[n] = v[k]; se[n] = e[k]; cnt[n] = m->n;
                n++;
            }
        }
    }
    hid_t g = H5Gcreate2(f, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    rc |= put_strings(g, "task", tn, n);
    rc |= put_strings(g, "metric", mn, n);
    rc |= put(g, "value", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, val, n);
    rc |= put(g, "stderr", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, se, n);
    rc |= put(g, "n", H5T_NATIVE_INT64, H5T_STD_I64LE, cnt, n);
    H5Gclose(g);
    free(tn); free(mn); free(val); free(se); free(cnt); free(names);

    /* requests */
    const char *tnames[T6_TASK_COUNT];
    for (int i = 0; i < T6_TASK_COUNT; i++) tnames[i] = t6_task_get((t6_task_id)i)->name;
    size_t N = R->n_req, ntok = 0;
    for (size_t i = 0; i < N; i++) ntok += (size_t)R->req[i].n_tok;
    int32_t *task = t6_malloc((N + 1) * sizeof(int32_t)), *choice = t6_malloc((N + 1) * sizeof(int32_t));
    int32_t *clen = t6_malloc((N + 1) * sizeof(int32_t)), *toks = t6_malloc((ntok + 1) * sizeof(int32_t));
    int64_t *doc = t6_malloc((N + 1) * sizeof(int64_t)), *off = t6_malloc((N + 1) * sizeof(int64_t));
    double *ll = t6_malloc((N + 1) * sizeof(double));
    int8_t *gr = t6_malloc(N + 1);
    /* acc_norm's divisor per request (Python characters of the choice; 0 where a task
     * has none), so an outside reader can recompute acc_norm from loglik */
    int32_t *nch = t6_calloc(N + 1, sizeof(int32_t));
    for (int t = 0; t < T6_TASK_COUNT; t++) {
        const t6_ev_task *T = &R->tasks[t];
        if (!T->norm_len) continue;
        for (size_t k = 0; k < T->n_req && T->req0 + k < N; k++) nch[T->req0 + k] = (int32_t)T->norm_len[k];
    }
    /* the gold choice of each request's document (-1 where a task has none: LAMBADA),
     * so that acc and acc_norm can be recomputed from this file alone */
    int32_t *gold = t6_malloc((N + 1) * sizeof(int32_t));
    for (size_t i = 0; i < N; i++) {
        const t6_ev_request *q = &R->req[i];
        const t6_ev_task *T = &R->tasks[q->task];
        int g = -1;
        if (t6_task_get((t6_task_id)q->task)->kind != T6_EV_LOGLIK && q->doc >= 0 && (size_t)q->doc < T->docs.n)
            g = T->docs.docs[q->doc].gold;
        gold[i] = g;
    }
    size_t o = 0;
    for (size_t i = 0; i < N; i++) {
        const t6_ev_request *q = &R->req[i];
        task[i] = q->task; choice[i] = q->choice; clen[i] = q->n_cont; doc[i] = q->doc;
        ll[i] = q->ll; gr[i] = (int8_t)q->greedy;
        off[i] = (int64_t)o;
        memcpy(toks + o, q->tok, (size_t)q->n_tok * sizeof(int32_t));
        o += (size_t)q->n_tok;
    }
    off[N] = (int64_t)o;
    g = H5Gcreate2(f, "requests", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    rc |= put_strings(g, "task_names", tnames, T6_TASK_COUNT);
    rc |= put(g, "task", H5T_NATIVE_INT32, H5T_STD_I32LE, task, N);
    rc |= put(g, "doc", H5T_NATIVE_INT64, H5T_STD_I64LE, doc, N);
    rc |= put(g, "choice", H5T_NATIVE_INT32, H5T_STD_I32LE, choice, N);
    rc |= put(g, "tokens", H5T_NATIVE_INT32, H5T_STD_I32LE, toks, ntok);
    rc |= put(g, "offsets", H5T_NATIVE_INT64, H5T_STD_I64LE, off, N + 1);
    rc |= put(g, "cont_len", H5T_NATIVE_INT32, H5T_STD_I32LE, clen, N);
    rc |= put(g, "loglik", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, ll, N);
    rc |= put(g, "is_greedy", H5T_NATIVE_INT8, H5T_STD_I8LE, gr, N);
    rc |= put(g, "choice_chars", H5T_NATIVE_INT32, H5T_STD_I32LE, nch, N);
    rc |= put(g, "gold", H5T_NATIVE_INT32, H5T_STD_I32LE, gold, N);
    H5Gclose(g);
    free(gold);
    free(task); free(choice); free(clen); free(toks); free(doc); free(off); free(ll); free(gr); free(nch);
    if (rc) t6_h5_close_file_all(f);
    else if (H5Fclose(f) < 0) rc = 1;
    char why[256];
    t6_h5_reason(why, sizeof why);
    t6_h5_quiet_end(q);
    if (rc) {
        /* no half-written .tmp left behind to fill the disk further */
        char note[96];
        unlink(tmp);
        space_note(tmp, note, sizeof note);
        t6_seterr(err, err_len, "eval.results = \"%s\": writing %s failed (%s; %s); the previous file, if any, is unchanged",
                  path, tmp, why[0] ? why : "HDF5 error", note);
        return -1;
    }
    if (t6_rename_durable(tmp, path, err, err_len) != 0) { unlink(tmp); return -1; }
    return 0;
}
