/* bpe.c -- GPT-2 byte-level BPE, byte-exact with tiktoken's "gpt2" encoding.
 *
 * What tiktoken does (and so what we do):
 *  - pre-tokenize with the GPT-2 regex
 *      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *    where \s is Unicode White_Space (Rust regex). PCRE2's \s under UCP also matches
 *    U+180E, so we spell the White_Space set out instead of writing \s;
 *  - a piece that is itself a token is emitted directly;
 *  - otherwise start from single bytes and repeatedly merge the adjacent pair whose
 *    concatenated bytes have the lowest rank (leftmost on ties). A token's rank is its
 *    id (tiktoken asserts this for GPT-2; we check it while loading), so a precomputed
 *    table (left id, right id) -> merged id gives the rank directly.
 * Speed: a per-thread direct-mapped cache of short pieces, no allocation per token,
 * PCRE2 JIT; long pieces (e.g. 100 kB of one character) merge with a heap, O(n log n). */
#define _GNU_SOURCE 1 /* memmem */
#include "bpe.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NO_ID UINT32_MAX
#define EOT_TEXT "<|endoftext|>"


/* ---- token vector ------------------------------------------------------------ */
void t6_tokvec_reserve(t6_tokvec *t, size_t extra)
{
    if (t->n + extra <= t->cap) return;
    size_t c = t->cap ? t->cap : 1024;
    while (c < t->n + extra) c *= 2;
    t->v = t6_realloc(t->v, c * sizeof *t->v);
    t->cap = c;
}

void t6_tokvec_free(t6_tokvec *t)
{
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

/* ---- the vocabulary -------------------------------------------------------------- */
struct t6_bpe {
    int vocab_size, eot;
    char *bytes;             /* all token byte strings, concatenated */
    uint32_t *off, *len;     /* per id */
    uint32_t *map;           /* bytes -> id+1, open addressing, size map_mask+1 */
    size_t map_mask;
    uint64_t *pair_key;      /* (left<<32 | right) -> merged id; key ~0 = empty */
    uint32_t *pair_val;
    size_t pair_mask;
    uint32_t byte_id[256];
    pcre2_code *re;
    int jit;
    char hash[65];
};

static inline uint64_t hash_bytes(const unsigned char *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    return h;
}

static inline uint32_t vocab_lookup(const t6_bpe *b, const unsigned char *p, size_t n)
{
    size_t i = hash_bytes(p, n) & b->map_mask;
    for (;;) {
        uint32_t e = b->map[i];
        if (!e) return NO_ID;
        uint32_t id = e - 1;
        if (b->len[id] == n && memcmp(b->bytes + b->off[id], p, n) == 0) return id;
        i = (i + 1) & b->map_mask;
    }
}

static inline uint64_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

/* merged id of the pair (a, b), or NO_ID; the merged id is also the merge rank */
static inline uint32_t pair_lookup(const t6_bpe *b, uint32_t l, uint32_t r)
{
    uint64_t key = (uint64_t)l << 32 | r;
    size_t i = mix64(key) & b->pair_mask;
    for (;;) {
        uint64_t k = b->pair_key[i];
        if (k == key) return b->pair_val[i];
        if (k == UINT64_MAX) return NO_ID;
        i = (i + 1) & b->pair_mask;
    }
}

/* GPT-2's byte <-> unicode alphabet: printable bytes map to themselves, the other 68
 * bytes to U+0100.. in byte order. */
static void byte_alphabet(int cp_of_byte[256])
{
    int n = 0;
    for (int c = 0; c < 256; c++) {
        int printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
        cp_of_byte[c] = printable ? c : 256 + n++;
    }
}

/* Decodes one UTF-8 code point (the JSON and vocab.bpe strings are valid UTF-8). */
static int utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned c = s[*i];
    if (c < 0x80) { (*i)++; return (int)c; }
    int k = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
    if (k < 0 || *i + (size_t)k >= n) return -1;
    unsigned cp = c & (0x3F >> k);
    for (int j = 1; j <= k; j++) {
        unsigned d = s[*i + j];
        if ((d & 0xC0) != 0x80) return -1;
        cp = cp << 6 | (d & 0x3F);
    }
    *i += (size_t)k + 1;
    return (int)cp;
}

