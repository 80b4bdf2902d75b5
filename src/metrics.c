/* metrics.c -- HDF5 metrics file (see metrics.h). The writer opens the file without
 * HDF5's file lock so that h5dump (or h5py) can open it while the job runs; rows are
 * only appended and H5Fflush'ed at log intervals, so a reader sees a consistent file
 * as of the last flush. */
#include "metrics.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <time.h>
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

/* ---- an existing file at the metrics path ------------------------------------------
 * Nothing a run did not write itself is destroyed: a file that cannot be continued is
 * renamed aside (its rows stay readable there, or recoverable), a file that is not a t6
 * metrics file at all is refused. */
enum { EXIST_OK = 0, EXIST_DAMAGED, EXIST_OTHER_RUN, EXIST_FOREIGN };

/* Renames path to "<path>.<tag>-<UTC time>" (".1", ".2", ... when taken); fatal when it
 * cannot, so the file is never overwritten. Returns the new name in aside. */
static void set_aside(const char *path, const char *tag, char *aside, size_t len)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(aside, len, "%s.%s-%s", path, tag, stamp);
    for (int i = 1; access(aside, F_OK) == 0 && i < 1000; i++) snprintf(aside, len, "%s.%s-%s.%d", path, tag, stamp, i);
    if (rename(path, aside) != 0)
        t6_fatal_hint("move the file out of the way by hand (or change output.metrics), then run again",
                      "metrics file '%s' cannot be continued and moving it to '%s' failed: %s", path, aside,
                      strerror(errno));
    t6_fsync_parent(path);
}

/* Reads every step column of a group that exists; 0, or -1 when one is unreadable. */
static int group_readable(hid_t f, const char *gname)
{
    if (H5Lexists(f, gname, H5P_DEFAULT) <= 0) return 0;
    char dname[64];
    snprintf(dname, sizeof dname, "%s/step", gname);
    if (H5Lexists(f, dname, H5P_DEFAULT) <= 0) return 0;
    hid_t ds = H5Dopen2(f, dname, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds);
    hsize_t n = 0;
    int rc = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, &n, NULL) == 1 ? 0 : -1;
    if (sp >= 0) H5Sclose(sp);
    if (rc == 0 && n > 0) {
        int64_t *v = malloc((size_t)n * sizeof *v);
        rc = v && H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 ? 0 : -1;
        free(v);
    }
    H5Dclose(ds);
    return rc;
}

/* What the file at path is to a run resuming at resume_step (< 0: a new run) of
 * lineage `lineage`; why gets the detail. */
static int classify_existing(const char *path, long resume_step, const char *lineage, char *why, size_t len)
{
    hid_t fapl = fapl_unlocked();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        char r[256];
        t6_h5_reason(r, sizeof r);
        snprintf(why, len, "not a readable HDF5 file (%s)", r[0] ? r : "truncated or corrupt");
        return EXIST_DAMAGED;
    }
    int verdict = EXIST_OK;
    char *fmt = NULL, *lin = NULL;
    if (t6_h5_get_str_dup(f, "format", &fmt) != 0 || strcmp(fmt, T6_METRICS_FORMAT) != 0) {
        snprintf(why, len, "an HDF5 file whose 'format' attribute is %s%s%s, not \"" T6_METRICS_FORMAT "\"",
                 fmt ? "\"" : "", fmt ? fmt : "absent", fmt ? "\"" : "");
        verdict = EXIST_FOREIGN;
    } else if (resume_step >= 0 && lineage && lineage[0] && t6_h5_get_str_dup(f, "lineage.id", &lin) == 0 && lin &&
               strcmp(lin, lineage) != 0) {
        snprintf(why, len, "it holds the rows of another run (lineage.id %s; the checkpoint resumed is of %s)", lin,
                 lineage);
        verdict = EXIST_OTHER_RUN;
    } else if (resume_step >= 0 && (group_readable(f, "train") != 0 || group_readable(f, "eval") != 0)) {
        char r[256];
        t6_h5_reason(r, sizeof r);
        snprintf(why, len, "its step column cannot be read (%s)", r[0] ? r : "damaged");
        verdict = EXIST_DAMAGED;
    }
    free(fmt);
    free(lin);
    t6_h5_close_file_all(f);
    H5Eclear2(H5E_DEFAULT);
    return verdict;
}

