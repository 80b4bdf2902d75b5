/* fuzz_jsonl.c -- libFuzzer target for the JSONL line decoder: the input is split into
 * lines, each given to t6_jsonl_line with field "text". See fuzz/README.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *scratch = NULL, err[512];
    size_t cap = 0, at = 0;
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - data) : size;
        char *line = malloc(end - at + 1);
        memcpy(line, data + at, end - at);
        const char *t;
        size_t n;
        if (t6_jsonl_line(line, end - at, "text", &scratch, &cap, &t, &n, err, sizeof err) == 1 && n)
            if (t[0] == 0 && t[n - 1] == 1) err[0] = 0;
        free(line);
        at = end + 1;
    }
    free(scratch);
    return 0;
}
