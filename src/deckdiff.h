/* deckdiff.h -- resuming with a changed deck (doc/training.md, "Resuming with a
 * changed deck"): the checkpoint's `deck` attribute (the canonical text of the deck
 * it was written with) is compared key by key with the current deck. Changes that
 * keep the model and the data stream (lr, schedule, max_steps, intervals, ...) are
 * listed in a warning; changes that break them (model.*, data.*, micro_batch,
 * seq_len, grad_accum / global_batch, seed, accum_mode) are refused, each key with
 * its old and new value, unless output.resume_force is set. Runs after the
 * checkpoint loaded, so another model shape or world size has already been refused
 * by the loader's own, more specific message. */
#ifndef T6_DECKDIFF_H
#define T6_DECKDIFF_H

#include <stddef.h>

#include "deck.h"

/* One changed key. */
typedef struct {
    char key[64];
    char old_value[256], new_value[256];
    int breaking;   /* 1: the key changes the model or the data stream */
} t6_deck_change;

/* Compares two canonical deck texts (t6_deck_to_string). Returns the number of
 * changed keys, *out (malloc'd, may be NULL when 0) lists them in key order.
 * output.resume and output.resume_force themselves are not compared. */
int t6_deck_diff(const char *old_text, const char *new_text, t6_deck_change **out);

/* 1 when a change of key breaks the model or the data stream of a resumed run. */
int t6_deck_key_breaks_resume(const char *key);

/* Checks that the checkpoint at path may be resumed with deck: warns listing every
 * changed key, fatal (naming each breaking key with both values) when a breaking
 * key changed and deck->output.resume_force is off. A file that cannot be opened or
 * has no deck attribute is left to the checkpoint loader (returns -1 silently).
 * same_global_batch: the caller found the same sequences per optimizer step over all
 * ranks as the checkpoint's (train.c), so a change of train.micro_batch, grad_accum or
 * global_batch only re-splits the same batch over ranks and micro-steps (a resume on
 * another number of ranks) and does not break the data stream.
 * Returns the number of changed keys. */
int t6_deck_check_resume(const char *path, const t6_deck *deck, int same_global_batch);

#endif
