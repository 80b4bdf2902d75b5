/* mkcorpus.c -- test helper: writes a small t6-corpus through the corpus writer.
 *   mkcorpus OUT.h5 TOKENIZER VOCAB NTOKENS [SPLIT]
 * Tokens are i*7 mod VOCAB in documents of 100 tokens, so a window's content tells
 * where it came from. Used by the error tests (tokenizer / vocab mismatches). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: mkcorpus OUT.h5 TOKENIZER VOCAB NTOKENS [SPLIT]\n");
        return 2;
    }
    t6_corpus_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.version = T6_CORPUS_VERSION;
    snprintf(meta.tokenizer, sizeof meta.tokenizer, "%s", argv[2]);
    snprintf(meta.vocab_hash, sizeof meta.vocab_hash, "test-%s", argv[2]);
    meta.vocab_size = atoi(argv[3]);
    meta.eot_id = 0;
    snprintf(meta.split, sizeof meta.split, "%s", argc > 5 ? argv[5] : "train");
    snprintf(meta.source, sizeof meta.source, "tests/train/mkcorpus");
    meta.token_bits = meta.vocab_size > 65535 ? 32 : 16;
    char err[512];
    t6_corpus_writer *w = t6_corpus_writer_open(argv[1], &meta, err, sizeof err);
    if (!w) { fprintf(stderr, "mkcorpus: %s\n", err); return 1; }
    long n = atol(argv[4]);
    uint32_t doc[100];
    for (long i = 0; i < n; i += 100) {
        size_t k = 0;
        for (long j = i; j < i + 100 && j < n; j++) doc[k++] = (uint32_t)((j * 7) % meta.vocab_size);
        if (t6_corpus_writer_append(w, doc, k, err, sizeof err) != 0) { fprintf(stderr, "mkcorpus: %s\n", err); return 1; }
    }
    if (t6_corpus_writer_close(w, err, sizeof err) != 0) { fprintf(stderr, "mkcorpus: %s\n", err); return 1; }
    return 0;
}
