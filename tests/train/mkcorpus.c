/* mkcorpus.c -- test helper: writes a small t6-corpus through the corpus writer.
 *   mkcorpus OUT.h5 TOKENIZER VOCAB NTOKENS [SPLIT [POS=VALUE]]
 * Tokens are i*7 mod VOCAB in documents of 100 tokens, so a window's content tells
 * where it came from. Used by the error tests (tokenizer / vocab mismatches).
 * POS=VALUE then overwrites token POS with VALUE through HDF5 (the writer refuses a
 * token outside the vocabulary): the chunk's Fletcher-32 checksum is recomputed and the
 * max_token attribute left as written, as a corpus from another tool that lies would be,
 * so only t6's open-time scan of the tokens can find it. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

/* token pos of the corpus at path := value; 0 or 1 */
static int plant(const char *path, const char *spec)
{
    long long pos, value;
    if (sscanf(spec, "%lld=%lld", &pos, &value) != 2 || pos < 0) {
        fprintf(stderr, "mkcorpus: '%s' is not POS=VALUE\n", spec);
        return 1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, "/tokens", H5P_DEFAULT) : -1;
    hid_t fs = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t st = (hsize_t)pos, one = 1;
    hid_t ms = H5Screate_simple(1, &one, NULL);
    int v = (int)value;
    herr_t e = fs >= 0 ? H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &one, NULL) : -1;
    if (e >= 0) e = H5Dwrite(d, H5T_NATIVE_INT, ms, fs, H5P_DEFAULT, &v);
    H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (d >= 0) H5Dclose(d);
    if (f >= 0 && H5Fclose(f) < 0) e = -1;
    if (f < 0 || e < 0) {
        fprintf(stderr, "mkcorpus: cannot set token %lld of '%s'\n", pos, path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: mkcorpus OUT.h5 TOKENIZER VOCAB NTOKENS [SPLIT [POS=VALUE]]\n");
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
    return argc > 6 ? plant(argv[1], argv[6]) : 0;
}
