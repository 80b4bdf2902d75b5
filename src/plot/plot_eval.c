/* plot_eval.c -- t6-plot's bar chart of evaluation results: reads the paper's metric of
 * each of the nine tasks from "t6-eval-results" files (doc/formats/eval-results.md) and
 * writes the data file of a grouped bar chart with the standard errors as error bars. */
#include "plot.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "util.h"

/* The paper's columns and the metric its tables use for each (doc/eval.md). */
static const struct { const char *task, *metric, *label; } PAPER[T6_PLOT_EVAL_COLS - 1] = {
    {"arc_easy", "acc_norm", "ARC-E"},       {"arc_challenge", "acc_norm", "ARC-C"}, {"boolq", "acc", "BoolQ"},
    {"hellaswag", "acc_norm", "HellaSwag"},  {"openbookqa", "acc_norm", "OBQA"},     {"piqa", "acc_norm", "PIQA"},
    {"winogrande", "acc", "WinoGrande"},     {"mmlu", "acc", "MMLU"},                {"sciq", "acc_norm", "SciQ"},
};

const char *t6_plot_eval_label(int col)
{
    return col < T6_PLOT_EVAL_COLS - 1 ? PAPER[col].label : "Avg";
}

/* A fixed-length string dataset of n rows into n NUL-terminated strings of width w. */
static char *read_strings(hid_t g, const char *name, size_t *n, size_t *w)
{
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0) return NULL;
    hid_t ft = H5Dget_type(ds), sp = H5Dget_space(ds);
    hsize_t dims[1] = {0};
    char *buf = NULL;
    if (H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft) && H5Sget_simple_extent_ndims(sp) == 1) {
        H5Sget_simple_extent_dims(sp, dims, NULL);
        *w = H5Tget_size(ft) + 1;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, *w);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        buf = t6_calloc(dims[0] ? dims[0] : 1, *w);
        if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) { free(buf); buf = NULL; }
        H5Tclose(mt);
    }
    *n = (size_t)dims[0];
    H5Sclose(sp);
    H5Tclose(ft);
    H5Dclose(ds);
    return buf;
}

static double *read_doubles(hid_t g, const char *name, size_t n)
{
    hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
    if (ds < 0) return NULL;
    double *v = t6_calloc(n ? n : 1, sizeof *v);
    if (n && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) { free(v); v = NULL; }
    H5Dclose(ds);
    return v;
}

int t6_plot_eval_read(const char *path, t6_plot_eval *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Fis_hdf5(path) <= 0) {
        t6_seterr(err, errlen, "eval results '%s': missing, or not an HDF5 file", path);
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        t6_seterr(err, errlen, "eval results '%s': HDF5 cannot open it (truncated or corrupt?)", path);
        return -1;
    }
    int rc = -1;
    char fmt[64] = "";
    if (t6_h5_get_str(f, "format", fmt, sizeof fmt) != 0) fmt[0] = 0;
    size_t n = 0, n2 = 0, w = 0, w2 = 0;
    char *task = NULL, *metric = NULL;
    double *value = NULL, *se = NULL;
    hid_t g = -1;
    if (strcmp(fmt, "t6-eval-results") != 0) {
        t6_seterr(err, errlen, "eval results '%s': attribute format is '%s', not 't6-eval-results'", path, fmt);
        goto out;
    }
    g = H5Gopen2(f, "metrics", H5P_DEFAULT);
    if (g < 0) { t6_seterr(err, errlen, "eval results '%s': no group /metrics", path); goto out; }
    task = read_strings(g, "task", &n, &w);
    metric = read_strings(g, "metric", &n2, &w2);
    value = read_doubles(g, "value", n);
    se = read_doubles(g, "stderr", n);
    if (!task || !metric || !value || !se || n2 != n) {
        t6_seterr(err, errlen, "eval results '%s': /metrics/task, metric, value or stderr missing or unreadable", path);
        goto out;
    }
    double sum = 0;
    int have = 0;
    for (int c = 0; c < T6_PLOT_EVAL_COLS - 1; c++) {
        e->value[c] = e->stderr_[c] = NAN;
        for (size_t i = 0; i < n; i++)
            if (strcmp(task + i * w, PAPER[c].task) == 0 && strcmp(metric + i * w2, PAPER[c].metric) == 0) {
                e->value[c] = 100.0 * value[i];
                e->stderr_[c] = 100.0 * se[i];
            }
        if (isfinite(e->value[c])) { sum += e->value[c]; have++; }
    }
    if (!have) {
        t6_seterr(err, errlen, "eval results '%s': none of the paper's nine tasks is in it", path);
        goto out;
    }
    /* the paper's Avg is over all nine: only shown when all nine are there */
    e->value[T6_PLOT_EVAL_COLS - 1] = have == T6_PLOT_EVAL_COLS - 1 ? sum / have : NAN;
    e->stderr_[T6_PLOT_EVAL_COLS - 1] = NAN;
    rc = 0;
out:
    free(task); free(metric); free(value); free(se);
    if (g >= 0) H5Gclose(g);
    H5Fclose(f);
    return rc;
}

int t6_plot_eval_write_data(const t6_plot_eval *e, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) { t6_seterr(err, errlen, "cannot write data file '%s'", path); return -1; }
    fprintf(f, "# task value stderr   (x 100; the paper's metric per task; Avg over all nine)\n");
    for (int c = 0; c < T6_PLOT_EVAL_COLS; c++) {
        fprintf(f, "\"%s\"", t6_plot_eval_label(c));
        if (isfinite(e->value[c])) fprintf(f, " %.6g", e->value[c]); else fputs(" ?", f);
        if (isfinite(e->stderr_[c])) fprintf(f, " %.6g\n", e->stderr_[c]); else fputs(" 0\n", f);
    }
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad) { t6_seterr(err, errlen, "cannot write data file '%s'", path); return -1; }
    return 0;
}
