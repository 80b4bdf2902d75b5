/* corpus.c -- writer and reader of the tokenized corpus file (HDF5 "t6-corpus" v2,
 * reads v1 too; doc/formats/corpus.md). Both halves live here so that what t6-prep writes and what
 * t6 reads cannot drift apart. The writer never leaves a partial file under the final
 * name: it writes "<path>.tmp.<pid>", flushes, fsyncs and renames on close. The reader
 * validates everything it relies on before handing the file out, and turns HDF5's
 * error stack into one message that names the path. Since v2 both datasets carry
 * HDF5's Fletcher-32 checksum filter and the root holds max_token, so a damaged or
 * out-of-vocabulary file is refused when it is opened (t6_corpus_verify), not hours
 * into a run; object timestamps are off so identical input gives identical bytes.
 *
 * HDF5 (serial build) is not thread-safe: use one corpus object from one thread at a
 * time and do not call HDF5 concurrently from other threads. */
#include "corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5io.h"
#include "util.h"

/* Tokens per chunk of /tokens. With the checksum filter HDF5 must read (and check)
 * a whole chunk to return any part of it, so chunks stay small: a random 1,025-token
 * training window reads one or two 32 KiB chunks (measured on the loaded 2-core dev
 * machine, 20M-token file: ~0.2 ms per window, against ~0.1 ms for a v1 file's direct
 * read and ~0.3 ms with 64K-token chunks); the open-time scan still runs at ~50M
 * tokens/s. (v1 files used 1M-token chunks without a filter; they read as before.) */
#define CORPUS_CHUNK_TOKENS ((size_t)1 << 14)
/* Tokens per read of the open-time verification scan. */
#define CORPUS_SCAN_TOKENS ((size_t)1 << 20)
/* Entries per chunk of /doc_offsets. */
#define CORPUS_CHUNK_DOCS ((size_t)1 << 16)


/* ---- HDF5 helpers (h5io.h) with this file's messages --------------------------------
 * HDF5 prints its whole error stack to stderr by default. We silence it around our
 * calls and, when a call fails, keep the innermost description for our message. */
typedef t6_h5_quiet_state quiet_state;
static quiet_state h5_quiet(void) { return t6_h5_quiet_begin(); }
static void h5_loud(quiet_state q) { t6_h5_quiet_end(q); }
/* Innermost HDF5 error description of the current stack ("" if none), then clears it. */
static const char *h5_reason(char buf[256]) { return t6_h5_reason(buf, 256); }

static int put_str_attr(hid_t obj, const char *name, const char *value)
{
    return t6_h5_attr_str(obj, name, value);
}

static int put_num_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *v)
{
    return t6_h5_attr_num(obj, name, file_type, mem_type, v);
}

/* Reads a string attribute (fixed or variable length) into out. 0, or -1 with err set. */
static int get_str_attr(hid_t obj, const char *path, const char *name, char *out, size_t out_len,
                        char *err, size_t err_len)
{
    int rc = t6_h5_get_str(obj, name, out, out_len);
    if (rc == T6_H5_MISSING)
        t6_seterr(err, err_len, "corpus '%s': attribute '%s' is missing (not a t6-corpus file, or written by an incompatible tool)", path, name);
    else if (rc != 0)
        t6_seterr(err, err_len, "corpus '%s': attribute '%s' is not a readable string", path, name);
    return rc == 0 ? 0 : -1;
}

/* Reads an integer attribute as int64 (HDF5 converts from the stored integer type). */
static int get_int_attr(hid_t obj, const char *path, const char *name, int64_t *out, char *err, size_t err_len)
{
    int rc = t6_h5_get_i64(obj, name, out);
    if (rc == T6_H5_MISSING)
        t6_seterr(err, err_len, "corpus '%s': attribute '%s' is missing (not a t6-corpus file, or written by an incompatible tool)", path, name);
    else if (rc != 0)
        t6_seterr(err, err_len, "corpus '%s': attribute '%s' is not a scalar integer", path, name);
    return rc == 0 ? 0 : -1;
}

