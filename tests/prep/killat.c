/* killat.c -- an LD_PRELOAD shim for tests/prep/finish.sh: kills the process (SIGKILL,
 * as a node failure or Slurm's kill after its grace period would) at one step of
 * t6-prep's end of run, chosen by T6_KILLAT:
 *   hash      when a finished shard is opened for reading back (its sha256);
 *   move      when the first shard is renamed into the output folder;
 *   manifest  when the complete manifest is renamed into place.
 * Nothing else is changed; without T6_KILLAT the calls go straight through. */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ends(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int at(const char *step)
{
    const char *e = getenv("T6_KILLAT");
    return e && strcmp(e, step) == 0;
}

FILE *fopen(const char *path, const char *mode)
{
    static FILE *(*real)(const char *, const char *);
    if (!real) real = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
    if (at("hash") && strcmp(mode, "rb") == 0 && strstr(path, ".tmp.") && ends(path, ".h5")) raise(SIGKILL);
    return real(path, mode);
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (!real) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    /* (the corpus writer renames within the temporary folder: not this step) */
    if (at("move") && ends(to, ".h5") && !strstr(to, ".tmp.")) raise(SIGKILL);
    if (at("manifest") && ends(to, ".manifest") && ends(from, ".manifest.tmp")) raise(SIGKILL);
    return real(from, to);
}
