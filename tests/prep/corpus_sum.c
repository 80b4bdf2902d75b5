/* corpus_sum.c -- prints a summary of t6-corpus files, for tests that compare token
 * streams: per file "path split n_tokens n_documents", then one line with the total
 * token count and the sha256 of the concatenated token stream (as little-endian
 * uint32); -n N prints the first N tokens; -c prefix|suffix checks that every document
 * starts / ends with eot_id (for outputs not cut at shard boundaries).
 * Usage: corpus_sum [-n N] [-c prefix|suffix] FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "corpus.h"

int main(int argc, char **argv)
{
    int first = 1;
    long show = 0;
    const char *check = NULL;
    while (first + 1 < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "-n") == 0) show = atol(argv[first + 1]);
        else if (strcmp(argv[first], "-c") == 0) check = argv[first + 1];
        first += 2;
    }
    t6_sha256 h;
    t6_sha256_init(&h);
    unsigned long long total = 0, docs = 0;
    int32_t *buf = malloc(sizeof(int32_t) << 20);
    for (int i = first; i < argc; i++) {
        char err[1024];
        t6_corpus *c = t6_corpus_open(argv[i], err, sizeof err);
        if (!c) { fprintf(stderr, "corpus_sum: %s\n", err); return 1; }
        const t6_corpus_meta *m = t6_corpus_get_meta(c);
        printf("%s %s %llu %llu\n", argv[i], m->split, (unsigned long long)m->n_tokens, (unsigned long long)m->n_documents);
        const uint64_t *off = t6_corpus_doc_offsets(c, err, sizeof err);
        if (!off) { fprintf(stderr, "corpus_sum: %s\n", err); return 1; }
        for (uint64_t d = 0; check && d < m->n_documents; d++) {
            uint64_t end = d + 1 < m->n_documents ? off[d + 1] : m->n_tokens;
            int32_t tok = -1;
            if (end > off[d]) t6_corpus_read(c, strcmp(check, "prefix") == 0 ? off[d] : end - 1, 1, &tok, err, sizeof err);
            if (tok != m->eot_id) {
                fprintf(stderr, "corpus_sum: %s: document %llu does not %s with eot\n", argv[i], (unsigned long long)d,
                        strcmp(check, "prefix") == 0 ? "start" : "end");
                return 1;
            }
        }
        for (uint64_t s = 0; s < m->n_tokens; s += 1 << 20) {
            size_t n = m->n_tokens - s < (1u << 20) ? (size_t)(m->n_tokens - s) : (size_t)1 << 20;
            if (t6_corpus_read(c, s, n, buf, err, sizeof err) != 0) { fprintf(stderr, "corpus_sum: %s\n", err); return 1; }
            for (size_t k = 0; k < n; k++) {
                uint32_t v = (uint32_t)buf[k];
                unsigned char le[4] = {v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24};
                t6_sha256_update(&h, le, 4);
                if (show > 0) { printf("%u%s", v, --show ? " " : "\n"); }
            }
        }
        total += m->n_tokens;
        docs += m->n_documents;
        t6_corpus_close(c);
    }
    char hex[65];
    t6_sha256_hex(&h, hex);
    printf("total %llu tokens %llu documents sha256 %s\n", total, docs, hex);
    free(buf);
    return 0;
}
