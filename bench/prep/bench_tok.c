/* bench_tok.c -- tokenizer throughput of t6-prep's GPT-2 BPE: loads every document of
 * the given inputs (any format t6-prep reads) into memory, then encodes them all with
 * 1, 2, 4, ... threads (up to -t MAX), reporting MB/s and tokens/s in total and per
 * thread. Reading and writing are not timed: this is the number to set beside
 * tiktoken's encode_ordinary / encode_ordinary_batch (doc/prep.md, RESULTS.md).
 * Usage: bench_tok VOCAB_DIR [-t MAXTHREADS] [-r REPEATS] INPUT... */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "readers.h"
#include "util.h"

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: bench_tok VOCAB_DIR [-t MAXTHREADS] [-r REPEATS] INPUT...\n"); return 2; }
    int maxt = omp_get_max_threads(), reps = 3, ai = 2;
    for (; ai < argc && argv[ai][0] == '-'; ai += 2) {
        if (!strcmp(argv[ai], "-t")) maxt = atoi(argv[ai + 1]);
        else if (!strcmp(argv[ai], "-r")) reps = atoi(argv[ai + 1]);
    }
    char err[1024];
    t6_bpe *b = t6_bpe_load(argv[1], NULL, err, sizeof err);
    if (!b) { fprintf(stderr, "%s\n", err); return 1; }
    char **docs = NULL;
    size_t *lens = NULL, nd = 0, bytes = 0, skipped = 0;
    t6_reader_opts ro = {T6_FMT_AUTO, "text", NULL, NULL, 0};
    for (; ai < argc; ai++) {
        ro.member_ext = NULL;
        if (strstr(argv[ai], ".zip")) ro.member_ext = ".txt";
        t6_reader *r = t6_reader_open(argv[ai], &ro, err, sizeof err);
        if (!r) { fprintf(stderr, "%s\n", err); return 1; }
        const char *t;
        size_t n;
        int rc;
        while ((rc = t6_reader_next(r, &t, &n, err, sizeof err)) > 0) {
            if (rc == 2) { skipped++; continue; }
            docs = t6_realloc(docs, (nd + 1) * sizeof *docs);
            lens = t6_realloc(lens, (nd + 1) * sizeof *lens);
            docs[nd] = t6_malloc(n + 1);
            memcpy(docs[nd], t, n);
            lens[nd++] = n;
            bytes += n;
        }
        if (rc < 0) { fprintf(stderr, "%s\n", err); return 1; }
        t6_reader_close(r);
    }
    /* one pass for the token count (and to warm caches) */
    size_t tokens = 0, repl = 0;
    {
        t6_bpe_state *s = t6_bpe_state_new(b);
        t6_tokvec v = {0};
        char *fix = NULL;
        size_t cap = 0;
        for (size_t i = 0; i < nd; i++) {
            v.n = 0;
            if (t6_bpe_encode(s, docs[i], lens[i], 0, &v) != 0) {
                size_t r, m = t6_utf8_sanitize(docs[i], lens[i], &fix, &cap, &r);
                repl += r;
                free(docs[i]);
                docs[i] = t6_malloc(m + 1);
                memcpy(docs[i], fix, m);
                lens[i] = m;
                t6_bpe_encode(s, docs[i], m, 0, &v);
            }
            tokens += v.n;
        }
        t6_tokvec_free(&v);
        free(fix);
        t6_bpe_state_free(s);
    }
    printf("corpus: %zu documents, %.1f MB, %zu tokens (%zu records skipped, %zu invalid UTF-8 sequences replaced)\n",
           nd, bytes / 1e6, tokens, skipped, repl);
    /* longest documents first (as t6-prep schedules a batch) */
    size_t *ord = t6_malloc(nd * sizeof *ord);
    for (size_t i = 0; i < nd; i++) ord[i] = i;
    for (size_t i = 1; i < nd; i++) { /* insertion sort: nd is small */
        size_t k = ord[i], j = i;
        while (j > 0 && lens[ord[j - 1]] < lens[k]) { ord[j] = ord[j - 1]; j--; }
        ord[j] = k;
    }
    printf("%8s %10s %12s %14s %16s\n", "threads", "MB/s", "MB/s/thread", "Mtokens/s", "Mtokens/s/thread");
    for (int t = 1; t <= maxt; t = t * 2 > maxt && t < maxt ? maxt : t * 2) {
        t6_bpe_state **st = t6_calloc((size_t)t, sizeof *st);
        t6_tokvec *vv = t6_calloc((size_t)t, sizeof *vv);
        for (int k = 0; k < t; k++) st[k] = t6_bpe_state_new(b);
        double best = 1e30;
        for (int rep = 0; rep < reps; rep++) {
            double t0 = t6_now();
#pragma omp parallel for num_threads(t) schedule(dynamic, 1)
            for (size_t k = 0; k < nd; k++) {
                int id = omp_get_thread_num();
                size_t i = ord[k];
                vv[id].n = 0;
                t6_bpe_encode(st[id], docs[i], lens[i], 0, &vv[id]);
            }
            double el = t6_now() - t0;
            if (el < best) best = el;
        }
        printf("%8d %10.1f %12.1f %14.2f %16.2f\n", t, bytes / 1e6 / best, bytes / 1e6 / best / t, tokens / 1e6 / best,
               tokens / 1e6 / best / t);
        for (int k = 0; k < t; k++) { t6_bpe_state_free(st[k]); t6_tokvec_free(&vv[k]); }
        free(st);
        free(vv);
    }
    return 0;
}
