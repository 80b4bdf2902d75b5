/* generate.h -- job = "generate" (doc/generate.md): text generation from a trained
 * checkpoint with a KV cache, streamed to stdout. */
#ifndef T6_GENERATE_H
#define T6_GENERATE_H

#include "deck.h"

/* Runs the generate job of the deck; returns the exit status (0 also after a stop
 * signal, with the text so far printed). Fatal with a clear message on bad input. */
int t6_generate_run(t6_deck *deck);

#endif