/* ---- writer ---------------------------------------------------------------------- */
/* Creation properties of both datasets: chunked, Fletcher-32 checksums, no object
 * timestamps (so two runs over the same input write byte-identical files). */
static hid_t dataset_plist(hsize_t chunk)
{
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    if (pl < 0) return -1;
    if (H5Pset_chunk(pl, 1, &chunk) < 0 || H5Pset_fletcher32(pl) < 0 || H5Pset_obj_track_times(pl, 0) < 0) {
        H5Pclose(pl);
        return -1;
    }
    return pl;
}

struct t6_corpus_writer {
    char *path, *tmp;
    hid_t file, tokens;      /* tokens: < 0 until the first chunk is flushed */
    t6_corpus_meta meta;
    hid_t file_type, mem_type;
    /* pending tokens (not yet in the file), stored at the file's width */
    void *buf;
    size_t buf_n;
    uint64_t n_written;       /* tokens already in /tokens */
    uint64_t *offsets;        /* document starts, written on close */
    size_t n_docs, cap_docs;
    int64_t max_token;        /* -1 while empty */
    int failed;
};

/* errno of a failed write (ENOSPC, EFBIG, EDQUOT, EIO) in words, else HDF5's reason:
 * one line the user can act on instead of HDF5's stack. */
static const char *io_reason(char why[256], int e)
{
    char h5[256];
    h5_reason(h5);
    if (e == ENOSPC || e == EFBIG || e == EDQUOT || e == EIO || e == EROFS) snprintf(why, 256, "%s", strerror(e));
    else snprintf(why, 256, "%s", h5[0] ? h5 : "HDF5 error");
    return why;
}

static int writer_flush(t6_corpus_writer *w, char *err, size_t err_len)
{
    if (w->buf_n == 0) return 0;
    char why[256];
    quiet_state q = h5_quiet();
    errno = 0;
    int rc = -1;
    if (w->tokens < 0) {
        /* Created lazily so that a corpus smaller than one chunk gets a chunk of its own
         * size instead of a mostly empty 1M-token chunk. */
        hsize_t dims = 0, maxdims = H5S_UNLIMITED;
        hid_t sp = H5Screate_simple(1, &dims, &maxdims);
        hid_t pl = dataset_plist(w->buf_n);
        w->tokens = pl < 0 ? -1 : H5Dcreate2(w->file, "tokens", w->file_type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
        if (pl >= 0) H5Pclose(pl);
        H5Sclose(sp);
        if (w->tokens < 0) goto out;
    }
    hsize_t newsize = w->n_written + w->buf_n, start = w->n_written, count = w->buf_n;
    if (H5Dset_extent(w->tokens, &newsize) < 0) goto out;
    hid_t fs = H5Dget_space(w->tokens);
    hid_t ms = H5Screate_simple(1, &count, NULL);
    herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL);
    if (e >= 0) e = H5Dwrite(w->tokens, w->mem_type, ms, fs, H5P_DEFAULT, w->buf);
    H5Sclose(ms);
    H5Sclose(fs);
    if (e < 0) goto out;
    w->n_written += w->buf_n;
    w->buf_n = 0;
    rc = 0;
out:
    if (rc < 0) {
        io_reason(why, errno);
        t6_seterr(err, err_len, "corpus '%s': writing tokens failed: %s", w->tmp, why);
        w->failed = 1;
    }
    h5_loud(q);
    return rc;
}

