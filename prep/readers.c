/* readers.c -- streaming document readers of t6-prep (see readers.h). */
#define _GNU_SOURCE 1 /* memmem */
#include "readers.h"

#ifndef T6_NO_ARCHIVE /* (defined only for the static benchmark build, doc/prep.md) */
#include <archive.h>
#include <archive_entry.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "parquet.h"
#include "util.h"


static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

t6_format t6_guess_format(const char *path)
{
    if (ends_with(path, ".parquet")) return T6_FMT_PARQUET;
    if (ends_with(path, ".jsonl") || ends_with(path, ".json") || ends_with(path, ".jsonl.gz") ||
        ends_with(path, ".json.gz") || ends_with(path, ".ndjson"))
        return T6_FMT_JSONL;
    if (ends_with(path, ".tar") || ends_with(path, ".tar.xz") || ends_with(path, ".tar.gz") || ends_with(path, ".tgz") ||
        ends_with(path, ".xz") || ends_with(path, ".zip") || ends_with(path, ".tar.zst"))
        return T6_FMT_ARCHIVE;
    return T6_FMT_TEXT;
}

const char *t6_format_name(t6_format f)
{
    switch (f) {
    case T6_FMT_TEXT: return "text";
    case T6_FMT_JSONL: return "jsonl";
    case T6_FMT_PARQUET: return "parquet";
    case T6_FMT_ARCHIVE: return "archive";
    default: return "auto";
    }
}

struct t6_reader {
    t6_format fmt;
    t6_reader_opts o;
    char path[4096];
    char *buf;            /* document / line buffer */
    size_t cap, len, start, scanned;
    int eof, done;
    uint64_t line, record;
    /* text */
    FILE *f;
    /* jsonl */
    gzFile gz;
    char *scratch;
    size_t scap;
    /* parquet */
    unsigned char *map;
    size_t map_len;
    t6_parquet *pq;
    /* archive */
#ifndef T6_NO_ARCHIVE
    struct archive *outer, *inner;
#endif
    char inner_name[1024];
    char iobuf[65536];
};

static void grow(t6_reader *r, size_t need)
{
    if (need <= r->cap) return;
    size_t c = r->cap ? r->cap : 1 << 16;
    while (c < need) c *= 2;
    r->buf = t6_realloc(r->buf, c);
    r->cap = c;
}

#ifndef T6_NO_ARCHIVE
static ssize_t inner_read(struct archive *a, void *client, const void **buff)
{
    t6_reader *r = client;
    la_ssize_t n = archive_read_data(r->outer, r->iobuf, sizeof r->iobuf);
    *buff = r->iobuf;
    return n;
}

static int is_nested(const char *name)
{
    return ends_with(name, ".tar") || ends_with(name, ".xz") || ends_with(name, ".tgz") || ends_with(name, ".tar.gz") ||
           ends_with(name, ".zip") || ends_with(name, ".tar.zst");
}
#endif

t6_reader *t6_reader_open(const char *path, const t6_reader_opts *o, char *err, size_t err_len)
{
    t6_reader *r = t6_calloc(1, sizeof *r);
    r->o = *o;
    if (!r->o.field) r->o.field = "text";
    if (!r->o.max_doc) r->o.max_doc = (size_t)1 << 30;
    r->fmt = o->format == T6_FMT_AUTO ? t6_guess_format(path) : o->format;
    snprintf(r->path, sizeof r->path, "%s", path);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        t6_seterr(err, err_len, "'%s': %s", path, errno ? strerror(errno) : "not a regular file");
        free(r);
        return NULL;
    }
    switch (r->fmt) {
    case T6_FMT_TEXT:
        r->f = fopen(path, "rb");
        if (!r->f) goto syserr;
        break;
    case T6_FMT_JSONL:
        r->gz = gzopen(path, "rb");
        if (!r->gz) goto syserr;
        gzbuffer(r->gz, 1 << 17);
        break;
    case T6_FMT_PARQUET: {
        if (st.st_size == 0) {
            t6_seterr(err, err_len, "'%s': empty file (0 bytes), not a Parquet file", path);
            free(r);
            return NULL;
        }
        int fd = open(path, O_RDONLY);
        if (fd < 0) goto syserr;
        r->map_len = (size_t)st.st_size;
        r->map = mmap(NULL, r->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (r->map == MAP_FAILED) { r->map = NULL; goto syserr; }
        madvise(r->map, r->map_len, MADV_SEQUENTIAL);
        r->pq = t6_parquet_open(r->map, r->map_len, r->o.field, path, err, err_len);
        if (!r->pq) { t6_reader_close(r); return NULL; }
        break;
    }
    case T6_FMT_ARCHIVE:
#ifdef T6_NO_ARCHIVE
        t6_seterr(err, err_len, "'%s': built without libarchive", path);
        t6_reader_close(r);
        return NULL;
#else
        r->outer = archive_read_new();
        archive_read_support_filter_all(r->outer);
        archive_read_support_format_all(r->outer);
        if (archive_read_open_filename(r->outer, path, 1 << 16) != ARCHIVE_OK) {
            t6_seterr(err, err_len, "'%s': cannot read as an archive: %s", path, archive_error_string(r->outer));
            t6_reader_close(r);
            return NULL;
        }
        break;
#endif
    default:
        break;
    }
    return r;
syserr:
    t6_seterr(err, err_len, "'%s': %s", path, strerror(errno));
    t6_reader_close(r);
    return NULL;
}

