/* memtrack.c -- the backends' allocation counter (src/memtrack.h) against a plain list:
 * many pointers whose hashes collide in runs (16-byte steps), removals in an order that
 * exercises the backward-shift deletion across table growth, current/peak/reset. */
#include "tmodel.h"

#include "memtrack.h"

enum { NP = 5000 };

int main(void)
{
    t6_memtrack *t = t6_memtrack_new();
    static char arena[NP * 16];
    static size_t size[NP];
    static int live[NP];
    size_t cur = 0, peak = 0;
    t6_rng r;
    t6_rng_init(&r, 3, 4);
    int bad_size = 0;
    for (int round = 0; round < 4; round++) {
        /* add every pointer not live, then remove a random two thirds */
        for (int i = 0; i < NP; i++)
            if (!live[i]) {
                size[i] = 1 + (size_t)t6_rng_next_below(&r, 100000);
                t6_memtrack_add(t, arena + 16 * i, size[i]);
                live[i] = 1;
                cur += size[i];
                if (cur > peak) peak = cur;
            }
        for (int i = 0; i < NP; i++)
            if (live[i] && t6_rng_next_below(&r, 3) != 0) {
                bad_size += t6_memtrack_remove(t, arena + 16 * i) != size[i];
                live[i] = 0;
                cur -= size[i];
            }
    }
    t6_mem_stats st;
    t6_memtrack_get(t, &st);
    tm_check(bad_size == 0, "every removal returned the size it was added with (%d wrong)", bad_size);
    tm_check(st.current == cur, "current %zu == the list's %zu", st.current, cur);
    tm_check(st.peak == peak, "peak %zu == the list's %zu", st.peak, peak);
    tm_check(t6_memtrack_remove(t, arena + 1) == 0 && t6_memtrack_remove(t, NULL) == 0,
             "unknown pointers and NULL remove nothing");
    t6_memtrack_reset_peak(t);
    t6_memtrack_get(t, &st);
    tm_check(st.peak == cur, "reset: peak = current (%zu)", st.peak);
    for (int i = 0; i < NP; i++)
        if (live[i]) t6_memtrack_remove(t, arena + 16 * i);
    t6_memtrack_get(t, &st);
    tm_check(st.current == 0 && st.peak == cur, "all removed: current 0, peak kept (%zu, %zu)", st.current, st.peak);
    t6_memtrack_free(t);

    char b[32];
    tm_check(strcmp(t6_fmt_mem(b, sizeof b, 1536), "1.50 KiB") == 0, "1536 bytes = %s", b);
    tm_check(strcmp(t6_fmt_mem(b, sizeof b, (size_t)3 << 30), "3.00 GiB") == 0, "3 GiB = %s", b);
    return tm_finish("memtrack");
}
