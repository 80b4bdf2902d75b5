/* textstream.c -- UTF-8 and stop-string hold-back of streamed generations (textstream.h). */
#include "textstream.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void t6_textstream_init(t6_textstream *s, const char *const *stop, int n_stop)
{
    memset(s, 0, sizeof *s);
    s->stop = stop;
    s->n_stop = n_stop;
}

void t6_textstream_free(t6_textstream *s)
{
    free(s->raw);
    free(s->out);
    memset(s, 0, sizeof *s);
}

int t6_textstream_push(t6_textstream *s, const char *bytes, size_t n)
{
    if (s->stopped) return 1;
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->raw = t6_realloc(s->raw, s->cap);
    }
    memcpy(s->raw + s->len, bytes, n);
    const size_t old = s->len;
    s->len += n;
    /* a stop string can only end in the new bytes: search from where it could start */
    size_t cut = (size_t)-1;
    for (int i = 0; i < s->n_stop; i++) {
        const size_t sl = strlen(s->stop[i]);
        if (!sl || sl > s->len) continue;
        size_t from = old + 1 > sl ? old + 1 - sl : 0;
        for (size_t p = from; p + sl <= s->len; p++)
            if (memcmp(s->raw + p, s->stop[i], sl) == 0) {
                if (p < cut) cut = p;
                break;
            }
    }
    if (cut != (size_t)-1) {
        s->len = cut;   /* the text ends before the stop string */
        s->stopped = 1;
    }
    return s->stopped;
}

/* Length of the well-formed sequence at p (1..4), 0 when it is incomplete but could
 * still become well-formed with more bytes, or -k for k ill-formed bytes (the maximal
 * subpart, replaced by one U+FFFD). */
static int utf8_seq(const unsigned char *p, size_t avail)
{
    const unsigned char c = p[0];
    int need;
    unsigned char lo = 0x80, hi = 0xBF;   /* range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return -1;
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= avail) return 0;
        const unsigned char b = p[i];
        const int ok = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
        if (!ok) return -i;
    }
    return need;
}

/* Bytes at the end of raw[from..len) that are a proper prefix of a stop string. */
static size_t stop_prefix_tail(const t6_textstream *s, size_t from)
{
    size_t best = 0;
    for (int i = 0; i < s->n_stop; i++) {
        const size_t sl = strlen(s->stop[i]);
        for (size_t k = sl > 0 ? sl - 1 : 0; k > best; k--)
            if (k <= s->len - from && memcmp(s->raw + s->len - k, s->stop[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

size_t t6_textstream_take(t6_textstream *s, int final, const char **out)
{
    const int all = final || s->stopped;
    size_t end = s->len;
    if (!all) end -= stop_prefix_tail(s, s->done);
    size_t need = (end - s->done) * 3 + 4;   /* U+FFFD (3 bytes) per bad byte at most */
    if (need > s->out_cap) {
        s->out_cap = need;
        s->out = t6_realloc(s->out, need);
    }
    size_t o = 0, p = s->done;
    while (p < end) {
        const int k = utf8_seq((const unsigned char *)s->raw + p, end - p);
        if (k > 0) {
            memcpy(s->out + o, s->raw + p, (size_t)k);
            o += (size_t)k;
            p += (size_t)k;
        } else if (k == 0 && !all) {
            break;   /* incomplete: wait for the next token's bytes */
        } else if (k == 0 && final == T6_TS_CUT) {
            p = end;   /* cut short inside a character: drop its first bytes */
        } else {
            memcpy(s->out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p += k < 0 ? (size_t)-k : end - p;   /* incomplete at the very end: one U+FFFD */
        }
    }
    s->done = p;
    *out = s->out;
    return o;
}
