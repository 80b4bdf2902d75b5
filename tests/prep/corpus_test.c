/* corpus_test.c -- round trip and failure modes of the t6-corpus writer/reader
 * (src/corpus.c): multi-chunk uint16 and uint32 corpora read back exactly, random
 * windows, document offsets, no file under the final name before close, abort removes
 * the temporary file, and clear errors (naming the path) for a missing file, an empty
 * file, a truncated file, a non-corpus HDF5 file and an unwritable directory.
 * Usage: corpus_test WORKDIR */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpus.h"

static int failures;
#define EXPECT(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}

static int exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

static t6_corpus_meta mkmeta(int vocab, const char *split)
{
    t6_corpus_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.tokenizer, sizeof m.tokenizer, "gpt2");
    snprintf(m.vocab_hash, sizeof m.vocab_hash, "%064d", 7);
    m.vocab_size = vocab;
    m.eot_id = vocab - 1;
    snprintf(m.split, sizeof m.split, "%s", split);
    snprintf(m.source, sizeof m.source, "corpus_test synthetic");
    return m;
}

/* Writes n_docs random documents; returns the concatenated tokens (caller frees). */
static uint32_t *write_corpus(const char *path, int vocab, size_t n_docs, size_t max_len,
                              uint64_t *n_out, uint64_t **offs_out)
{
    char err[512];
    t6_corpus_meta m = mkmeta(vocab, "train");
    t6_corpus_writer *w = t6_corpus_writer_open(path, &m, err, sizeof err);
    if (!w) { fprintf(stderr, "open writer: %s\n", err); exit(1); }
    size_t cap = n_docs * max_len + 1, n = 0;
    uint32_t *all = malloc(cap * sizeof *all);
    uint64_t *offs = malloc((n_docs + 1) * sizeof *offs);
    for (size_t d = 0; d < n_docs; d++) {
        size_t len = (d % 97 == 5) ? 0 : 1 + rnd() % max_len;  /* some empty documents */
        offs[d] = n;
        for (size_t i = 0; i < len; i++) all[n + i] = (uint32_t)(rnd() % (uint64_t)vocab);
        if (len) all[n] = (uint32_t)m.eot_id;
        if (t6_corpus_writer_append(w, all + n, len, err, sizeof err) != 0) { fprintf(stderr, "append: %s\n", err); exit(1); }
        n += len;
        EXPECT(t6_corpus_writer_tokens(w) == n, "writer token count %llu != %zu",
               (unsigned long long)t6_corpus_writer_tokens(w), n);
    }
    EXPECT(!exists(path), "final file '%s' exists before close", path);
    if (t6_corpus_writer_close(w, err, sizeof err) != 0) { fprintf(stderr, "close: %s\n", err); exit(1); }
    *n_out = n;
    *offs_out = offs;
    return all;
}

