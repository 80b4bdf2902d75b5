/* ckpt.h -- HDF5 checkpoints ("t6-checkpoint" v1, doc/formats/checkpoint.md): the
 * deck and model config as attributes, every parameter by its reference state-dict
 * name (float32, (out, in) layout), the AdamW moments, step, tokens seen, the data
 * loader's state (which is also its RNG state), best val loss and world size.
 * Written under a temporary name, fsync'd, renamed, the directory fsync'd: a crash
 * never leaves a torn ckpt_*.h5. The HDF5 helpers it uses are in h5io.h. */
#ifndef T6_CKPT_H
#define T6_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "deck.h"
#include "params.h"

#define T6_CKPT_FORMAT "t6-checkpoint"
#define T6_CKPT_VERSION 1

typedef struct {
    long step;              /* optimizer steps completed */
    uint64_t tokens_seen;   /* training tokens over all ranks */
    double best_val_loss;   /* +inf before the first evaluation */
    int world_size;         /* ranks of the run that wrote it (information: resume may change it) */
    long long batch_sequences; /* sequences per optimizer step over all ranks; 0: older file, unknown */
    int grad_accum;         /* micro-steps per step per rank (0: older file) */
    long adam_t;            /* AdamW updates taken (bias-correction counter) */
    t6_data_state data;
    double guard_loss_mean; /* divergence guard's running mean loss (NaN: none yet) */
    long guard_skips;       /* steps skipped in a row by the guard */
    char lineage[96];       /* id of the run's lineage (src/lineage.h); "" in older files */
} t6_ckpt_state;

/* Host copies of what a checkpoint holds besides the scalars. */
typedef struct {
    float *params, *m, *v;  /* n_params each, in layout order */
} t6_ckpt_tensors;

/* Writes dir/ckpt_<step>.h5 (8 digits). Fatal on I/O errors, and before writing
 * anything when dir's file system has less free space than t6_ckpt_estimate_bytes;
 * on every failure the temporary file is removed and the message names the file, the
 * bytes it needs and the free space. path_out (may be NULL) receives the final path. */
void t6_ckpt_write(const char *dir, const t6_deck *deck, const t6_param_layout *pl,
                   const t6_ckpt_tensors *t, const t6_ckpt_state *st, char *path_out, size_t path_len);

/* An upper estimate of the size of a checkpoint of this model, in bytes: three
 * float32 copies of the parameters (weights, two AdamW moments) plus per-tensor and
 * fixed HDF5 overhead and the deck text. */
long long t6_ckpt_estimate_bytes(const t6_deck *deck, const t6_param_layout *pl);

/* Loads a checkpoint into t (allocated by the caller, n_params floats each).
 * Returns 0; or -1 with a message in err when the file is not a complete, readable
 * checkpoint (missing, truncated, corrupt: auto-resume skips it). A checkpoint that
 * is valid but does not fit this run (another model shape, world size, tensor
 * shape) is fatal, naming the attribute or tensor. world_size <= 0 skips the
 * world-size check (evaluation; training, which checks the global batch instead). */
int t6_ckpt_load(const char *path, const t6_deck *deck, const t6_param_layout *pl, int world_size,
                 t6_ckpt_tensors *t, t6_ckpt_state *st, char *err, size_t err_len);

/* The model configuration a complete checkpoint was written for (its model.*
 * attributes; mlp_hidden included), without a deck: `t6 --export-hf`. Returns 0, or
 * -1 with a message naming the file and attribute. */
int t6_ckpt_read_config(const char *path, t6_model_config *cfg, char *err, size_t err_len);

/* Only the parameters of a complete checkpoint, for a model of config cfg (layout pl):
 * model.init_from and the export. A checkpoint of another model is an error naming the
 * first attribute that differs. Returns 0, or -1 with a message in err. */
int t6_ckpt_load_params(const char *path, const t6_model_config *cfg, const t6_param_layout *pl, float *params,
                        char *err, size_t err_len);

/* Checkpoint files ckpt_*.h5 in dir, newest (highest step) first. Returns the count;
 * *paths (malloc'd array of malloc'd strings) and *steps may be NULL. */
int t6_ckpt_list(const char *dir, char ***paths, long **steps);
void t6_ckpt_list_free(char **paths, long *steps, int n);

/* Removes temporary files a crash left behind (".ckpt_*.tmp.<pid>"), with a warning,
 * but only those whose writer pid is dead or ours (rundir.h). */
void t6_ckpt_clean_temp(const char *dir);

#endif