t6_corpus_writer *t6_corpus_writer_open(const char *path, const t6_corpus_meta *meta,
                                        char *err, size_t err_len)
{
    if (meta->vocab_size <= 0 || meta->eot_id < 0 || meta->eot_id >= meta->vocab_size) {
        t6_seterr(err, err_len, "corpus '%s': invalid metadata: vocab_size %d, eot_id %d (need 0 <= eot_id < vocab_size)",
               path, meta->vocab_size, meta->eot_id);
        return NULL;
    }
    if (strcmp(meta->split, "train") != 0 && strcmp(meta->split, "val") != 0) {
        t6_seterr(err, err_len, "corpus '%s': invalid split '%s' (allowed: train, val)", path, meta->split);
        return NULL;
    }
    t6_corpus_writer *w = t6_calloc(1, sizeof *w);
    w->path = t6_strdup(path);
    size_t tl = strlen(path) + 32;
    w->tmp = t6_malloc(tl);
    snprintf(w->tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    w->meta = *meta;
    w->meta.version = T6_CORPUS_VERSION;
    w->meta.token_bits = meta->vocab_size <= 65536 ? 16 : 32;
    w->file_type = w->meta.token_bits == 16 ? H5T_STD_U16LE : H5T_STD_U32LE;
    w->mem_type = w->meta.token_bits == 16 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT32;
    w->buf = t6_malloc(CORPUS_CHUNK_TOKENS * (w->meta.token_bits / 8));
    w->tokens = -1;
    w->max_token = -1;

    quiet_state q = h5_quiet();
    char why[256];
    /* the root group's timestamps off as well: byte-identical output */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl >= 0) H5Pset_obj_track_times(fcpl, 0);
    errno = 0;
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, fcpl >= 0 ? fcpl : H5P_DEFAULT, H5P_DEFAULT);
    if (fcpl >= 0) H5Pclose(fcpl);
    if (w->file < 0) {
        h5_reason(why);
        int e = errno;
        h5_loud(q);
        t6_seterr(err, err_len, "corpus '%s': cannot create temporary file '%s': %s", path, w->tmp,
                  e ? strerror(e) : why[0] ? why : "HDF5 error");
        free(w->buf); free(w->tmp); free(w->path); free(w);
        return NULL;
    }
    h5_loud(q);
    return w;
}

/* Checks tokens against the vocabulary and tracks the largest one. */
static int check_tokens(t6_corpus_writer *w, const uint32_t *tokens, size_t n, char *err, size_t err_len)
{
    if (w->failed) {
        t6_seterr(err, err_len, "corpus '%s': writer already failed", w->path);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (tokens[i] >= (uint32_t)w->meta.vocab_size) {
            t6_seterr(err, err_len, "corpus '%s': token %" PRIu32 " (document %zu, position %zu) is >= vocab_size %d",
                   w->path, tokens[i], w->n_docs, i, w->meta.vocab_size);
            return -1;
        }
        if ((int64_t)tokens[i] > w->max_token) w->max_token = tokens[i];
    }
    return 0;
}

/* Buffers tokens at the file's width, flushing whole chunks. */
static int put_tokens(t6_corpus_writer *w, const uint32_t *tokens, size_t n, char *err, size_t err_len)
{
    size_t i = 0;
    while (i < n) {
        size_t room = CORPUS_CHUNK_TOKENS - w->buf_n;
        size_t k = n - i < room ? n - i : room;
        if (w->meta.token_bits == 16) {
            uint16_t *b = (uint16_t *)w->buf + w->buf_n;
            for (size_t j = 0; j < k; j++) b[j] = (uint16_t)tokens[i + j];
        } else {
            memcpy((uint32_t *)w->buf + w->buf_n, tokens + i, k * sizeof(uint32_t));
        }
        w->buf_n += k;
        i += k;
        if (w->buf_n == CORPUS_CHUNK_TOKENS && writer_flush(w, err, err_len) < 0) return -1;
    }
    return 0;
}

int t6_corpus_writer_append(t6_corpus_writer *w, const uint32_t *tokens, size_t n,
                            char *err, size_t err_len)
{
    if (check_tokens(w, tokens, n, err, err_len) < 0) return -1;
    if (w->n_docs == w->cap_docs) {
        w->cap_docs = w->cap_docs ? 2 * w->cap_docs : 1024;
        w->offsets = t6_realloc(w->offsets, w->cap_docs * sizeof *w->offsets);
    }
    w->offsets[w->n_docs++] = w->n_written + w->buf_n;
    return put_tokens(w, tokens, n, err, err_len);
}

