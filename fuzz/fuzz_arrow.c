/* fuzz_arrow.c -- libFuzzer target for the Arrow IPC stream reader of the evaluation
 * (src/eval/arrow.c): any bytes as a whole file; parse, then convert every row to
 * JSON, which reads every value. Errors are fine, crashes, leaks and out-of-bounds
 * reads are not. Seeds: the hf-arrow files of ../shared/data and mkarrow.py's output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/arrow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy (the reader takes ownership), so reads past the input are caught */
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    char err[1024];
    t6_arrow_table t;
    if (t6_arrow_parse("fuzz", copy, size, &t, err, sizeof err) == 0) {
        for (int b = 0; b < t.n_batches; b++)
            for (int64_t i = 0; i < t.batches[b].length && i < 100000; i++) {
                json_t *o = t6_arrow_row_json(&t, &t.batches[b], i, err, sizeof err);
                json_decref(o);
            }
        t6_arrow_close(&t);
    }
    return 0;
}
