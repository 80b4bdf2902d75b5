/* h5io.h -- the one kit of HDF5 and durable-file helpers that ckpt.c, metrics.c,
 * corpus.c and data.c share: silencing HDF5's own error printing, turning its error
 * stack into a one-line reason, scalar attributes (write and checked read), closing
 * every object of a file on a failure path, and the POSIX side of "never a torn
 * file" (mkdir -p, fsync of a file or directory, fsync + rename + fsync dir, free
 * space of a file system).
 *
 * Exit safety: linking this module switches off HDF5's atexit handler (see h5io.c).
 * A file whose H5Fclose failed (disk full) is left in a state that handler crashes
 * on; every writer of T6-C closes its files itself, on success and on failure. */
#ifndef T6_H5IO_H
#define T6_H5IO_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ---- */
/* No HDF5 error stack dumps from here on (t6 reports errors itself). */
void t6_h5_quiet(void);
/* Silence for one region, restoring whatever was set before. */
typedef struct { H5E_auto2_t func; void *data; } t6_h5_quiet_state;
t6_h5_quiet_state t6_h5_quiet_begin(void);
void t6_h5_quiet_end(t6_h5_quiet_state q);
/* The innermost description of the current error stack ("" if none) into buf, then
 * clears the stack. Returns buf. */
const char *t6_h5_reason(char *buf, size_t len);

/* ---- attributes (scalar, on a file, group or dataset) ---- */
/* Writers replace an existing attribute of the same name; 0 or -1. */
int t6_h5_attr_str(hid_t obj, const char *name, const char *value);
int t6_h5_attr_i64(hid_t obj, const char *name, int64_t value);
int t6_h5_attr_f64(hid_t obj, const char *name, double value);
/* Any numeric type: stored as file_type, value given as mem_type. */
int t6_h5_attr_num(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *value);

/* Readers return 0, T6_H5_MISSING, or T6_H5_BADTYPE (not of the wanted kind). */
#define T6_H5_MISSING (-1)
#define T6_H5_BADTYPE (-2)
/* A fixed- or variable-length string into out (truncated to out_len). */
int t6_h5_get_str(hid_t obj, const char *name, char *out, size_t out_len);
/* The same, malloc'd into *out (NULL on failure). */
int t6_h5_get_str_dup(hid_t obj, const char *name, char **out);
/* A scalar integer attribute of any integer type, as int64. */
int t6_h5_get_i64(hid_t obj, const char *name, int64_t *out);
/* A scalar numeric attribute, as double. */
int t6_h5_get_f64(hid_t obj, const char *name, double *out);

/* Closes every dataset, group, attribute and named type still open in file, then the
 * file (errors ignored: this is the failure path). */
void t6_h5_close_file_all(hid_t file);

/* ---- durable files ---- */
/* mkdir -p; 0, or -1 with a message naming the directory in err. */
int t6_mkdir_p_err(const char *path, char *err, size_t err_len);
/* mkdir -p, fatal on failure (hint: output.run_dir). */
void t6_mkdir_p(const char *path);
/* fsync a file or directory by path; 0 or -1 (errno set). */
int t6_fsync_path(const char *path);
/* fsync the directory that holds path (best effort). */
void t6_fsync_parent(const char *path);
/* fsync tmp, rename it onto final, fsync final's directory: after a crash either
 * the old or the new file is there, whole. 0, or -1 with a message in err. */
int t6_rename_durable(const char *tmp, const char *final, char *err, size_t err_len);
/* Bytes an unprivileged writer may still use on the file system of path (statvfs
 * f_bavail), or -1 when unknown. */
long long t6_free_bytes(const char *path);
/* "1.6 MB"-style size for messages. Returns buf. */
char *t6_fmt_bytes(char *buf, size_t len, long long n);

#endif