int t6_corpus_writer_extend(t6_corpus_writer *w, const uint32_t *tokens, size_t n,
                            char *err, size_t err_len)
{
    if (w->n_docs == 0) {
        t6_seterr(err, err_len, "corpus '%s': extend before the first document", w->path);
        return -1;
    }
    if (check_tokens(w, tokens, n, err, err_len) < 0) return -1;
    return put_tokens(w, tokens, n, err, err_len);
}

uint64_t t6_corpus_writer_tokens(const t6_corpus_writer *w) { return w->n_written + w->buf_n; }

void t6_corpus_writer_set_source(t6_corpus_writer *w, const char *source)
{
    snprintf(w->meta.source, sizeof w->meta.source, "%s", source);
}

static void writer_free(t6_corpus_writer *w)
{
    free(w->buf);
    free(w->offsets);
    free(w->tmp);
    free(w->path);
    free(w);
}

/* fsync the directory holding path so that the rename itself is durable. */
static void fsync_dir_of(const char *path) { t6_fsync_parent(path); }

int t6_corpus_writer_close(t6_corpus_writer *w, char *err, size_t err_len)
{
    char why[256];
    int rc = -1;
    if (w->failed) {
        t6_seterr(err, err_len, "corpus '%s': writer already failed; nothing written", w->path);
        t6_corpus_writer_abort(w);
        return -1;
    }
    if (writer_flush(w, err, err_len) < 0) {
        t6_corpus_writer_abort(w);
        return -1;
    }
    quiet_state q = h5_quiet();
    herr_t e = 0;
    errno = 0;
    if (w->tokens < 0) {
        /* Empty corpus: still a valid file with a zero-length dataset. */
        hsize_t dims = 0, maxdims = H5S_UNLIMITED;
        hid_t sp = H5Screate_simple(1, &dims, &maxdims);
        hid_t pl = dataset_plist(1);
        w->tokens = pl < 0 ? -1 : H5Dcreate2(w->file, "tokens", w->file_type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
        if (pl >= 0) H5Pclose(pl);
        H5Sclose(sp);
        if (w->tokens < 0) e = -1;
    }
    if (e >= 0) {
        hsize_t dims = w->n_docs, maxdims = H5S_UNLIMITED;
        hsize_t chunk = w->n_docs == 0 ? 1 : (w->n_docs < CORPUS_CHUNK_DOCS ? w->n_docs : CORPUS_CHUNK_DOCS);
        hid_t sp = H5Screate_simple(1, &dims, &maxdims);
        hid_t pl = dataset_plist(chunk);
        hid_t d = pl < 0 ? -1 : H5Dcreate2(w->file, "doc_offsets", H5T_STD_U64LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
        if (d < 0) e = -1;
        else {
            if (w->n_docs) e = H5Dwrite(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->offsets);
            H5Dclose(d);
        }
        if (pl >= 0) H5Pclose(pl);
        H5Sclose(sp);
    }
    if (e >= 0) {
        hid_t root = w->file;
        int64_t mx = w->max_token;
        int32_t ver = T6_CORPUS_VERSION, vs = w->meta.vocab_size, eot = w->meta.eot_id;
        uint64_t nt = w->n_written, nd = w->n_docs;
        if (put_str_attr(root, "format", T6_CORPUS_FORMAT) < 0 ||
            put_num_attr(root, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT32, &ver) < 0 ||
            put_str_attr(root, "tokenizer", w->meta.tokenizer) < 0 ||
            put_str_attr(root, "vocab_hash", w->meta.vocab_hash) < 0 ||
            put_num_attr(root, "vocab_size", H5T_STD_I32LE, H5T_NATIVE_INT32, &vs) < 0 ||
            put_num_attr(root, "eot_id", H5T_STD_I32LE, H5T_NATIVE_INT32, &eot) < 0 ||
            put_str_attr(root, "split", w->meta.split) < 0 ||
            put_str_attr(root, "source", w->meta.source) < 0 ||
            put_num_attr(root, "n_tokens", H5T_STD_U64LE, H5T_NATIVE_UINT64, &nt) < 0 ||
            put_num_attr(root, "n_documents", H5T_STD_U64LE, H5T_NATIVE_UINT64, &nd) < 0 ||
            put_num_attr(root, "max_token", H5T_STD_I64LE, H5T_NATIVE_INT64, &mx) < 0)
            e = -1;
    }
    if (w->tokens >= 0) H5Dclose(w->tokens);
    w->tokens = -1;
    if (e >= 0) e = H5Fflush(w->file, H5F_SCOPE_GLOBAL);
    int werr = errno;
    herr_t ec = H5Fclose(w->file);
    if (!werr) werr = errno;
    w->file = -1;
    if (e < 0 || ec < 0) {
        io_reason(why, werr);
        h5_loud(q);
        t6_seterr(err, err_len, "corpus '%s': finishing '%s' failed: %s", w->path, w->tmp, why);
        unlink(w->tmp);
        writer_free(w);
        return -1;
    }
    h5_loud(q);
    int fd = open(w->tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        t6_seterr(err, err_len, "corpus '%s': fsync of '%s' failed: %s", w->path, w->tmp, strerror(errno));
        if (fd >= 0) close(fd);
        unlink(w->tmp);
        writer_free(w);
        return -1;
    }
    close(fd);
    if (rename(w->tmp, w->path) != 0) {
        t6_seterr(err, err_len, "corpus '%s': cannot rename '%s' into place: %s", w->path, w->tmp, strerror(errno));
        unlink(w->tmp);
        writer_free(w);
        return -1;
    }
    fsync_dir_of(w->path);
    rc = 0;
    writer_free(w);
    return rc;
}

void t6_corpus_writer_abort(t6_corpus_writer *w)
{
    if (!w) return;
    quiet_state q = h5_quiet();
    if (w->tokens >= 0) H5Dclose(w->tokens);
    if (w->file >= 0) H5Fclose(w->file);
    H5Eclear2(H5E_DEFAULT);
    h5_loud(q);
    unlink(w->tmp);
    writer_free(w);
}

/* ---- reader ---------------------------------------------------------------------- */
struct t6_corpus {
    char *path;
    hid_t file, tokens;
    t6_corpus_meta meta;
    uint64_t *offsets;   /* loaded on first use */
};

static void reader_free(t6_corpus *c)
{
    if (c->tokens >= 0) H5Dclose(c->tokens);
    if (c->file >= 0) H5Fclose(c->file);
    free(c->offsets);
    free(c->path);
    free(c);
}

/* Checks that dataset name is 1-D with n elements of an unsigned integer type of one of
 * the allowed sizes; returns the element size in bytes, or -1 with err set. */
static int check_dataset(hid_t file, const char *path, const char *name, uint64_t n, int size_a, int size_b,
                         hid_t *out, char *err, size_t err_len)
{
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
        t6_seterr(err, err_len, "corpus '%s': dataset '/%s' is missing", path, name);
        return -1;
    }
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) {
        t6_seterr(err, err_len, "corpus '%s': cannot open dataset '/%s' (corrupt file?)", path, name);
        return -1;
    }
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(s);
    hsize_t dims = 0;
    if (rank == 1) H5Sget_simple_extent_dims(s, &dims, NULL);
    int cls_ok = H5Tget_class(t) == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_NONE;
    int size = (int)H5Tget_size(t);
    H5Tclose(t);
    H5Sclose(s);
    if (rank != 1) {
        t6_seterr(err, err_len, "corpus '%s': dataset '/%s' has rank %d, expected 1", path, name, rank);
    } else if (!cls_ok || (size != size_a && size != size_b)) {
        t6_seterr(err, err_len, "corpus '%s': dataset '/%s' has an element type other than uint%d%s%s", path, name,
               8 * size_a, size_b != size_a ? " or uint" : "", size_b != size_a ? (size_b == 4 ? "32" : "64") : "");
    } else if ((uint64_t)dims != n) {
        t6_seterr(err, err_len, "corpus '%s': dataset '/%s' holds %" PRIu64 " elements but the file's attributes say %" PRIu64
               " (interrupted or corrupt write?)", path, name, (uint64_t)dims, n);
    } else {
        if (out) *out = d;
        else H5Dclose(d);
        return size;
    }
    H5Dclose(d);
    return -1;
}