/* ---- text ---- */
/* Documents are handed out as [start, hit) of buf without moving the rest; the unread
 * tail is moved to the front only when more input has to be read, so splitting costs
 * O(bytes), not O(bytes x documents). */
static int text_next(t6_reader *r, const char **text, size_t *len, char *err, size_t err_len)
{
    if (r->done) return 0;
    const char *d = r->o.delimiter;
    size_t dl = d ? strlen(d) : 0;
    for (;;) {
        if (dl && r->len - r->start >= dl) {
            size_t from = r->scanned >= r->start + dl ? r->scanned - dl + 1 : r->start;
            char *hit = memmem(r->buf + from, r->len - from, d, dl);
            if (hit) {
                size_t at = (size_t)(hit - r->buf);
                *text = r->buf + r->start;
                *len = at - r->start;
                r->start = at + dl;
                r->scanned = r->start;
                r->record++;
                return 1;
            }
            r->scanned = r->len;
        }
        if (r->eof) break;
        if (r->start) {
            memmove(r->buf, r->buf + r->start, r->len - r->start);
            r->len -= r->start;
            r->scanned = r->scanned > r->start ? r->scanned - r->start : 0;
            r->start = 0;
        }
        if (r->len > r->o.max_doc) {
            t6_seterr(err, err_len, "'%s': document %llu is larger than --max-doc-bytes %zu", r->path, (unsigned long long)r->record + 1, r->o.max_doc);
            return -1;
        }
        grow(r, r->len + (1 << 20));
        size_t k = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
        if (k == 0) {
            if (ferror(r->f)) {
                t6_seterr(err, err_len, "'%s': read error: %s", r->path, strerror(errno));
                return -1;
            }
            r->eof = 1;
        }
        r->len += k;
    }
    r->done = 1;
    size_t rest = r->len - r->start;
    if (dl && rest == 0) return 0;   /* nothing after the last delimiter */
    if (!dl && rest == 0 && r->record == 0) {
        t6_seterr(err, err_len, "'%s': empty file", r->path);
        r->record++;
        return 2;
    }
    *text = r->buf + r->start;
    *len = rest;
    r->start = r->len;
    r->record++;
    return 1;
}

/* ---- jsonl ---- */
int t6_jsonl_line(const char *line, size_t n, const char *field, char **scratch, size_t *cap,
                  const char **text, size_t *len, char *err, size_t err_len)
{
    json_error_t je;
    json_t *root = json_loadb(line, n, JSON_ALLOW_NUL, &je);
    if (!root) {
        t6_seterr(err, err_len, "invalid JSON at column %d: %s", je.column, je.text);
        return 2;
    }
    int rc = 2;
    json_t *v = json_is_object(root) ? json_object_get(root, field) : NULL;
    if (!json_is_object(root)) t6_seterr(err, err_len, "line is JSON but not an object");
    else if (!v) t6_seterr(err, err_len, "missing field '%s'", field);
    else if (json_is_null(v)) t6_seterr(err, err_len, "field '%s' is null", field);
    else if (!json_is_string(v)) t6_seterr(err, err_len, "field '%s' is not a string", field);
    else {
        size_t l = json_string_length(v);
        if (*cap < l + 1) {
            *scratch = t6_realloc(*scratch, l + 1);
            *cap = l + 1;
        }
        memcpy(*scratch, json_string_value(v), l);
        *text = *scratch;
        *len = l;
        rc = 1;
    }
    json_decref(root);
    return rc;
}