static void check_roundtrip(const char *path, int vocab, size_t n_docs, size_t max_len)
{
    char err[512];
    uint64_t n, *offs;
    uint32_t *all = write_corpus(path, vocab, n_docs, max_len, &n, &offs);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    EXPECT(exists(path) && !exists(tmp), "after close: final missing or tmp left behind");
    t6_corpus *c = t6_corpus_open(path, err, sizeof err);
    if (!c) { fprintf(stderr, "FAIL open %s: %s\n", path, err); failures++; return; }
    const t6_corpus_meta *m = t6_corpus_get_meta(c);
    EXPECT(m->version == T6_CORPUS_VERSION, "version %d", m->version);
    EXPECT(m->n_tokens == n, "n_tokens %llu != %llu", (unsigned long long)m->n_tokens, (unsigned long long)n);
    EXPECT(m->n_documents == n_docs, "n_documents %llu", (unsigned long long)m->n_documents);
    EXPECT(m->vocab_size == vocab && m->eot_id == vocab - 1, "vocab/eot %d %d", m->vocab_size, m->eot_id);
    EXPECT(m->token_bits == (vocab <= 65536 ? 16 : 32), "token_bits %d", m->token_bits);
    EXPECT(strcmp(m->tokenizer, "gpt2") == 0 && strcmp(m->split, "train") == 0 &&
           strcmp(m->source, "corpus_test synthetic") == 0 && strlen(m->vocab_hash) == 64, "string attributes");
    int32_t *buf = malloc((n ? n : 1) * sizeof *buf);
    EXPECT(t6_corpus_read(c, 0, n, buf, err, sizeof err) == 0, "read all: %s", err);
    size_t bad = 0;
    for (uint64_t i = 0; i < n; i++) bad += buf[i] != (int32_t)all[i];
    EXPECT(bad == 0, "%zu tokens differ after round trip", bad);
    for (int k = 0; k < 200 && n > 0; k++) {
        uint64_t s = rnd() % n, len = 1 + rnd() % 3000;
        if (s + len > n) len = n - s;
        EXPECT(t6_corpus_read(c, s, len, buf, err, sizeof err) == 0, "window read: %s", err);
        EXPECT(memcmp(buf, buf, 1) == 0 && buf[0] == (int32_t)all[s] && buf[len - 1] == (int32_t)all[s + len - 1],
               "window [%llu,+%llu) differs", (unsigned long long)s, (unsigned long long)len);
    }
    EXPECT(t6_corpus_read(c, n, 1, buf, err, sizeof err) != 0 && strstr(err, "outside"), "read past end accepted: %s", err);
    const uint64_t *o = t6_corpus_doc_offsets(c, err, sizeof err);
    EXPECT(o != NULL, "doc offsets: %s", err);
    if (o) for (size_t d = 0; d < n_docs; d++) EXPECT(o[d] == offs[d], "offset %zu", d);
    free(buf);
    t6_corpus_close(c);
    free(all);
    free(offs);
}

static void expect_open_error(const char *path, const char *what, const char *needle)
{
    char err[1024] = "";
    t6_corpus *c = t6_corpus_open(path, err, sizeof err);
    EXPECT(c == NULL, "%s: opened without error", what);
    if (c) { t6_corpus_close(c); return; }
    EXPECT(strstr(err, path) != NULL, "%s: message does not name the path: %s", what, err);
    EXPECT(strstr(err, needle) != NULL, "%s: message lacks '%s': %s", what, needle, err);
    printf("ok: %s -> %s\n", what, err);
}