/* Maps an alphabet string to raw bytes; returns length or -1. */
static long unalphabet(const int byte_of_cp[512], const char *s, size_t n, unsigned char *out)
{
    size_t i = 0;
    long o = 0;
    while (i < n) {
        int cp = utf8_next((const unsigned char *)s, n, &i);
        if (cp < 0 || cp >= 512 || byte_of_cp[cp] < 0) return -1;
        out[o++] = (unsigned char)byte_of_cp[cp];
    }
    return o;
}

static char *slurp(const char *path, size_t *n, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        t6_seterr(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = t6_malloc(cap);
    size_t k;
    while ((k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) buf = t6_realloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        t6_seterr(err, err_len, "error reading '%s'", path);
        free(buf);
        return NULL;
    }
    *n = len;
    return buf;
}

static void sha_hex_of(const char *a, size_t na, char out[65])
{
    t6_sha256 c;
    t6_sha256_init(&c);
    t6_sha256_update(&c, a, na);
    t6_sha256_hex(&c, out);
}

#define WS "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
static const char gpt2_pattern[] =
    "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";

/* The loader, by job: encoder.json -> token bytes (load_encoder), the bytes -> id map
 * (build_byte_map), vocab.bpe checked against the ids (check_merges), the mergeable
 * pairs (build_pairs), the pre-tokenizer regex (compile_pattern). Each returns 0, or
 * -1 with a message naming the file and, where there is one, the line. */

/* encoder.json: every entry's bytes (decoded from GPT-2's byte alphabet) and id. */
static int load_encoder(t6_bpe *b, const char *pe, const char *je, size_t ne, const int byte_of_cp[512],
                        char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *root = json_loadb(je, ne, 0, &jerr);
    if (!root || !json_is_object(root)) {
        t6_seterr(err, err_len, "'%s': line %d: %s", pe, root ? 1 : jerr.line, root ? "not a JSON object" : jerr.text);
        json_decref(root);
        return -1;
    }
    size_t n = json_object_size(root);
    if (n < 257 || n > (1u << 24)) {
        t6_seterr(err, err_len, "'%s': %zu entries is not a plausible vocabulary", pe, n);
        json_decref(root);
        return -1;
    }
    b->vocab_size = (int)n;
    b->eot = -1;
    b->off = t6_calloc(n, sizeof *b->off);
    b->len = t6_calloc(n, sizeof *b->len);
    uint32_t *seen = t6_calloc(n, sizeof *seen);
    size_t total = 0, cap = 1 << 20;
    b->bytes = t6_malloc(cap);
    const char *key;
    json_t *val;
    int rc = 0;
    json_object_foreach(root, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= (json_int_t)n) {
            t6_seterr(err, err_len, "'%s': entry \"%.40s\" has id outside [0, %zu)", pe, key, n);
            rc = -1;
            break;
        }
        uint32_t id = (uint32_t)json_integer_value(val);
        if (seen[id]++) {
            t6_seterr(err, err_len, "'%s': id %u appears twice", pe, id);
            rc = -1;
            break;
        }
        size_t kl = strlen(key);
        if (total + kl + 1 > cap) b->bytes = t6_realloc(b->bytes, cap = 2 * cap + kl);
        if (strcmp(key, EOT_TEXT) == 0) {
            b->eot = (int)id;
            memcpy(b->bytes + total, key, kl);
            b->off[id] = (uint32_t)total;
            b->len[id] = (uint32_t)kl;
            total += kl;
            continue;
        }
        long bl = unalphabet(byte_of_cp, key, kl, (unsigned char *)b->bytes + total);
        if (bl <= 0) {
            t6_seterr(err, err_len, "'%s': entry \"%.40s\" uses characters outside GPT-2's byte alphabet", pe, key);
            rc = -1;
            break;
        }
        b->off[id] = (uint32_t)total;
        b->len[id] = (uint32_t)bl;
        total += (size_t)bl;
    }
    free(seen);
    json_decref(root);
    if (rc == 0 && b->eot < 0) {
        t6_seterr(err, err_len, "'%s': no \"" EOT_TEXT "\" entry", pe);
        rc = -1;
    }
    return rc;
}

