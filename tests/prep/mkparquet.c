/* mkparquet.c -- writes small Parquet files in every variant the t6-prep reader must
 * handle, so tests (and fuzz seeds) cover them without a Parquet library: each
 * non-empty line of IN.txt becomes one row of a BYTE_ARRAY column "text" (plus an
 * INT64 column "id" before it, so the reader must pick its column), and the documents
 * that were written (nulls left out) also go to OUT.jsonl for comparison.
 * Usage: mkparquet IN.txt OUT.parquet OUT.jsonl [--codec none|snappy|gzip|zstd]
 *        [--page v1|v2] [--dict] [--nulls] [--rows-per-page N] [--rows-per-group N] [--crc]
 * --crc writes every page's CRC32 (PageHeader.crc, as parquet-mr does by default). */
#include <jansson.h>
#include <stdint.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* ---- growable byte buffer + thrift compact writer ---- */
typedef struct { unsigned char *p; size_t n, cap; } buf;
static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) { b->cap = (b->n + n) * 2 + 64; b->p = realloc(b->p, b->cap); }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void byte(buf *b, unsigned c) { unsigned char x = (unsigned char)c; put(b, &x, 1); }
static void varint(buf *b, uint64_t v) { while (v >= 0x80) { byte(b, (unsigned)(v & 0x7f) | 0x80); v >>= 7; } byte(b, (unsigned)v); }
static void zz(buf *b, int64_t v) { varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }
static void le32(buf *b, uint32_t v) { unsigned char x[4] = {v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24}; put(b, x, 4); }

typedef struct { int last[16]; int d; } tw;  /* last field id per nesting level */
static void fld(buf *b, tw *t, int id, int type)
{
    int delta = id - t->last[t->d];
    if (delta > 0 && delta <= 15) byte(b, (unsigned)(delta << 4 | type));
    else { byte(b, (unsigned)type); zz(b, id); }
    t->last[t->d] = id;
}
static void begin(tw *t) { t->last[++t->d] = 0; }
static void end(buf *b, tw *t) { byte(b, 0); t->d--; }
static void f_i32(buf *b, tw *t, int id, int64_t v) { fld(b, t, id, 5); zz(b, v); }
static void f_i64(buf *b, tw *t, int id, int64_t v) { fld(b, t, id, 6); zz(b, v); }
static void f_bin(buf *b, tw *t, int id, const char *s) { fld(b, t, id, 8); varint(b, strlen(s)); put(b, s, strlen(s)); }
static void f_bool(buf *b, tw *t, int id, int v) { fld(b, t, id, v ? 1 : 2); }
static void list_hdr(buf *b, int n, int et) { if (n < 15) byte(b, (unsigned)(n << 4 | et)); else { byte(b, 0xF0 | (unsigned)et); varint(b, (uint64_t)n); } }

static int codec = 0, v2 = 0, dict = 0, nulls = 0, crc_on = 0;

static void pq_compress(const buf *in, buf *out)
{
    out->n = 0;
    if (codec == 0) { put(out, in->p, in->n); return; }
    if (codec == 1) {
        size_t m = snappy_max_compressed_length(in->n);
        unsigned char *t = malloc(m);
        snappy_compress((const char *)in->p, in->n, (char *)t, &m);
        put(out, t, m);
        free(t);
    } else if (codec == 2) {
        z_stream z;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        size_t m = deflateBound(&z, in->n) + 32;
        unsigned char *t = malloc(m);
        z.next_in = in->p; z.avail_in = (uInt)in->n; z.next_out = t; z.avail_out = (uInt)m;
        deflate(&z, Z_FINISH);
        put(out, t, m - z.avail_out);
        deflateEnd(&z);
        free(t);
    } else {
        size_t m = ZSTD_compressBound(in->n);
        unsigned char *t = malloc(m);
        m = ZSTD_compress(t, m, in->p, in->n, 3);
        put(out, t, m);
        free(t);
    }
}

