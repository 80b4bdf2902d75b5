/* arrowsweep.c -- damages an Arrow stream file in memory at many points and checks
 * that t6's reader (src/eval/arrow.c) either refuses it with a message that names the
 * file, or reads it whole: every prefix of the first bytes and prefixes spread over the
 * file (a prefix is accepted only where it ends at a message boundary, which a stream
 * may legally do), and each byte of the message metadata set to 0x00, 0xff and its
 * value with the top bit flipped (where accepted, every row is then converted to JSON,
 * reading every value). Run it under valgrind to see that nothing reads out of bounds.
 *   arrowsweep FILE.arrow */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/arrow.h"

static const char *path;
static int violations, accepted, refused;

static void try_bytes(const uint8_t *src, size_t n, int must_fail, const char *what, size_t at)
{
    char err[1024];
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, src, n);
    t6_arrow_table t;
    if (t6_arrow_parse(path, copy, n, &t, err, sizeof err) == 0) {
        accepted++;
        for (int b = 0; b < t.n_batches; b++)
            for (int64_t i = 0; i < t.batches[b].length; i++) {
                json_t *o = t6_arrow_row_json(&t, &t.batches[b], i, err, sizeof err);
                if (o) json_decref(o);
                else if (strncmp(err, path, strlen(path)) != 0) {
                    printf("FAIL: %s %zu: row error does not name the file: %s\n", what, at, err);
                    violations++;
                }
            }
        t6_arrow_close(&t);
        if (must_fail) { printf("FAIL: %s %zu accepted\n", what, at); violations++; }
    } else {
        refused++;
        if (strncmp(err, path, strlen(path)) != 0 || strlen(err) < strlen(path) + 10) {
            printf("FAIL: %s %zu: message does not name the file: %s\n", what, at, err);
            violations++;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: arrowsweep FILE.arrow\n"); return 2; }
    path = argv[1];
    char err[1024];
    t6_arrow_table t;
    if (t6_arrow_open(path, &t, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    const uint8_t *d = t.data;
    size_t n = t.size;
    /* message boundaries: where a stream may end without its end-of-stream marker */
    size_t *ends = calloc((size_t)t.n_batches + 2, sizeof *ends);
    int n_ends = 0;
    for (int b = 0; b < t.n_batches; b++) {
        if (b == 0) ends[n_ends++] = t.batches[0].msg_pos;
        ends[n_ends++] = t.batches[b].msg_end;
    }
    int legal_prefixes = 0;
    for (size_t len = 0; len < n; len += len < 2048 ? 1 : 1 + n / 257) {
        int boundary = 0;
        for (int k = 0; k < n_ends; k++) boundary |= ends[k] == len;
        legal_prefixes += boundary;
        try_bytes(d, len, !boundary, "prefix of", len);
    }
    /* each boundary itself and the byte on either side of it, and the file less its
     * last 1..8 bytes (the end-of-stream marker) */
    for (int k = 0; k < n_ends; k++)
        for (size_t len = ends[k] - 1; len <= ends[k] + 1 && len < n; len++) {
            legal_prefixes += len == ends[k];
            try_bytes(d, len, len != ends[k], "prefix of", len);
        }
    for (size_t cut = 1; cut <= 8 && cut <= n; cut++) {
        int boundary = 0;
        for (int k = 0; k < n_ends; k++) boundary |= ends[k] == n - cut;
        legal_prefixes += boundary;
        try_bytes(d, n - cut, !boundary, "prefix of", n - cut);
    }
    /* the metadata of every message: the schema's and each batch's */
    uint8_t *m = malloc(n);
    for (int b = -1; b < t.n_batches; b++) {
        size_t from = b < 0 ? 0 : t.batches[b].msg_pos;
        size_t to = b < 0 ? t.batches[0].msg_pos : t.batches[b].msg_pos + 512;
        if (to > n) to = n;
        for (size_t p = from; p < to; p++) {
            uint8_t vals[3] = {0x00, 0xff, (uint8_t)(d[p] ^ 0x80)};
            for (int v = 0; v < 3; v++) {
                memcpy(m, d, n);
                m[p] = vals[v];
                try_bytes(m, n, 0, "byte", p);
            }
        }
    }
    printf("%s: %d damaged copies refused with the file named, %d read whole (%d legal prefixes), %d violations\n",
           path, refused, accepted, legal_prefixes, violations);
    free(m);
    free(ends);
    t6_arrow_close(&t);
    return violations ? 1 : 0;
}
