/* deckdiff.c -- comparison of a checkpoint's deck with the current one (see
 * deckdiff.h). Both sides are compared as canonical text, value by value, so the
 * comparison needs no second parse of libconfig and treats every key alike. */
#include "config.h"

#include "deckdiff.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "h5io.h"
#include "util.h"

/* Keys whose change makes the resumed run a different model or a different data
 * stream than the checkpoint continues: an entry ending in '.' is a whole section.
 * The global batch (ranks x micro_batch x grad_accum) is checked by train.c, which
 * tells t6_deck_check_resume when only its split changed. */
static const char *const BREAKING[] = {
    "model.", "data.", "train.micro_batch", "train.seq_len", "train.grad_accum", "train.global_batch",
    "train.seed", "train.accum_mode", NULL,
};

/* Keys about this very resume, never reported. */
static const char *const IGNORED[] = {"output.resume", "output.resume_force", "model.init_from", NULL};

int t6_deck_key_breaks_resume(const char *key)
{
    for (int i = 0; BREAKING[i]; i++) {
        size_t l = strlen(BREAKING[i]);
        if (BREAKING[i][l - 1] == '.' ? strncmp(key, BREAKING[i], l) == 0 : strcmp(key, BREAKING[i]) == 0) return 1;
    }
    return 0;
}

typedef struct { char key[64]; char *value; } kv;   /* value: malloc'd, whole */

/* "sec = {" opens a section, "};" closes it, "name = value;" is a key; '#' lines
 * are comments. The canonical form puts one setting on a line (a list of shards
 * too, however long). */
static int parse_canonical(const char *text, kv **out)
{
    int n = 0, cap = 64;
    kv *v = t6_malloc((size_t)cap * sizeof *v);
    char sec[64] = "";
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = t6_malloc(len + 1);
        memcpy(line, p, len);
        line[len] = '\0';
        p = eol ? eol + 1 : NULL;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        size_t l = strlen(s);
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\r')) s[--l] = '\0';
        if (strcmp(s, "};") == 0) sec[0] = '\0';
        char *eq = strstr(s, " = ");
        if (!*s || *s == '#' || !eq) {
            free(line);
            continue;
        }
        *eq = '\0';
        char *val = eq + 3;
        if (strcmp(val, "{") == 0) {
            snprintf(sec, sizeof sec, "%s", s);
            free(line);
            continue;
        }
        l = strlen(val);
        if (l && val[l - 1] == ';') val[--l] = '\0';
        if (n == cap) v = t6_realloc(v, (size_t)(cap *= 2) * sizeof *v);
        snprintf(v[n].key, sizeof v[n].key, "%s%s%s", sec, sec[0] ? "." : "", s);
        v[n].value = t6_strdup(val);
        n++;
        free(line);
    }
    *out = v;
    return n;
}

static void free_kv(kv *v, int n)
{
    for (int i = 0; i < n; i++) free(v[i].value);
    free(v);
}

static const kv *find(const kv *v, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].key, key) == 0) return &v[i];
    return NULL;
}

static int ignored(const char *key)
{
    for (int i = 0; IGNORED[i]; i++)
        if (strcmp(key, IGNORED[i]) == 0) return 1;
    return 0;
}

static void add(t6_deck_change **out, int *n, const char *key, const char *o, const char *nv)
{
    *out = t6_realloc(*out, (size_t)(*n + 1) * sizeof **out);
    t6_deck_change *c = &(*out)[*n];
    snprintf(c->key, sizeof c->key, "%s", key);
    /* for the message; a longer value (a long shard list) is cut with "..." */
    if (snprintf(c->old_value, sizeof c->old_value, "%s", o) >= (int)sizeof c->old_value)
        strcpy(c->old_value + sizeof c->old_value - 4, "...");
    if (snprintf(c->new_value, sizeof c->new_value, "%s", nv) >= (int)sizeof c->new_value)
        strcpy(c->new_value + sizeof c->new_value - 4, "...");
    c->breaking = t6_deck_key_breaks_resume(key);
    (*n)++;
}

int t6_deck_diff(const char *old_text, const char *new_text, t6_deck_change **out)
{
    kv *a, *b;
    int na = parse_canonical(old_text, &a), nb = parse_canonical(new_text, &b), n = 0;
    *out = NULL;
    /* in the current deck's key order, then keys only the old deck had. A key on one
     * side only is a key an older t6 did not know (skipped), or grad_accum vs
     * global_batch, which the canonical form writes one at a time (reported). */
    for (int i = 0; i < nb; i++) {
        if (ignored(b[i].key)) continue;
        const kv *o = find(a, na, b[i].key);
        if (o ? strcmp(o->value, b[i].value) != 0 : t6_deck_key_breaks_resume(b[i].key))
            add(out, &n, b[i].key, o ? o->value : "(not set)", b[i].value);
    }
    for (int i = 0; i < na; i++)
        if (!ignored(a[i].key) && !find(b, nb, a[i].key) && t6_deck_key_breaks_resume(a[i].key))
            add(out, &n, a[i].key, a[i].value, "(not set)");
    free_kv(a, na);
    free_kv(b, nb);
    return n;
}

static char *read_deck_attr(const char *path)
{
    if (access(path, R_OK) != 0) return NULL;
    t6_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return NULL;
    char *text = NULL;
    if (t6_h5_get_str_dup(f, "deck", &text) != 0) text = NULL;
    H5Fclose(f);
    return text;
}

/* Keys that only split the global batch over ranks and micro-steps. */
static int batch_split_key(const char *key)
{
    return strcmp(key, "train.micro_batch") == 0 || strcmp(key, "train.grad_accum") == 0 ||
           strcmp(key, "train.global_batch") == 0;
}

int t6_deck_check_resume(const char *path, const t6_deck *deck, int same_global_batch)
{
    char *old_text = read_deck_attr(path);
    if (!old_text) return -1;
    char *new_text = t6_deck_to_string(deck);
    t6_deck_change *c;
    int n = t6_deck_diff(old_text, new_text, &c);
    free(old_text);
    free(new_text);
    int nbreak = 0;
    for (int i = 0; i < n; i++) {
        if (same_global_batch && batch_split_key(c[i].key)) c[i].breaking = 0;
        nbreak += c[i].breaking;
    }
    if (n > 0) {
        fprintf(stderr, "%s: warning: resuming from '%s' with a changed deck (%d key(s)%s):\n", t6_progname(), path, n,
                nbreak ? "" : ", none affecting the model or the data stream");
        for (int i = 0; i < n; i++)
            fprintf(stderr, "  %s: %s -> %s%s\n", c[i].key, c[i].old_value, c[i].new_value,
                    c[i].breaking ? "  (changes the model or the data stream)" : "");
    }
    if (nbreak > 0 && !deck->output.resume_force) {
        char msg[4096];
        size_t o = 0;
        for (int i = 0; i < n && o < sizeof msg; i++)
            if (c[i].breaking)
                o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%s = %s in the checkpoint, %s now", o ? "; " : "",
                                      c[i].key, c[i].old_value, c[i].new_value);
        free(c);
        t6_fatal_hint("resume with the checkpoint's values, start a new output.run_dir, or add "
                      "--set output.resume_force=true to continue anyway",
                      "checkpoint '%s' was written with another model or data stream: %s", path, msg);
    }
    if (nbreak > 0)
        fprintf(stderr, "%s: warning: output.resume_force = true: resuming despite %d key(s) that change the model "
                        "or the data stream; the run is no longer an exact continuation\n", t6_progname(), nbreak);
    free(c);
    return n;
}