/* bit-packed run of bw-bit values (padded to a multiple of 8 values) */
static void bitpack(buf *b, const uint32_t *v, size_t n, int bw)
{
    size_t groups = (n + 7) / 8;
    varint(b, (uint64_t)(groups << 1 | 1));
    size_t nbytes = groups * (size_t)bw;
    unsigned char *t = calloc(nbytes + 1, 1);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < bw; j++)
            if (v[i] >> j & 1) { size_t bit = i * (size_t)bw + (size_t)j; t[bit >> 3] |= (unsigned char)(1 << (bit & 7)); }
    put(b, t, nbytes);
    free(t);
}

/* definition levels: RLE runs where values repeat, which is the common case */
static void rle_levels(buf *b, const uint32_t *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && v[j] == v[i]) j++;
        varint(b, (uint64_t)(j - i) << 1);
        byte(b, v[i]);
        i = j;
    }
}

/* crc: of the page bytes after the header, as written (levels + compressed values) */
static void page_header(buf *f, int type, size_t usize, size_t csize, int nvals, int nnull, int enc, size_t deflen, uint32_t crc)
{
    tw t = {{0}, 0};
    f_i32(f, &t, 1, type);
    f_i32(f, &t, 2, (int64_t)usize);
    f_i32(f, &t, 3, (int64_t)csize);
    if (crc_on) f_i32(f, &t, 4, (int32_t)crc);
    if (type == 0) {
        fld(f, &t, 5, 12); begin(&t);
        f_i32(f, &t, 1, nvals); f_i32(f, &t, 2, enc); f_i32(f, &t, 3, 3); f_i32(f, &t, 4, 3);
        end(f, &t);
    } else if (type == 2) {
        fld(f, &t, 7, 12); begin(&t);
        f_i32(f, &t, 1, nvals); f_i32(f, &t, 2, 0);
        end(f, &t);
    } else {
        fld(f, &t, 8, 12); begin(&t);
        f_i32(f, &t, 1, nvals); f_i32(f, &t, 2, nnull); f_i32(f, &t, 3, nvals); f_i32(f, &t, 4, enc);
        f_i32(f, &t, 5, (int64_t)deflen); f_i32(f, &t, 6, 0); f_bool(f, &t, 7, 1);
        end(f, &t);
    }
    byte(f, 0);
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: mkparquet IN.txt OUT.parquet OUT.jsonl [options]\n"); return 2; }
    int rpp = 50, rpg = 200;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--codec") && i + 1 < argc) {
            const char *c = argv[++i];
            codec = !strcmp(c, "snappy") ? 1 : !strcmp(c, "gzip") ? 2 : !strcmp(c, "zstd") ? 6 : 0;
        } else if (!strcmp(argv[i], "--page") && i + 1 < argc) v2 = !strcmp(argv[++i], "v2");
        else if (!strcmp(argv[i], "--dict")) dict = 1;
        else if (!strcmp(argv[i], "--nulls")) nulls = 1;
        else if (!strcmp(argv[i], "--crc")) crc_on = 1;
        else if (!strcmp(argv[i], "--rows-per-page") && i + 1 < argc) rpp = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rows-per-group") && i + 1 < argc) rpg = atoi(argv[++i]);
        else { fprintf(stderr, "mkparquet: unknown option %s\n", argv[i]); return 2; }
    }
    FILE *in = fopen(argv[1], "rb");
    if (!in) { perror(argv[1]); return 1; }
    char **rows = NULL;
    size_t nr = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t ll;
    while ((ll = getline(&line, &lcap, in)) > 0) {
        while (ll && (line[ll - 1] == '\n' || line[ll - 1] == '\r')) line[--ll] = 0;
        if (!ll) continue;
        rows = realloc(rows, (nr + 1) * sizeof *rows);
        rows[nr++] = strdup(line);
    }
    fclose(in);
    FILE *js = fopen(argv[3], "wb");
    buf f = {0}, page = {0}, comp = {0}, meta = {0};
    put(&f, "PAR1", 4);
    tw mt = {{0}, 0};
    /* row groups are collected as thrift bytes, written into the footer at the end */
    buf rgs = {0};
    int nrg = 0;
    for (size_t g0 = 0; g0 < nr; g0 += (size_t)rpg) {
        size_t g1 = g0 + (size_t)rpg < nr ? g0 + (size_t)rpg : nr;
        /* column "id": one uncompressed PLAIN v1 page of int64 */
        size_t id_off = f.n;
        page.n = 0;
        for (size_t r = g0; r < g1; r++) { uint64_t v = r; put(&page, &v, 8); }
        page_header(&f, 0, page.n, page.n, (int)(g1 - g0), 0, 0, 0, (uint32_t)crc32(0, page.p, (uInt)page.n));
        put(&f, page.p, page.n);
        size_t id_size = f.n - id_off;
        /* column "text" */
        size_t off = f.n, dict_off = 0;
        char **dv = NULL;
        size_t dn = 0;
        if (dict) {
            for (size_t r = g0; r < g1; r++) {
                size_t k = 0;
                while (k < dn && strcmp(dv[k], rows[r]) != 0) k++;
                if (k == dn) { dv = realloc(dv, (dn + 1) * sizeof *dv); dv[dn++] = rows[r]; }
            }
            page.n = 0;
            for (size_t k = 0; k < dn; k++) { le32(&page, (uint32_t)strlen(dv[k])); put(&page, dv[k], strlen(dv[k])); }
            pq_compress(&page, &comp);
            dict_off = f.n;
            page_header(&f, 2, page.n, comp.n, (int)dn, 0, 0, 0, (uint32_t)crc32(0, comp.p, (uInt)comp.n));
            put(&f, comp.p, comp.n);
        }
        size_t data_off = f.n;
        int64_t nvals = 0;
        for (size_t p0 = g0; p0 < g1; p0 += (size_t)rpp) {
            size_t p1 = p0 + (size_t)rpp < g1 ? p0 + (size_t)rpp : g1, n = p1 - p0;
            uint32_t *defs = malloc(n * sizeof *defs), *idx = malloc(n * sizeof *idx);
            size_t nn = 0;
            int nnull = 0;
            for (size_t r = p0; r < p1; r++) {
                defs[r - p0] = !(nulls && r % 5 == 3);
                if (!defs[r - p0]) { nnull++; continue; }
                json_t *o = json_pack("{s:s}", "text", rows[r]);
                char *s = json_dumps(o, JSON_COMPACT);
                fprintf(js, "%s\n", s);
                free(s);
                json_decref(o);
                if (dict) { size_t k = 0; while (strcmp(dv[k], rows[r]) != 0) k++; idx[nn++] = (uint32_t)k; }
                else idx[nn++] = (uint32_t)r;
            }
            buf levels = {0}, vals = {0};
            if (nulls) rle_levels(&levels, defs, n);
            if (dict) {
                int bw = 0;
                while ((1u << bw) < dn) bw++;
                byte(&vals, (unsigned)bw);
                if (nn) bitpack(&vals, idx, nn, bw);
            } else {
                for (size_t k = 0; k < nn; k++) { le32(&vals, (uint32_t)strlen(rows[idx[k]])); put(&vals, rows[idx[k]], strlen(rows[idx[k]])); }
            }
            int enc = dict ? 8 : 0;
            if (!v2) {
                page.n = 0;
                if (nulls) { le32(&page, (uint32_t)levels.n); put(&page, levels.p, levels.n); }
                put(&page, vals.p, vals.n);
                pq_compress(&page, &comp);
                page_header(&f, 0, page.n, comp.n, (int)n, 0, enc, 0, (uint32_t)crc32(0, comp.p, (uInt)comp.n));
                put(&f, comp.p, comp.n);
            } else {
                pq_compress(&vals, &comp);
                uLong c = crc32(0, levels.p, (uInt)levels.n);
                page_header(&f, 3, levels.n + vals.n, levels.n + comp.n, (int)n, nnull, enc, levels.n,
                            (uint32_t)crc32(c, comp.p, (uInt)comp.n));
                put(&f, levels.p, levels.n);
                put(&f, comp.p, comp.n);
            }
            nvals += (int64_t)n;
            free(levels.p); free(vals.p); free(defs); free(idx);
        }
        size_t csize = f.n - off;
        free(dv);
        /* RowGroup thrift */
        tw t = {{0}, 0};
        fld(&rgs, &t, 1, 9);
        list_hdr(&rgs, 2, 12);
        for (int c = 0; c < 2; c++) {
            begin(&t);
            f_i64(&rgs, &t, 2, c == 0 ? (int64_t)id_off : (int64_t)off);
            fld(&rgs, &t, 3, 12); begin(&t);
            f_i32(&rgs, &t, 1, c == 0 ? 2 : 6);
            fld(&rgs, &t, 2, 9); list_hdr(&rgs, 2, 5); zz(&rgs, c == 0 || !dict ? 0 : 8); zz(&rgs, 3);
            const char *nm = c == 0 ? "id" : "text";
            fld(&rgs, &t, 3, 9); list_hdr(&rgs, 1, 8); varint(&rgs, strlen(nm)); put(&rgs, nm, strlen(nm));
            f_i32(&rgs, &t, 4, c == 0 ? 0 : codec);
            f_i64(&rgs, &t, 5, c == 0 ? (int64_t)(g1 - g0) : nvals);
            f_i64(&rgs, &t, 6, c == 0 ? (int64_t)id_size : (int64_t)csize);
            f_i64(&rgs, &t, 7, c == 0 ? (int64_t)id_size : (int64_t)csize);
            f_i64(&rgs, &t, 9, c == 0 ? (int64_t)id_off : (int64_t)data_off);
            if (c == 1 && dict) f_i64(&rgs, &t, 11, (int64_t)dict_off);
            end(&rgs, &t);
            end(&rgs, &t);
        }
        f_i64(&rgs, &t, 2, (int64_t)(id_size + csize));
        f_i64(&rgs, &t, 3, (int64_t)(g1 - g0));
        byte(&rgs, 0);
        nrg++;
    }
    fclose(js);
    /* FileMetaData */
    f_i32(&meta, &mt, 1, 1);
    fld(&meta, &mt, 2, 9);
    list_hdr(&meta, 3, 12);
    begin(&mt); f_bin(&meta, &mt, 4, "schema"); f_i32(&meta, &mt, 5, 2); end(&meta, &mt);
    begin(&mt); f_i32(&meta, &mt, 1, 2); f_i32(&meta, &mt, 3, 0); f_bin(&meta, &mt, 4, "id"); end(&meta, &mt);
    begin(&mt); f_i32(&meta, &mt, 1, 6); f_i32(&meta, &mt, 3, nulls ? 1 : 0); f_bin(&meta, &mt, 4, "text"); f_i32(&meta, &mt, 6, 0); end(&meta, &mt);
    f_i64(&meta, &mt, 3, (int64_t)nr);
    fld(&meta, &mt, 4, 9);
    list_hdr(&meta, nrg, 12);
    put(&meta, rgs.p, rgs.n);
    f_bin(&meta, &mt, 6, "t6 tests/prep/mkparquet");
    byte(&meta, 0);
    put(&f, meta.p, meta.n);
    le32(&f, (uint32_t)meta.n);
    put(&f, "PAR1", 4);
    FILE *o = fopen(argv[2], "wb");
    if (!o || fwrite(f.p, 1, f.n, o) != f.n || fclose(o) != 0) { perror(argv[2]); return 1; }
    return 0;
}
