/* lineage.h -- the history of a run directory's checkpoints (doc/training.md,
 * "Rolling back" and "Divergence guard"): resuming from an older checkpoint moves the
 * newer ones aside, so the next `resume = "auto"` continues the branch the user chose;
 * retention counts and deletes only checkpoints of the run's own lineage (the id a
 * fresh start draws and every resume inherits, attribute "lineage.id"); and the
 * "last good" link, the newest checkpoint the divergence guard vouches for, which
 * retention never deletes. */
#ifndef T6_LINEAGE_H
#define T6_LINEAGE_H

#include <stddef.h>

/* Name of the last-good link in the checkpoint directory. */
#define T6_LAST_GOOD "last-good.h5"

/* A new lineage id: "<UTC time>-<host>-<pid>", unique per fresh start. */
void t6_lineage_new_id(char *id, size_t len);

/* Retention: of the ckpt_*.h5 directly in dir that belong to lineage (same
 * lineage.id, or none recorded: files of older t6, and unreadable ones), keeps the
 * keep_last newest, those whose step is a multiple of milestone_interval (> 0) and
 * the last-good target; deletes the rest. Checkpoints of other lineages (a run
 * directory that resumed from another run's checkpoint) and abandoned-* folders are
 * never touched. */
void t6_lineage_prune(const char *dir, int keep_last, int milestone_interval, const char *lineage);

/* Moves every ckpt_*.h5 in dir whose step is greater than resumed_step into a new
 * dir/abandoned-<UTC time>/ together with a copy of the metrics file (metrics_path:
 * skipped when NULL or absent), says so on stdout and returns how many checkpoints
 * moved (0: nothing to do, no folder made). A last-good link whose target moved is
 * pointed at resumed_path when that lies in dir, else removed. Fatal on I/O errors
 * (a half-done rollback must not go unnoticed). */
int t6_lineage_rollback(const char *dir, long resumed_step, const char *resumed_path, const char *metrics_path);

/* Points dir/last-good.h5 at ckpt_path's file (a relative symbolic link, replaced
 * atomically). Warns, does not fail, when the file system has no symbolic links. */
void t6_lineage_set_last_good(const char *dir, const char *ckpt_path);

#endif
