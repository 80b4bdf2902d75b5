/* data.h -- the training and validation token streams of a run, read from t6-corpus
 * shards (src/corpus.h) named by the deck's data.train / data.val (files or globs,
 * or "builtin:demo-train" / "builtin:demo-val", the project's own synthetic corpus).
 *
 * Every training sequence has a global index k (k = 0, 1, 2, ... over the whole run).
 * Optimizer step s consumes the G = micro_batch * grad_accum * world sequences
 * k = next + j, j = (rank * grad_accum + micro) * micro_batch + row, so the ranks read
 * disjoint sequences and the global batch does not depend on how it is split into
 * ranks and micro-steps. Sequence k is
 *   random: a uniformly random shard, then a uniformly random window start in it
 *           (the reference's sampling), drawn from a counter-based hash of (seed, k);
 *   epoch:  window perm_e[k mod W] of the W non-overlapping windows of all shards,
 *           perm_e a seeded shuffle for epoch e = k / W.
 * So the whole loader state is `next` (plus the seed): saved in checkpoints. */
#ifndef T6_DATA_H
#define T6_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "deck.h"
#include "dist.h"

typedef struct t6_data t6_data;

/* Opens every shard, checks tokenizer agreement and vocab size against the model,
 * creates the builtin demo corpus under run_dir/data when asked for (rank 0, then a
 * barrier). Fatal with a message naming the deck key and file on any problem. */
t6_data *t6_data_open(const t6_deck *deck, t6_dist *dist);
void t6_data_close(t6_data *d);

/* Tokens and targets (B*T int32 each) of micro-step `micro` of the current step
 * for this rank. Targets are the inputs shifted by one. */
void t6_data_train_batch(t6_data *d, int micro, int32_t *tokens, int32_t *targets);
/* Moves the stream past the current step's global batch. */
void t6_data_advance(t6_data *d);

int t6_data_has_val(const t6_data *d);
/* Validation batch `it` (0 .. eval_iters-1, counted over all ranks: the loop gives
 * rank r the batches r, r+world, ...): the same sequences at every evaluation and
 * for any world size (the first non-overlapping windows of the val split). */
void t6_data_val_batch(t6_data *d, int it, int32_t *tokens, int32_t *targets);

/* Loader state kept in checkpoints. */
typedef struct {
    uint64_t seed;
    uint64_t next;          /* global index of the next sequence */
    uint64_t n_windows;     /* epoch mode: windows per epoch (a check on resume) */
    int sampling;           /* t6_sampling */
    uint64_t fingerprint;   /* of the training shards (t6_data_fingerprint); 0 = unknown */
} t6_data_state;
void t6_data_get_state(const t6_data *d, t6_data_state *st);
/* A 64-bit fingerprint of the training split as rank 0 opened it (0 on the other
 * ranks): FNV-1a over each shard's token and document counts, vocab_hash and three
 * 4096-token samples (head, middle, tail), in shard order. A checkpoint records it, so
 * a corpus replaced between runs, even by one of the same length, is noticed on resume
 * (content changes outside the samples are not). */
uint64_t t6_data_fingerprint(const t6_data *d);
uint64_t t6_data_train_tokens(const t6_data *d);
/* Restores the state; fatal when it cannot continue the same stream. */
void t6_data_set_state(t6_data *d, const t6_data_state *st, const char *ckpt_path);

/* Writes the builtin demo corpus ("train" or "val" split) to path through the
 * corpus writer: a deterministic synthetic token language with learnable structure
 * (bigram chains, counting runs, copied spans), vocab 512. Returns 0 or -1 + err. */
int t6_demo_corpus_write(const char *path, const char *split, char *err, size_t err_len);

#endif
