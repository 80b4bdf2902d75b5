/* h5io.c -- HDF5 and durable-file helpers shared by every HDF5 writer and reader of
 * T6-C (see h5io.h). */
#include "h5io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util.h"

/* HDF5 registers an atexit handler (H5_term_library) on its first call; it closes
 * every file still open. On a full disk a file whose H5Fclose already failed is
 * half torn down, and that handler then segfaults (exit 139 instead of our message
 * and exit 1) or loops ("infinite loop closing library"). H5dont_atexit only works
 * before the library initialises, so it runs as a constructor, before main. */
__attribute__((constructor)) static void h5io_no_atexit(void)
{
    H5dont_atexit();
}

/* ---- errors ---------------------------------------------------------------------- */
void t6_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

t6_h5_quiet_state t6_h5_quiet_begin(void)
{
    t6_h5_quiet_state q;
    H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

void t6_h5_quiet_end(t6_h5_quiet_state q)
{
    H5Eset_auto2(H5E_DEFAULT, q.func, q.data);
}

typedef struct { char *buf; size_t len; } reason_buf;

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    reason_buf *r = data;
    /* walked from the innermost frame (where it failed) outwards: the first
     * non-empty description says what was actually wrong */
    if (r->buf[0] != '\0' || !e->desc || !e->desc[0]) return 0;
    /* the file drivers' descriptions run over several lines with times, descriptors
     * and buffer addresses; what matters is their "error message = '...'" part */
    const char *m = strstr(e->desc, "error message = '");
    if (m) {
        m += strlen("error message = '");
        const char *end = strchr(m, '\'');
        int n = end ? (int)(end - m) : (int)strlen(m);
        snprintf(r->buf, r->len, "%.*s", n, m);
    } else {
        snprintf(r->buf, r->len, "%s", e->desc);
    }
    for (char *c = r->buf; *c; c++)
        if (*c == '\n') *c = ' ';
    return 0;
}

const char *t6_h5_reason(char *buf, size_t len)
{
    if (!buf || !len) return "";
    buf[0] = '\0';
    reason_buf r = {buf, len};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, &r);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

/* ---- attributes ------------------------------------------------------------------ */
int t6_h5_attr_num(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *value)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    if (sp < 0) return -1;
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, mem_type, value) >= 0) ? 0 : -1;
    if (a >= 0 && H5Aclose(a) < 0) rc = -1;
    H5Sclose(sp);
    return rc;
}

int t6_h5_attr_str(hid_t obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return -1;
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    int rc = t6_h5_attr_num(obj, name, t, t, value);
    H5Tclose(t);
    return rc;
}

