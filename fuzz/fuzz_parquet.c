/* fuzz_parquet.c -- libFuzzer target for the Parquet subset reader: any bytes as a
 * whole file; open, then read every value of column "text". Errors are fine, crashes,
 * leaks and out-of-bounds reads are not. See fuzz/README.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy, so that reads past the input are caught exactly */
    unsigned char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    char err[1024];
    t6_parquet *p = t6_parquet_open(copy, size, "text", "fuzz", err, sizeof err);
    if (p) {
        const char *t;
        size_t n, sum = 0;
        int rc, k = 0;
        while ((rc = t6_parquet_next(p, &t, &n, err, sizeof err)) > 0 && k++ < 1000000)
            if (rc == 1 && n) sum += (unsigned char)t[0] + (unsigned char)t[n - 1];
        (void)sum;
        t6_parquet_close(p);
    }
    free(copy);
    return 0;
}