t6_corpus *t6_corpus_open(const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        t6_seterr(err, err_len, "corpus '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        t6_seterr(err, err_len, "corpus '%s': not a regular file", path);
        return NULL;
    }
    if (access(path, R_OK) != 0) {
        t6_seterr(err, err_len, "corpus '%s': %s", path, strerror(errno));
        return NULL;
    }
    quiet_state q = h5_quiet();
    char why[256];
    t6_corpus *c = t6_calloc(1, sizeof *c);
    c->path = t6_strdup(path);
    c->file = c->tokens = -1;

    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) {
        h5_reason(why);
        t6_seterr(err, err_len, "corpus '%s': not an HDF5 file (%lld bytes; empty, truncated at the start, or a different format)",
               path, (long long)st.st_size);
        goto fail;
    }
    c->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (c->file < 0) {
        h5_reason(why);
        t6_seterr(err, err_len, "corpus '%s': cannot open as HDF5 (%lld bytes): %s; the file is truncated or corrupt, re-create it with t6-prep",
               path, (long long)st.st_size, why[0] ? why : "unknown HDF5 error");
        goto fail;
    }
    char fmt[64];
    int64_t v;
    if (get_str_attr(c->file, path, "format", fmt, sizeof fmt, err, err_len) < 0) goto fail;
    if (strcmp(fmt, T6_CORPUS_FORMAT) != 0) {
        t6_seterr(err, err_len, "corpus '%s': attribute format is '%s', expected '%s'", path, fmt, T6_CORPUS_FORMAT);
        goto fail;
    }
    if (get_int_attr(c->file, path, "format_version", &v, err, err_len) < 0) goto fail;
    if (v < T6_CORPUS_MIN_VERSION || v > T6_CORPUS_VERSION) {
        t6_seterr(err, err_len, "corpus '%s': format_version %lld is not supported (this build reads versions %d to %d)%s",
               path, (long long)v, T6_CORPUS_MIN_VERSION, T6_CORPUS_VERSION,
               v > T6_CORPUS_VERSION ? "; use a newer t6" : "; re-create it with this t6-prep");
        goto fail;
    }
    c->meta.version = (int)v;
    if (get_str_attr(c->file, path, "tokenizer", c->meta.tokenizer, sizeof c->meta.tokenizer, err, err_len) < 0 ||
        get_str_attr(c->file, path, "vocab_hash", c->meta.vocab_hash, sizeof c->meta.vocab_hash, err, err_len) < 0 ||
        get_str_attr(c->file, path, "split", c->meta.split, sizeof c->meta.split, err, err_len) < 0 ||
        get_str_attr(c->file, path, "source", c->meta.source, sizeof c->meta.source, err, err_len) < 0)
        goto fail;
    if (get_int_attr(c->file, path, "vocab_size", &v, err, err_len) < 0) goto fail;
    if (v <= 0 || v > (int64_t)1 << 31) {
        t6_seterr(err, err_len, "corpus '%s': vocab_size %lld out of range", path, (long long)v);
        goto fail;
    }
    c->meta.vocab_size = (int)v;
    if (get_int_attr(c->file, path, "eot_id", &v, err, err_len) < 0) goto fail;
    if (v < 0 || v >= c->meta.vocab_size) {
        t6_seterr(err, err_len, "corpus '%s': eot_id %lld outside the vocabulary (size %d)", path, (long long)v, c->meta.vocab_size);
        goto fail;
    }
    c->meta.eot_id = (int)v;
    if (get_int_attr(c->file, path, "n_tokens", &v, err, err_len) < 0) goto fail;
    if (v < 0) {
        t6_seterr(err, err_len, "corpus '%s': n_tokens %lld is negative", path, (long long)v);
        goto fail;
    }
    c->meta.n_tokens = (uint64_t)v;
    if (get_int_attr(c->file, path, "n_documents", &v, err, err_len) < 0) goto fail;
    if (v < 0) {
        t6_seterr(err, err_len, "corpus '%s': n_documents %lld is negative", path, (long long)v);
        goto fail;
    }
    c->meta.n_documents = (uint64_t)v;
    c->meta.max_token = -1;
    if (c->meta.version >= 2) {
        /* trust but verify: the writer's maximum must fit the vocabulary (checked
         * here, cheaply); t6_corpus_verify checks it against the tokens themselves */
        if (get_int_attr(c->file, path, "max_token", &v, err, err_len) < 0) goto fail;
        if (v >= c->meta.vocab_size || v < -1 || (v < 0 && c->meta.n_tokens > 0)) {
            t6_seterr(err, err_len, "corpus '%s': max_token %lld is outside the vocabulary (size %d): "
                   "the corpus was written for another vocabulary or is damaged", path, (long long)v, c->meta.vocab_size);
            goto fail;
        }
        c->meta.max_token = v;
    }
    int want = c->meta.vocab_size <= 65536 ? 2 : 4;
    int size = check_dataset(c->file, path, "tokens", c->meta.n_tokens, want, want, &c->tokens, err, err_len);
    if (size < 0) goto fail;
    c->meta.token_bits = 8 * size;
    {
        hid_t pl = H5Dget_create_plist(c->tokens);
        unsigned flags = 0, cd[4];
        size_t ncd = 4;
        c->meta.checksummed = pl >= 0 && H5Pget_filter_by_id2(pl, H5Z_FILTER_FLETCHER32, &flags, &ncd, cd, 0, NULL, NULL) >= 0;
        if (pl >= 0) H5Pclose(pl);
    }
    if (check_dataset(c->file, path, "doc_offsets", c->meta.n_documents, 8, 8, NULL, err, err_len) < 0) goto fail;
    H5Eclear2(H5E_DEFAULT);
    h5_loud(q);
    return c;
