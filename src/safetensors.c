/* safetensors.c -- the safetensors reader and writer of safetensors.h. The header is
 * written and parsed with jansson; tensor bytes are streamed in chunks so a 1.5 GB
 * export needs no second copy of the weights in memory. Assumes a little-endian host
 * (x86-64, AArch64), checked at compile time. */
#include "safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c writes the host's bytes as little-endian data: port it to big-endian first"
#endif

/* A header larger than this is not a weights file (the Rust reference caps it at 100 MB). */
#define MAX_HEADER ((uint64_t)100 << 20)
#define CHUNK 65536

uint16_t t6_f32_to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);   /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

float t6_bf16_to_f32(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static size_t dtype_size(int dt) { return dt == T6_ST_BF16 ? 2 : 4; }
static const char *dtype_str(int dt) { return dt == T6_ST_BF16 ? "BF16" : "F32"; }

/* ---- writing ---------------------------------------------------------------------- */
static int write_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

static int write_tensor_bytes(FILE *f, const t6_st_src *t, t6_st_dtype dt)
{
    size_t numel = (size_t)t->rows * (size_t)(t->cols > 0 ? t->cols : 1);
    if (dt == T6_ST_F32) return write_all(f, t->data, numel * sizeof(float));
    uint16_t buf[CHUNK];
    for (size_t i = 0; i < numel; i += CHUNK) {
        size_t m = numel - i < CHUNK ? numel - i : CHUNK;
        for (size_t j = 0; j < m; j++) buf[j] = t6_f32_to_bf16(t->data[i + j]);
        if (write_all(f, buf, m * sizeof(uint16_t))) return -1;
    }
    return 0;
}

int t6_st_write(const char *path, const t6_st_src *t, int n, t6_st_dtype dt, const char *const *meta,
                int n_meta, char *err, size_t err_len)
{
    json_t *root = json_object(), *md = json_object();
    json_object_set_new(md, "format", json_string("pt"));
    for (int i = 0; i < n_meta; i++)
        if (strcmp(meta[2 * i], "format") != 0) json_object_set_new(md, meta[2 * i], json_string(meta[2 * i + 1]));
    json_object_set_new(root, "__metadata__", md);
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "dtype", json_string(dtype_str(dt)));
        json_t *shape = json_array();
        json_array_append_new(shape, json_integer(t[i].rows));
        if (t[i].cols > 0) json_array_append_new(shape, json_integer(t[i].cols));
        json_object_set_new(e, "shape", shape);
        uint64_t bytes = (uint64_t)t[i].rows * (uint64_t)(t[i].cols > 0 ? t[i].cols : 1) * dtype_size(dt);
        json_t *offs = json_array();
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + bytes)));
        json_object_set_new(e, "data_offsets", offs);
        if (json_object_get(root, t[i].name)) {
            json_decref(root);
            t6_seterr(err, err_len, "'%s': tensor name '%s' given twice", path, t[i].name);
            return -1;
        }
        json_object_set_new(root, t[i].name, e);
        off += bytes;
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!hdr) { t6_seterr(err, err_len, "'%s': cannot format the JSON header", path); return -1; }
    /* the data must start 8-byte aligned: pad the header with spaces (the spec's choice) */
    size_t hl = strlen(hdr), padded = (hl + 7) & ~(size_t)7;
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)(((uint64_t)padded >> (8 * i)) & 0xff);

    size_t plen = strlen(path) + 32;
    char *tmp = t6_malloc(plen);
    snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        t6_seterr(err, err_len, "cannot create '%s': %s", tmp, strerror(errno));
        free(hdr); free(tmp);
        return -1;
    }
    int bad = write_all(f, lenbuf, 8) || write_all(f, hdr, hl);
    for (size_t i = hl; i < padded && !bad; i++) bad = fputc(' ', f) == EOF;
    free(hdr);
    for (int i = 0; i < n && !bad; i++) bad = write_tensor_bytes(f, &t[i], dt);
    if (!bad) bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) {
        t6_seterr(err, err_len, "writing '%s' failed: %s", tmp, strerror(e));
        unlink(tmp); free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        t6_seterr(err, err_len, "renaming '%s' to '%s' failed: %s", tmp, path, strerror(errno));
        unlink(tmp); free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* ---- reading ---------------------------------------------------------------------- */
void t6_st_close(t6_st_file *sf)
{
    if (!sf) return;
    if (sf->f) fclose(sf->f);
    for (int i = 0; i < sf->n; i++) free(sf->e[i].name);
    free(sf->e);
    free(sf->path);
    free(sf->format);
    memset(sf, 0, sizeof *sf);
}

int t6_st_find(const t6_st_file *sf, const char *name)
{
    for (int i = 0; i < sf->n; i++)
        if (strcmp(sf->e[i].name, name) == 0) return i;
    return -1;
}

uint64_t t6_st_numel(const t6_st_file *sf, int i)
{
    uint64_t n = 1;
    for (int d = 0; d < sf->e[i].ndim; d++) n *= (uint64_t)sf->e[i].shape[d];
    return n;
}

static size_t known_dtype_size(const char *s)
{
    static const struct { const char *n; size_t b; } T[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
        {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (strcmp(T[i].n, s) == 0) return T[i].b;
    return 0;
}

/* One header entry; -1 with err naming the tensor on anything malformed. */
static int parse_entry(t6_st_entry *e, const char *name, json_t *v, const char *path, char *err, size_t len)
{
    memset(e, 0, sizeof *e);
    e->name = t6_strdup(name);
    if (!json_is_object(v)) {
        t6_seterr(err, len, "'%s': header entry '%s' is not an object", path, name);
        return -1;
    }
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
        if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets")) {
            t6_seterr(err, len, "'%s': tensor '%s': unknown header field '%s' (allowed: dtype, shape, data_offsets)",
                      path, name, k);
            return -1;
        }
    json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"), *of = json_object_get(v, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(of)) {
        t6_seterr(err, len, "'%s': tensor '%s' needs a string dtype, an array shape and an array data_offsets", path, name);
        return -1;
    }
    snprintf(e->dtype_name, sizeof e->dtype_name, "%s", json_string_value(dt));
    size_t esz = known_dtype_size(e->dtype_name);
    if (!esz) {
        t6_seterr(err, len, "'%s': tensor '%s': unknown dtype \"%s\"", path, name, json_string_value(dt));
        return -1;
    }
    e->dtype = strcmp(e->dtype_name, "F32") == 0 ? T6_ST_F32 : strcmp(e->dtype_name, "BF16") == 0 ? T6_ST_BF16 : -1;
    if (json_array_size(sh) > T6_ST_MAX_DIMS) {
        t6_seterr(err, len, "'%s': tensor '%s' has %zu dimensions (at most %d read)", path, name, json_array_size(sh),
                  T6_ST_MAX_DIMS);
        return -1;
    }
    e->ndim = (int)json_array_size(sh);
    uint64_t numel = 1;
    for (int d = 0; d < e->ndim; d++) {
        json_t *s = json_array_get(sh, (size_t)d);
        if (!json_is_integer(s) || json_integer_value(s) < 0 || json_integer_value(s) > ((json_int_t)1 << 40)) {
            t6_seterr(err, len, "'%s': tensor '%s': shape[%d] is not a non-negative integer", path, name, d);
            return -1;
        }
        e->shape[d] = json_integer_value(s);
        numel *= (uint64_t)e->shape[d];
        if (numel > ((uint64_t)1 << 48)) {
            t6_seterr(err, len, "'%s': tensor '%s': shape too large", path, name);
            return -1;
        }
    }
    json_t *b = json_array_get(of, 0), *en = json_array_get(of, 1);
    if (json_array_size(of) != 2 || !json_is_integer(b) || !json_is_integer(en) || json_integer_value(b) < 0 ||
        json_integer_value(en) < json_integer_value(b)) {
        t6_seterr(err, len, "'%s': tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end", path, name);
        return -1;
    }
    e->begin = (uint64_t)json_integer_value(b);
    e->end = (uint64_t)json_integer_value(en);
    if (e->end - e->begin != numel * esz) {
        t6_seterr(err, len,
                  "'%s': tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                  " bytes, dtype %s and its shape need %" PRIu64,
                  path, name, e->begin, e->end, e->end - e->begin, e->dtype_name, numel * esz);
        return -1;
    }
    return 0;
}

static int by_begin(const void *a, const void *b)
{
    const t6_st_entry *x = *(const t6_st_entry *const *)a, *y = *(const t6_st_entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end < y->end ? -1 : x->end > y->end);
}

int t6_st_open(t6_st_file *sf, const char *path, char *err, size_t len)
{
    memset(sf, 0, sizeof *sf);
    sf->path = t6_strdup(path);
    sf->f = fopen(path, "rb");
    if (!sf->f) { t6_seterr(err, len, "cannot open '%s': %s", path, strerror(errno)); goto fail; }
    struct stat stb;
    if (fstat(fileno(sf->f), &stb) != 0) { t6_seterr(err, len, "cannot stat '%s': %s", path, strerror(errno)); goto fail; }
    uint64_t fsize = (uint64_t)stb.st_size;
    unsigned char lb[8];
    if (fsize < 8 || fread(lb, 1, 8, sf->f) != 8) {
        t6_seterr(err, len, "'%s': truncated: %" PRIu64 " bytes, shorter than the 8-byte header length", path, fsize);
        goto fail;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | lb[i];
    if (n > MAX_HEADER || n > fsize - 8) {
        t6_seterr(err, len, "'%s': header length %" PRIu64 " is beyond the file's %" PRIu64 " bytes%s", path, n, fsize,
                  n > MAX_HEADER ? " (or over 100 MB): not a safetensors file?" : " (truncated?)");
        goto fail;
    }
    sf->header_len = n;
    sf->data_start = 8 + n;
    char *hdr = t6_malloc((size_t)n + 1);
    if (fread(hdr, 1, (size_t)n, sf->f) != (size_t)n) {
        free(hdr);
        t6_seterr(err, len, "'%s': cannot read the %" PRIu64 "-byte header", path, n);
        goto fail;
    }
    hdr[n] = '\0';
    json_error_t je;
    json_t *root = json_loadb(hdr, (size_t)n, 0, &je);
    free(hdr);
    if (!root) {
        t6_seterr(err, len, "'%s': header is not valid JSON (line %d, column %d: %s)", path, je.line, je.column, je.text);
        goto fail;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        t6_seterr(err, len, "'%s': header is not a JSON object", path);
        goto fail;
    }
    sf->e = t6_calloc(json_object_size(root) + 1, sizeof *sf->e);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "__metadata__") == 0) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(v)) {
                json_decref(root);
                t6_seterr(err, len, "'%s': __metadata__ is not an object", path);
                goto fail;
            }
            json_object_foreach(v, mk, mv) if (!json_is_string(mv)) {
                json_decref(root);
                t6_seterr(err, len, "'%s': __metadata__.%s is not a string", path, mk);
                goto fail;
            }
            json_t *fm = json_object_get(v, "format");
            if (fm) sf->format = t6_strdup(json_string_value(fm));
            continue;
        }
        int rc = parse_entry(&sf->e[sf->n], key, v, path, err, len);
        sf->n++;
        if (rc) { json_decref(root); goto fail; }
    }
    json_decref(root);
    /* the data buffer: tensors back to back from 0, no holes, no overlaps */
    const t6_st_entry **ord = t6_malloc((size_t)(sf->n ? sf->n : 1) * sizeof *ord);
    for (int i = 0; i < sf->n; i++) ord[i] = &sf->e[i];
    qsort(ord, (size_t)sf->n, sizeof *ord, by_begin);
    uint64_t pos = 0;
    for (int i = 0; i < sf->n; i++) {
        if (ord[i]->begin != pos) {
            if (ord[i]->begin < pos)
                t6_seterr(err, len, "'%s': tensors '%s' and '%s' overlap (data bytes %" PRIu64 "..%" PRIu64 ")", path,
                          ord[i - 1]->name, ord[i]->name, ord[i]->begin, pos);
            else
                t6_seterr(err, len, "'%s': a hole of %" PRIu64 " data bytes before tensor '%s'", path,
                          ord[i]->begin - pos, ord[i]->name);
            free(ord);
            goto fail;
        }
        pos = ord[i]->end;
    }
    free(ord);
    sf->data_len = pos;
    if (sf->data_start + pos > fsize) {
        t6_seterr(err, len, "'%s': truncated: the header's tensors end at byte %" PRIu64 ", the file has %" PRIu64, path,
                  sf->data_start + pos, fsize);
        goto fail;
    }
    if (sf->data_start + pos < fsize) {
        t6_seterr(err, len, "'%s': %" PRIu64 " bytes after the last tensor that no header entry describes", path,
                  fsize - sf->data_start - pos);
        goto fail;
    }
    return 0;
