/* output.h -- t6-prep's shard output (prep/output.c): cuts the document stream into
 * --shard-tokens shards per split, merges a runt last shard into the one before,
 * writes everything into a private temporary folder and moves it into place only
 * when the run completed, followed by the NAME.manifest that marks it complete
 * (doc/formats/corpus.md). An interrupted or failed run leaves the output folder as
 * it was. */
#ifndef T6_PREP_OUTPUT_H
#define T6_PREP_OUTPUT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "corpus.h"
#include "options.h"

typedef struct t6_out t6_out;

/* Creates -o (and its parents), refuses existing shards of --name unless --force, and
 * creates the temporary folder. `files` names the inputs (for the shards' source
 * attribute). Fatal with a message on any problem. */
t6_out *t6_out_open(const options *o, const t6_corpus_meta *meta, char *const *files);
/* One document's tokens (delimiter included; n may be 0: an empty document keeps its
 * /doc_offsets entry) to the train or val split; src indexes files. */
void t6_out_doc(t6_out *out, int val, const uint32_t *tokens, size_t n, int src);
uint64_t t6_out_tokens(const t6_out *out, int val);
uint64_t t6_out_docs(const t6_out *out, int val);
/* Whether the next document goes to the val split under --val first-shard. */
int t6_out_first_shard_open(const t6_out *out);
/* End of input: closes the last shards and writes the manifest into the temporary
 * folder (reads every shard back for its sha256; the output folder is not touched).
 * Returns -1 when *stop became non-zero meanwhile (a signal), else 0. */
int t6_out_prepare(t6_out *out, volatile sig_atomic_t *stop);
/* Moves the new shards into -o (replacing old ones of the name under --force) and the
 * manifest last; a "complete false" manifest stands in while they move. Prints
 * "  wrote PATH" lines to stdout. Short: the caller blocks signals around it. */
void t6_out_install(t6_out *out);
/* Removes the temporary folder and everything in it (errors, signals). Safe twice. */
void t6_out_abort(t6_out *out);
void t6_out_free(t6_out *out);

#endif
