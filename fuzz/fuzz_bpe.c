/* fuzz_bpe.c -- libFuzzer target for the GPT-2 tokenizer: any bytes are sanitized to
 * UTF-8 (Python's replace policy), encoded with the cached scan merge and with the
 * uncached heap merge (they must agree), and decoded back (must round-trip). Invalid
 * input given straight to t6_bpe_encode must be refused, never crash.
 * Needs T6_VOCAB (default ../shared/data/gpt2). See fuzz/README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"

static t6_bpe *bpe;
static t6_bpe_state *fast, *heap;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("T6_VOCAB") ? getenv("T6_VOCAB") : "../shared/data/gpt2";
    char err[1024];
    bpe = t6_bpe_load(dir, NULL, err, sizeof err);
    if (!bpe) { fprintf(stderr, "fuzz_bpe: %s (set T6_VOCAB)\n", err); exit(1); }
    fast = t6_bpe_state_new(bpe);
    heap = t6_bpe_state_new(bpe);
    t6_bpe_state_set_cache(heap, 0);
    t6_bpe_state_set_heap_threshold(heap, 2);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *clean;
    static size_t cap;
    t6_tokvec a = {0}, b = {0};
    size_t repl, n = t6_utf8_sanitize((const char *)data, size, &clean, &cap, &repl);
    int rc = t6_bpe_encode(fast, (const char *)data, size, size & 1, &a);
    if ((rc == 0) != (repl == 0)) abort();
    a.n = 0;
    if (t6_bpe_encode(fast, clean, n, 0, &a) != 0) abort();
    if (t6_bpe_encode(heap, clean, n, 0, &b) != 0) abort();
    if (a.n != b.n || (a.n && memcmp(a.v, b.v, a.n * sizeof *a.v) != 0)) abort();
    char *dec = malloc(n + 1);
    if (t6_bpe_decode(bpe, a.v, a.n, dec, n) != n || (n && memcmp(dec, clean, n) != 0)) abort();
    free(dec);
    t6_tokvec_free(&a);
    t6_tokvec_free(&b);
    return 0;
}
