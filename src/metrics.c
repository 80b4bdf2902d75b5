/* metrics.c -- HDF5 metrics file (see metrics.h). The writer opens the file without
 * HDF5's file lock so that h5dump (or h5py) can open it while the job runs; rows are
 * only appended and H5Fflush'ed at log intervals, so a reader sees a consistent file
 * as of the last flush. */
#include "metrics.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5io.h"
#include "util.h"

typedef struct { const char *name; hid_t type; } column;

static const column train_cols[T6_M_NTRAIN] = {
    {"step", 0}, {"loss", 1}, {"lr", 1}, {"grad_norm", 1}, {"param_norm", 1}, {"clipped", 2},
    {"tokens_seen", 0}, {"step_time_s", 1}, {"tokens_per_s", 1}, {"mfu", 1}, {"guard", 2}, {"mem_peak_bytes", 0},
};
static const column eval_cols[T6_E_NEVAL] = { {"step", 0}, {"val_loss", 1}, {"ppl", 1} };

struct t6_metrics {
    char *path;
    hid_t file;
    hid_t train[T6_M_NTRAIN], eval[T6_E_NEVAL];
    hsize_t n_train, n_eval;
};

/* Closes every handle of the file (the failure path: on a full disk the close
 * itself may fail, and HDF5 must not meet these ids again at exit). */
static void close_handles(t6_metrics *m)
{
    t6_h5_quiet_state q = t6_h5_quiet_begin();
    for (int i = 0; i < T6_M_NTRAIN; i++) if (m->train[i] >= 0) H5Dclose(m->train[i]);
    for (int i = 0; i < T6_E_NEVAL; i++) if (m->eval[i] >= 0) H5Dclose(m->eval[i]);
    for (int i = 0; i < T6_M_NTRAIN; i++) m->train[i] = -1;
    for (int i = 0; i < T6_E_NEVAL; i++) m->eval[i] = -1;
    if (m->file >= 0) t6_h5_close_file_all(m->file);
    m->file = -1;
    H5Eclear2(H5E_DEFAULT);
    t6_h5_quiet_end(q);
}

/* A write to the file failed: close it, then a fatal error naming the file, what
 * failed, HDF5's reason and the free space left. */
