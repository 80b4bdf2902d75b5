/* metrics_read.h -- the reading side of the metrics module (metrics.h writes): loads a
 * "t6-metrics" file (doc/formats/metrics.md) into memory for t6-plot and summaries.
 * Opens without HDF5's file lock so a file still being written by a running job can be
 * read (as of its last flush). The rows are returned as one monotonic history: where
 * the step column goes back (a branch abandoned by a rollback and not cut off, in files
 * written before rollbacks truncated them) the later rows win. */
#ifndef T6_METRICS_READ_H
#define T6_METRICS_READ_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

typedef struct {
    char *path;
    int version;
    /* /train columns in the order of T6_M_* (metrics.h), n_train rows each, as double */
    size_t n_train;
    double *train[T6_M_NTRAIN];
    /* /eval columns in the order of T6_E_*, n_eval rows each */
    size_t n_eval;
    double *eval[T6_E_NEVAL];
    /* root attributes; NaN / empty string / -1 when the file predates them */
    double n_params, world_size, tokens_per_step, flops_per_token, peak_flops_per_rank;
    char attention[32];
    long n_layer, n_embd, n_head;
} t6_metrics_data;

/* Reads path. Returns NULL and writes a message naming the file and what is wrong into
 * err (missing file, not HDF5, not a t6 metrics file, missing or unreadable column). */
t6_metrics_data *t6_metrics_read(const char *path, char *err, size_t errlen);
void t6_metrics_data_free(t6_metrics_data *d);

/* Keeps a monotonic history: returns how many rows of the step column `step` (n rows)
 * survive and marks them in keep[] (1 = kept). A row is dropped when a later row has a
 * step <= its own (the later run redid that step). Exposed for tests. */
size_t t6_metrics_lineage(const double *step, size_t n, unsigned char *keep);

#endif