/* Largest step of a 1-D step column (rows are in step order); 0 when empty. */
static long last_step(hid_t ds, hsize_t rows)
{
    if (rows == 0) return 0;
    int64_t v = 0;
    hsize_t start[1] = {rows - 1}, count[1] = {1};
    hid_t fs = H5Dget_space(ds), mem = H5Screate_simple(1, count, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (H5Dread(ds, H5T_NATIVE_INT64, mem, fs, H5P_DEFAULT, &v) < 0) v = 0;
    H5Sclose(mem);
    H5Sclose(fs);
    return (long)v;
}

t6_metrics *t6_metrics_open(const char *path, long resume_step, const char *lineage, int check_lineage)
{
    t6_h5_quiet();
    t6_metrics *m = t6_calloc(1, sizeof *m);
    m->path = t6_strdup(path);
    m->file = -1;
    for (int i = 0; i < T6_M_NTRAIN; i++) m->train[i] = -1;
    for (int i = 0; i < T6_E_NEVAL; i++) m->eval[i] = -1;
    int create = 1;
    if (access(path, F_OK) == 0) {
        if (access(path, R_OK | W_OK) != 0)
            t6_fatal_hint("fix the file's permissions, or change output.metrics",
                          "metrics file '%s' exists but is not readable and writable: %s", path, strerror(errno));
        char why[600] = "", aside[4400];
        switch (classify_existing(path, resume_step, check_lineage ? lineage : NULL, why, sizeof why)) {
        case EXIST_FOREIGN:
            t6_fatal_hint("output.metrics names a file of its own: choose another name, or move that file away",
                          "metrics file '%s' is %s; refusing to overwrite it", path, why);
        case EXIST_DAMAGED:
            set_aside(path, "damaged", aside, sizeof aside);
            fprintf(stderr, "%s: warning: metrics file '%s' is damaged: %s; moved it to '%s' and starting a new one\n",
                    t6_progname(), path, why, aside);
            break;
        case EXIST_OTHER_RUN:
            set_aside(path, "other-run", aside, sizeof aside);
            fprintf(stderr, "%s: warning: metrics file '%s' cannot be continued: %s; moved it to '%s' and starting a "
                            "new one\n", t6_progname(), path, why, aside);
            break;
        default:
            create = resume_step < 0;   /* a new run replaces its directory's old record (documented) */
        }
    }
    hid_t fapl = fapl_unlocked();
    if (!create) {
        m->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
        if (m->file < 0) {
            H5Pclose(fapl);
            metrics_fail(m, "opening the file for writing");
        }
    } else {
        m->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        if (m->file < 0) {
            char r[256];
            t6_h5_reason(r, sizeof r);
            t6_fatal_hint("check output.run_dir and output.metrics", "cannot create metrics file '%s' (%s)", path,
                          r[0] ? r : strerror(errno));
        }
        t6_h5_attr_str(m->file, "format", T6_METRICS_FORMAT);
    }
    H5Pclose(fapl);
    /* an older file being resumed gains the columns it lacks (open_columns creates them
     * and cuts them to the rows kept: guard reads 0 = ok, mem_peak_bytes 0 = not
     * recorded, for the earlier rows) and so becomes the current version */
    t6_h5_attr_i64(m->file, "version", T6_METRICS_VERSION);
    if (lineage && lineage[0]) t6_h5_attr_str(m->file, "lineage.id", lineage);
    open_columns(m, "train", train_cols, T6_M_NTRAIN, m->train, &m->n_train, create);
    open_columns(m, "eval", eval_cols, T6_E_NEVAL, m->eval, &m->n_eval, create);
    if (!create) {
        truncate_columns(m, m->train, T6_M_NTRAIN, &m->n_train, resume_step);
        truncate_columns(m, m->eval, T6_E_NEVAL, &m->n_eval, resume_step);
    }
    if (resume_step > 0) {
        /* rows the resumed run will not redo: a gap in the curve, said once here */
        long have = last_step(m->train[T6_M_STEP], m->n_train);
        if (have < resume_step) {
            char where[48] = "is new";
            if (!create) snprintf(where, sizeof where, "ends at step %ld", have);
            fprintf(stderr, "%s: warning: metrics file '%s' %s but the run resumes after step %ld: steps %ld..%ld have "
                            "no row (lost with the file or before they reached the disk)\n",
                    t6_progname(), path, where, resume_step, have + 1, resume_step);
        }
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

void t6_metrics_sync(t6_metrics *m)
{
    if (!m || m->file < 0) return;
    t6_metrics_flush(m);
    /* the sec2 driver's descriptor: the rows reach the disk, not only the page cache */
    void *h = NULL;
    if (H5Fget_vfd_handle(m->file, H5P_DEFAULT, &h) >= 0 && h && fsync(*(int *)h) != 0 && errno != EINVAL &&
        errno != EROFS)
        metrics_fail(m, "an fsync");
}

void t6_metrics_close(t6_metrics *m)
{
    if (!m) return;
    close_handles(m);
    free(m->path);
    free(m);
}