/* Lines are cut with memchr on what gzread returned, not with gzgets: gzgets hands
 * back a C string, so a NUL byte inside a line would hide the rest of that line and
 * glue the next line onto it (a good record lost, every later line number off by one).
 * Here a line is exactly the bytes up to '\n', NUL included (then skipped and named). */
static int jsonl_next(t6_reader *r, const char **text, size_t *len, char *err, size_t err_len)
{
    for (;;) {
        char *nl = r->len > r->scanned ? memchr(r->buf + r->scanned, '\n', r->len - r->scanned) : NULL;
        size_t n, at = r->start;
        if (nl) {
            n = (size_t)(nl - (r->buf + r->start));
            r->start = r->scanned = (size_t)(nl - r->buf) + 1;
        } else if (r->eof) {
            if (r->start >= r->len) return 0;
            n = r->len - r->start;                 /* a last line without '\n' */
            r->start = r->scanned = r->len;
        } else {
            if (r->start) {
                memmove(r->buf, r->buf + r->start, r->len - r->start);
                r->len -= r->start;
                r->start = 0;
            }
            r->scanned = r->len;
            if (r->len > r->o.max_doc) {
                t6_seterr(err, err_len, "'%s': line %llu is longer than --max-doc-bytes %zu", r->path, (unsigned long long)r->line + 1, r->o.max_doc);
                return -1;
            }
            grow(r, r->len + (1 << 20));
            size_t want = r->cap - r->len > (1u << 30) ? (1u << 30) : r->cap - r->len;
            int k = gzread(r->gz, r->buf + r->len, (unsigned)want);
            int e = Z_OK;
            const char *m = k <= 0 ? gzerror(r->gz, &e) : NULL;
            if (k < 0 || (k == 0 && e != Z_OK && e != Z_STREAM_END)) {
                t6_seterr(err, err_len, "'%s': line %llu: %s (truncated or corrupt gzip?)", r->path, (unsigned long long)r->line + 1, m);
                return -1;
            }
            if (k == 0) r->eof = 1;
            r->len += (size_t)k;
            continue;
        }
        r->line++;
        char *line = r->buf + at;
        /* a UTF-8 byte order mark before the first line is not part of the JSON text
         * (RFC 8259 lets parsers ignore it; Windows tools write one) */
        if (r->line == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3;
            n -= 3;
        }
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
        if (n == 0) continue; /* blank line */
        if (memchr(line, '\0', n)) {
            t6_seterr(err, err_len, "'%s': line %llu: NUL byte in the line (binary data?)", r->path, (unsigned long long)r->line);
            return 2;
        }
        if (r->o.jsonl_raw) {
            *text = line;
            *len = n;
            return 1;
        }
        char why[400];
        int rc = t6_jsonl_line(line, n, r->o.field, &r->scratch, &r->scap, text, len, why, sizeof why);
        if (rc == 2) t6_seterr(err, err_len, "'%s': line %llu: %s", r->path, (unsigned long long)r->line, why);
        return rc;
    }
}

/* ---- archive ---- */
#ifndef T6_NO_ARCHIVE
static int read_entry(t6_reader *r, struct archive *a, const char *name, const char **text, size_t *len, char *err, size_t err_len)
{
    r->len = 0;
    for (;;) {
        grow(r, r->len + (1 << 16));
        la_ssize_t k = archive_read_data(a, r->buf + r->len, r->cap - r->len);
        if (k < 0) {
            t6_seterr(err, err_len, "'%s': member '%s': %s (truncated or corrupt archive)", r->path, name, archive_error_string(a));
            return -1;
        }
        if (k == 0) break;
        r->len += (size_t)k;
        if (r->len > r->o.max_doc) {
            archive_read_data_skip(a);
            t6_seterr(err, err_len, "'%s': member '%s' is larger than --max-doc-bytes %zu", r->path, name, r->o.max_doc);
            return 2;
        }
    }
    *text = r->buf;
    *len = r->len;
    return 1;
}

