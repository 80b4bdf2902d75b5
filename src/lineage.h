/* lineage.h -- the history of a run directory's checkpoints (doc/training.md,
 * "Rolling back" and "Divergence guard"): resuming from an older checkpoint moves the
 * newer ones aside, so the next `resume = "auto"` continues the branch the user chose
 * and retention only ever sees that branch; and the "last good" link, the newest
 * checkpoint the divergence guard vouches for, which retention never deletes. */
#ifndef T6_LINEAGE_H
#define T6_LINEAGE_H

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
