/* lineage.c -- unit test of t6_metrics_lineage (src/metrics_read.c): a history whose
 * step column goes back (a rolled-back branch left in the file) keeps only the rows
 * of the branch that continued, so every curve drawn is monotonic in steps. */
#include <stdio.h>
#include <string.h>

#include "metrics_read.h"

static int failures;

static void expect(const char *what, const double *step, size_t n, const char *want)
{
    unsigned char keep[64];
    size_t k = t6_metrics_lineage(step, n, keep);
    char got[64];
    for (size_t i = 0; i < n; i++) got[i] = keep[i] ? '1' : '0';
    got[n] = 0;
    size_t want_k = 0;
    for (size_t i = 0; i < n; i++) want_k += want[i] == '1';
    if (strcmp(got, want) != 0 || k != want_k) {
        printf("FAIL: %s: kept %s (%zu), want %s (%zu)\n", what, got, k, want, want_k);
        failures++;
    } else {
        printf("ok: %s\n", what);
    }
}

int main(void)
{
    /* the scenario: 1..7 written, rolled back to 5 after 12, then 6,7 redone */
    double a[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 6, 7, 8};
    expect("rollback to 5 after 12", a, 15, "111110000000111");
    double b[] = {1, 2, 3, 4};
    expect("monotonic history untouched", b, 4, "1111");
    double c[] = {0, 5, 5, 10};
    expect("repeated step: the later row wins", c, 4, "1011");
    double d[] = {3, 1, 2};
    expect("restart from scratch", d, 3, "011");
    expect("empty", d, 0, "");
    return failures ? 1 : 0;
}