/* bytes -> id over the mergeable tokens (not <|endoftext|>), and the 256 byte tokens. */
static int build_byte_map(t6_bpe *b, const char *pe, char *err, size_t err_len)
{
    size_t n = (size_t)b->vocab_size, ms = 1;
    while (ms < 2 * n) ms <<= 1;
    b->map_mask = ms - 1;
    b->map = t6_calloc(ms, sizeof *b->map);
    for (uint32_t id = 0; id < n; id++) {
        if ((int)id == b->eot) continue;
        const unsigned char *p = (const unsigned char *)b->bytes + b->off[id];
        if (vocab_lookup(b, p, b->len[id]) != NO_ID) {
            t6_seterr(err, err_len, "'%s': two ids (%u and %u) for the same bytes", pe, vocab_lookup(b, p, b->len[id]), id);
            return -1;
        }
        size_t i = hash_bytes(p, b->len[id]) & b->map_mask;
        while (b->map[i]) i = (i + 1) & b->map_mask;
        b->map[i] = id + 1;
    }
    for (int c2 = 0; c2 < 256; c2++) {
        unsigned char ch = (unsigned char)c2;
        b->byte_id[c2] = vocab_lookup(b, &ch, 1);
        if (b->byte_id[c2] == NO_ID) {
            t6_seterr(err, err_len, "'%s': byte 0x%02x has no token", pe, c2);
            return -1;
        }
    }
    return 0;
}

/* vocab.bpe: merge i must produce token 256+i, i.e. the ids are the merge ranks. */
static int check_merges(const t6_bpe *b, const char *pv, char *jv, size_t nv, const int byte_of_cp[512],
                        char *err, size_t err_len)
{
    char *line = jv, *end = jv + nv;
    int lineno = 0;
    uint32_t expect = 256;
    unsigned char ab[1024];
    for (; line < end; ) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
        char *next = nl ? nl + 1 : end;
        lineno++;
        if (ll && line[ll - 1] == '\r') ll--;
        if ((lineno == 1 && ll >= 8 && memcmp(line, "#version", 8) == 0) || ll == 0) {
            line = next;
            continue;
        }
        char *sp = memchr(line, ' ', ll);
        if (!sp || ll > 512) {
            t6_seterr(err, err_len, "'%s':%d: expected two tokens separated by a space", pv, lineno);
            return -1;
        }
        long la = unalphabet(byte_of_cp, line, (size_t)(sp - line), ab);
        long lb = la > 0 ? unalphabet(byte_of_cp, sp + 1, ll - (size_t)(sp - line) - 1, ab + la) : -1;
        if (la <= 0 || lb <= 0) {
            t6_seterr(err, err_len, "'%s':%d: not in GPT-2's byte alphabet", pv, lineno);
            return -1;
        }
        uint32_t id = vocab_lookup(b, ab, (size_t)(la + lb));
        if (vocab_lookup(b, ab, (size_t)la) == NO_ID || vocab_lookup(b, ab + la, (size_t)lb) == NO_ID || id == NO_ID) {
            t6_seterr(err, err_len, "'%s':%d: merge uses or makes a token missing from encoder.json", pv, lineno);
            return -1;
        }
        if (id != expect) {
            t6_seterr(err, err_len, "'%s':%d: merge makes token %u, expected %u (encoder.json ids must equal merge ranks, as tiktoken requires)",
                   pv, lineno, id, expect);
            return -1;
        }
        expect++;
        line = next;
    }
    if ((int)expect + 1 != b->vocab_size) {
        t6_seterr(err, err_len, "'%s': %u merges for %d tokens (expected vocab = 256 bytes + merges + <|endoftext|>)", pv,
               expect - 256, b->vocab_size);
        return -1;
    }
    return 0;
}

/* Every split of every token into two tokens: the pairs tiktoken can merge. */
static void build_pairs(t6_bpe *b)
{
    size_t count = 0, n = (size_t)b->vocab_size;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t id = 0; id < n; id++) {
            if ((int)id == b->eot) continue;
            const unsigned char *p = (const unsigned char *)b->bytes + b->off[id];
            for (uint32_t k = 1; k < b->len[id]; k++) {
                uint32_t l = vocab_lookup(b, p, k), r = vocab_lookup(b, p + k, b->len[id] - k);
                if (l == NO_ID || r == NO_ID) continue;
                if (pass == 0) { count++; continue; }
                uint64_t key = (uint64_t)l << 32 | r;
                size_t i = mix64(key) & b->pair_mask;
                while (b->pair_key[i] != UINT64_MAX) i = (i + 1) & b->pair_mask;
                b->pair_key[i] = key;
                b->pair_val[i] = id;
            }
        }
        if (pass == 0) {
            size_t ps = 1;
            while (ps < 2 * count + 2) ps <<= 1;
            b->pair_mask = ps - 1;
            b->pair_key = t6_malloc(ps * sizeof *b->pair_key);
            memset(b->pair_key, 0xff, ps * sizeof *b->pair_key);
            b->pair_val = t6_malloc(ps * sizeof *b->pair_val);
        }
    }
}

