/* textstream.c -- streaming of generated text (src/textstream.h): multi-byte UTF-8
 * characters split across tokens come out whole, never halved; ill-formed bytes come
 * out as U+FFFD; stop strings end the text (not printed) even when they arrive in
 * pieces, and a tail that only looks like the start of one is released once it is not. */
#include <stdio.h>
#include <string.h>

#include "textstream.h"

static int failures = 0;

/* Pushes the pieces, taking after each; the takes are concatenated into got, and every
 * take must be valid on its own (checked by the caller's expected chunking in `chunks`,
 * the takes joined with '|'). */
static void run(const char *what, const char *const *stop, int n_stop, const char *const *pieces, int n,
                const char *want_text, const char *want_chunks)
{
    t6_textstream s;
    t6_textstream_init(&s, stop, n_stop);
    char got[512] = "", chunks[1024] = "";
    for (int i = 0; i <= n; i++) {
        if (i < n) t6_textstream_push(&s, pieces[i], strlen(pieces[i]));
        const char *out;
        size_t k = t6_textstream_take(&s, i == n, &out);
        strncat(got, out, k);
        if (i) strcat(chunks, "|");
        strncat(chunks, out, k);
    }
    int ok = strcmp(got, want_text) == 0 && (!want_chunks || strcmp(chunks, want_chunks) == 0);
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) {
        printf("   got:  [%s] chunks [%s]\n   want: [%s] chunks [%s]\n", got, chunks, want_text,
               want_chunks ? want_chunks : "(any)");
        failures++;
    }
    t6_textstream_free(&s);
}

int main(void)
{
    {   /* "é" = C3 A9 over two tokens: nothing, then the whole character */
        const char *p[] = {"caf", "\xC3", "\xA9", "!"};
        run("2-byte character split over two tokens", NULL, 0, p, 4, "caf\xC3\xA9!", "caf||\xC3\xA9|!|");
    }
    {   /* U+1F600 = F0 9F 98 80 over four tokens */
        const char *p[] = {"\xF0", "\x9F", "\x98", "\x80"};
        run("4-byte character split over four tokens", NULL, 0, p, 4, "\xF0\x9F\x98\x80", "|||\xF0\x9F\x98\x80|");
    }
    {   /* 日 = E6 97 A5 split 1+2 after ASCII */
        const char *p[] = {"a\xE6", "\x97\xA5" "b"};
        run("3-byte character split 1+2", NULL, 0, p, 2, "a\xE6\x97\xA5" "b", "a|\xE6\x97\xA5" "b|");
    }
    {   /* ill-formed bytes are replaced at once; an incomplete tail at the end too */
        const char *p[] = {"x\xFFy", "\xE6\x97"};
        run("ill-formed bytes and an unfinished tail become U+FFFD", NULL, 0, p, 2,
            "x\xEF\xBF\xBDy\xEF\xBF\xBD", "x\xEF\xBF\xBDy||\xEF\xBF\xBD");
    }
    {   /* a lead byte followed by a non-continuation: U+FFFD for the lead, then the char */
        const char *p[] = {"\xC3", "A"};
        run("a broken sequence does not swallow the next character", NULL, 0, p, 2, "\xEF\xBF\xBD" "A", NULL);
    }
    {
        const char *stop[] = {"END"};
        const char *p[] = {"abcE", "N", "D more text", "ignored"};
        run("stop string arriving in pieces ends the text before it", stop, 1, p, 4, "abc", "abc||||");
    }
    {
        const char *stop[] = {"END"};
        const char *p[] = {"xE", "y", "EN", "d"};
        run("a held tail that is not a stop string is released", stop, 1, p, 4, "xEyENd", "x|Ey||ENd|");
    }
    {   /* the stop string is multi-byte text split inside a character */
        const char *stop[] = {"\xE6\x97\xA5\xE6\x9C\xAC"};   /* 日本 */
        const char *p[] = {"ok \xE6\x97", "\xA5\xE6", "\x9C\xAC", "tail"};
        run("multi-byte stop string split inside its characters", stop, 1, p, 4, "ok ", NULL);
    }
    {
        const char *stop[] = {"\n\n", "###"};
        const char *p[] = {"line\n", "more\n", "\n", "after"};
        run("first of several stop strings", stop, 2, p, 4, "line\nmore", NULL);
    }
    {   /* cut short by a signal (T6_TS_CUT): only whole characters, the unfinished one
         * dropped rather than turned into U+FFFD; a held stop-string prefix is text, and
         * ill-formed bytes before it are still U+FFFD */
        const char *stop[] = {"END"};
        struct { const char *what, *push, *want; } c[] = {
            {"cut inside a 3-byte character: dropped", "a\xE6\x97", "a"},
            {"cut inside a 4-byte character: dropped", "\xC3\xA9\xF0\x9F\x98", "\xC3\xA9"},
            {"cut after a whole character: all of it", "x\xE6\x97\xA5", "x\xE6\x97\xA5"},
            {"cut with a held stop-string prefix: released", "ab EN", "ab EN"},
            {"cut: ill-formed bytes still U+FFFD, the unfinished tail dropped", "\xFFz\xE6", "\xEF\xBF\xBDz"},
        };
        for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
            t6_textstream s;
            t6_textstream_init(&s, stop, 1);
            char got[64] = "";
            const char *out;
            /* byte by byte, as tokens would bring them, then the cut */
            for (const char *q = c[i].push; *q; q++) {
                t6_textstream_push(&s, q, 1);
                size_t k = t6_textstream_take(&s, T6_TS_MORE, &out);
                strncat(got, out, k);
            }
            size_t k = t6_textstream_take(&s, T6_TS_CUT, &out);
            strncat(got, out, k);
            const int ok = strcmp(got, c[i].want) == 0;
            printf("%s: %s\n", ok ? "ok  " : "FAIL", c[i].what);
            if (!ok) {
                printf("   got:  [%s]\n   want: [%s]\n", got, c[i].want);
                failures++;
            }
            t6_textstream_free(&s);
        }
    }
    printf("textstream: %s\n", failures ? "FAILED" : "all checks passed");
    return failures != 0;
}
