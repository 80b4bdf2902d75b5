/* bpe_test.c -- the GPT-2 tokenizer against expected ids: every vector file given on
 * the command line ({"vectors": [{"text", "ids", "allow_special_endoftext"}]}), then
 * decode(encode(x)) == x, the same ids with and without the merge cache and with the
 * heap merge forced for every piece, and the UTF-8 replacement policy.
 * Usage: bpe_test VOCAB_DIR VECTORS.json... [-- TEXT_FILE...] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"

static int failures;
#define EXPECT(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static void print_ids(const char *what, const uint32_t *v, size_t n)
{
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %u", v[i]);
    fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

/* encodes with the three code paths and checks they agree and round-trip */
static int encode3(const t6_bpe *b, t6_bpe_state *st[3], const char *text, size_t n, int special, t6_tokvec *out)
{
    t6_tokvec alt = {0};
    out->n = 0;
    if (t6_bpe_encode(st[0], text, n, special, out) != 0) return -1;
    for (int k = 1; k < 3; k++) {
        alt.n = 0;
        EXPECT(t6_bpe_encode(st[k], text, n, special, &alt) == 0, "path %d refused", k);
        EXPECT(alt.n == out->n && memcmp(alt.v, out->v, alt.n * 4) == 0, "path %d (%s) differs on %.60s", k,
               k == 1 ? "no cache" : "heap merge", text);
    }
    t6_tokvec_free(&alt);
    char *dec = malloc(n + 1);
    size_t dl = t6_bpe_decode(b, out->v, out->n, dec, n);
    EXPECT(dl == n && memcmp(dec, text, n) == 0, "decode(encode(x)) != x for %.60s", text);
    free(dec);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: bpe_test VOCAB_DIR VECTORS.json... [-- FILE...]\n"); return 2; }
    char err[1024];
    int pinned = 0;
    t6_bpe *b = t6_bpe_load(argv[1], &pinned, err, sizeof err);
    if (!b) { fprintf(stderr, "FAIL load: %s\n", err); return 1; }
    EXPECT(pinned, "vocab files are not the ones tiktoken pins");
    EXPECT(t6_bpe_vocab_size(b) == 50257 && t6_bpe_eot(b) == 50256, "vocab %d eot %d", t6_bpe_vocab_size(b), t6_bpe_eot(b));
    t6_bpe_state *st[3] = {t6_bpe_state_new(b), t6_bpe_state_new(b), t6_bpe_state_new(b)};
    t6_bpe_state_set_cache(st[1], 0);
    t6_bpe_state_set_heap_threshold(st[2], 2);
    t6_tokvec out = {0};
    int ai = 2, nvec = 0;
    for (; ai < argc && strcmp(argv[ai], "--") != 0; ai++) {
        json_error_t je;
        json_t *root = json_load_file(argv[ai], JSON_ALLOW_NUL, &je);
        if (!root) { fprintf(stderr, "FAIL %s:%d: %s\n", argv[ai], je.line, je.text); return 1; }
        json_t *vecs = json_object_get(root, "vectors"), *v;
        size_t i;
        json_array_foreach(vecs, i, v) {
            json_t *jt = json_object_get(v, "text"), *ji = json_object_get(v, "ids");
            int special = json_is_true(json_object_get(v, "allow_special_endoftext"));
            const char *text = json_string_value(jt);
            size_t n = json_string_length(jt);
            if (encode3(b, st, text, n, special, &out) != 0) {
                EXPECT(0, "%s #%zu refused (invalid UTF-8?)", argv[ai], i);
                continue;
            }
            int ok = out.n == json_array_size(ji);
            for (size_t k = 0; ok && k < out.n; k++) ok = out.v[k] == (uint32_t)json_integer_value(json_array_get(ji, k));
            if (!ok) {
                failures++;
                fprintf(stderr, "FAIL %s #%zu: %.80s\n", argv[ai], i, text);
                print_ids("got", out.v, out.n);
                uint32_t *want = malloc((json_array_size(ji) + 1) * 4);
                for (size_t k = 0; k < json_array_size(ji); k++) want[k] = (uint32_t)json_integer_value(json_array_get(ji, k));
                print_ids("want", want, json_array_size(ji));
                free(want);
            }
            nvec++;
        }
        json_decref(root);
    }
    printf("vectors checked: %d\n", nvec);

    /* whole files: the three paths agree and decoding gives the bytes back */
    for (ai++; ai < argc; ai++) {
        FILE *f = fopen(argv[ai], "rb");
        if (!f) { EXPECT(0, "cannot open %s", argv[ai]); continue; }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *text = malloc((size_t)n + 1);
        size_t got = fread(text, 1, (size_t)n, f);
        fclose(f);
        EXPECT(got == (size_t)n, "short read %s", argv[ai]);
        EXPECT(encode3(b, st, text, got, 0, &out) == 0, "%s refused", argv[ai]);
        printf("%s: %zu bytes -> %zu tokens\n", argv[ai], got, out.n);
        free(text);
    }

    /* long runs: heap and scan agree on pieces far above the threshold */
    {
        size_t n = 200000;
        char *t = malloc(n);
        const char *fill[] = {" ", "a", "\n", "0", "!", "ab", "\xe4\xb8\xad"};
        for (size_t k = 0; k < sizeof fill / sizeof *fill; k++) {
            size_t fl = strlen(fill[k]), m = n / fl * fl;
            for (size_t i = 0; i < m; i++) t[i] = fill[k][i % fl];
            EXPECT(encode3(b, st, t, m, 0, &out) == 0, "long run refused");
        }
        free(t);
    }

    /* UTF-8 policy: encode refuses invalid input; sanitize replaces like Python's
     * bytes.decode("utf-8", "replace") (maximal subparts, Unicode table 3-7). */
    {
        struct { const char *in; size_t n; const char *want; size_t nrepl; } cases[] = {
            {"a\x80" "b", 3, "a\xef\xbf\xbd" "b", 1},
            {"\xe0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd", 2},           /* E0 needs A0..BF */
            {"\xe2\x82" "A", 3, "\xef\xbf\xbd" "A", 1},              /* truncated 3-byte: one U+FFFD */
            {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3}, /* UTF-8 encoded surrogate */
            {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 2},           /* overlong */
            {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 4}, /* > U+10FFFF */
            {"\xf0\x9f\x98", 3, "\xef\xbf\xbd", 1},                  /* truncated emoji at the end */
            {"\xff", 1, "\xef\xbf\xbd", 1},
            {"ok \xf0\x9f\x98\x80", 7, "ok \xf0\x9f\x98\x80", 0},
        };
        char *buf = NULL;
        size_t cap = 0;
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            size_t r, m = t6_utf8_sanitize(cases[k].in, cases[k].n, &buf, &cap, &r);
            EXPECT(m == strlen(cases[k].want) && memcmp(buf, cases[k].want, m) == 0 && r == cases[k].nrepl,
                   "sanitize case %zu", k);
            out.n = 0;
            int rc = t6_bpe_encode(st[0], cases[k].in, cases[k].n, 0, &out);
            EXPECT((rc == 0) == (cases[k].nrepl == 0) && (rc == 0 || out.n == 0), "encode of invalid case %zu: rc %d", k, rc);
        }
        free(buf);
    }

    t6_tokvec_free(&out);
    for (int k = 0; k < 3; k++) t6_bpe_state_free(st[k]);
    t6_bpe_free(b);
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("bpe_test: all checks passed\n");
    return 0;
}