static int compile_pattern(t6_bpe *b, char *err, size_t err_len)
{
    int ec;
    PCRE2_SIZE eo;
    b->re = pcre2_compile((PCRE2_SPTR)gpt2_pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
    if (!b->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        t6_seterr(err, err_len, "PCRE2 cannot compile the GPT-2 pattern at offset %zu: %s", (size_t)eo, (char *)msg);
        return -1;
    }
    b->jit = pcre2_jit_compile(b->re, PCRE2_JIT_COMPLETE) == 0;
    return 0;
}

t6_bpe *t6_bpe_load(const char *dir, int *pinned, char *err, size_t err_len)
{
    char pe[4096], pv[4096];
    snprintf(pe, sizeof pe, "%s/encoder.json", dir);
    snprintf(pv, sizeof pv, "%s/vocab.bpe", dir);
    size_t ne = 0, nv = 0;
    char *je = slurp(pe, &ne, err, err_len);
    if (!je) return NULL;
    char *jv = slurp(pv, &nv, err, err_len);
    if (!jv) { free(je); return NULL; }

    char he[65], hv[65];
    sha_hex_of(je, ne, he);
    sha_hex_of(jv, nv, hv);
    if (pinned) *pinned = strcmp(he, T6_GPT2_ENCODER_SHA256) == 0 && strcmp(hv, T6_GPT2_VOCAB_SHA256) == 0;

    t6_bpe *b = t6_calloc(1, sizeof *b);
    t6_sha256 c;
    t6_sha256_init(&c);
    t6_sha256_update(&c, je, ne);
    t6_sha256_update(&c, jv, nv);
    t6_sha256_hex(&c, b->hash);

    int cp_of_byte[256], byte_of_cp[512];
    byte_alphabet(cp_of_byte);
    for (int i = 0; i < 512; i++) byte_of_cp[i] = -1;
    for (int i = 0; i < 256; i++) byte_of_cp[cp_of_byte[i]] = i;

    int rc = load_encoder(b, pe, je, ne, byte_of_cp, err, err_len);
    free(je);
    if (rc == 0) rc = build_byte_map(b, pe, err, err_len);
    if (rc == 0) rc = check_merges(b, pv, jv, nv, byte_of_cp, err, err_len);
    free(jv);
    if (rc == 0) build_pairs(b);
    if (rc == 0) rc = compile_pattern(b, err, err_len);
    if (rc == 0) return b;
    t6_bpe_free(b);
    return NULL;
}

void t6_bpe_free(t6_bpe *b)
{
    if (!b) return;
    if (b->re) pcre2_code_free(b->re);
    free(b->bytes);
    free(b->off);
    free(b->len);
    free(b->map);
    free(b->pair_key);
    free(b->pair_val);
    free(b);
}

int t6_bpe_vocab_size(const t6_bpe *b) { return b->vocab_size; }
int t6_bpe_eot(const t6_bpe *b) { return b->eot; }
const char *t6_bpe_hash(const t6_bpe *b) { return b->hash; }

/* ---- per-thread state ------------------------------------------------------------ */
#define CACHE_SLOTS (1u << 15)
#define CACHE_BYTES 32
#define CACHE_TOKS 15

typedef struct {
    uint32_t toks[CACHE_TOKS];
    uint8_t len, ntok;
    unsigned char bytes[CACHE_BYTES];
} cache_slot;

typedef struct {
    uint32_t rank;
    uint32_t pos, right, lid, rid;
} heap_ent;

/* front cache: pieces of up to 8 bytes that are one token, in 128 kB (fits L2) */
#define FRONT_SLOTS (1u << 13)
typedef struct {
    uint64_t w;
    uint32_t id, len;
} front_slot;

struct t6_bpe_state {
    const t6_bpe *b;
    front_slot *front;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;
    cache_slot *cache;
    int use_cache;
    size_t heap_threshold;
    /* scratch, grown as needed and reused */
    uint32_t *ids, *rank, *next, *prev;
    heap_ent *heap;
    size_t scap, hcap;
};

t6_bpe_state *t6_bpe_state_new(const t6_bpe *b)
{
    t6_bpe_state *s = t6_calloc(1, sizeof *s);
    s->b = b;
    s->md = pcre2_match_data_create(1, NULL);
    s->mctx = pcre2_match_context_create(NULL);
    if (b->jit) {
        s->jstack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, NULL);
        pcre2_jit_stack_assign(s->mctx, NULL, s->jstack);
    }
    s->cache = t6_calloc(CACHE_SLOTS, sizeof *s->cache);
    s->front = t6_calloc(FRONT_SLOTS, sizeof *s->front);
    s->use_cache = 1;
    s->heap_threshold = 128;
    return s;
}

