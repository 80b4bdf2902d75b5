/* arrow.c -- the Arrow IPC stream reader of arrow.h: the message framing, the
 * flatbuffer tables of Arrow's Message.fbs / Schema.fbs that a stream of plain columns
 * uses (Message, Schema, Field, the Type union, RecordBatch, FieldNode, Buffer), read
 * by hand with a bounds check on every offset, and the validation of each batch's
 * buffers against the schema. Debian 12 ships no C Arrow or flatcc library (only the
 * C++ flatbuffers runtime, which would also need code generated from Arrow's schema
 * files), hence the hand parser; doc/formats/arrow.md lists what it accepts. */
#include "eval/arrow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- little-endian loads (Arrow IPC and flatbuffers are little-endian) ---------- */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* ---- flatbuffer access, every offset checked against the metadata's bounds ------ */

typedef struct {
    const uint8_t *b;          /* the message's flatbuffer */
    size_t n;
    size_t file_pos;           /* where it starts in the file, for messages */
    const char *path;
    int msg;                   /* message number, from 1 */
    char *err;
    size_t err_len;
} fbuf;

typedef struct {
    size_t pos;                /* table start within the flatbuffer */
    size_t vt;                 /* its vtable */
    uint16_t vt_len, t_len;
} fbtab;

static int fb_fail(fbuf *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fb_fail(fbuf *f, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    t6_seterr(f->err, f->err_len, "%s: Arrow message %d (metadata at byte %zu): %s", f->path, f->msg, f->file_pos,
              what);
    return -1;
}

/* the table at `pos` (its vtable and inline part must lie inside the buffer) */
static int fb_table(fbuf *f, size_t pos, fbtab *t, const char *what)
{
    if (pos > f->n || f->n - pos < 4) return fb_fail(f, "%s table offset %zu is outside the %zu-byte metadata", what, pos, f->n);
    int64_t vt = (int64_t)pos - (int32_t)le32(f->b + pos);
    if (vt < 0 || (uint64_t)vt > f->n - 4)
        return fb_fail(f, "%s table at %zu: vtable offset %lld is outside the metadata", what, pos, (long long)vt);
    t->pos = pos;
    t->vt = (size_t)vt;
    t->vt_len = le16(f->b + t->vt);
    t->t_len = le16(f->b + t->vt + 2);
    if (t->vt_len < 4 || (t->vt_len & 1) || t->vt + t->vt_len > f->n)
        return fb_fail(f, "%s table at %zu: bad vtable (size %u)", what, pos, t->vt_len);
    if (t->t_len < 4 || pos + t->t_len > f->n)
        return fb_fail(f, "%s table at %zu: its %u bytes run past the metadata", what, pos, t->t_len);
    return 0;
}

/* offset of field `idx` inside the table (0 if absent); the field's `size` bytes must fit */
static int fb_field(fbuf *f, const fbtab *t, int idx, size_t size, size_t *off, const char *what)
{
    size_t slot = 4 + 2 * (size_t)idx;
    *off = 0;
    if (slot + 2 > t->vt_len) return 0;
    uint16_t o = le16(f->b + t->vt + slot);
    if (o == 0) return 0;
    if (o < 4 || (size_t)o + size > t->t_len)
        return fb_fail(f, "%s: field %d at %u overruns its %u-byte table", what, idx, o, t->t_len);
    *off = t->pos + o;
    return 0;
}

static int fb_int(fbuf *f, const fbtab *t, int idx, size_t size, int64_t dflt, int64_t *v, const char *what)
{
    size_t off;
    if (fb_field(f, t, idx, size, &off, what)) return -1;
    if (!off) { *v = dflt; return 0; }
    switch (size) {
    case 1: *v = (int8_t)f->b[off]; break;
    case 2: *v = (int16_t)le16(f->b + off); break;
    case 4: *v = (int32_t)le32(f->b + off); break;
    default: *v = (int64_t)le64(f->b + off); break;
    }
    return 0;
}

/* a reference field (table, vector, string, union value): its target, 0 if absent */
static int fb_ref(fbuf *f, const fbtab *t, int idx, size_t *target, const char *what)
{
    size_t off;
    if (fb_field(f, t, idx, 4, &off, what)) return -1;
    *target = 0;
    if (!off) return 0;
    uint64_t to = (uint64_t)off + le32(f->b + off);
    if (to >= f->n) return fb_fail(f, "%s: field %d points to %llu, outside the %zu-byte metadata", what, idx,
                                   (unsigned long long)to, f->n);
    *target = (size_t)to;
    return 0;
}

/* a vector field: its first element and count, all `elem` bytes of each inside */
static int fb_vec(fbuf *f, const fbtab *t, int idx, size_t elem, size_t *start, size_t *count, const char *what)
{
    size_t to;
    *start = *count = 0;
    if (fb_ref(f, t, idx, &to, what)) return -1;
    if (!to) return 0;
    if (f->n - to < 4) return fb_fail(f, "%s: vector %d's length at %zu is cut off", what, idx, to);
    uint32_t c = le32(f->b + to);
    if (c > (f->n - to - 4) / elem)
        return fb_fail(f, "%s: vector %d of %u elements runs past the metadata", what, idx, c);
    *start = to + 4;
    *count = c;
    return 0;
}

/* ---- schema ---------------------------------------------------------------------- */

/* Type union tags of Schema.fbs */
enum { TY_NULL = 1, TY_INT = 2, TY_FLOAT = 3, TY_BINARY = 4, TY_UTF8 = 5, TY_BOOL = 6, TY_LIST = 12,
       TY_STRUCT = 13, TY_LARGE_BINARY = 19, TY_LARGE_UTF8 = 20, TY_LARGE_LIST = 21 };

static const char *type_tag_name(int64_t tag)
{
    static const char *const names[] = {"NONE", "Null", "Int", "FloatingPoint", "Binary", "Utf8", "Bool",
                                        "Decimal", "Date", "Time", "Timestamp", "Interval", "List", "Struct",
                                        "Union", "FixedSizeBinary", "FixedSizeList", "Map", "Duration",
                                        "LargeBinary", "LargeUtf8", "LargeList", "RunEndEncoded", "BinaryView",
                                        "Utf8View", "ListView", "LargeListView"};
    return tag >= 0 && tag < (int64_t)(sizeof names / sizeof *names) ? names[tag] : "unknown";
}

static void field_free(t6_arrow_field *fl)
{
    for (int i = 0; i < fl->n_children; i++) field_free(&fl->children[i]);
    free(fl->children);
    free(fl->name);
    memset(fl, 0, sizeof *fl);
}

#define MAX_DEPTH 32

static int parse_field(fbuf *f, size_t pos, t6_arrow_field *fl, int depth, const char *parent);

/* the Field tables of a vector into fl->children */
static int parse_children(fbuf *f, size_t start, size_t count, t6_arrow_field *fl, int depth)
{
    fl->n_children = (int)count;
    fl->children = t6_calloc(count ? count : 1, sizeof *fl->children);
    for (size_t i = 0; i < count; i++) {
        size_t at = start + 4 * i;
        uint64_t to = (uint64_t)at + le32(f->b + at);
        if (to >= f->n) return fb_fail(f, "field \"%s\": child %zu points outside the metadata", fl->name, i);
        if (parse_field(f, (size_t)to, &fl->children[i], depth + 1, fl->name)) return -1;
        /* a row becomes a JSON object keyed by these names: no two may be equal */
        for (size_t j = 0; j < i; j++)
            if (strcmp(fl->children[j].name, fl->children[i].name) == 0)
                return depth ? fb_fail(f, "field \"%s\" has two children named \"%s\"", fl->name, fl->children[i].name)
                             : fb_fail(f, "the schema has two columns named \"%s\"", fl->children[i].name);
    }
    return 0;
}

static int parse_field(fbuf *f, size_t pos, t6_arrow_field *fl, int depth, const char *parent)
{
    char what[160];
    snprintf(what, sizeof what, "a field of \"%s\"", parent);
    if (depth > MAX_DEPTH) return fb_fail(f, "%s: fields nested more than %d deep", what, MAX_DEPTH);
    fbtab t;
    if (fb_table(f, pos, &t, what)) return -1;
    size_t s, sn;
    if (fb_vec(f, &t, 0, 1, &s, &sn, what)) return -1;
    fl->name = t6_malloc(sn + 1);
    if (sn) memcpy(fl->name, f->b + s, sn);
    fl->name[sn] = '\0';
    if (strlen(fl->name) != sn) return fb_fail(f, "%s: field name contains a NUL byte", what);
    snprintf(what, sizeof what, "field \"%s\"", fl->name);
    int64_t nullable, tag;
    size_t type_pos, dict, cs, cn;
    if (fb_int(f, &t, 1, 1, 0, &nullable, what) || fb_int(f, &t, 2, 1, 0, &tag, what) ||
        fb_ref(f, &t, 3, &type_pos, what) || fb_ref(f, &t, 4, &dict, what) || fb_vec(f, &t, 5, 4, &cs, &cn, what))
        return -1;
    fl->nullable = nullable != 0;
    if (dict) return fb_fail(f, "%s is dictionary-encoded: not supported", what);
    tag &= 0xff;
    int want_children = 0;
    switch (tag) {
    case TY_NULL: fl->kind = T6_ARROW_NULL; break;
    case TY_BOOL: fl->kind = T6_ARROW_BOOL; break;
    case TY_UTF8: case TY_LARGE_UTF8: fl->kind = T6_ARROW_UTF8; fl->large = tag == TY_LARGE_UTF8; break;
    case TY_LIST: case TY_LARGE_LIST:
        fl->kind = T6_ARROW_LIST;
        fl->large = tag == TY_LARGE_LIST;
        want_children = 1;
        break;
    case TY_STRUCT: fl->kind = T6_ARROW_STRUCT; want_children = -1; break;
    case TY_INT: case TY_FLOAT: {
        fbtab tt;
        if (!type_pos) return fb_fail(f, "%s: its %s type table is missing", what, type_tag_name(tag));
        if (fb_table(f, type_pos, &tt, what)) return -1;
        if (tag == TY_INT) {
            int64_t bw, sg;
            if (fb_int(f, &tt, 0, 4, 0, &bw, what) || fb_int(f, &tt, 1, 1, 0, &sg, what)) return -1;
            if (bw != 8 && bw != 16 && bw != 32 && bw != 64)
                return fb_fail(f, "%s: integer bit width %lld (8, 16, 32 or 64 expected)", what, (long long)bw);
            fl->kind = T6_ARROW_INT;
            fl->bits = (int)bw;
            fl->is_signed = sg != 0;
        } else {
            int64_t prec;
            if (fb_int(f, &tt, 0, 2, 0, &prec, what)) return -1;
            if (prec != 1 && prec != 2)
                return fb_fail(f, "%s: floating-point precision %lld is not supported (single or double only)",
                               what, (long long)prec);
            fl->kind = T6_ARROW_FLOAT;
            fl->bits = prec == 1 ? 32 : 64;
        }
        break;
    }
    default:
        return fb_fail(f, "%s has Arrow type %s (union tag %lld): not supported (utf8, large_utf8, int, float, "
                       "bool, null, list, large_list and struct are)", what, type_tag_name(tag), (long long)tag);
    }
    if (want_children == 1 && cn != 1)
        return fb_fail(f, "%s: a list has %zu child fields (1 expected)", what, cn);
    if (want_children == 0 && cn != 0)
        return fb_fail(f, "%s: a %s has %zu child fields (none expected)", what, type_tag_name(tag), cn);
    return parse_children(f, cs, cn, fl, depth);
}

static int parse_schema(fbuf *f, size_t pos, t6_arrow_field *schema)
{
    fbtab t;
    if (fb_table(f, pos, &t, "Schema")) return -1;
    int64_t endian;
    size_t fs, fn;
    if (fb_int(f, &t, 0, 2, 0, &endian, "Schema") || fb_vec(f, &t, 1, 4, &fs, &fn, "Schema")) return -1;
    if (endian != 0) return fb_fail(f, "the schema is big-endian: not supported");
    schema->name = t6_strdup("(schema)");
    schema->kind = T6_ARROW_STRUCT;
    return parse_children(f, fs, fn, schema, 0);
}

/* ---- record batches -------------------------------------------------------------- */

static void array_free(const t6_arrow_field *fl, t6_arrow_array *a)
{
    if (!a->children) return;
    for (int i = 0; i < fl->n_children; i++) array_free(&fl->children[i], &a->children[i]);
    free(a->children);
    a->children = NULL;
}

/* what a batch walk needs: the FieldNode and Buffer vectors and the body */
typedef struct {
    fbuf *f;
    size_t nodes, n_nodes, next_node;
    size_t bufs, n_bufs, next_buf;
    const uint8_t *body;
    uint64_t body_len;
} walk;

static int take_buffer(walk *w, const t6_arrow_field *fl, const uint8_t **p, uint64_t *len)
{
    if (w->next_buf >= w->n_bufs)
        return fb_fail(w->f, "RecordBatch has %zu buffers, too few for the schema (column \"%s\")", w->n_bufs, fl->name);
    const uint8_t *e = w->f->b + w->bufs + 16 * w->next_buf;
    uint64_t off = le64(e), l = le64(e + 8);
    if (off > w->body_len || l > w->body_len - off)
        return fb_fail(w->f, "buffer %zu (column \"%s\"): bytes %llu..%llu lie outside the %llu-byte body",
                       w->next_buf, fl->name, (unsigned long long)off, (unsigned long long)(off + l),
                       (unsigned long long)w->body_len);
    w->next_buf++;
    *p = w->body + off;
    *len = l;
    return 0;
}

/* offsets: (length + 1) of width 4 or 8, non-decreasing from >= 0; returns the last */
static int check_offsets(walk *w, const t6_arrow_field *fl, t6_arrow_array *a, const uint8_t *p, uint64_t len,
                         uint64_t *last)
{
    int wd = fl->large ? 8 : 4;
    *last = 0;
    if (a->length == 0) { a->offsets = len >= (uint64_t)wd ? p : NULL; return 0; }
    if (len / wd < (uint64_t)a->length + 1)
        return fb_fail(w->f, "column \"%s\": offsets buffer of %llu bytes is too short for %lld values", fl->name,
                       (unsigned long long)len, (long long)a->length);
    int64_t prev = -1;
    for (int64_t i = 0; i <= a->length; i++) {
        int64_t o = wd == 8 ? (int64_t)le64(p + 8 * i) : (int32_t)le32(p + 4 * i);
        if (o < 0 || o < prev)
            return fb_fail(w->f, "column \"%s\": offset %lld of value %lld is negative or decreasing", fl->name,
                           (long long)o, (long long)i);
        prev = o;
    }
    a->offsets = p;
    *last = (uint64_t)prev;
    return 0;
}

static int walk_array(walk *w, const t6_arrow_field *fl, t6_arrow_array *a, int64_t need)
{
    if (w->next_node >= w->n_nodes)
        return fb_fail(w->f, "RecordBatch has %zu field nodes, too few for the schema (column \"%s\")", w->n_nodes,
                       fl->name);
    const uint8_t *nd = w->f->b + w->nodes + 16 * w->next_node++;
    a->length = (int64_t)le64(nd);
    a->null_count = (int64_t)le64(nd + 8);
    if (a->length < need || a->null_count < 0 || a->null_count > a->length)
        return fb_fail(w->f, "column \"%s\": %lld values with %lld nulls (at least %lld values needed)", fl->name,
                       (long long)a->length, (long long)a->null_count, (long long)need);
    uint64_t bits_len = ((uint64_t)a->length + 7) / 8;
    const uint8_t *p;
    uint64_t len;
    if (fl->kind != T6_ARROW_NULL) {
        if (take_buffer(w, fl, &p, &len)) return -1;
        if (a->null_count > 0) {
            if (len < bits_len)
                return fb_fail(w->f, "column \"%s\": %lld nulls but a validity bitmap of %llu bytes", fl->name,
                               (long long)a->null_count, (unsigned long long)len);
            a->validity = p;
        }
    }
    uint64_t last;
    switch (fl->kind) {
    case T6_ARROW_NULL: break;
    case T6_ARROW_BOOL: case T6_ARROW_INT: case T6_ARROW_FLOAT: {
        if (take_buffer(w, fl, &p, &len)) return -1;
        /* compared by division: length * width could overflow */
        uint64_t width = fl->kind == T6_ARROW_BOOL ? 0 : (uint64_t)(fl->bits / 8);
        if (width ? len / width < (uint64_t)a->length : len < bits_len)
            return fb_fail(w->f, "column \"%s\": values buffer of %llu bytes is too short for %lld values", fl->name,
                           (unsigned long long)len, (long long)a->length);
        a->values = p;
        break;
    }
    case T6_ARROW_UTF8: {
        const uint8_t *vp;
        uint64_t vlen;
        if (take_buffer(w, fl, &p, &len) || take_buffer(w, fl, &vp, &vlen) ||
            check_offsets(w, fl, a, p, len, &last))
            return -1;
        if (last > vlen)
            return fb_fail(w->f, "column \"%s\": string offsets reach byte %llu of a %llu-byte data buffer", fl->name,
                           (unsigned long long)last, (unsigned long long)vlen);
        a->values = vp;
        break;
    }
    case T6_ARROW_LIST:
        if (take_buffer(w, fl, &p, &len) || check_offsets(w, fl, a, p, len, &last)) return -1;
        if (last > INT64_MAX) return fb_fail(w->f, "column \"%s\": list offset out of range", fl->name);
        a->children = t6_calloc(1, sizeof *a->children);
        return walk_array(w, &fl->children[0], &a->children[0], (int64_t)last);
    case T6_ARROW_STRUCT:
        a->children = t6_calloc(fl->n_children ? (size_t)fl->n_children : 1, sizeof *a->children);
        for (int i = 0; i < fl->n_children; i++)
            if (walk_array(w, &fl->children[i], &a->children[i], a->length)) return -1;
        break;
    }
    return 0;
}

static int parse_batch(fbuf *f, size_t pos, const t6_arrow_field *schema, const uint8_t *body, uint64_t body_len,
                       t6_arrow_batch *b)
{
    fbtab t;
    if (fb_table(f, pos, &t, "RecordBatch")) return -1;
    int64_t length;
    size_t comp;
    walk w = {.f = f, .body = body, .body_len = body_len};
    if (fb_int(f, &t, 0, 8, 0, &length, "RecordBatch") ||
        fb_vec(f, &t, 1, 16, &w.nodes, &w.n_nodes, "RecordBatch nodes") ||
        fb_vec(f, &t, 2, 16, &w.bufs, &w.n_bufs, "RecordBatch buffers") || fb_ref(f, &t, 3, &comp, "RecordBatch"))
        return -1;
    if (comp) return fb_fail(f, "the record batch body is compressed (LZ4/ZSTD): not supported; write it uncompressed");
    if (length < 0) return fb_fail(f, "RecordBatch length %lld is negative", (long long)length);
    b->length = length;
    b->root.length = length;
    b->root.children = t6_calloc(schema->n_children ? (size_t)schema->n_children : 1, sizeof *b->root.children);
    for (int i = 0; i < schema->n_children; i++)
        if (walk_array(&w, &schema->children[i], &b->root.children[i], length)) return -1;
    if (w.next_node != w.n_nodes || w.next_buf != w.n_bufs)
        return fb_fail(f, "RecordBatch has %zu field nodes and %zu buffers; the schema uses %zu and %zu", w.n_nodes,
                       w.n_bufs, w.next_node, w.next_buf);
    return 0;
}

/* ---- the stream ------------------------------------------------------------------ */

void t6_arrow_close(t6_arrow_table *t)
{
    for (int i = 0; i < t->n_batches; i++) array_free(&t->schema, &t->batches[i].root);
    free(t->batches);
    field_free(&t->schema);
    free(t->data);
    free(t->path);
    memset(t, 0, sizeof *t);
}

enum { MSG_SCHEMA = 1, MSG_DICTIONARY = 2, MSG_RECORD_BATCH = 3 };

int t6_arrow_parse(const char *path, uint8_t *data, size_t size, t6_arrow_table *t, char *err, size_t err_len)
{
    memset(t, 0, sizeof *t);
    t->path = t6_strdup(path);
    t->data = data;
    t->size = size;
    size_t pos = 0;
    int have_schema = 0, msg = 0, cap = 0;
    /* the IPC *file* format wraps a stream between "ARROW1" magics: read the stream */
    if (size >= 8 && memcmp(data, "ARROW1\0\0", 8) == 0) pos = 8;
    for (;;) {
        if (pos == size) {
            /* a writer may end a stream by closing it, without the end-of-stream marker */
            if (!have_schema) { t6_seterr(err, err_len, "%s: no Arrow schema message (empty file?)", path); goto fail; }
            break;
        }
        msg++;
        if (size - pos < 4) {
            t6_seterr(err, err_len, "%s: truncated Arrow stream: %zu bytes at byte %zu where message %d should start",
                      path, size - pos, pos, msg);
            goto fail;
        }
        uint32_t w0 = le32(data + pos);
        size_t hdr = 4;
        uint32_t mlen = w0;
        if (w0 == 0xFFFFFFFFu) {   /* continuation marker (Arrow >= 0.15); older streams start with the length */
            if (size - pos < 8) {
                t6_seterr(err, err_len, "%s: truncated Arrow stream: message %d at byte %zu has no length", path, msg, pos);
                goto fail;
            }
            mlen = le32(data + pos + 4);
            hdr = 8;
        }
        if (mlen == 0) {   /* end-of-stream marker */
            if (!have_schema) { t6_seterr(err, err_len, "%s: Arrow stream ends before its schema", path); goto fail; }
            /* in the file format the footer follows; in a stream nothing may */
            if (pos + hdr != size && memcmp(data, "ARROW1", 6) != 0) {
                t6_seterr(err, err_len, "%s: %zu bytes after the Arrow end-of-stream marker at byte %zu", path,
                          size - pos - hdr, pos);
                goto fail;
            }
            break;
        }
        if (mlen > 0x7fffffffu || mlen > size - pos - hdr) {
            t6_seterr(err, err_len, "%s: Arrow message %d at byte %zu: metadata of %u bytes runs past the end of the "
                      "file (%zu bytes; truncated?)", path, msg, pos, mlen, size);
            goto fail;
        }
        fbuf f = {data + pos + hdr, mlen, pos + hdr, path, msg, err, err_len};
        fbtab mt;
        if (f.n < 4) { fb_fail(&f, "metadata of %zu bytes is too short for a flatbuffer", f.n); goto fail; }
        int64_t version, htype, body_len;
        size_t header;
        if (fb_table(&f, le32(f.b), &mt, "Message") || fb_int(&f, &mt, 0, 2, 0, &version, "Message") ||
            fb_int(&f, &mt, 1, 1, 0, &htype, "Message") || fb_ref(&f, &mt, 2, &header, "Message") ||
            fb_int(&f, &mt, 3, 8, 0, &body_len, "Message"))
            goto fail;
        /* MetadataVersion V4 = 3 (Arrow 0.8 .. 0.17), V5 = 4 (1.0 on): same layout for these types */
        if (version < 3 || version > 4) {
            fb_fail(&f, "metadata version V%lld is not supported (V4 or V5 expected)", (long long)version + 1);
            goto fail;
        }
        size_t body_at = pos + hdr + mlen;
        if (body_len < 0 || (uint64_t)body_len > size - body_at) {
            fb_fail(&f, "a body of %lld bytes runs past the end of the file (%zu bytes; truncated?)", (long long)body_len,
                    size);
            goto fail;
        }
        if (!header) { fb_fail(&f, "message has no header"); goto fail; }
        if (htype == MSG_SCHEMA) {
            if (have_schema) { fb_fail(&f, "a second schema message"); goto fail; }
            if (parse_schema(&f, header, &t->schema)) goto fail;
            have_schema = 1;
        } else if (htype == MSG_RECORD_BATCH) {
            if (!have_schema) { fb_fail(&f, "a record batch before the schema"); goto fail; }
            if (t->n_batches == cap) {
                cap = cap ? 2 * cap : 8;
                t->batches = t6_realloc(t->batches, (size_t)cap * sizeof *t->batches);
            }
            t6_arrow_batch *b = &t->batches[t->n_batches++];
            memset(b, 0, sizeof *b);
            b->msg_pos = pos;
            b->msg_end = body_at + (size_t)body_len;
            if (parse_batch(&f, header, &t->schema, data + body_at, (uint64_t)body_len, b)) goto fail;
            t->n_rows += b->length;
        } else if (htype == MSG_DICTIONARY) {
            fb_fail(&f, "a dictionary batch: dictionary-encoded columns are not supported");
            goto fail;
        } else {
            fb_fail(&f, "message type %lld is not a schema or record batch", (long long)htype);
            goto fail;
        }
        pos = body_at + (size_t)body_len;
    }
    return 0;
fail:
    t6_arrow_close(t);
    return -1;
}

int t6_arrow_open(const char *path, t6_arrow_table *t, char *err, size_t err_len)
{
    memset(t, 0, sizeof *t);
    FILE *fp = fopen(path, "rb");
    if (!fp) { t6_seterr(err, err_len, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *b = t6_malloc(cap);
    while ((got = fread(b + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap) { cap *= 2; b = t6_realloc(b, cap); }
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) { free(b); t6_seterr(err, err_len, "%s: read error", path); return -1; }
    return t6_arrow_parse(path, b, n, t, err, err_len);
}

/* ---- values ---------------------------------------------------------------------- */

static int bit(const uint8_t *bits, int64_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }

static int64_t offset_at(const t6_arrow_field *fl, const t6_arrow_array *a, int64_t i)
{
    return fl->large ? (int64_t)le64(a->offsets + 8 * i) : (int32_t)le32(a->offsets + 4 * i);
}

static json_t *value_json(const t6_arrow_table *t, const t6_arrow_field *fl, const t6_arrow_array *a, int64_t i,
                          char *err, size_t err_len)
{
    if (a->validity && !bit(a->validity, i)) return json_null();
    switch (fl->kind) {
    case T6_ARROW_NULL: return json_null();
    case T6_ARROW_BOOL: return json_boolean(bit(a->values, i));
    case T6_ARROW_INT: {
        const uint8_t *p = a->values + (size_t)i * (size_t)(fl->bits / 8);
        uint64_t u = fl->bits == 8 ? p[0] : fl->bits == 16 ? le16(p) : fl->bits == 32 ? le32(p) : le64(p);
        if (!fl->is_signed) {
            if (u > (uint64_t)INT64_MAX) return json_real((double)u);   /* beyond JSON integers */
            return json_integer((json_int_t)u);
        }
        int64_t s = fl->bits == 8 ? (int8_t)u : fl->bits == 16 ? (int16_t)u : fl->bits == 32 ? (int32_t)u : (int64_t)u;
        return json_integer((json_int_t)s);
    }
    case T6_ARROW_FLOAT: {
        const uint8_t *p = a->values + (size_t)i * (size_t)(fl->bits / 8);
        if (fl->bits == 32) {
            uint32_t u = le32(p);
            float v;
            memcpy(&v, &u, 4);
            return json_real(v);
        }
        uint64_t u = le64(p);
        double v;
        memcpy(&v, &u, 8);
        return json_real(v);
    }
    case T6_ARROW_UTF8: {
        int64_t o0 = offset_at(fl, a, i), o1 = offset_at(fl, a, i + 1);
        json_t *s = json_stringn((const char *)a->values + o0, (size_t)(o1 - o0));
        if (!s) t6_seterr(err, err_len, "%s: column \"%s\", value %lld is not valid UTF-8", t->path, fl->name, (long long)i);
        return s;
    }
    case T6_ARROW_LIST: {
        int64_t o0 = offset_at(fl, a, i), o1 = offset_at(fl, a, i + 1);
        json_t *arr = json_array();
        for (int64_t k = o0; k < o1; k++) {
            json_t *v = value_json(t, &fl->children[0], &a->children[0], k, err, err_len);
            if (!v) { json_decref(arr); return NULL; }
            json_array_append_new(arr, v);
        }
        return arr;
    }
    case T6_ARROW_STRUCT: {
        json_t *o = json_object();
        for (int c = 0; c < fl->n_children; c++) {
            json_t *v = value_json(t, &fl->children[c], &a->children[c], i, err, err_len);
            if (!v) { json_decref(o); return NULL; }
            if (json_object_set_new(o, fl->children[c].name, v)) {
                t6_seterr(err, err_len, "%s: field name \"%s\" is not valid UTF-8", t->path, fl->children[c].name);
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    }
    return json_null();
}

json_t *t6_arrow_row_json(const t6_arrow_table *t, const t6_arrow_batch *b, int64_t row, char *err, size_t err_len)
{
    if (row < 0 || row >= b->length) {
        t6_seterr(err, err_len, "%s: row %lld out of range", t->path, (long long)row);
        return NULL;
    }
    return value_json(t, &t->schema, &b->root, row, err, err_len);
}

void t6_arrow_type_name(const t6_arrow_field *f, char *buf, size_t len)
{
    switch (f->kind) {
    case T6_ARROW_NULL: snprintf(buf, len, "null"); break;
    case T6_ARROW_BOOL: snprintf(buf, len, "bool"); break;
    case T6_ARROW_INT: snprintf(buf, len, "%sint%d", f->is_signed ? "" : "u", f->bits); break;
    case T6_ARROW_FLOAT: snprintf(buf, len, "float%d", f->bits); break;
    case T6_ARROW_UTF8: snprintf(buf, len, "%sutf8", f->large ? "large_" : ""); break;
    case T6_ARROW_LIST: {
        char c[256];
        t6_arrow_type_name(&f->children[0], c, sizeof c);
        snprintf(buf, len, "%slist<%s>", f->large ? "large_" : "", c);
        break;
    }
    case T6_ARROW_STRUCT: {
        size_t o = (size_t)snprintf(buf, len, "struct<");
        for (int i = 0; i < f->n_children && o < len; i++) {
            char c[256];
            t6_arrow_type_name(&f->children[i], c, sizeof c);
            o += (size_t)snprintf(buf + o, len - o, "%s%s: %s", i ? ", " : "", f->children[i].name, c);
        }
        if (o < len) snprintf(buf + o, len - o, ">");
        break;
    }
    }
}