static void copy_prefix(const char *src, const char *dst, long bytes)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    if (!in || !out) { perror("copy"); exit(1); }
    char b[65536];
    long left = bytes;
    size_t k;
    while (left > 0 && (k = fread(b, 1, left < (long)sizeof b ? (size_t)left : sizeof b, in)) > 0) {
        fwrite(b, 1, k, out);
        left -= (long)k;
    }
    fclose(in);
    fclose(out);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: corpus_test WORKDIR\n"); return 2; }
    const char *dir = argv[1];
    char p16[4096], p32[4096], small[4096], bad[4000], err[1024];
    snprintf(p16, sizeof p16, "%s/c16.h5", dir);
    snprintf(p32, sizeof p32, "%s/c32.h5", dir);
    snprintf(small, sizeof small, "%s/small.h5", dir);

    /* many chunks, uint16; a small one-chunk file; uint32 above 65536. */
    check_roundtrip(p16, 50257, 2200, 2000);
    check_roundtrip(small, 512, 40, 50);
    check_roundtrip(p32, 100000, 300, 500);
    struct stat st16, sts;
    stat(p16, &st16);
    stat(small, &sts);
    EXPECT(sts.st_size < 64 * 1024, "small corpus is %lld bytes (chunk not sized down?)", (long long)sts.st_size);

    /* Empty corpus is valid. */
    snprintf(bad, sizeof bad, "%s/empty-corpus.h5", dir);
    t6_corpus_meta m = mkmeta(50257, "val");
    t6_corpus_writer *w = t6_corpus_writer_open(bad, &m, err, sizeof err);
    EXPECT(w && t6_corpus_writer_close(w, err, sizeof err) == 0, "empty corpus: %s", err);
    t6_corpus *c = t6_corpus_open(bad, err, sizeof err);
    EXPECT(c && t6_corpus_get_meta(c)->n_tokens == 0 && strcmp(t6_corpus_get_meta(c)->split, "val") == 0, "empty corpus reopen: %s", err);
    if (c) t6_corpus_close(c);

    /* Token outside the vocabulary is refused by the writer. */
    snprintf(bad, sizeof bad, "%s/oov.h5", dir);
    w = t6_corpus_writer_open(bad, &m, err, sizeof err);
    uint32_t oov[2] = {5, 50257};
    EXPECT(w && t6_corpus_writer_append(w, oov, 2, err, sizeof err) != 0 && strstr(err, ">= vocab_size"), "oov accepted: %s", err);
    if (w) t6_corpus_writer_abort(w);
    EXPECT(!exists(bad), "abort left the final file");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", bad, (long)getpid());
    EXPECT(!exists(tmp), "abort left the temporary file");

    /* Unwritable output directory. */
    snprintf(bad, sizeof bad, "%s/no-such-dir/x.h5", dir);
    w = t6_corpus_writer_open(bad, &m, err, sizeof err);
    EXPECT(w == NULL && strstr(err, bad) && strstr(err, "cannot create"), "unwritable dir: %s", err);
    if (w) t6_corpus_writer_abort(w);
    else printf("ok: unwritable -> %s\n", err);

    /* Broken inputs for the reader. */
    snprintf(bad, sizeof bad, "%s/missing.h5", dir);
    expect_open_error(bad, "missing file", "No such file");
    snprintf(bad, sizeof bad, "%s/zero.h5", dir);
    fclose(fopen(bad, "wb"));
    expect_open_error(bad, "empty file", "not an HDF5 file");
    snprintf(bad, sizeof bad, "%s/trunc-half.h5", dir);
    copy_prefix(p16, bad, (long)st16.st_size / 2);
    expect_open_error(bad, "truncated file (half)", "truncated");
    snprintf(bad, sizeof bad, "%s/trunc-tail.h5", dir);
    copy_prefix(p16, bad, (long)st16.st_size - 100);
    expect_open_error(bad, "truncated file (last 100 bytes cut)", "truncated");
    snprintf(bad, sizeof bad, "%s/trunc-head.h5", dir);
    copy_prefix(p16, bad, 40);
    expect_open_error(bad, "truncated file (40 bytes)", "corpus");
    snprintf(bad, sizeof bad, "%s/text.h5", dir);
    FILE *f = fopen(bad, "w");
    fputs("this is not hdf5\n", f);
    fclose(f);
    expect_open_error(bad, "text file", "not an HDF5 file");

    /* An HDF5 file that is not a corpus, and one with a future version. */
    snprintf(bad, sizeof bad, "%s/other.h5", dir);
    hid_t h = H5Fcreate(bad, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(h);
    expect_open_error(bad, "HDF5 without attributes", "attribute 'format' is missing");
    snprintf(bad, sizeof bad, "%s/future.h5", dir);
    copy_prefix(small, bad, sts.st_size);
    h = H5Fopen(bad, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(h, "format_version", H5P_DEFAULT);
    int v = 3;
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Fclose(h);
    expect_open_error(bad, "format_version 3", "format_version 3 is not supported");
    /* Counts that disagree with the dataset (as after a crash mid-write). */
    snprintf(bad, sizeof bad, "%s/count.h5", dir);
    copy_prefix(small, bad, sts.st_size);
    h = H5Fopen(bad, H5F_ACC_RDWR, H5P_DEFAULT);
    a = H5Aopen(h, "n_tokens", H5P_DEFAULT);
    unsigned long long nt = 123456789ull;
    H5Awrite(a, H5T_NATIVE_ULLONG, &nt);
    H5Aclose(a);
    H5Fclose(h);
    expect_open_error(bad, "n_tokens mismatch", "attributes say");

    /* v2: max_token and checksums. The writer stores the true maximum; the reader
     * refuses a maximum outside the vocabulary at open, and the verification scan
     * finds a stored maximum that lies and a damaged byte in /tokens. */
    c = t6_corpus_open(small, err, sizeof err);
    EXPECT(c && t6_corpus_get_meta(c)->checksummed && t6_corpus_get_meta(c)->max_token >= 0, "small: no checksum / max_token");
    EXPECT(c && t6_corpus_verify(c, err, sizeof err) == 0, "verify of a good file: %s", err);
    int64_t truemax = c ? t6_corpus_get_meta(c)->max_token : 0;
    if (c) t6_corpus_close(c);
    long long mx[2] = {512, truemax - 1};
    for (int i = 0; i < 2; i++) {
        snprintf(bad, sizeof bad, "%s/maxtok%d.h5", dir, i);
        copy_prefix(small, bad, sts.st_size);
        h = H5Fopen(bad, H5F_ACC_RDWR, H5P_DEFAULT);
        a = H5Aopen(h, "max_token", H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_LLONG, &mx[i]);
        H5Aclose(a);
        H5Fclose(h);
    }
    snprintf(bad, sizeof bad, "%s/maxtok0.h5", dir);
    expect_open_error(bad, "max_token >= vocab_size", "max_token 512 is outside the vocabulary");
    snprintf(bad, sizeof bad, "%s/maxtok1.h5", dir);
    c = t6_corpus_open(bad, err, sizeof err);
    EXPECT(c && t6_corpus_verify(c, err, sizeof err) != 0 && strstr(err, "but the attribute max_token says"),
           "a lying max_token passed the scan: %s", err);
    if (c) { printf("ok: lying max_token -> %s\n", err); t6_corpus_close(c); }
    /* a byte of token data flipped on disk: found by its Fletcher-32 checksum */
    snprintf(bad, sizeof bad, "%s/flip.h5", dir);
    m = mkmeta(50257, "train");
    w = t6_corpus_writer_open(bad, &m, err, sizeof err);
    uint32_t seq[4000];
    for (int i = 0; i < 4000; i++) seq[i] = 1000 + (uint32_t)i;
    EXPECT(w && t6_corpus_writer_append(w, seq, 4000, err, sizeof err) == 0 && t6_corpus_writer_close(w, err, sizeof err) == 0,
           "flip corpus: %s", err);
    f = fopen(bad, "r+b");
    static unsigned char fb[1 << 16];
    size_t fn = f ? fread(fb, 1, sizeof fb, f) : 0;
    long at = -1;
    for (size_t i = 0; i + 8 <= fn && at < 0; i++)   /* tokens 1000..1003 as uint16 LE */
        if (fb[i] == 0xe8 && fb[i + 1] == 3 && fb[i + 2] == 0xe9 && fb[i + 3] == 3 && fb[i + 4] == 0xea && fb[i + 6] == 0xeb) at = (long)i;
    EXPECT(at >= 0, "token data not found in the file");
    if (f && at >= 0) {
        fb[at + 2001] ^= 0x10;   /* a token's high byte: 3 -> 0x13, still < vocab */
        fseek(f, at + 2001, SEEK_SET);
        fwrite(&fb[at + 2001], 1, 1, f);
    }
    if (f) fclose(f);
    c = t6_corpus_open(bad, err, sizeof err);
    EXPECT(c != NULL, "flip: metadata should still open: %s", err);
    EXPECT(c && t6_corpus_verify(c, err, sizeof err) != 0 && strstr(err, "damaged") && strstr(err, bad),
           "a flipped byte passed the scan: %s", err);
    if (c) { printf("ok: flipped byte -> %s\n", err); t6_corpus_close(c); }
    /* version 1 files (no max_token, no filter) still read */
    snprintf(bad, sizeof bad, "%s/v1.h5", dir);
    copy_prefix(small, bad, sts.st_size);
    h = H5Fopen(bad, H5F_ACC_RDWR, H5P_DEFAULT);
    a = H5Aopen(h, "format_version", H5P_DEFAULT);
    v = 1;
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Adelete(h, "max_token");
    H5Fclose(h);
    c = t6_corpus_open(bad, err, sizeof err);
    EXPECT(c && t6_corpus_get_meta(c)->version == 1 && t6_corpus_get_meta(c)->max_token == -1 &&
           t6_corpus_verify(c, err, sizeof err) == 0, "version 1 file: %s", err);
    if (c) t6_corpus_close(c);

    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("corpus_test: all checks passed\n");
    return 0;
}
