/* parquet.c -- the Parquet subset reader (see parquet.h). Every length and offset read
 * from the file is checked against the buffer it points into before use; the thrift
 * decoder limits nesting; all failures name the file, row group and page. */
#include "parquet.h"

#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "util.h"

#define MAX_PAGE ((size_t)1 << 30)


/* ---- thrift compact protocol ------------------------------------------------------ */
typedef struct {
    const unsigned char *p, *end;
    int bad, depth;
} tc;

enum { T_STOP = 0, T_TRUE = 1, T_FALSE = 2, T_BYTE = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6, T_DOUBLE = 7,
       T_BINARY = 8, T_LIST = 9, T_SET = 10, T_MAP = 11, T_STRUCT = 12 };

static uint64_t tc_varint(tc *t)
{
    uint64_t v = 0;
    for (int s = 0; s < 70; s += 7) {
        if (t->p >= t->end) { t->bad = 1; return 0; }
        unsigned char b = *t->p++;
        v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) return v;
    }
    t->bad = 1;
    return 0;
}

static int64_t tc_int(tc *t)
{
    uint64_t v = tc_varint(t);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int tc_binary(tc *t, const unsigned char **s, size_t *n)
{
    uint64_t l = tc_varint(t);
    if (t->bad || l > (uint64_t)(t->end - t->p)) { t->bad = 1; return -1; }
    *s = t->p;
    *n = (size_t)l;
    t->p += l;
    return 0;
}

static void tc_skip(tc *t, int type);

static void tc_skip_struct(tc *t)
{
    if (++t->depth > 32) { t->bad = 1; return; }
    for (;;) {
        if (t->bad || t->p >= t->end) { t->bad = 1; break; }
        unsigned char b = *t->p++;
        if (b == 0) break;
        if ((b >> 4) == 0) tc_int(t);
        tc_skip(t, b & 15);
    }
    t->depth--;
}

static void tc_list_header(tc *t, int *etype, uint64_t *size)
{
    if (t->p >= t->end) { t->bad = 1; *size = 0; *etype = 0; return; }
    unsigned char b = *t->p++;
    *size = b >> 4;
    *etype = b & 15;
    if (*size == 15) *size = tc_varint(t);
    /* every element takes at least one byte (except bools in some writers): bound it */
    if (*size > (uint64_t)(t->end - t->p) + 1) t->bad = 1;
}

static void tc_skip(tc *t, int type)
{
    if (t->bad) return;
    const unsigned char *s;
    size_t n;
    uint64_t cnt;
    int et;
    switch (type) {
    case T_TRUE: case T_FALSE: break;
    case T_BYTE: if (t->p >= t->end) t->bad = 1; else t->p++; break;
    case T_I16: case T_I32: case T_I64: tc_varint(t); break;
    case T_DOUBLE: if (t->end - t->p < 8) t->bad = 1; else t->p += 8; break;
    case T_BINARY: tc_binary(t, &s, &n); break;
    case T_LIST: case T_SET:
        if (++t->depth > 32) { t->bad = 1; return; }
        tc_list_header(t, &et, &cnt);
        for (uint64_t i = 0; i < cnt && !t->bad; i++) {
            if (et == T_TRUE || et == T_FALSE) { if (t->p >= t->end) t->bad = 1; else t->p++; }
            else tc_skip(t, et);
        }
        t->depth--;
        break;
    case T_MAP: {
        if (++t->depth > 32) { t->bad = 1; return; }
        cnt = tc_varint(t);
        if (cnt) {
            if (t->p >= t->end || cnt > (uint64_t)(t->end - t->p)) { t->bad = 1; break; }
            unsigned char kv = *t->p++;
            for (uint64_t i = 0; i < cnt && !t->bad; i++) {
                tc_skip(t, kv >> 4);
                tc_skip(t, kv & 15);
            }
        }
        t->depth--;
        break;
    }
    case T_STRUCT: tc_skip_struct(t); break;
    default: t->bad = 1;
    }
}

/* Next field of a struct: 0 at the stop field (or error), else 1 with id and type. */
static int tc_field(tc *t, int *last, int *type)
{
    if (t->bad || t->p >= t->end) { t->bad = 1; return 0; }
    unsigned char b = *t->p++;
    if (b == 0) return 0;
    *type = b & 15;
    *last = (b >> 4) ? *last + (b >> 4) : (int)tc_int(t);
    return 1;
}

static int tc_bool(int type) { return type == T_TRUE; }

/* ---- metadata --------------------------------------------------------------------- */
typedef struct {
    int type, rep, nchild;
    const unsigned char *name;
    size_t name_len;
} schema_el;

typedef struct {
    int type, codec, path_ok;
    int64_t num_values, total_compressed, data_off, dict_off;
} colmeta;

struct t6_parquet {
    const unsigned char *data;
    size_t n, meta_start;
    char name[512], column[128];
    int max_def;
    /* row groups: only the chunk of our column is kept */
    colmeta *chunks;
    size_t n_chunks;
    int64_t num_rows;
    /* iteration */
    size_t chunk;            /* current chunk index */
    int in_chunk;
    size_t pos, chunk_end;   /* page cursor within the file */
    int64_t chunk_values;    /* values seen in this chunk */
    int page_no;
    /* dictionary */
    unsigned char *dict_buf;
    size_t dict_cap;
    const unsigned char **dict_ptr;
    uint32_t *dict_len;
    size_t dict_n, dict_cap_n;
    /* current page */
    unsigned char *page_buf;
    size_t page_cap;
    const unsigned char *vals, *vals_end;  /* PLAIN values */
    int page_dict;                          /* values are dictionary indices */
    uint32_t *defs, *idx;
    size_t defs_cap, idx_cap;
    int64_t page_n, page_i, page_nonnull_i;
};

static int parse_colmeta(tc *t, colmeta *cm, const char *column)
{
    int last = 0, type;
    memset(cm, 0, sizeof *cm);
    cm->dict_off = -1;
    if (++t->depth > 32) { t->bad = 1; return -1; }
    while (tc_field(t, &last, &type)) {
        if (last == 1 && type == T_I32) cm->type = (int)tc_int(t);
        else if (last == 3 && type == T_LIST) {
            int et;
            uint64_t cnt;
            tc_list_header(t, &et, &cnt);
            cm->path_ok = cnt == 1 && et == T_BINARY;
            for (uint64_t i = 0; i < cnt && !t->bad; i++) {
                const unsigned char *s;
                size_t n;
                if (et != T_BINARY) { tc_skip(t, et); continue; }
                if (tc_binary(t, &s, &n) == 0 && cm->path_ok)
                    cm->path_ok = n == strlen(column) && memcmp(s, column, n) == 0;
            }
        } else if (last == 4 && type == T_I32) cm->codec = (int)tc_int(t);
        else if (last == 5 && type == T_I64) cm->num_values = tc_int(t);
        else if (last == 7 && type == T_I64) cm->total_compressed = tc_int(t);
        else if (last == 9 && type == T_I64) cm->data_off = tc_int(t);
        else if (last == 11 && type == T_I64) cm->dict_off = tc_int(t);
        else tc_skip(t, type);
    }
    t->depth--;
    return t->bad ? -1 : 0;
}

/* RowGroup: finds our column's chunk (found = 1 when present) and the group's
 * num_rows (-1 when absent). */
static int parse_rowgroup(tc *t, colmeta *out, int *found, int64_t *rows, const char *column)
{
    int last = 0, type;
    *found = 0;
    *rows = -1;
    if (++t->depth > 32) { t->bad = 1; return -1; }
    while (tc_field(t, &last, &type)) {
        if (last == 1 && type == T_LIST) {
            int et;
            uint64_t cnt;
            tc_list_header(t, &et, &cnt);
            for (uint64_t i = 0; i < cnt && !t->bad; i++) {
                if (et != T_STRUCT) { tc_skip(t, et); continue; }
                int l2 = 0, ty2;
                if (++t->depth > 32) { t->bad = 1; break; }
                while (tc_field(t, &l2, &ty2)) {
                    if (l2 == 3 && ty2 == T_STRUCT) {
                        colmeta cm;
                        if (parse_colmeta(t, &cm, column) == 0 && cm.path_ok) {
                            *out = cm;
                            *found = 1;
                        }
                    } else if (l2 == 1 && ty2 == T_BINARY) {
                        /* file_path: column data in another file */
                        const unsigned char *s;
                        size_t n = 0;
                        if (tc_binary(t, &s, &n) == 0 && n) t->bad = 2;
                    } else tc_skip(t, ty2);
                }
                t->depth--;
            }
        } else if (last == 3 && type == T_I64) *rows = tc_int(t);
        else tc_skip(t, type);
    }
    t->depth--;
    return t->bad ? -1 : 0;
}

static const char *codec_name(int c)
{
    static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
    return c >= 0 && c < 8 ? names[c] : "unknown";
}

static const char *enc_name(int e)
{
    static const char *names[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
                                  "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                                  "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    return e >= 0 && e < 10 ? names[e] : "unknown";
}

static const char *type_name(int t)
{
    static const char *names[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return t >= 0 && t < 8 ? names[t] : "unknown";
}

void t6_parquet_close(t6_parquet *p)
{
    if (!p) return;
    free(p->chunks);
    free(p->dict_buf);
    free(p->dict_ptr);
    free(p->dict_len);
    free(p->page_buf);
    free(p->defs);
    free(p->idx);
    free(p);
}

t6_parquet *t6_parquet_open(const unsigned char *data, size_t n, const char *column, const char *name,
                            char *err, size_t err_len)
{
    if (n < 12 || memcmp(data, "PAR1", 4) != 0) {
        t6_seterr(err, err_len, "'%s': not a Parquet file (%s)", name,
               n < 4 ? "shorter than the 4-byte magic" : "no PAR1 magic at the start");
        return NULL;
    }
    if (memcmp(data + n - 4, "PAR1", 4) != 0) {
        t6_seterr(err, err_len, "'%s': truncated or corrupt Parquet file: no PAR1 magic at the end (%zu bytes; an interrupted download?)",
               name, n);
        return NULL;
    }
    uint32_t ml = (uint32_t)data[n - 8] | (uint32_t)data[n - 7] << 8 | (uint32_t)data[n - 6] << 16 | (uint32_t)data[n - 5] << 24;
    if ((size_t)ml > n - 12) {
        t6_seterr(err, err_len, "'%s': corrupt Parquet footer: metadata length %u exceeds the file (%zu bytes)", name, ml, n);
        return NULL;
    }
    t6_parquet *p = t6_calloc(1, sizeof *p);
    p->data = data;
    p->n = n;
    p->meta_start = n - 8 - ml;
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->column, sizeof p->column, "%s", column);

    tc t = {data + p->meta_start, data + n - 8, 0, 0};
    int last = 0, type;
    schema_el *sch = NULL;
    size_t nsch = 0, cap_chunks = 0;
    int64_t rg_missing = -1, rg_rows_sum = 0, bad_rg = -1;
    int seen = 0;   /* bit f: required FileMetaData field f (1 version .. 4 row_groups) */
    while (tc_field(&t, &last, &type)) {
        if ((last == 1 && type == T_I32) || ((last == 2 || last == 4) && type == T_LIST) || (last == 3 && type == T_I64))
            seen |= 1 << last;
        if (last == 2 && type == T_LIST) {
            int et;
            uint64_t cnt;
            tc_list_header(&t, &et, &cnt);
            if (t.bad || et != T_STRUCT || sch) { t.bad = 1; break; } /* (a second schema list is corrupt) */
            sch = t6_calloc(cnt ? cnt : 1, sizeof *sch);
            for (uint64_t i = 0; i < cnt && !t.bad; i++) {
                schema_el *e = &sch[nsch++];
                e->type = -1;
                e->rep = 0;
                int l2 = 0, ty2;
                while (tc_field(&t, &l2, &ty2)) {
                    if (l2 == 1 && ty2 == T_I32) e->type = (int)tc_int(&t);
                    else if (l2 == 3 && ty2 == T_I32) e->rep = (int)tc_int(&t);
                    else if (l2 == 4 && ty2 == T_BINARY) tc_binary(&t, &e->name, &e->name_len);
                    else if (l2 == 5 && ty2 == T_I32) e->nchild = (int)tc_int(&t);
                    else tc_skip(&t, ty2);
                }
            }
        } else if (last == 3 && type == T_I64) {
            p->num_rows = tc_int(&t);
        } else if (last == 4 && type == T_LIST) {
            int et;
            uint64_t cnt;
            tc_list_header(&t, &et, &cnt);
            if (t.bad || et != T_STRUCT) { t.bad = 1; break; }
            for (uint64_t i = 0; i < cnt && !t.bad; i++) {
                colmeta cm;
                int found;
                int64_t rows;
                if (parse_rowgroup(&t, &cm, &found, &rows, column) < 0) break;
                if (rows < 0 && bad_rg < 0) bad_rg = (int64_t)i;
                rg_rows_sum += rows > 0 ? rows : 0;
                if (!found) { rg_missing = (int64_t)i; continue; }
                /* a top-level, non-repeated column has one value (or null) per row */
                if (cm.num_values != rows && bad_rg < 0) bad_rg = (int64_t)i;
                if (p->n_chunks == cap_chunks) {
                    cap_chunks = cap_chunks ? 2 * cap_chunks : 16;
                    p->chunks = t6_realloc(p->chunks, cap_chunks * sizeof *p->chunks);
                }
                p->chunks[p->n_chunks++] = cm;
            }
        } else tc_skip(&t, type);
    }
    if (t.bad) {
        t6_seterr(err, err_len, "'%s': %s", name, t.bad == 2 ? "column data in external files (ColumnChunk.file_path) is not supported"
                                                          : "corrupt Parquet footer (thrift metadata does not decode)");
        goto fail;
    }
    /* A footer that decodes can still be garbage: a flipped byte that turns a field
     * header into STOP or into another field would otherwise drop every row group and
     * read as a file of zero rows. The spec's required fields and the row counts,
     * which must agree, catch it. */
    if ((seen & 0x1e) != 0x1e) {
        t6_seterr(err, err_len, "'%s': corrupt Parquet footer: required field %s missing", name,
                  !(seen & 2) ? "version" : !(seen & 4) ? "schema" : !(seen & 8) ? "num_rows" : "row_groups");
        goto fail;
    }
    if (nsch < 2) {
        t6_seterr(err, err_len, "'%s': Parquet schema is empty", name);
        goto fail;
    }
    if (bad_rg >= 0 || rg_rows_sum != p->num_rows) {
        if (bad_rg >= 0)
            t6_seterr(err, err_len, "'%s': corrupt Parquet footer: row group %lld has no row count or its column chunk "
                      "disagrees with it", name, (long long)bad_rg);
        else
            t6_seterr(err, err_len, "'%s': corrupt Parquet footer: the row groups hold %lld rows, the file says %lld", name,
                      (long long)rg_rows_sum, (long long)p->num_rows);
        goto fail;
    }
    /* top-level fields: children of the root, skipping nested groups' subtrees */
    {
        size_t i = 1;
        int found = 0;
        for (int c = 0; c < sch[0].nchild && i < nsch; c++) {
            schema_el *e = &sch[i];
            int match = e->name && e->name_len == strlen(column) && memcmp(e->name, column, e->name_len) == 0;
            if (match) {
                found = 1;
                if (e->nchild > 0) {
                    t6_seterr(err, err_len, "'%s': column '%s' is a nested group; only a top-level BYTE_ARRAY column is supported", name, column);
                    goto fail;
                }
                if (e->type != 6) {
                    t6_seterr(err, err_len, "'%s': column '%s' has physical type %s; a text column must be BYTE_ARRAY", name, column,
                           type_name(e->type));
                    goto fail;
                }
                if (e->rep == 2) {
                    t6_seterr(err, err_len, "'%s': column '%s' is REPEATED (a list); only REQUIRED or OPTIONAL strings are supported", name, column);
                    goto fail;
                }
                p->max_def = e->rep == 1;
            }
            /* skip this field's subtree */
            size_t todo = 1;
            while (todo && i < nsch) {
                todo += (size_t)(sch[i].nchild > 0 ? sch[i].nchild : 0);
                todo--;
                i++;
            }
        }
        if (!found) {
            char cols[256] = "";
            size_t o = 0;
            i = 1;
            for (int c = 0; c < sch[0].nchild && i < nsch && o < 200; c++) {
                o += (size_t)snprintf(cols + o, sizeof cols - o, "%s%.*s", c ? ", " : "", (int)(sch[i].name_len > 40 ? 40 : sch[i].name_len),
                                      sch[i].name ? (const char *)sch[i].name : "?");
                size_t todo = 1;
                while (todo && i < nsch) { todo += (size_t)(sch[i].nchild > 0 ? sch[i].nchild : 0); todo--; i++; }
            }
            t6_seterr(err, err_len, "'%s': no column '%s' (columns: %s); choose one with --field", name, column, cols);
            goto fail;
        }
    }
    if (rg_missing >= 0) {
        t6_seterr(err, err_len, "'%s': row group %lld has no chunk for column '%s'", name, (long long)rg_missing, column);
        goto fail;
    }
    free(sch);
    return p;
fail:
    free(sch);
    t6_parquet_close(p);
    return NULL;
}

int64_t t6_parquet_num_rows(const t6_parquet *p) { return p->num_rows; }
uint64_t t6_parquet_pos(const t6_parquet *p) { return p->in_chunk ? p->pos : (p->chunk >= p->n_chunks ? p->n : 0); }

/* decompresses src into p->page_buf (size want); returns pointer or NULL */
static const unsigned char *decompress(t6_parquet *p, int codec, const unsigned char *src, size_t n, size_t want,
                                       unsigned char **buf, size_t *cap, char *err, size_t err_len)
{
    if (codec == 0) {
        if (n != want) {
            t6_seterr(err, err_len, "'%s': uncompressed page of %zu bytes claims %zu", p->name, n, want);
            return NULL;
        }
        return src;
    }
    if (want > MAX_PAGE) {
        t6_seterr(err, err_len, "'%s': page of %zu bytes uncompressed is beyond the 1 GiB limit (corrupt?)", p->name, want);
        return NULL;
    }
    if (*cap < want + 1) {
        *buf = t6_realloc(*buf, want + 1);
        *cap = want + 1;
    }
    if (codec == 1) {
        size_t ul;
        if (snappy_uncompressed_length((const char *)src, n, &ul) != SNAPPY_OK || ul != want ||
            snappy_uncompress((const char *)src, n, (char *)*buf, &ul) != SNAPPY_OK || ul != want) {
            t6_seterr(err, err_len, "'%s': corrupt SNAPPY page", p->name);
            return NULL;
        }
    } else if (codec == 6) {
        size_t r = ZSTD_decompress(*buf, want, src, n);
        if (ZSTD_isError(r) || r != want) {
            t6_seterr(err, err_len, "'%s': corrupt ZSTD page (%s)", p->name, ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size mismatch");
            return NULL;
        }
    } else if (codec == 2) {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 15 + 32) != Z_OK) {
            t6_seterr(err, err_len, "'%s': zlib init failed", p->name);
            return NULL;
        }
        z.next_in = (unsigned char *)src;
        z.avail_in = (uInt)n;
        z.next_out = *buf;
        z.avail_out = (uInt)want;
        int rc = inflate(&z, Z_FINISH);
        size_t got = want - z.avail_out;
        inflateEnd(&z);
        if ((rc != Z_STREAM_END && rc != Z_OK && rc != Z_BUF_ERROR) || got != want) {
            t6_seterr(err, err_len, "'%s': corrupt GZIP page", p->name);
            return NULL;
        }
    } else {
        t6_seterr(err, err_len, "'%s': compression codec %s (%d) is not supported (supported: UNCOMPRESSED, SNAPPY, GZIP, ZSTD)",
               p->name, codec_name(codec), codec);
        return NULL;
    }
    return *buf;
}

/* RLE / bit-packed hybrid: decodes count values of bit width bw from [s, e). */
static int rle_decode(const unsigned char *s, const unsigned char *e, int bw, uint32_t *out, int64_t count)
{
    if (bw < 0 || bw > 32) return -1;
    int64_t o = 0;
    tc t = {s, e, 0, 0};
    size_t vb = (size_t)(bw + 7) / 8;
    while (o < count) {
        uint64_t h = tc_varint(&t);
        if (t.bad) return -1;
        if (h & 1) {
            uint64_t groups = h >> 1;
            if (groups > ((uint64_t)1 << 31)) return -1;
            size_t nbytes = (size_t)groups * (size_t)bw;  /* 8 values * bw bits = bw bytes per group */
            if (nbytes > (size_t)(t.end - t.p)) return -1;
            uint64_t nv = groups * 8;
            for (uint64_t k = 0; k < nv && o < count; k++) {
                uint64_t bit = k * (uint64_t)bw, v = 0;
                for (int j = 0; j < bw; j++) {
                    uint64_t b = bit + (uint64_t)j;
                    v |= (uint64_t)((t.p[b >> 3] >> (b & 7)) & 1) << j;
                }
                out[o++] = (uint32_t)v;
            }
            t.p += nbytes;
        } else {
            uint64_t run = h >> 1;
            if (vb > (size_t)(t.end - t.p)) return -1;
            uint32_t v = 0;
            for (size_t j = 0; j < vb; j++) v |= (uint32_t)t.p[j] << (8 * j);
            t.p += vb;
            if (run == 0) return -1;
            for (uint64_t k = 0; k < run && o < count; k++) out[o++] = v;
        }
    }
    return 0;
}

static int grow_u32(uint32_t **a, size_t *cap, int64_t n)
{
    if (n < 0 || (uint64_t)n > MAX_PAGE) return -1;
    if ((size_t)n > *cap) {
        *a = t6_realloc(*a, (size_t)n * sizeof **a);
        *cap = (size_t)n;
    }
    return 0;
}

/* reads the next page of the current chunk; 1 = data page ready, 0 = chunk done, -1 = error */
static int next_page(t6_parquet *p, char *err, size_t err_len)
{
    const colmeta *cm = &p->chunks[p->chunk];
    for (;;) {
        if (p->chunk_values >= cm->num_values) return 0;
        if (p->pos >= p->chunk_end) {
            t6_seterr(err, err_len, "'%s': row group %zu: column chunk ends after %lld of %lld values (corrupt or truncated)", p->name,
                   p->chunk, (long long)p->chunk_values, (long long)cm->num_values);
            return -1;
        }
        tc t = {p->data + p->pos, p->data + p->chunk_end, 0, 0};
        int last = 0, type, ptype = -1;
        int64_t usize = -1, csize = -1, nvals = -1, enc = -1, defenc = 3, deflen = 0, replen = 0;
        int v2_compressed = 1, has_crc = 0;
        uint32_t crc = 0;
        while (tc_field(&t, &last, &type)) {
            if (last == 1 && type == T_I32) ptype = (int)tc_int(&t);
            else if (last == 4 && type == T_I32) { crc = (uint32_t)tc_int(&t); has_crc = 1; }
            else if (last == 2 && type == T_I32) usize = tc_int(&t);
            else if (last == 3 && type == T_I32) csize = tc_int(&t);
            else if ((last == 5 || last == 7 || last == 8) && type == T_STRUCT) {
                int l2 = 0, t2, which = last;
                if (++t.depth > 32) { t.bad = 1; break; }
                while (tc_field(&t, &l2, &t2)) {
                    if (l2 == 1 && t2 == T_I32) nvals = tc_int(&t);
                    else if (which == 5 && l2 == 2 && t2 == T_I32) enc = tc_int(&t);
                    else if (which == 5 && l2 == 3 && t2 == T_I32) defenc = tc_int(&t);
                    else if (which == 7 && l2 == 2 && t2 == T_I32) enc = tc_int(&t);
                    else if (which == 8 && l2 == 4 && t2 == T_I32) enc = tc_int(&t);
                    else if (which == 8 && l2 == 5 && t2 == T_I32) deflen = tc_int(&t);
                    else if (which == 8 && l2 == 6 && t2 == T_I32) replen = tc_int(&t);
                    else if (which == 8 && l2 == 7 && (t2 == T_TRUE || t2 == T_FALSE)) v2_compressed = tc_bool(t2);
                    else tc_skip(&t, t2);
                }
                t.depth--;
            } else tc_skip(&t, type);
        }
        if (t.bad || ptype < 0 || usize < 0 || csize < 0 || (size_t)csize > (size_t)(t.end - t.p)) {
            t6_seterr(err, err_len, "'%s': row group %zu page %d: corrupt page header%s", p->name, p->chunk, p->page_no,
                   (!t.bad && csize >= 0) ? " (page runs past its column chunk; truncated?)" : "");
            return -1;
        }
        const unsigned char *body = t.p;
        p->pos = (size_t)(t.p - p->data) + (size_t)csize;
        p->page_no++;
        if (ptype == 1) continue; /* index page */
        /* PageHeader.crc (optional; parquet-mr writes it by default, pyarrow only when
         * asked): CRC32 of the page bytes as stored. Without it a damaged byte in
         * SNAPPY or uncompressed data reads as other text (doc/prep.md). */
        if (has_crc && (uint32_t)crc32(0, body, (uInt)csize) != crc) {
            t6_seterr(err, err_len, "'%s': row group %zu page %d: page checksum (CRC32) mismatch: the page data is damaged", p->name,
                      p->chunk, p->page_no);
            return -1;
        }
        if (nvals < 0 || nvals > (int64_t)MAX_PAGE || (ptype != 2 && nvals > cm->num_values - p->chunk_values)) {
            t6_seterr(err, err_len, "'%s': row group %zu page %d: bad value count %lld (%lld of the chunk's %lld values left)",
                      p->name, p->chunk, p->page_no, (long long)nvals, (long long)(cm->num_values - p->chunk_values),
                      (long long)cm->num_values);
            return -1;
        }
        if (ptype == 2) {
            if (enc != 0 && enc != 2) {
                t6_seterr(err, err_len, "'%s': dictionary page encoding %s is not supported", p->name, enc_name((int)enc));
                return -1;
            }
            const unsigned char *d = decompress(p, cm->codec, body, (size_t)csize, (size_t)usize, &p->dict_buf, &p->dict_cap, err, err_len);
            if (!d) return -1;
            if (d != p->dict_buf) {
                /* uncompressed: copy so that the dictionary does not alias the mapping semantics */
                if (p->dict_cap < (size_t)usize + 1) { p->dict_buf = t6_realloc(p->dict_buf, (size_t)usize + 1); p->dict_cap = (size_t)usize + 1; }
                memcpy(p->dict_buf, d, (size_t)usize);
                d = p->dict_buf;
            }
            if ((size_t)nvals > p->dict_cap_n) {
                p->dict_ptr = t6_realloc(p->dict_ptr, (size_t)nvals * sizeof *p->dict_ptr);
                p->dict_len = t6_realloc(p->dict_len, (size_t)nvals * sizeof *p->dict_len);
                p->dict_cap_n = (size_t)nvals;
            }
            const unsigned char *q = d, *qe = d + usize;
            for (int64_t i = 0; i < nvals; i++) {
                if (qe - q < 4) goto bad_dict;
                uint32_t l = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
                q += 4;
                if (l > (size_t)(qe - q)) goto bad_dict;
                p->dict_ptr[i] = q;
                p->dict_len[i] = l;
                q += l;
            }
            p->dict_n = (size_t)nvals;
            continue;
        bad_dict:
            t6_seterr(err, err_len, "'%s': row group %zu: corrupt dictionary page (value runs past the page)", p->name, p->chunk);
            return -1;
        }
        if (ptype != 0 && ptype != 3) {
            t6_seterr(err, err_len, "'%s': row group %zu page %d: unknown page type %d", p->name, p->chunk, p->page_no, ptype);
            return -1;
        }
        if (enc != 0 && enc != 2 && enc != 8) {
            t6_seterr(err, err_len, "'%s': row group %zu: value encoding %s (%lld) is not supported (supported: PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY)",
                   p->name, p->chunk, enc_name((int)enc), (long long)enc);
            return -1;
        }
        const unsigned char *lv, *lv_end, *vals, *vals_end;
        if (ptype == 0) {
            const unsigned char *d = decompress(p, cm->codec, body, (size_t)csize, (size_t)usize, &p->page_buf, &p->page_cap, err, err_len);
            if (!d) return -1;
            const unsigned char *e = d + usize;
            lv = lv_end = d;
            if (p->max_def) {
                if (defenc != 3) {
                    t6_seterr(err, err_len, "'%s': definition level encoding %s is not supported (only RLE)", p->name, enc_name((int)defenc));
                    return -1;
                }
                if (e - d < 4) goto bad_page;
                uint32_t l = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
                if (l > (size_t)(e - d - 4)) goto bad_page;
                lv = d + 4;
                lv_end = lv + l;
            }
            vals = lv_end;
            vals_end = e;
        } else {
            if (replen != 0 && p->max_def == 0 && replen < 0) goto bad_page;
            if (replen < 0 || deflen < 0 || replen + deflen > csize || replen + deflen > usize) goto bad_page;
            lv = body + replen;
            lv_end = lv + deflen;
            size_t vc = (size_t)(csize - replen - deflen), vu = (size_t)(usize - replen - deflen);
            const unsigned char *d = v2_compressed ? decompress(p, cm->codec, lv_end, vc, vu, &p->page_buf, &p->page_cap, err, err_len)
                                                   : (vc == vu ? lv_end : NULL);
            if (!d) {
                if (!v2_compressed) t6_seterr(err, err_len, "'%s': uncompressed v2 page sizes disagree", p->name);
                return -1;
            }
            vals = d;
            vals_end = d + vu;
        }
        int64_t nonnull = nvals;
        if (p->max_def) {
            if (grow_u32(&p->defs, &p->defs_cap, nvals) < 0 || rle_decode(lv, lv_end, 1, p->defs, nvals) < 0) goto bad_page;
            nonnull = 0;
            for (int64_t i = 0; i < nvals; i++) {
                if (p->defs[i] > 1) goto bad_page;
                nonnull += p->defs[i];
            }
        }
        p->page_dict = enc != 0;
        if (p->page_dict) {
            if (vals_end <= vals) {
                if (nonnull) goto bad_page;
            } else {
                int bw = vals[0];
                if (grow_u32(&p->idx, &p->idx_cap, nonnull) < 0 || rle_decode(vals + 1, vals_end, bw, p->idx, nonnull) < 0) goto bad_page;
            }
        }
        p->vals = vals;
        p->vals_end = vals_end;
        p->page_n = nvals;
        p->page_i = 0;
        p->page_nonnull_i = 0;
        p->chunk_values += nvals;
        return 1;
    bad_page:
        t6_seterr(err, err_len, "'%s': row group %zu page %d: corrupt levels or values", p->name, p->chunk, p->page_no);
        return -1;
    }
}

int t6_parquet_next(t6_parquet *p, const char **text, size_t *len, char *err, size_t err_len)
{
    for (;;) {
        if (p->page_i < p->page_n) {
            int64_t i = p->page_i++;
            if (p->max_def && p->defs[i] == 0) return 2;
            if (p->page_dict) {
                uint32_t k = p->idx[p->page_nonnull_i++];
                if (k >= p->dict_n) {
                    t6_seterr(err, err_len, "'%s': row group %zu: dictionary index %u out of range (%zu entries)", p->name, p->chunk, k, p->dict_n);
                    return -1;
                }
                *text = (const char *)p->dict_ptr[k];
                *len = p->dict_len[k];
                return 1;
            }
            if (p->vals_end - p->vals < 4) goto bad;
            uint32_t l = (uint32_t)p->vals[0] | (uint32_t)p->vals[1] << 8 | (uint32_t)p->vals[2] << 16 | (uint32_t)p->vals[3] << 24;
            if (l > (size_t)(p->vals_end - p->vals - 4)) goto bad;
            *text = (const char *)p->vals + 4;
            *len = l;
            p->vals += 4 + (size_t)l;
            return 1;
        }
        if (!p->in_chunk) {
            if (p->chunk >= p->n_chunks) return 0;
            const colmeta *cm = &p->chunks[p->chunk];
            int64_t start = cm->data_off;
            if (cm->dict_off > 0 && cm->dict_off < start) start = cm->dict_off;
            if (cm->type != 6 || start < 4 || cm->total_compressed < 0 || (uint64_t)start > p->meta_start ||
                (uint64_t)cm->total_compressed > p->meta_start - (uint64_t)start || cm->num_values < 0) {
                t6_seterr(err, err_len, "'%s': row group %zu: column chunk offsets lie outside the file (corrupt or truncated)", p->name, p->chunk);
                return -1;
            }
            p->pos = (size_t)start;
            p->chunk_end = (size_t)start + (size_t)cm->total_compressed;
            p->chunk_values = 0;
            p->dict_n = 0;
            p->page_no = 0;
            p->in_chunk = 1;
        }
        int rc = next_page(p, err, err_len);
        if (rc < 0) return -1;
        if (rc == 0) {
            p->in_chunk = 0;
            p->chunk++;
        }
    }
bad:
    t6_seterr(err, err_len, "'%s': row group %zu page %d: PLAIN value runs past the page (corrupt)", p->name, p->chunk, p->page_no);
    return -1;
}
