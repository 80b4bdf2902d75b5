/* textstream.h -- the text of one generation on its way to stdout: bytes arrive token
 * by token (a multi-byte UTF-8 character may be split over several tokens, and GPT-2
 * BPE does split them), and are released only when they can no longer change:
 *  - a UTF-8 sequence is held back until it is complete; ill-formed bytes come out as
 *    U+FFFD (as Python's errors="replace" does, one per maximal ill-formed subpart);
 *  - a tail that could be the start of a stop string is held back until it is not;
 *  - once a stop string appears the text ends just before it (the stop string itself
 *    is not printed) and later bytes are ignored.
 * Pure byte logic, no I/O (tests/gen/textstream.c). */
#ifndef T6_TEXTSTREAM_H
#define T6_TEXTSTREAM_H

#include <stddef.h>

typedef struct {
    char *raw;               /* every byte pushed (up to a stop string) */
    size_t len, cap;
    size_t done;             /* raw bytes already turned into output */
    char *out;               /* output of the last t6_textstream_take */
    size_t out_cap;
    const char *const *stop; /* not owned */
    int n_stop;
    int stopped;             /* a stop string was found */
} t6_textstream;

void t6_textstream_init(t6_textstream *s, const char *const *stop, int n_stop);
void t6_textstream_free(t6_textstream *s);
/* Appends bytes; returns 1 once the text contains a stop string (then and after). */
int t6_textstream_push(t6_textstream *s, const char *bytes, size_t n);
/* How much t6_textstream_take may release. */
enum {
    T6_TS_MORE = 0,   /* more bytes may follow: hold back what could still change */
    T6_TS_END = 1,    /* the generation ended: release everything; an incomplete trailing
                       * sequence becomes U+FFFD, a held stop-string prefix is text */
    T6_TS_CUT = 2     /* the generation was cut short (a signal): as T6_TS_END, but an
                       * incomplete trailing sequence is dropped, not replaced: its
                       * character was never finished, so only whole characters appear */
};
/* The next printable bytes (valid UTF-8) into *out (owned by s, valid until the next
 * call); returns their count. final is one of the T6_TS_* above (0 and 1 as before). */
size_t t6_textstream_take(t6_textstream *s, int final, const char **out);

#endif