__attribute__((noreturn)) static void metrics_fail(t6_metrics *m, const char *what)
{
    char why[256], fb[32], dir[4200];
    t6_h5_reason(why, sizeof why);
    close_handles(m);
    snprintf(dir, sizeof dir, "%s", m->path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0'; else snprintf(dir, sizeof dir, ".");
    t6_fatal_hint("check free space in output.run_dir",
                  "metrics file '%s': %s failed (%s); '%s' has %s free", m->path, what,
                  why[0] ? why : "HDF5 error", dir, t6_fmt_bytes(fb, sizeof fb, t6_free_bytes(dir)));
}

static hid_t file_type(int code)
{
    return code == 0 ? H5T_STD_I64LE : code == 1 ? H5T_IEEE_F64LE : H5T_STD_I8LE;
}

static hid_t fapl_unlocked(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    /* no lock held while running: readers may open the file (see the file comment) */
    H5Pset_file_locking(fapl, 0, 1);
#endif
    return fapl;
}

static void open_columns(t6_metrics *m, const char *gname, const column *cols, int n, hid_t *ds,
                         hsize_t *rows, int create)
{
    hid_t g;
    if (create || H5Lexists(m->file, gname, H5P_DEFAULT) <= 0)
        g = H5Gcreate2(m->file, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    else
        g = H5Gopen2(m->file, gname, H5P_DEFAULT);
    if (g < 0) metrics_fail(m, create ? "creating a group" : "opening a group");
    *rows = 0;
    for (int i = 0; i < n; i++) {
        if (H5Lexists(g, cols[i].name, H5P_DEFAULT) > 0) {
            ds[i] = H5Dopen2(g, cols[i].name, H5P_DEFAULT);
        } else {
            hsize_t dims[1] = {0}, maxd[1] = {H5S_UNLIMITED}, chunk[1] = {1024};
            hid_t sp = H5Screate_simple(1, dims, maxd);
            hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
            H5Pset_chunk(dcpl, 1, chunk);
            ds[i] = H5Dcreate2(g, cols[i].name, file_type((int)cols[i].type), sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
            H5Pclose(dcpl);
            H5Sclose(sp);
        }
        if (ds[i] < 0) {
            H5Gclose(g);
            metrics_fail(m, "creating or opening a dataset");
        }
    }
    H5Gclose(g);
    /* rows = rows of the step column; all columns are cut to it (a crash between
     * appends of one row may leave columns of unequal length) */
    hid_t sp = H5Dget_space(ds[0]);
    H5Sget_simple_extent_dims(sp, rows, NULL);
    H5Sclose(sp);
}

/* Cuts every column to the rows whose step <= keep_step (rows are in step order). */
static void truncate_columns(t6_metrics *m, hid_t *ds, int n, hsize_t *rows, long keep_step)
{
    hsize_t keep = 0;
    if (*rows > 0) {
        int64_t *steps = t6_malloc((size_t)*rows * sizeof *steps);
        if (H5Dread(ds[0], H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, steps) < 0)
            metrics_fail(m, "reading the step column");
        while (keep < *rows && steps[keep] <= keep_step) keep++;
        free(steps);
    }
    for (int i = 0; i < n; i++) {
        hsize_t d[1] = {keep};
        if (H5Dset_extent(ds[i], d) < 0) metrics_fail(m, "cutting the rows after the resumed step");
    }
    *rows = keep;
}

t6_metrics *t6_metrics_open(const char *path, long resume_step)
{
    t6_h5_quiet();
    t6_metrics *m = t6_calloc(1, sizeof *m);
    m->path = t6_strdup(path);
    m->file = -1;
    for (int i = 0; i < T6_M_NTRAIN; i++) m->train[i] = -1;
    for (int i = 0; i < T6_E_NEVAL; i++) m->eval[i] = -1;
    hid_t fapl = fapl_unlocked();
    int create = 1;
    if (resume_step >= 0 && access(path, F_OK) == 0) {
        m->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
        char *fmt = NULL;
        if (m->file >= 0 && t6_h5_get_str_dup(m->file, "format", &fmt) == 0 && strcmp(fmt, T6_METRICS_FORMAT) == 0) {
            create = 0;
        } else {
            fprintf(stderr, "%s: warning: metrics file '%s' is unreadable or not a t6 metrics file: starting a new one\n",
                    t6_progname(), path);
            if (m->file >= 0) H5Fclose(m->file);
        }
        free(fmt);
    }
    if (create) {
        m->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        if (m->file < 0) t6_fatal_hint("check output.run_dir and output.metrics", "cannot create metrics file '%s'", path);
        t6_h5_attr_str(m->file, "format", T6_METRICS_FORMAT);
    }
    H5Pclose(fapl);
    /* an older file being resumed gains the columns it lacks (open_columns creates them
     * and cuts them to the rows kept: guard reads 0 = ok, mem_peak_bytes 0 = not
     * recorded, for the earlier rows) and so becomes the current version */
    t6_h5_attr_i64(m->file, "version", T6_METRICS_VERSION);
    open_columns(m, "train", train_cols, T6_M_NTRAIN, m->train, &m->n_train, create);
    open_columns(m, "eval", eval_cols, T6_E_NEVAL, m->eval, &m->n_eval, create);
    if (!create) {
        truncate_columns(m, m->train, T6_M_NTRAIN, &m->n_train, resume_step);
        truncate_columns(m, m->eval, T6_E_NEVAL, &m->n_eval, resume_step);
    }
    t6_metrics_flush(m);
    return m;
}

void t6_metrics_attr_i64(t6_metrics *m, const char *name, int64_t v) { t6_h5_attr_i64(m->file, name, v); }
void t6_metrics_attr_f64(t6_metrics *m, const char *name, double v) { t6_h5_attr_f64(m->file, name, v); }
void t6_metrics_attr_str(t6_metrics *m, const char *name, const char *v) { t6_h5_attr_str(m->file, name, v); }

static void append(t6_metrics *m, hid_t *ds, int n, hsize_t *rows, const double *v)
{
    hsize_t newd[1] = {*rows + 1}, start[1] = {*rows}, count[1] = {1};
    hid_t mem = H5Screate_simple(1, count, NULL);
    for (int i = 0; i < n; i++) {
        if (H5Dset_extent(ds[i], newd) < 0) metrics_fail(m, "extending a dataset");
        hid_t fs = H5Dget_space(ds[i]);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        /* values travel as double; HDF5 converts to the column's int64/int8 type */
        herr_t e = H5Dwrite(ds[i], H5T_NATIVE_DOUBLE, mem, fs, H5P_DEFAULT, &v[i]);
        H5Sclose(fs);
        if (e < 0) {
            H5Sclose(mem);
            metrics_fail(m, "a write");
        }
    }
    H5Sclose(mem);
    (*rows)++;
}

void t6_metrics_train_row(t6_metrics *m, const double v[T6_M_NTRAIN])
{
    append(m, m->train, T6_M_NTRAIN, &m->n_train, v);
}

void t6_metrics_eval_row(t6_metrics *m, const double v[T6_E_NEVAL])
{
    append(m, m->eval, T6_E_NEVAL, &m->n_eval, v);
}

void t6_metrics_flush(t6_metrics *m)
{
    if (m && m->file >= 0 && H5Fflush(m->file, H5F_SCOPE_GLOBAL) < 0) metrics_fail(m, "a flush");
}

void t6_metrics_close(t6_metrics *m)
{
    if (!m) return;
    close_handles(m);
    free(m->path);
    free(m);
}
