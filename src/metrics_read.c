/* metrics_read.c -- loads a t6 metrics file for plots and summaries (metrics_read.h).
 * Plain HDF5 calls with the automatic error stack off: every failure becomes one
 * message naming the file and the dataset. */
#include "metrics_read.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "util.h"

static const char *const train_names[T6_M_NTRAIN] = {
    "step", "loss", "lr", "grad_norm", "param_norm", "clipped",
    "tokens_seen", "step_time_s", "tokens_per_s", "mfu", "guard", "mem_peak_bytes",
};
/* /train/guard arrived with format version 2, mem_peak_bytes with 3: older files read
 * them as 0 (no event, not recorded) */
enum { OPTIONAL_FROM = T6_M_GUARD };
static const char *const eval_names[T6_E_NEVAL] = {"step", "val_loss", "ppl"};

size_t t6_metrics_lineage(const double *step, size_t n, unsigned char *keep)
{
    /* Walk backwards: a row survives when its step is below every step kept after it. */
    double floor_step = INFINITY;
    size_t kept = 0;
    for (size_t i = n; i-- > 0;) {
        keep[i] = step[i] < floor_step;
        if (keep[i]) {
            floor_step = step[i];
            kept++;
        }
    }
    return kept;
}

static int read_attr_double(hid_t file, const char *name, double *out)
{
    *out = NAN;
    if (H5Aexists(file, name) <= 0) return 0;
    hid_t a = H5Aopen(file, name, H5P_DEFAULT);
    if (a < 0) return -1;
    int rc = H5Aread(a, H5T_NATIVE_DOUBLE, out) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}

/* A string attribute, "" when it is missing or not a string (h5io.h reads it). */
static void read_attr_str(hid_t file, const char *name, char *out, size_t len)
{
    if (t6_h5_get_str(file, name, out, len) != 0) out[0] = 0;
}

/* Reads the columns of one group; all are cut to the shortest (a crash between the
 * appends of one row may leave them unequal). Returns the row count or -1. */
static long read_group(hid_t file, const char *path, const char *group, const char *const *names, int ncol,
                       int optional_from, double **cols, char *err, size_t errlen)
{
    if (H5Lexists(file, group, H5P_DEFAULT) <= 0) {
        t6_seterr(err, errlen, "metrics file '%s': no group /%s (not a t6 metrics file?)", path, group);
        return -1;
    }
    hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
    if (g < 0) {
        t6_seterr(err, errlen, "metrics file '%s': cannot open group /%s", path, group);
        return -1;
    }
    hid_t ds[16];
    hsize_t rows = (hsize_t)-1;
    for (int i = 0; i < ncol; i++) {
        int exists = H5Lexists(g, names[i], H5P_DEFAULT) > 0;
        if (!exists && i >= optional_from) {   /* a column of a later format version: zeros */
            ds[i] = -1;
            continue;
        }
        ds[i] = exists ? H5Dopen2(g, names[i], H5P_DEFAULT) : -1;
        if (ds[i] < 0) {
            t6_seterr(err, errlen, "metrics file '%s': missing or unreadable dataset /%s/%s", path, group, names[i]);
            for (int j = 0; j < i; j++) if (ds[j] >= 0) H5Dclose(ds[j]);
            H5Gclose(g);
            return -1;
        }
        hid_t sp = H5Dget_space(ds[i]);
        hsize_t d[1] = {0};
        if (H5Sget_simple_extent_ndims(sp) != 1) d[0] = 0;
        else H5Sget_simple_extent_dims(sp, d, NULL);
        H5Sclose(sp);
        if (d[0] < rows) rows = d[0];
    }
    long rc = (long)rows;
    for (int i = 0; i < ncol && rc >= 0; i++) {
        cols[i] = t6_calloc(rows ? rows : 1, sizeof(double));
        if (rows == 0 || ds[i] < 0) continue;
        hid_t mem = H5Screate_simple(1, &rows, NULL);
        hid_t fsp = H5Dget_space(ds[i]);
        hsize_t start[1] = {0};
        H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, &rows, NULL);
        if (H5Dread(ds[i], H5T_NATIVE_DOUBLE, mem, fsp, H5P_DEFAULT, cols[i]) < 0) {
            t6_seterr(err, errlen, "metrics file '%s': cannot read dataset /%s/%s (corrupt file?)", path, group,
                      names[i]);
            rc = -1;
        }
        H5Sclose(fsp);
        H5Sclose(mem);
    }
    for (int i = 0; i < ncol; i++) if (ds[i] >= 0) H5Dclose(ds[i]);
    H5Gclose(g);
    return rc;
}