int t6_h5_attr_i64(hid_t obj, const char *name, int64_t v)
{
    return t6_h5_attr_num(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

int t6_h5_attr_f64(hid_t obj, const char *name, double v)
{
    return t6_h5_attr_num(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

/* Opens attribute name when it exists and is a scalar (or one-element) of class cls
 * (H5T_NO_CLASS: integer or float). Returns the attribute id and its file type in
 * *ft, or T6_H5_MISSING / T6_H5_BADTYPE. */
static hid_t open_scalar(hid_t obj, const char *name, H5T_class_t cls, hid_t *ft)
{
    if (H5Aexists(obj, name) <= 0) return T6_H5_MISSING;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return T6_H5_BADTYPE;
    *ft = H5Aget_type(a);
    hid_t sp = H5Aget_space(a);
    H5T_class_t c = *ft >= 0 ? H5Tget_class(*ft) : H5T_NO_CLASS;
    int ok = sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1 &&
             (cls == H5T_NO_CLASS ? (c == H5T_INTEGER || c == H5T_FLOAT) : c == cls);
    if (sp >= 0) H5Sclose(sp);
    if (!ok) {
        if (*ft >= 0) H5Tclose(*ft);
        H5Aclose(a);
        return T6_H5_BADTYPE;
    }
    return a;
}

int t6_h5_get_str(hid_t obj, const char *name, char *out, size_t out_len)
{
    hid_t ft = -1;
    hid_t a = open_scalar(obj, name, H5T_STRING, &ft);
    if (a < 0) return (int)a;
    int rc = T6_H5_BADTYPE;
    if (H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        char *v = NULL;
        if (H5Aread(a, mt, &v) >= 0 && v) {
            snprintf(out, out_len, "%s", v);
            H5free_memory(v);
            rc = 0;
        }
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(ft);
        char *buf = t6_calloc(n + 2, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        if (H5Aread(a, mt, buf) >= 0) {
            snprintf(out, out_len, "%s", buf);
            rc = 0;
        }
        H5Tclose(mt);
        free(buf);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

int t6_h5_get_str_dup(hid_t obj, const char *name, char **out)
{
    *out = NULL;
    hid_t ft = -1;
    hid_t a = open_scalar(obj, name, H5T_STRING, &ft);
    if (a < 0) return (int)a;
    /* a variable-length string has no stored size: 64 KiB is far above any deck */
    size_t n = H5Tis_variable_str(ft) > 0 ? (size_t)1 << 16 : H5Tget_size(ft) + 1;
    H5Tclose(ft);
    H5Aclose(a);
    char *s = t6_malloc(n + 1);
    int rc = t6_h5_get_str(obj, name, s, n + 1);
    if (rc == 0) *out = s; else free(s);
    return rc;
}

int t6_h5_get_i64(hid_t obj, const char *name, int64_t *out)
{
    hid_t ft = -1;
    hid_t a = open_scalar(obj, name, H5T_INTEGER, &ft);
    if (a < 0) return (int)a;
    int rc = H5Aread(a, H5T_NATIVE_INT64, out) >= 0 ? 0 : T6_H5_BADTYPE;
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

int t6_h5_get_f64(hid_t obj, const char *name, double *out)
{
    hid_t ft = -1;
    hid_t a = open_scalar(obj, name, H5T_NO_CLASS, &ft);
    if (a < 0) return (int)a;
    int rc = H5Aread(a, H5T_NATIVE_DOUBLE, out) >= 0 ? 0 : T6_H5_BADTYPE;
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

void t6_h5_close_file_all(hid_t file)
{
    if (file < 0) return;
    t6_h5_quiet_state q = t6_h5_quiet_begin();
    static const unsigned kinds[] = {H5F_OBJ_ATTR, H5F_OBJ_DATASET, H5F_OBJ_DATATYPE, H5F_OBJ_GROUP};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        ssize_t n = H5Fget_obj_count(file, kinds[k] | H5F_OBJ_LOCAL);
        if (n <= 0) continue;
        hid_t *ids = t6_malloc((size_t)n * sizeof *ids);
        n = H5Fget_obj_ids(file, kinds[k] | H5F_OBJ_LOCAL, (size_t)n, ids);
        for (ssize_t i = 0; i < n; i++) {
            if (kinds[k] == H5F_OBJ_ATTR) H5Aclose(ids[i]);
            else if (kinds[k] == H5F_OBJ_DATASET) H5Dclose(ids[i]);
            else if (kinds[k] == H5F_OBJ_DATATYPE) H5Tclose(ids[i]);
            else H5Gclose(ids[i]);
        }
        free(ids);
    }
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    t6_h5_quiet_end(q);
}

/* ---- durable files --------------------------------------------------------------- */
int t6_mkdir_p_err(const char *path, char *err, size_t err_len)
{
    char *p = t6_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0777);
            *s = '/';
        }
    }
    int rc = 0;
    struct stat st;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        t6_seterr(err, err_len, "cannot create directory '%s': %s", p, strerror(errno));
        rc = -1;
    } else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        t6_seterr(err, err_len, "'%s' exists and is not a directory", p);
        rc = -1;
    }
    free(p);
    return rc;
}

void t6_mkdir_p(const char *path)
{
    char err[4400];
    if (t6_mkdir_p_err(path, err, sizeof err) != 0)
        t6_fatal_hint("check output.run_dir and its permissions", "%s", err);
}

int t6_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

void t6_fsync_parent(const char *path)
{
    char *copy = t6_strdup(path);
    t6_fsync_path(dirname(copy));
    free(copy);
}

int t6_rename_durable(const char *tmp, const char *final, char *err, size_t err_len)
{
    if (t6_fsync_path(tmp) != 0) {
        t6_seterr(err, err_len, "fsync of '%s' failed: %s", tmp, strerror(errno));
        return -1;
    }
    if (rename(tmp, final) != 0) {
        t6_seterr(err, err_len, "renaming '%s' to '%s' failed: %s", tmp, final, strerror(errno));
        return -1;
    }
    char *copy = t6_strdup(final);
    const char *dir = dirname(copy);
    int rc = 0;
    if (t6_fsync_path(dir) != 0) {
        t6_seterr(err, err_len, "fsync of directory '%s' failed: %s", dir, strerror(errno));
        rc = -1;
    }
    free(copy);
    return rc;
}

long long t6_free_bytes(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0) return -1;
    return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

char *t6_fmt_bytes(char *buf, size_t len, long long n)
{
    static const char *unit[] = {"bytes", "KB", "MB", "GB", "TB", "PB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000.0 && u < 5) { v /= 1000.0; u++; }
    if (n < 0) snprintf(buf, len, "unknown");
    else if (u == 0) snprintf(buf, len, "%lld bytes", n);
    else snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}
