/* metrics.h -- the run's HDF5 metrics file ("t6-metrics" v3, doc/formats/metrics.md):
 * one extendible, chunked 1-D dataset per quantity under /train (a row per
 * optimizer step) and /eval (a row per evaluation), flushed every log interval so
 * `h5dump -d /train/loss run/metrics.h5` reads a running job. Written by rank 0. */
#ifndef T6_METRICS_H
#define T6_METRICS_H

#include <stdint.h>

#define T6_METRICS_FORMAT "t6-metrics"
#define T6_METRICS_VERSION 3   /* 2: /train/guard; 3: /train/mem_peak_bytes */

/* Columns of /train, in the order of the values passed to t6_metrics_train_row. */
enum {
    T6_M_STEP = 0, T6_M_LOSS, T6_M_LR, T6_M_GRAD_NORM, T6_M_PARAM_NORM, T6_M_CLIPPED,
    T6_M_TOKENS_SEEN, T6_M_STEP_TIME, T6_M_TOKENS_PER_S, T6_M_MFU, T6_M_GUARD, T6_M_MEM_PEAK, T6_M_NTRAIN
};
/* Values of the guard column: what the divergence guard did with the step. */
enum { T6_GUARD_OK = 0, T6_GUARD_SKIPPED = 1, T6_GUARD_STOPPED = 2 };
/* Columns of /eval. */
enum { T6_E_STEP = 0, T6_E_VAL_LOSS, T6_E_PPL, T6_E_NEVAL };

typedef struct t6_metrics t6_metrics;

/* Opens path. resume_step < 0: a new run, an old t6 metrics file is replaced.
 * Otherwise the file is kept (or created) and rows with step > resume_step are cut
 * off, so a resumed run continues a consistent record; a gap before resume_step is
 * warned about. A file that is damaged, or (on resume with check_lineage) of another
 * lineage than `lineage` (the run's lineage.id, recorded in the file; not checked when
 * the checkpoint predates lineages and the id was just drawn), is renamed aside to
 * "<path>.damaged-<UTC>" / "<path>.other-run-<UTC>" with a warning, never
 * overwritten; an HDF5 file that is not a t6 metrics file, or one t6 may not write,
 * is a fatal error. */
t6_metrics *t6_metrics_open(const char *path, long resume_step, const char *lineage, int check_lineage);
/* Run-level attributes on the root group (written once). */
void t6_metrics_attr_i64(t6_metrics *m, const char *name, int64_t v);
void t6_metrics_attr_f64(t6_metrics *m, const char *name, double v);
void t6_metrics_attr_str(t6_metrics *m, const char *name, const char *v);

void t6_metrics_train_row(t6_metrics *m, const double v[T6_M_NTRAIN]);
void t6_metrics_eval_row(t6_metrics *m, const double v[T6_E_NEVAL]);
/* H5Fflush: what was appended becomes visible to readers of the file. */
void t6_metrics_flush(t6_metrics *m);
/* Flush and fsync: called before each checkpoint, so that a checkpoint on disk never
 * has steps the metrics file on disk lacks (a kill -9 or node crash after it would
 * leave a gap in the curve). */
void t6_metrics_sync(t6_metrics *m);
void t6_metrics_close(t6_metrics *m);

#endif
