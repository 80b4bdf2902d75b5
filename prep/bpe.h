/* bpe.h -- GPT-2 byte-level BPE (tiktoken's "gpt2" encoding) in C: loading
 * encoder.json + vocab.bpe, encoding (PCRE2 pre-tokenization + rank-ordered merges,
 * byte-exact with tiktoken's encode_ordinary), decoding, and the UTF-8 policy helpers.
 * The vocabulary (t6_bpe) is read-only after loading and shared by all threads; each
 * thread owns a t6_bpe_state (match data, merge cache, scratch). */
#ifndef T6_PREP_BPE_H
#define T6_PREP_BPE_H

#include <stddef.h>
#include <stdint.h>

/* sha256 values that tiktoken pins for the GPT-2 files */
#define T6_GPT2_ENCODER_SHA256 "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
#define T6_GPT2_VOCAB_SHA256 "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"

/* A growable token vector; grows geometrically, so appending is amortized O(1). */
typedef struct {
    uint32_t *v;
    size_t n, cap;
} t6_tokvec;
void t6_tokvec_reserve(t6_tokvec *t, size_t extra);
void t6_tokvec_free(t6_tokvec *t);

typedef struct t6_bpe t6_bpe;
typedef struct t6_bpe_state t6_bpe_state;

/* Loads DIR/encoder.json and DIR/vocab.bpe. NULL and a message on error. If the files
 * are not the ones tiktoken pins, *pinned (when non-NULL) is set to 0, else 1. */
t6_bpe *t6_bpe_load(const char *dir, int *pinned, char *err, size_t err_len);
void t6_bpe_free(t6_bpe *b);
int t6_bpe_vocab_size(const t6_bpe *b);   /* 50257 */
int t6_bpe_eot(const t6_bpe *b);          /* 50256 */
const char *t6_bpe_hash(const t6_bpe *b); /* sha256 hex of encoder.json || vocab.bpe */

t6_bpe_state *t6_bpe_state_new(const t6_bpe *b);
void t6_bpe_state_free(t6_bpe_state *s);
/* Pieces of at least this many bytes use the O(n log n) heap merge instead of the
 * quadratic scan (both give the same result; tests set it to compare them). */
void t6_bpe_state_set_heap_threshold(t6_bpe_state *s, size_t n);
/* 0 disables the merge cache (tests compare with and without it). */
void t6_bpe_state_set_cache(t6_bpe_state *s, int on);

/* Appends the tokens of text[0..n) to out. allow_special: the literal "<|endoftext|>"
 * becomes 50256 (tiktoken encode(allowed_special={...})); 0: plain text
 * (encode_ordinary, what the data pipeline uses). text must be valid UTF-8: returns -1
 * (and appends nothing) when it is not; see t6_utf8_sanitize. -2: PCRE2 failed to
 * match (a resource limit; never seen with the GPT-2 pattern), output incomplete. */
int t6_bpe_encode(t6_bpe_state *s, const char *text, size_t n, int allow_special, t6_tokvec *out);

/* Bytes of ids[0..n) into buf (up to cap bytes); returns the full length needed, or
 * (size_t)-1 when an id is out of range. */
size_t t6_bpe_decode(const t6_bpe *b, const uint32_t *ids, size_t n, char *buf, size_t cap);

/* Length of the longest valid UTF-8 prefix; == n when the whole text is valid. */
size_t t6_utf8_valid_prefix(const char *s, size_t n);
/* Replaces every maximal ill-formed subsequence with U+FFFD, exactly as Python's
 * bytes.decode("utf-8", errors="replace"). Writes to *out (grown with realloc, *cap its
 * size); returns the new length and sets *n_repl to the number of replacements. */
size_t t6_utf8_sanitize(const char *s, size_t n, char **out, size_t *cap, size_t *n_repl);

/* sha256 */
typedef struct {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t nbuf;
} t6_sha256;
void t6_sha256_init(t6_sha256 *c);
void t6_sha256_update(t6_sha256 *c, const void *data, size_t n);
void t6_sha256_hex(t6_sha256 *c, char out[65]);

#endif
