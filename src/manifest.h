/* manifest.h -- the NAME.manifest that t6-prep writes beside its shards once all of
 * them are complete (doc/formats/corpus.md, "Manifest"). t6 checks a shard against it
 * when one is present: a shard it does not list, or whose size or counts differ, comes
 * from an unfinished or different run. */
#ifndef T6_MANIFEST_H
#define T6_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

/* Checks the shard at path (n_tokens / n_documents as its attributes say) against the
 * manifest of its name in its folder: "DIR/NAME_{train,val}_NNNNNN.h5" -> "DIR/NAME.manifest".
 * 0: consistent, or no manifest (*checked = 0); -1 with a message naming both files. */
int t6_manifest_check(const char *path, uint64_t n_tokens, uint64_t n_documents, int *checked,
                      char *err, size_t err_len);

#endif