fail:
    reader_free(c);
    H5Eclear2(H5E_DEFAULT);
    h5_loud(q);
    return NULL;
}

const t6_corpus_meta *t6_corpus_get_meta(const t6_corpus *c) { return &c->meta; }

int t6_corpus_verify(t6_corpus *c, char *err, size_t err_len)
{
    const uint64_t N = c->meta.n_tokens;
    int32_t *buf = t6_malloc((N < CORPUS_SCAN_TOKENS ? (size_t)N + 1 : CORPUS_SCAN_TOKENS) * sizeof *buf);
    int64_t mx = -1;
    int rc = 0;
    quiet_state q = h5_quiet();
    char why[256];
    hid_t fs = H5Dget_space(c->tokens);
    for (uint64_t start = 0; start < N && rc == 0; start += CORPUS_SCAN_TOKENS) {
        hsize_t st = start, cnt = N - start < CORPUS_SCAN_TOKENS ? N - start : CORPUS_SCAN_TOKENS;
        hid_t ms = H5Screate_simple(1, &cnt, NULL);
        herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &cnt, NULL);
        if (e >= 0) e = H5Dread(c->tokens, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, buf);
        H5Sclose(ms);
        if (e < 0) {
            h5_reason(why);
            t6_seterr(err, err_len, "corpus '%s': tokens [%" PRIu64 ", %" PRIu64 ") %s%s%s; the file is damaged, re-create it "
                      "with t6-prep", c->path, start, start + (uint64_t)cnt,
                      c->meta.checksummed ? "fail their Fletcher-32 checksum (or cannot be read)" : "cannot be read",
                      why[0] ? ": " : "", why);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < cnt; i++) {
            if (buf[i] < 0 || buf[i] >= c->meta.vocab_size) {
                t6_seterr(err, err_len, "corpus '%s': token %d at position %" PRIu64 " is outside the vocabulary (size %d); "
                          "the file is damaged or was written for another vocabulary", c->path, buf[i], start + i,
                          c->meta.vocab_size);
                rc = -1;
                break;
            }
            if (buf[i] > mx) mx = buf[i];
        }
    }
    H5Sclose(fs);
    h5_loud(q);
    free(buf);
    if (rc == 0 && c->meta.version >= 2 && mx != c->meta.max_token) {
        t6_seterr(err, err_len, "corpus '%s': the largest token is %lld but the attribute max_token says %lld; the file is "
                  "damaged, re-create it with t6-prep", c->path, (long long)mx, (long long)c->meta.max_token);
        rc = -1;
    }
    return rc;
}

