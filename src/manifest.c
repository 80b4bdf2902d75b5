/* manifest.c -- reads t6-prep's NAME.manifest and checks one shard against it (see
 * manifest.h). The file is line based: "KEY VALUE" lines, one "shard FILE SPLIT TOKENS
 * DOCUMENTS BYTES SHA256" line per shard and "complete true" last; '#' starts a comment.
 * The sha256 is for tools (sha256sum); t6 checks the size and the counts, and the
 * shard's own Fletcher-32 checksums when it scans it (data.verify). */
#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* "DIR/NAME_train_000001.h5" -> "DIR/NAME.manifest"; 0 when the name has another form. */
static int manifest_path(const char *path, char *out, size_t len, const char **base)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    *base = b;
    size_t l = strlen(b);
    if (l < 14 || strcmp(b + l - 3, ".h5") != 0) return 0;
    const char *num = b + l - 9;          /* NNNNNN.h5 */
    for (int i = 0; i < 6; i++)
        if (num[i] < '0' || num[i] > '9') return 0;
    const char *split = NULL;
    if (num - b >= 7 && strncmp(num - 7, "_train_", 7) == 0) split = num - 7;
    else if (num - b >= 5 && strncmp(num - 5, "_val_", 5) == 0) split = num - 5;
    if (!split || split == b) return 0;
    snprintf(out, len, "%.*s%.*s.manifest", (int)(b - path), path, (int)(split - b), b);
    return 1;
}

int t6_manifest_check(const char *path, uint64_t n_tokens, uint64_t n_documents, int *checked,
                      char *err, size_t err_len)
{
    char mpath[4096], line[1024];
    const char *base;
    *checked = 0;
    if (!manifest_path(path, mpath, sizeof mpath, &base)) return 0;
    FILE *f = fopen(mpath, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        t6_seterr(err, err_len, "manifest '%s' of corpus '%s': %s", mpath, path, strerror(errno));
        return -1;
    }
    int complete = 0, format = 0, found = 0, lineno = 0;
    uint64_t tok = 0, docs = 0, bytes = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char name[512], split[16], sha[80];
        if (line[0] == '#') continue;
        if (strcmp(line, "format t6-corpus-manifest\n") == 0) format = 1;
        else if (strcmp(line, "complete true\n") == 0) complete = 1;
        else if (sscanf(line, "shard %511s %15s %" SCNu64 " %" SCNu64 " %" SCNu64 " %79s", name, split, &tok, &docs, &bytes,
                        sha) == 6 && strcmp(name, base) == 0) {
            found = lineno;
            break;
        }
    }
    if (found)
        while (fgets(line, sizeof line, f))
            if (strcmp(line, "complete true\n") == 0) complete = 1;
    fclose(f);
    const char *redo = "re-run t6-prep for this corpus (with --force), or remove the manifest if you changed the shards on purpose";
    if (!format) {
        t6_seterr(err, err_len, "manifest '%s' (beside corpus '%s') is not a t6-corpus manifest", mpath, path);
        return -1;
    }
    if (!complete) {
        t6_seterr(err, err_len, "manifest '%s' does not say 'complete true': the t6-prep run that wrote corpus '%s' did not "
                  "finish; %s", mpath, path, redo);
        return -1;
    }
    if (!found) {
        t6_seterr(err, err_len, "corpus '%s' is not listed in its manifest '%s': it comes from another run; %s", path, mpath, redo);
        return -1;
    }
    struct stat st;
    uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (tok != n_tokens || docs != n_documents || bytes != size) {
        t6_seterr(err, err_len, "corpus '%s' (%" PRIu64 " tokens, %" PRIu64 " documents, %" PRIu64 " bytes) differs from its "
                  "manifest '%s' line %d (%" PRIu64 " tokens, %" PRIu64 " documents, %" PRIu64 " bytes); %s",
                  path, n_tokens, n_documents, size, mpath, found, tok, docs, bytes, redo);
        return -1;
    }
    *checked = 1;
    return 0;
}
