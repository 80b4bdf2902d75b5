/* deckpath.c -- the deck search path of `t6` (see deckpath.h): $T6_DECK_PATH, then
 * the installed input folder. An installed tree is found where configure put it, or
 * below the prefix the running t6 is in, so that a tree staged with DESTDIR (the
 * install test) or moved to another prefix by a site still finds its own decks. */
#include "deckpath.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = t6_malloc(la + lb + 2);
    memcpy(s, a, la);
    size_t k = la;
    if (la && a[la - 1] != '/') s[k++] = '/';
    memcpy(s + k, b, lb + 1);
    return s;
}

/* The folder of the running executable (Linux /proc), or NULL. */
static char *exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash) return NULL;
    *slash = '\0';
    return t6_strdup(buf[0] ? buf : "/");
}

char *t6_installed_dir(const char *configured)
{
    const char *prefix = T6_PREFIX, *bindir = T6_BINDIR;
    size_t lp = strlen(prefix);
    while (lp > 1 && prefix[lp - 1] == '/') lp--;
    char *dir = exe_dir();
    /* Relocation applies only when both the configured bindir and the folder lie
     * below the configured prefix (the usual layout); then the running t6's folder
     * minus bindir's part below the prefix is the prefix it was installed under. */
    if (dir && strcmp(dir, bindir) != 0 && strncmp(bindir, prefix, lp) == 0 &&
        strncmp(configured, prefix, lp) == 0) {
        const char *bin_rel = bindir + lp; /* e.g. "/bin" */
        size_t ld = strlen(dir), lr = strlen(bin_rel);
        if (lr > 0 && ld > lr && strcmp(dir + ld - lr, bin_rel) == 0) {
            dir[ld - lr] = '\0';
            char *moved = t6_malloc(strlen(dir) + strlen(configured + lp) + 1);
            strcpy(moved, dir);
            strcat(moved, configured + lp);
            free(dir);
            if (is_dir(moved)) return moved;
            free(moved);
            return t6_strdup(configured);
        }
    }
    free(dir);
    return t6_strdup(configured);
}

void t6_deck_path_init(t6_deck_path *dp)
{
    memset(dp, 0, sizeof *dp);
    const char *env = getenv("T6_DECK_PATH");
    size_t cap = 2;
    for (const char *c = env ? env : ""; *c; c++) cap += *c == ':';
    dp->dirs = t6_calloc(cap, sizeof *dp->dirs);
    if (env) {
        char *copy = t6_strdup(env), *save = NULL;
        /* empty elements ("a::b", a trailing ':') are skipped, not read as "." */
        for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
            dp->dirs[dp->n_dirs++] = t6_strdup(t);
        free(copy);
    }
    dp->installed = t6_installed_dir(T6_INPUTDIR);
    dp->dirs[dp->n_dirs++] = t6_strdup(dp->installed);
}

void t6_deck_path_free(t6_deck_path *dp)
{
    for (int i = 0; i < dp->n_dirs; i++) free(dp->dirs[i]);
    free(dp->dirs);
    free(dp->installed);
    memset(dp, 0, sizeof *dp);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

char *t6_deck_find(const t6_deck_path *dp, const char *name, char *err, size_t err_len)
{
    /* A path (or a name that exists) is the deck parser's to read or to refuse. */
    if (is_file(name) || !*name || strchr(name, '/')) return t6_strdup(name);
    /* NAME, then NAME.cfg ("t6 --check t6_small") in each folder */
    int with_cfg = !ends_with(name, ".cfg");
    for (int i = 0; i < dp->n_dirs; i++) {
        char *p = join(dp->dirs[i], name);
        if (is_file(p)) return p;
        if (with_cfg) {
            p = t6_realloc(p, strlen(p) + 5);
            strcat(p, ".cfg");
            if (is_file(p)) return p;
        }
        free(p);
    }
    size_t used = (size_t)snprintf(err, err_len, "deck '%s' not found: no such file here, nor %s%s%s%s in any folder of the deck path:",
                                   name, name, with_cfg ? " or " : "", with_cfg ? name : "", with_cfg ? ".cfg" : "");
    for (int i = 0; i < dp->n_dirs && used < err_len; i++)
        used += (size_t)snprintf(err + used, err_len - used, "%s %s%s", i ? "," : "", dp->dirs[i],
                                 i == dp->n_dirs - 1 ? " (installed input folder)" : " (T6_DECK_PATH)");
    return NULL;
}