void t6_bpe_state_free(t6_bpe_state *s)
{
    if (!s) return;
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    if (s->jstack) pcre2_jit_stack_free(s->jstack);
    free(s->cache);
    free(s->front);
    free(s->ids);
    free(s->rank);
    free(s->next);
    free(s->prev);
    free(s->heap);
    free(s);
}

void t6_bpe_state_set_heap_threshold(t6_bpe_state *s, size_t n) { s->heap_threshold = n; }
void t6_bpe_state_set_cache(t6_bpe_state *s, int on) { s->use_cache = on; }

static void scratch(t6_bpe_state *s, size_t n)
{
    if (n <= s->scap) return;
    size_t c = s->scap ? s->scap : 256;
    while (c < n) c *= 2;
    s->ids = t6_realloc(s->ids, c * sizeof *s->ids);
    s->rank = t6_realloc(s->rank, c * sizeof *s->rank);
    s->next = t6_realloc(s->next, c * sizeof *s->next);
    s->prev = t6_realloc(s->prev, c * sizeof *s->prev);
    s->scap = c;
}

/* Quadratic merge for short pieces: ids[0..m) with rank[i] = merge of (i, i+1).
 * Returns the number of tokens left in s->ids. */
static size_t merge_scan(t6_bpe_state *s, const unsigned char *p, size_t n)
{
    const t6_bpe *b = s->b;
    uint32_t *ids = s->ids, *rank = s->rank;
    for (size_t i = 0; i < n; i++) ids[i] = b->byte_id[p[i]];
    for (size_t i = 0; i + 1 < n; i++) rank[i] = pair_lookup(b, ids[i], ids[i + 1]);
    size_t m = n;
    while (m > 1) {
        uint32_t best = NO_ID;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (rank[i] < best) { best = rank[i]; bi = i; }
        if (best == NO_ID) break;
        ids[bi] = best;
        memmove(ids + bi + 1, ids + bi + 2, (m - bi - 2) * sizeof *ids);
        memmove(rank + bi + 1, rank + bi + 2, (m > bi + 3 ? m - bi - 3 : 0) * sizeof *rank);
        m--;
        if (bi + 1 < m) rank[bi] = pair_lookup(b, ids[bi], ids[bi + 1]);
        else rank[bi] = NO_ID;
        if (bi > 0) rank[bi - 1] = pair_lookup(b, ids[bi - 1], ids[bi]);
    }
    return m;
}