/* Keeps the rows marked in keep[] in every column, in place. */
static size_t compact(double **cols, int ncol, size_t n, const unsigned char *keep)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i]) continue;
        for (int c = 0; c < ncol; c++) cols[c][w] = cols[c][i];
        w++;
    }
    return w;
}

t6_metrics_data *t6_metrics_read(const char *path, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        t6_seterr(err, errlen, "metrics file '%s': cannot open: %s", path, "no such file or not readable");
        return NULL;
    }
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) {
        t6_seterr(err, errlen, "metrics file '%s': not an HDF5 file (truncated or corrupt?)", path);
        return NULL;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    H5Pset_file_locking(fapl, 0, 1);   /* the writer holds no lock either: read a running job */
#endif
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (file < 0) {
        t6_seterr(err, errlen, "metrics file '%s': HDF5 cannot open it (truncated or corrupt?)", path);
        return NULL;
    }
    t6_metrics_data *d = t6_calloc(1, sizeof *d);
    d->path = t6_strdup(path);
    char fmt[64];
    read_attr_str(file, "format", fmt, sizeof fmt);
    double version;
    read_attr_double(file, "version", &version);
    if (strcmp(fmt, T6_METRICS_FORMAT) != 0) {
        t6_seterr(err, errlen, "metrics file '%s': attribute format is '%s', not '%s' (not a t6 metrics file)", path,
                  fmt, T6_METRICS_FORMAT);
        goto fail;
    }
    d->version = isnan(version) ? 0 : (int)version;
    if (d->version < 1 || d->version > T6_METRICS_VERSION) {
        t6_seterr(err, errlen, "metrics file '%s': format version %d is not one this t6-plot reads (1..%d)", path,
                  d->version, T6_METRICS_VERSION);
        goto fail;
    }
    read_attr_double(file, "n_params", &d->n_params);
    read_attr_double(file, "world_size", &d->world_size);
    read_attr_double(file, "tokens_per_step", &d->tokens_per_step);
    read_attr_double(file, "flops_per_token", &d->flops_per_token);
    read_attr_double(file, "peak_flops_per_rank", &d->peak_flops_per_rank);
    read_attr_str(file, "attention", d->attention, sizeof d->attention);
    double v;
    read_attr_double(file, "n_layer", &v); d->n_layer = isnan(v) ? -1 : (long)v;
    read_attr_double(file, "n_embd", &v); d->n_embd = isnan(v) ? -1 : (long)v;
    read_attr_double(file, "n_head", &v); d->n_head = isnan(v) ? -1 : (long)v;

    long nt = read_group(file, path, "train", train_names, T6_M_NTRAIN, OPTIONAL_FROM, d->train, err, errlen);
    if (nt < 0) goto fail;
    long ne = read_group(file, path, "eval", eval_names, T6_E_NEVAL, T6_E_NEVAL, d->eval, err, errlen);
    if (ne < 0) goto fail;
    H5Fclose(file);

    unsigned char *keep = t6_malloc((size_t)(nt > ne ? nt : ne) + 1);
    t6_metrics_lineage(d->train[T6_M_STEP], (size_t)nt, keep);
    d->n_train = compact(d->train, T6_M_NTRAIN, (size_t)nt, keep);
    t6_metrics_lineage(d->eval[T6_E_STEP], (size_t)ne, keep);
    d->n_eval = compact(d->eval, T6_E_NEVAL, (size_t)ne, keep);
    free(keep);
    return d;
fail:
    H5Fclose(file);
    t6_metrics_data_free(d);
    return NULL;
}

void t6_metrics_data_free(t6_metrics_data *d)
{
    if (!d) return;
    for (int i = 0; i < T6_M_NTRAIN; i++) free(d->train[i]);
    for (int i = 0; i < T6_E_NEVAL; i++) free(d->eval[i]);
    free(d->path);
    free(d);
}
