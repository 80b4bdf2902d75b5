/* arrowdump.c -- prints an Arrow IPC stream file as t6 reads it (src/eval/arrow.c):
 * one compact JSON object per row, keys in schema order, for tests/eval/arrow.sh to
 * compare with the JSONL export of the same table; with --schema, the columns and
 * their types, each record batch (its message's first byte, the end of its body, its
 * rows) and the totals. Errors go to stderr
 * with exit status 1.
 *   arrowdump [--schema] FILE.arrow */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/arrow.h"

int main(int argc, char **argv)
{
    int schema = argc > 1 && strcmp(argv[1], "--schema") == 0;
    if (argc != 2 + schema) { fprintf(stderr, "usage: arrowdump [--schema] FILE.arrow\n"); return 2; }
    char err[1024];
    t6_arrow_table t;
    if (t6_arrow_open(argv[1 + schema], &t, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    int rc = 0;
    if (schema) {
        for (int i = 0; i < t.schema.n_children; i++) {
            char ty[1024];
            t6_arrow_type_name(&t.schema.children[i], ty, sizeof ty);
            printf("%s: %s\n", t.schema.children[i].name, ty);
        }
        for (int b = 0; b < t.n_batches; b++)
            printf("batch %d: bytes %zu %zu, %lld rows\n", b + 1, t.batches[b].msg_pos, t.batches[b].msg_end,
                   (long long)t.batches[b].length);
        printf("%d batches, %lld rows\n", t.n_batches, (long long)t.n_rows);
    } else {
        for (int b = 0; b < t.n_batches && !rc; b++)
            for (int64_t i = 0; i < t.batches[b].length; i++) {
                json_t *o = t6_arrow_row_json(&t, &t.batches[b], i, err, sizeof err);
                char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
                json_decref(o);
                if (!s) { fprintf(stderr, "%s\n", o ? "out of memory" : err); rc = 1; break; }
                puts(s);
                free(s);
            }
    }
    t6_arrow_close(&t);
    return rc;
}