static inline int heap_less(const heap_ent *a, const heap_ent *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(t6_bpe_state *s, size_t *hn, heap_ent e)
{
    if (*hn == s->hcap) {
        s->hcap = s->hcap ? 2 * s->hcap : 1024;
        s->heap = t6_realloc(s->heap, s->hcap * sizeof *s->heap);
    }
    heap_ent *h = s->heap;
    size_t i = (*hn)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&e, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static heap_ent heap_pop(t6_bpe_state *s, size_t *hn)
{
    heap_ent *h = s->heap, top = h[0], last = h[--(*hn)];
    size_t i = 0, n = *hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_less(&h[c + 1], &h[c])) c++;
        if (!heap_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (n) h[i] = last;
    return top;
}

/* Heap merge for long pieces: parts are a linked list over start positions; a heap
 * entry is stale when either side changed since it was pushed. Same order as the
 * scan: lowest rank, then leftmost. */
static size_t merge_heap(t6_bpe_state *s, const unsigned char *p, size_t n)
{
    const t6_bpe *b = s->b;
    uint32_t *ids = s->ids, *next = s->next, *prev = s->prev;
    const uint32_t DEAD = NO_ID;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        ids[i] = b->byte_id[p[i]];
        next[i] = (uint32_t)(i + 1);
        prev[i] = i ? (uint32_t)(i - 1) : NO_ID;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t r = pair_lookup(b, ids[i], ids[i + 1]);
        if (r != NO_ID) heap_push(s, &hn, (heap_ent){r, (uint32_t)i, (uint32_t)i + 1, ids[i], ids[i + 1]});
    }
    while (hn) {
        heap_ent e = heap_pop(s, &hn);
        if (ids[e.pos] != e.lid || next[e.pos] != e.right || e.right >= n || ids[e.right] != e.rid) continue;
        /* merge right into pos */
        ids[e.pos] = e.rank;
        uint32_t nn = next[e.right];
        next[e.pos] = nn;
        if (nn < n) prev[nn] = e.pos;
        ids[e.right] = DEAD;
        next[e.right] = DEAD;
        if (nn < n) {
            uint32_t r = pair_lookup(b, ids[e.pos], ids[nn]);
            if (r != NO_ID) heap_push(s, &hn, (heap_ent){r, e.pos, nn, ids[e.pos], ids[nn]});
        }
        uint32_t pp = prev[e.pos];
        if (pp != NO_ID) {
            uint32_t r = pair_lookup(b, ids[pp], ids[e.pos]);
            if (r != NO_ID) heap_push(s, &hn, (heap_ent){r, pp, e.pos, ids[pp], ids[e.pos]});
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i = next[i]) ids[m++] = ids[i];
    return m;
}

static void encode_piece(t6_bpe_state *s, const unsigned char *p, size_t n, t6_tokvec *out)
{
    const t6_bpe *b = s->b;
    if (n == 1) {
        out->v[out->n++] = b->byte_id[p[0]];
        return;
    }
    front_slot *fs = NULL;
    uint64_t w = 0;
    if (n <= 8 && s->use_cache) {
        memcpy(&w, p, n);
        fs = &s->front[((w ^ n) * 0x9E3779B97F4A7C15ull) >> (64 - 13)];
        if (fs->len == n && fs->w == w) {
            out->v[out->n++] = fs->id;
            return;
        }
    }
    uint32_t id = vocab_lookup(b, p, n);
    if (id != NO_ID) {
        if (fs) {
            fs->w = w;
            fs->len = (uint32_t)n;
            fs->id = id;
        }
        out->v[out->n++] = id;
        return;
    }
    cache_slot *slot = NULL;
    if (s->use_cache && n <= CACHE_BYTES) {
        slot = &s->cache[hash_bytes(p, n) & (CACHE_SLOTS - 1)];
        if (slot->len == n && memcmp(slot->bytes, p, n) == 0) {
            memcpy(out->v + out->n, slot->toks, slot->ntok * sizeof(uint32_t));
            out->n += slot->ntok;
            return;
        }
    }
    scratch(s, n);
    size_t m = n >= s->heap_threshold ? merge_heap(s, p, n) : merge_scan(s, p, n);
    memcpy(out->v + out->n, s->ids, m * sizeof(uint32_t));
    out->n += m;
    if (slot && m <= CACHE_TOKS) {
        slot->len = (uint8_t)n;
        slot->ntok = (uint8_t)m;
        memcpy(slot->bytes, p, n);
        memcpy(slot->toks, s->ids, m * sizeof(uint32_t));
    }
}

static int encode_ordinary(t6_bpe_state *s, const char *text, size_t n, t6_tokvec *out)
{
    const t6_bpe *b = s->b;
    /* at most one token per byte */
    t6_tokvec_reserve(out, n);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    size_t at = 0;
    while (at < n) {
        int rc = b->jit ? pcre2_jit_match(b->re, (PCRE2_SPTR)text, n, at, 0, s->md, s->mctx)
                        : pcre2_match(b->re, (PCRE2_SPTR)text, n, at, PCRE2_NO_UTF_CHECK, s->md, s->mctx);
        size_t ms, me;
        if (rc < 0) {
            /* Every character matches one alternative, so this is a PCRE2 resource
             * error (e.g. JIT stack): report it rather than emit wrong tokens. */
            return -2;
        } else {
            ms = ov[0];
            me = ov[1];
            if (ms != at || me <= ms) {
                /* unreachable for the GPT-2 pattern; keep bytes rather than lose them */
                if (me <= ms) me = n;
                if (ms > at) encode_piece(s, (const unsigned char *)text + at, ms - at, out);
            }
        }
        encode_piece(s, (const unsigned char *)text + ms, me - ms, out);
        at = me;
    }
    return 0;
}

int t6_bpe_encode(t6_bpe_state *s, const char *text, size_t n, int allow_special, t6_tokvec *out)
{
    if (t6_utf8_valid_prefix(text, n) != n) return -1;
    if (!allow_special) return encode_ordinary(s, text, n, out);
    const size_t el = sizeof EOT_TEXT - 1;
    size_t at = 0;
    for (;;) {
        const char *hit = n - at >= el ? memmem(text + at, n - at, EOT_TEXT, el) : NULL;
        size_t stop = hit ? (size_t)(hit - text) : n;
        if (encode_ordinary(s, text + at, stop - at, out) != 0) return -2;
        if (!hit) break;
        t6_tokvec_reserve(out, 1);
        out->v[out->n++] = (uint32_t)s->b->eot;
        at = stop + el;
    }
    return 0;
}

size_t t6_bpe_decode(const t6_bpe *b, const uint32_t *ids, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= (uint32_t)b->vocab_size) return (size_t)-1;
        size_t l = b->len[ids[i]];
        if (o + l <= cap) memcpy(buf + o, b->bytes + b->off[ids[i]], l);
        o += l;
    }
    return o;
}