static int archive_next(t6_reader *r, const char **text, size_t *len, char *err, size_t err_len)
{
    struct archive_entry *e;
    for (;;) {
        if (r->inner) {
            int rc = archive_read_next_header(r->inner, &e);
            if (rc == ARCHIVE_EOF) {
                archive_read_free(r->inner);
                r->inner = NULL;
                continue;
            }
            if (rc < ARCHIVE_WARN) {
                t6_seterr(err, err_len, "'%s': nested archive '%s': %s (truncated or corrupt)", r->path, r->inner_name, archive_error_string(r->inner));
                return -1;
            }
            if (archive_entry_filetype(e) != AE_IFREG) continue;
            const char *name = archive_entry_pathname(e);
            if (!name || (r->o.member_ext && !ends_with(name, r->o.member_ext))) continue;
            return read_entry(r, r->inner, name, text, len, err, err_len);
        }
        int rc = archive_read_next_header(r->outer, &e);
        if (rc == ARCHIVE_EOF) return 0;
        if (rc < ARCHIVE_WARN) {
            t6_seterr(err, err_len, "'%s': %s (truncated or corrupt archive)", r->path, archive_error_string(r->outer));
            return -1;
        }
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        const char *name = archive_entry_pathname(e);
        if (!name) continue;
        if (is_nested(name)) {
            snprintf(r->inner_name, sizeof r->inner_name, "%s", name);
            r->inner = archive_read_new();
            archive_read_support_filter_all(r->inner);
            archive_read_support_format_all(r->inner);
            if (archive_read_open(r->inner, r, NULL, inner_read, NULL) != ARCHIVE_OK) {
                t6_seterr(err, err_len, "'%s': nested archive '%s': %s", r->path, name, archive_error_string(r->inner));
                return -1;
            }
            continue;
        }
        if (r->o.member_ext && !ends_with(name, r->o.member_ext)) continue;
        return read_entry(r, r->outer, name, text, len, err, err_len);
    }
}

#endif

int t6_reader_next(t6_reader *r, const char **text, size_t *len, char *err, size_t err_len)
{
    switch (r->fmt) {
    case T6_FMT_TEXT: return text_next(r, text, len, err, err_len);
    case T6_FMT_JSONL: return jsonl_next(r, text, len, err, err_len);
    case T6_FMT_PARQUET: {
        int rc = t6_parquet_next(r->pq, text, len, err, err_len);
        r->record++;
        if (rc == 2) t6_seterr(err, err_len, "'%s': row %llu: null '%s' value", r->path, (unsigned long long)r->record, r->o.field);
        return rc;
    }
#ifndef T6_NO_ARCHIVE
    case T6_FMT_ARCHIVE: return archive_next(r, text, len, err, err_len);
#endif
    default: return 0;
    }
}

uint64_t t6_reader_pos(const t6_reader *r)
{
    switch (r->fmt) {
    case T6_FMT_TEXT: { off_t o = ftello(r->f); return o < 0 ? 0 : (uint64_t)o; }
    case T6_FMT_JSONL: { z_off_t o = gzoffset(r->gz); return o < 0 ? 0 : (uint64_t)o; }
    case T6_FMT_PARQUET: return t6_parquet_pos(r->pq);
#ifndef T6_NO_ARCHIVE
    case T6_FMT_ARCHIVE: { la_int64_t o = archive_filter_bytes(r->outer, -1); return o < 0 ? 0 : (uint64_t)o; }
#endif
    default: return 0;
    }
}

uint64_t t6_reader_record(const t6_reader *r) { return r->fmt == T6_FMT_JSONL ? r->line : r->record; }
int t6_reader_is_raw_jsonl(const t6_reader *r) { return r->fmt == T6_FMT_JSONL && r->o.jsonl_raw; }

void t6_reader_close(t6_reader *r)
{
    if (!r) return;
    if (r->f) fclose(r->f);
    if (r->gz) gzclose(r->gz);
    if (r->pq) t6_parquet_close(r->pq);
    if (r->map) munmap(r->map, r->map_len);
#ifndef T6_NO_ARCHIVE
    if (r->inner) archive_read_free(r->inner);
    if (r->outer) archive_read_free(r->outer);
#endif
    free(r->scratch);
    free(r->buf);
    free(r);
}