fail:
    t6_st_close(sf);
    return -1;
}

int t6_st_read_f32(t6_st_file *sf, int i, float *out, uint64_t numel, char *err, size_t len)
{
    const t6_st_entry *e = &sf->e[i];
    if (e->dtype < 0) {
        t6_seterr(err, len, "'%s': tensor '%s' has dtype %s (allowed: F32, BF16)", sf->path, e->name, e->dtype_name);
        return -1;
    }
    if (t6_st_numel(sf, i) != numel) {
        t6_seterr(err, len, "'%s': tensor '%s' holds %" PRIu64 " values, %" PRIu64 " expected", sf->path, e->name,
                  t6_st_numel(sf, i), numel);
        return -1;
    }
    if (fseeko(sf->f, (off_t)(sf->data_start + e->begin), SEEK_SET) != 0) goto ioerr;
    if (e->dtype == T6_ST_F32) {
        if (fread(out, sizeof(float), (size_t)numel, sf->f) != (size_t)numel) goto ioerr;
        return 0;
    }
    uint16_t buf[CHUNK];
    for (uint64_t k = 0; k < numel; k += CHUNK) {
        size_t m = (size_t)(numel - k < CHUNK ? numel - k : CHUNK);
        if (fread(buf, sizeof(uint16_t), m, sf->f) != m) goto ioerr;
        for (size_t j = 0; j < m; j++) out[k + j] = t6_bf16_to_f32(buf[j]);
    }
    return 0;
ioerr:
    t6_seterr(err, len, "'%s': reading tensor '%s' failed (file changed or truncated while reading?)", sf->path, e->name);
    return -1;
}