int t6_corpus_read(t6_corpus *c, uint64_t start, size_t n, int32_t *out, char *err, size_t err_len)
{
    if (start > c->meta.n_tokens || n > c->meta.n_tokens - start) {
        t6_seterr(err, err_len, "corpus '%s': read of tokens [%" PRIu64 ", %" PRIu64 ") is outside [0, %" PRIu64 ")",
               c->path, start, start + (uint64_t)n, c->meta.n_tokens);
        return -1;
    }
    if (n == 0) return 0;
    quiet_state q = h5_quiet();
    char why[256];
    hsize_t st = start, cnt = n;
    hid_t fs = H5Dget_space(c->tokens);
    hid_t ms = H5Screate_simple(1, &cnt, NULL);
    herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &cnt, NULL);
    if (e >= 0) e = H5Dread(c->tokens, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, out);
    H5Sclose(ms);
    H5Sclose(fs);
    if (e < 0) {
        h5_reason(why);
        h5_loud(q);
        t6_seterr(err, err_len, "corpus '%s': reading tokens [%" PRIu64 ", %" PRIu64 ") failed: %s (corrupt file?)",
               c->path, start, start + (uint64_t)n, why[0] ? why : "HDF5 error");
        return -1;
    }
    h5_loud(q);
    /* A token outside the vocabulary would index past the embedding table: refuse it
     * here with a position instead of corrupting memory later. */
    for (size_t i = 0; i < n; i++) {
        if (out[i] < 0 || out[i] >= c->meta.vocab_size) {
            t6_seterr(err, err_len, "corpus '%s': token %d at position %" PRIu64 " is outside the vocabulary (size %d); corrupt file",
                   c->path, out[i], start + i, c->meta.vocab_size);
            return -1;
        }
    }
    return 0;
}

