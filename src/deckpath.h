/* deckpath.h -- where `t6` looks for a deck given by name: the path as given, then
 * the folders of $T6_DECK_PATH (a colon list), then the installed input folder
 * ($(datadir)/t6/input, found beside the running t6 when the installed tree has been
 * moved or staged with DESTDIR). `t6 --deck-path` prints the folders. */
#ifndef T6_DECKPATH_H
#define T6_DECKPATH_H

#include <stddef.h>

typedef struct {
    char **dirs;  /* folders searched for a bare deck name, in order */
    int n_dirs;
    char *installed; /* the installed input folder (also the last entry of dirs) */
} t6_deck_path;

/* Builds the search path from $T6_DECK_PATH and the installed input folder. */
void t6_deck_path_init(t6_deck_path *dp);
void t6_deck_path_free(t6_deck_path *dp);

/* Resolves a deck argument to a newly allocated path. A name that exists as given,
 * or that contains a '/', is returned as given (the deck parser reports a missing
 * file). Any other name is searched for as NAME and NAME.cfg in each folder of the
 * path; when none exists, returns NULL with a message naming every folder in err. */
char *t6_deck_find(const t6_deck_path *dp, const char *name, char *err, size_t err_len);

/* The installed folder of this t6's shared files for a path configured below
 * the prefix (e.g. T6_INPUTDIR): the configured path, or the same path below the
 * prefix the running executable lives in when t6 has been moved from where it was
 * configured to be installed and that folder exists. Newly allocated. */
char *t6_installed_dir(const char *configured);

#endif