/* ---- UTF-8 (Unicode 15, table 3-7) --------------------------------------------- */
/* Length of the well-formed sequence at s[0..n), or 0 and *sub = length of the
 * maximal subpart (>= 1) when it is ill-formed. */
static inline size_t utf8_seq(const unsigned char *s, size_t n, size_t *sub)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    unsigned lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) need = 2;
    else if (c == 0xED) { need = 2; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) need = 2;
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) { need = 3; hi = 0x8F; }
    else { *sub = 1; return 0; }
    for (size_t k = 1; k <= need; k++) {
        if (k >= n) { *sub = k; return 0; }
        unsigned d = s[k];
        if (d < lo || d > hi) { *sub = k; return 0; }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

size_t t6_utf8_valid_prefix(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ull)) { i += 8; continue; }
        }
        if (s[i] < 0x80) { i++; continue; }
        size_t sub, k = utf8_seq(s + i, n - i, &sub);
        if (!k) return i;
        i += k;
    }
    return n;
}

size_t t6_utf8_sanitize(const char *str, size_t n, char **out, size_t *cap, size_t *n_repl)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t need = 3 * n + 1;
    if (*cap < need) {
        *out = t6_realloc(*out, need);
        *cap = need;
    }
    unsigned char *o = (unsigned char *)*out;
    size_t i = 0, j = 0, r = 0;
    while (i < n) {
        size_t sub, k = utf8_seq(s + i, n - i, &sub);
        if (k) {
            memcpy(o + j, s + i, k);
            j += k;
            i += k;
        } else {
            o[j++] = 0xEF; o[j++] = 0xBF; o[j++] = 0xBD;
            i += sub;
            r++;
        }
    }
    *n_repl = r;
    return j;
}

/* ---- sha256 (FIPS 180-4) ----------------------------------------------------------- */
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + K256[i] + w[i];
        uint32_t S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
        uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + mj;
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void t6_sha256_init(t6_sha256 *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->nbuf = 0;
}

void t6_sha256_update(t6_sha256 *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    c->len += n;
    while (n) {
        if (c->nbuf == 0 && n >= 64) {
            sha_block(c->h, p);
            p += 64;
            n -= 64;
            continue;
        }
        size_t k = 64 - c->nbuf < n ? 64 - c->nbuf : n;
        memcpy(c->buf + c->nbuf, p, k);
        c->nbuf += k;
        p += k;
        n -= k;
        if (c->nbuf == 64) {
            sha_block(c->h, c->buf);
            c->nbuf = 0;
        }
    }
}

void t6_sha256_hex(t6_sha256 *c, char out[65])
{
    uint64_t bits = c->len * 8;
    unsigned char pad = 0x80;
    t6_sha256_update(c, &pad, 1);
    unsigned char z = 0;
    while (c->nbuf != 56) t6_sha256_update(c, &z, 1);
    unsigned char lb[8];
    for (int i = 0; i < 8; i++) lb[i] = (unsigned char)(bits >> (56 - 8 * i));
    t6_sha256_update(c, lb, 8);
    for (int i = 0; i < 8; i++) snprintf(out + 8 * i, 9, "%08x", c->h[i]);
}