const uint64_t *t6_corpus_doc_offsets(t6_corpus *c, char *err, size_t err_len)
{
    if (c->offsets) return c->offsets;
    uint64_t n = c->meta.n_documents;
    uint64_t *o = t6_malloc((n ? n : 1) * sizeof *o);
    if (n) {
        quiet_state q = h5_quiet();
        char why[256];
        hid_t d = H5Dopen2(c->file, "doc_offsets", H5P_DEFAULT);
        herr_t e = d >= 0 ? H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, o) : -1;
        if (d >= 0) H5Dclose(d);
        if (e < 0) {
            h5_reason(why);
            h5_loud(q);
            t6_seterr(err, err_len, "corpus '%s': reading /doc_offsets failed: %s (corrupt file?)", c->path,
                   why[0] ? why : "HDF5 error");
            free(o);
            return NULL;
        }
        h5_loud(q);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t prev = i ? o[i - 1] : 0;
            if ((i == 0 && o[0] != 0) || o[i] < prev || o[i] > c->meta.n_tokens) {
                t6_seterr(err, err_len, "corpus '%s': /doc_offsets[%" PRIu64 "] = %" PRIu64
                       " is invalid (must start at 0, never decrease, stay <= n_tokens %" PRIu64 ")",
                       c->path, i, o[i], c->meta.n_tokens);
                free(o);
                return NULL;
            }
        }
    }
    c->offsets = o;
    return o;
}

void t6_corpus_close(t6_corpus *c)
{
    if (!c) return;
    quiet_state q = h5_quiet();
    reader_free(c);
    H5Eclear2(H5E_DEFAULT);
    h5_loud(q);
}
