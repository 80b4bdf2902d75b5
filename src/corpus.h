/* corpus.h -- the tokenized corpus file (HDF5, format "t6-corpus", documented in
 * doc/formats/corpus.md): its writer, used by t6-prep, and its reader, used by t6,
 * side by side so the two can never disagree. */
#ifndef T6_CORPUS_H
#define T6_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#define T6_CORPUS_FORMAT "t6-corpus"
#define T6_CORPUS_VERSION 2       /* written; versions 1 and 2 are read */
#define T6_CORPUS_MIN_VERSION 1

typedef struct {
    int version;             /* T6_CORPUS_VERSION of the file */
    char tokenizer[32];      /* "gpt2" */
    char vocab_hash[72];     /* sha256 hex of encoder.json then vocab.bpe bytes */
    int vocab_size;          /* tokenizer vocabulary (50257), not the padded model vocab */
    int eot_id;              /* 50256 */
    char split[16];          /* "train" or "val" */
    char source[512];        /* input files / description (may be truncated) */
    uint64_t n_tokens;
    uint64_t n_documents;
    int token_bits;          /* 16 (uint16 tokens) or 32 */
    int64_t max_token;       /* largest token id in /tokens (v2; -1: unknown, v1 or empty) */
    int checksummed;         /* the datasets carry HDF5's Fletcher-32 filter (v2) */
} t6_corpus_meta;

/* ---- writer: tokens go to "<path>.tmp.<pid>", renamed onto path by close ---- */
typedef struct t6_corpus_writer t6_corpus_writer;
/* meta->n_tokens / n_documents are ignored (counted while writing). NULL on error. */
t6_corpus_writer *t6_corpus_writer_open(const char *path, const t6_corpus_meta *meta,
                                        char *err, size_t err_len);
/* Appends one document (its tokens, already including any <|endoftext|> delimiter). */
int t6_corpus_writer_append(t6_corpus_writer *w, const uint32_t *tokens, size_t n,
                            char *err, size_t err_len);
/* Appends tokens to the last document (the rest of a document that t6-prep cut at a
 * shard boundary and then merged back, so it stays one document). */
int t6_corpus_writer_extend(t6_corpus_writer *w, const uint32_t *tokens, size_t n,
                            char *err, size_t err_len);
uint64_t t6_corpus_writer_tokens(const t6_corpus_writer *w);
/* Replaces meta.source (known only at the end, e.g. the inputs a shard came from). */
void t6_corpus_writer_set_source(t6_corpus_writer *w, const char *source);
/* Writes counts, flushes, fsyncs and renames into place. Frees w. */
int t6_corpus_writer_close(t6_corpus_writer *w, char *err, size_t err_len);
/* Removes the temporary file. Frees w. */
void t6_corpus_writer_abort(t6_corpus_writer *w);

/* ---- reader ---- */
typedef struct t6_corpus t6_corpus;
/* Opens and validates (format, version, dataset shapes, counts, max_token < vocab_size
 * when stored). NULL + message on error. */
t6_corpus *t6_corpus_open(const char *path, char *err, size_t err_len);
/* Reads every token once: HDF5 verifies each chunk's Fletcher-32 checksum (v2 files)
 * and every token is checked against vocab_size and the stored max_token. 0, or -1
 * with a message naming the path and position. */
int t6_corpus_verify(t6_corpus *c, char *err, size_t err_len);
const t6_corpus_meta *t6_corpus_get_meta(const t6_corpus *c);
/* Reads tokens [start, start+n) as int32. Returns 0, or -1 with a message. */
int t6_corpus_read(t6_corpus *c, uint64_t start, size_t n, int32_t *out, char *err, size_t err_len);
/* Document start offsets (n_documents entries), loaded on first use. */
const uint64_t *t6_corpus_doc_offsets(t6_corpus *c, char *err, size_t err_len);
void t6_corpus_close(t6_corpus *c);

#endif
