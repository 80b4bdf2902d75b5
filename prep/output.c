/* output.c -- t6-prep's shard output (see output.h): shard cutting, runt merging,
 * the private temporary folder, the final move into place and the manifest.
 *
 * Shards are cut like the reference (llm.c fineweb.py): a shard holds exactly
 * --shard-tokens, a document that does not fit ends it and its rest opens the next.
 * A shard that reaches --shard-tokens is held open ("full") while the tokens that
 * follow collect in memory: once they reach the runt limit the full shard is closed
 * and they open the next one; if the input ends first they are appended to the full
 * shard (a cut document becomes whole again), so no split ends in a shard too short
 * for one training sequence. */
#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bpe.h"
#include "util.h"

typedef struct {
    size_t off, len;
    int src, cont;               /* cont: the rest of a document cut at a shard end */
} piece;

typedef struct {
    uint32_t *v;
    size_t n, cap;
    piece *p;
    size_t np, pcap;
} held;

typedef struct {
    const char *split;
    t6_corpus_writer *w;
    int index;                   /* of the open (or next) shard (own counter) */
    uint64_t tokens, docs;       /* in the open shard */
    int first_src, last_src;
    uint64_t total_tokens, total_docs;
    int n_shards, full;
    held hold;                   /* tokens after a full shard, not yet placed */
    char name[256];              /* file name of the open shard */
} stream;

typedef struct {
    char name[256], split[8];
    uint64_t tokens, docs;
} shard_rec;

struct t6_out {
    const options *o;
    t6_corpus_meta meta;
    char *const *files;
    char *tmp;                   /* OUTDIR/.NAME.tmp.PID, NULL once gone */
    stream train, val;
    int first_shard, shared;     /* --val first-shard: one index over both splits */
    uint64_t runt;               /* a last shard below this joins the one before */
    shard_rec *recs;
    int n_recs;
};

/* The hint of a write error: what is free where the shards go. */
static const char *space_hint(const t6_out *O, char *buf, size_t len)
{
    struct statvfs v;
    if (statvfs(O->o->outdir, &v) == 0)
        snprintf(buf, len, "free space in '%s': %.1f MB; free some or choose another -o", O->o->outdir,
                 (double)v.f_bavail * (double)v.f_frsize / 1e6);
    else snprintf(buf, len, "check free space and permissions of the output directory");
    return buf;
}

static const char *eot_name(eot_mode m) { return m == EOT_PREFIX ? "prefix" : m == EOT_SUFFIX ? "suffix" : "none"; }

/* mkdir -p: the parents of -o are created as --help promises. */
static void mkdir_p(const char *path)
{
    char *p = t6_strdup(path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            t6_fatal_hint("choose another -o", "-o '%s': cannot create '%s': %s", path, p,
                          errno == ENOTDIR ? "a part of the path is not a directory" : strerror(errno));
        *s = c;
        if (!c) break;
    }
    free(p);
}

/* Whether a directory entry is a shard or the manifest of --name: exactly NAME.manifest
 * or NAME_{train,val}_DIGITS.h5, so that the shards of another name that starts the
 * same way ("a_val_train_000000.h5" is the name "a_val", not "a") are never counted or
 * removed by --force. */
static int ours(const char *d_name, const char *name)
{
    size_t nl = strlen(name);
    if (strncmp(d_name, name, nl) != 0) return 0;
    const char *r = d_name + nl;
    if (strcmp(r, ".manifest") == 0) return 1;
    if (strncmp(r, "_train_", 7) == 0) r += 7;
    else if (strncmp(r, "_val_", 5) == 0) r += 5;
    else return 0;
    const char *digits = r;
    while (*r >= '0' && *r <= '9') r++;
    return r - digits >= 6 && strcmp(r, ".h5") == 0;
}

/* Calls fn (if any) on every shard / manifest of the name in dir; returns how many.
 * The first one's path goes to first (if any; for messages). */
static int each_ours(const char *dir, const char *name, void (*fn)(const char *path), char first[4096])
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int n = 0;
    char p[4096];
    while ((e = readdir(d))) {
        if (!ours(e->d_name, name)) continue;
        n++;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (n == 1 && first) snprintf(first, 4096, "%s", p);
        if (fn) fn(p);
    }
    closedir(d);
    return n;
}

static void remove_file(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT) t6_fatal("cannot remove the old '%s': %s", path, strerror(errno));
}

static void fsync_path(const char *path, int dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Removes the temporary folders .NAME.tmp.PID that runs killed by SIGKILL or a crash
 * left behind (their process is gone; this host's, as the output folder is). */
static void remove_stale_tmp(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    size_t nl = strlen(name);
    while ((e = readdir(d))) {
        char *end;
        if (e->d_name[0] != '.' || strncmp(e->d_name + 1, name, nl) != 0 || strncmp(e->d_name + 1 + nl, ".tmp.", 5) != 0)
            continue;
        long pid = strtol(e->d_name + nl + 6, &end, 10);
        if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char p[4096], f[4400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        DIR *s = opendir(p);
        struct dirent *x;
        while (s && (x = readdir(s)))
            if (strcmp(x->d_name, ".") && strcmp(x->d_name, "..")) {
                snprintf(f, sizeof f, "%s/%s", p, x->d_name);
                unlink(f);
            }
        if (s) closedir(s);
        if (rmdir(p) == 0) fprintf(stderr, "t6-prep: removed '%s', left by an earlier run that did not finish\n", p);
    }
    closedir(d);
}

t6_out *t6_out_open(const options *o, const t6_corpus_meta *meta, char *const *files)
{
    /* t6-prep reports HDF5 failures itself, in one line: HDF5's own stack printing is
     * off for the whole program (also in its exit handler after a full disk). */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    mkdir_p(o->outdir);
    struct stat st;
    if (stat(o->outdir, &st) != 0 || !S_ISDIR(st.st_mode)) t6_fatal("output '%s' is not a directory", o->outdir);
    if (access(o->outdir, W_OK) != 0)
        t6_fatal_hint("choose another -o", "output directory '%s' is not writable: %s", o->outdir, strerror(errno));
    remove_stale_tmp(o->outdir, o->name);
    char first[4096];
    if (!o->force && each_ours(o->outdir, o->name, NULL, first) > 0)
        t6_fatal_hint("use --force to replace the shards of this --name, or another --name / -o", "'%s' already exists", first);
    t6_out *O = t6_calloc(1, sizeof *O);
    O->o = o;
    O->meta = *meta;
    O->files = files;
    size_t l = strlen(o->outdir) + strlen(o->name) + 64;
    O->tmp = t6_malloc(l);
    snprintf(O->tmp, l, "%s/.%s.tmp.%ld", o->outdir, o->name, (long)getpid());
    if (mkdir(O->tmp, 0777) != 0) {
        char *t = O->tmp;
        O->tmp = NULL;
        t6_fatal_hint("check free space and permissions of the output directory", "cannot create '%s': %s", t, strerror(errno));
    }
    O->train.split = "train";
    O->val.split = "val";
    O->first_shard = o->val == VAL_FIRST_SHARD;
    O->runt = o->min_shard_tokens < o->shard_tokens ? o->min_shard_tokens : o->shard_tokens;
    return O;
}

/* ---- shards ---- */
static void open_shard(t6_out *O, stream *s)
{
    char path[4096], err[1024];
    int idx = O->first_shard ? O->shared : s->index;
    snprintf(s->name, sizeof s->name, "%s_%s_%06d.h5", O->o->name, s->split, idx);
    snprintf(path, sizeof path, "%s/%s", O->tmp, s->name);
    t6_corpus_meta m = O->meta;
    snprintf(m.split, sizeof m.split, "%s", s->split);
    char hint[1200];
    s->w = t6_corpus_writer_open(path, &m, err, sizeof err);
    if (!s->w) t6_fatal_hint(space_hint(O, hint, sizeof hint), "%s", err);
    s->tokens = s->docs = 0;
    s->first_src = -1;
}

static void close_shard(t6_out *O, stream *s)
{
    char err[1024], src[512];
    char *const *f = O->files;
    if (s->first_src < 0) s->first_src = s->last_src = 0;
    if (s->first_src == s->last_src)
        snprintf(src, sizeof src, "t6-prep (eot %s): %s", eot_name(O->o->eot), f[s->first_src]);
    else
        snprintf(src, sizeof src, "t6-prep (eot %s): %s .. %s (%d files)", eot_name(O->o->eot), f[s->first_src],
                 f[s->last_src], s->last_src - s->first_src + 1);
    t6_corpus_writer_set_source(s->w, src);
    t6_corpus_writer *w = s->w;
    s->w = NULL;
    char hint[1200];
    if (t6_corpus_writer_close(w, err, sizeof err) != 0) t6_fatal_hint(space_hint(O, hint, sizeof hint), "%s", err);
    O->recs = t6_realloc(O->recs, (size_t)(O->n_recs + 1) * sizeof *O->recs);
    shard_rec *r = &O->recs[O->n_recs++];
    snprintf(r->name, sizeof r->name, "%s", s->name);
    snprintf(r->split, sizeof r->split, "%s", s->split);
    r->tokens = s->tokens;
    r->docs = s->docs;
    s->n_shards++;
    s->full = 0;
    if (O->first_shard) O->shared++;
    else s->index++;
}

/* Writes tokens into the open shard: a new document, or the rest of the last one. */
static void write_piece(t6_out *O, stream *s, const uint32_t *t, size_t n, int src, int cont)
{
    char err[1024], hint[1200];
    int rc;
    if (cont && s->docs > 0) rc = t6_corpus_writer_extend(s->w, t, n, err, sizeof err);
    else {
        rc = t6_corpus_writer_append(s->w, t, n, err, sizeof err);
        s->docs++;
    }
    if (rc != 0) t6_fatal_hint(space_hint(O, hint, sizeof hint), "%s", err);
    if (s->first_src < 0) s->first_src = src;
    s->last_src = src;
    s->tokens += n;
    s->total_tokens += n;
}

static void hold_add(held *h, const uint32_t *t, size_t n, int src, int cont)
{
    if (h->n + n > h->cap) h->v = t6_realloc(h->v, (h->cap = 2 * (h->n + n) + 1024) * sizeof *h->v);
    if (h->np == h->pcap) h->p = t6_realloc(h->p, (h->pcap = h->pcap ? 2 * h->pcap : 64) * sizeof *h->p);
    memcpy(h->v + h->n, t, n * sizeof *t);
    h->p[h->np++] = (piece){h->n, n, src, cont};
    h->n += n;
}

static void put(t6_out *O, stream *s, const uint32_t *t, size_t n, int src, int cont);

/* The held tokens reached the runt limit: the full shard is final, they open the next. */
static void release(t6_out *O, stream *s)
{
    close_shard(O, s);
    held h = s->hold;
    memset(&s->hold, 0, sizeof s->hold);
    for (size_t i = 0; i < h.np; i++) put(O, s, h.v + h.p[i].off, h.p[i].len, h.p[i].src, h.p[i].cont);
    free(h.v);
    free(h.p);
}

/* One document (or the rest of one, cont) into split s's shards. */
static void put(t6_out *O, stream *s, const uint32_t *t, size_t n, int src, int cont)
{
    const uint64_t cap = O->o->shard_tokens;
    for (;;) {
        /* --val first-shard: the rest of a document cut at the end of the val shard
         * goes on in the first train shard */
        if (O->first_shard) s = O->shared == 0 ? &O->val : &O->train;
        if (s->full) {
            hold_add(&s->hold, t, n, src, cont);
            if (s->hold.n >= O->runt) release(O, s);
            return;
        }
        if (!s->w) open_shard(O, s);
        size_t k = n < cap - s->tokens ? n : (size_t)(cap - s->tokens);
        write_piece(O, s, t, k, src, cont);
        t += k;
        n -= k;
        if (s->tokens == cap) {
            /* the val shard of --val first-shard is followed by train, not by more val */
            if (O->runt > 0 && !(O->first_shard && s == &O->val)) s->full = 1;
            else close_shard(O, s);
        }
        if (n == 0) return;
        cont = 1;
    }
}

void t6_out_doc(t6_out *O, int val, const uint32_t *tokens, size_t n, int src)
{
    stream *s = val ? &O->val : &O->train;
    s->total_docs++;
    put(O, s, tokens, n, src, 0);
}

/* (tokens held after a full shard count: they are placed, in that shard or the next) */
uint64_t t6_out_tokens(const t6_out *O, int val)
{
    const stream *s = val ? &O->val : &O->train;
    return s->total_tokens + s->hold.n;
}
uint64_t t6_out_docs(const t6_out *O, int val) { return val ? O->val.total_docs : O->train.total_docs; }
int t6_out_first_shard_open(const t6_out *O) { return O->first_shard && O->shared == 0; }

/* End of input: what is held joins the full shard (no runt), then the shard closes. */
static void finish_stream(t6_out *O, stream *s)
{
    if (s->full) {
        held *h = &s->hold;
        for (size_t i = 0; i < h->np; i++) write_piece(O, s, h->v + h->p[i].off, h->p[i].len, h->p[i].src, h->p[i].cont);
        free(h->v);
        free(h->p);
        memset(h, 0, sizeof *h);
    }
    if (s->w) close_shard(O, s);
    const options *o = O->o;
    if (s->n_shards == 1 && o->min_shard_tokens > 0 && s->total_tokens < o->min_shard_tokens)
        fprintf(stderr, "t6-prep: warning: the only %s shard holds %" PRIu64 " tokens, fewer than --min-shard-tokens %" PRIu64
                "; t6 skips a shard shorter than one sequence\n", s->split, s->total_tokens, o->min_shard_tokens);
}

/* ---- the manifest ---- */
static void file_sha256(const char *path, char hex[65], uint64_t *bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f) t6_fatal("cannot read back '%s': %s", path, strerror(errno));
    t6_sha256 h;
    t6_sha256_init(&h);
    static unsigned char buf[1 << 16];
    size_t k;
    *bytes = 0;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        t6_sha256_update(&h, buf, k);
        *bytes += k;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) t6_fatal("cannot read back '%s'", path);
    t6_sha256_hex(&h, hex);
}

/* Writes the complete manifest into the temporary folder, hashing every new shard (a
 * minute for a large corpus): the old output is not touched yet, so an interruption or
 * a failure here leaves it as it was. */
static int write_manifest_tmp(t6_out *O, volatile sig_atomic_t *stop)
{
    const options *o = O->o;
    char tmp[4200], p[4096], hex[65];
    snprintf(tmp, sizeof tmp, "%s/%s.manifest.tmp", O->tmp, o->name);
    FILE *f = fopen(tmp, "w");
    if (!f) t6_fatal("cannot write '%s': %s", tmp, strerror(errno));
    fprintf(f, "# t6-corpus manifest (doc/formats/corpus.md), written by t6-prep once every shard was complete\n"
               "format t6-corpus-manifest\nversion 1\nname %s\nshards %d\n", o->name, O->n_recs);
    for (int i = 0; i < O->n_recs; i++) {
        if (stop && *stop) {
            fclose(f);
            return -1;
        }
        shard_rec *r = &O->recs[i];
        uint64_t bytes;
        snprintf(p, sizeof p, "%s/%s", O->tmp, r->name);
        file_sha256(p, hex, &bytes);
        fprintf(f, "shard %s %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", r->name, r->split, r->tokens, r->docs, bytes, hex);
    }
    fprintf(f, "complete true\n");
    char hint[1200];
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
        int e = errno;
        fclose(f);
        t6_fatal_hint(space_hint(O, hint, sizeof hint), "cannot write '%s': %s", tmp, strerror(e));
    }
    if (fclose(f) != 0) t6_fatal_hint(space_hint(O, hint, sizeof hint), "cannot write '%s': %s", tmp, strerror(errno));
    return 0;
}

/* The shards of the name (not its manifest): what --force replaces. */
static void remove_old_shard(const char *path)
{
    size_t l = strlen(path);
    if (l > 9 && strcmp(path + l - 9, ".manifest") == 0) return;
    remove_file(path);
}

int t6_out_prepare(t6_out *O, volatile sig_atomic_t *stop)
{
    finish_stream(O, &O->val);
    finish_stream(O, &O->train);
    const options *o = O->o;
    if (O->first_shard && O->train.total_tokens == 0 && O->val.total_tokens > 0)
        fprintf(stderr, "t6-prep: warning: all %" PRIu64 " tokens went to the val shard (--val first-shard holds the first "
                "%" PRIu64 " tokens): there is no train shard; use a smaller --shard-tokens or --val fraction\n",
                O->val.total_tokens, o->shard_tokens);
    return write_manifest_tmp(O, stop);
}

/* Puts the new set in place. The old manifest is first replaced (atomically) by one that
 * says "complete false", so that from then until the complete manifest is renamed into
 * place t6 refuses every shard of the name: a run killed in between (SIGKILL, node
 * failure) leaves a set that t6 will not train on, never old and new shards mixed or
 * a partial set without a manifest. */
void t6_out_install(t6_out *O)
{
    const options *o = O->o;
    char man[4096], pend[4200], mtmp[4200], first[4096], hint[1200];
    snprintf(man, sizeof man, "%s/%s.manifest", o->outdir, o->name);
    snprintf(pend, sizeof pend, "%s/%s.manifest.pending", O->tmp, o->name);
    snprintf(mtmp, sizeof mtmp, "%s/%s.manifest.tmp", O->tmp, o->name);
    if (!o->force && each_ours(o->outdir, o->name, NULL, first) > 0)
        t6_fatal_hint("use --force to replace them", "'%s' appeared during the run (another t6-prep of this --name?)", first);
    FILE *f = fopen(pend, "w");
    if (!f) t6_fatal_hint(space_hint(O, hint, sizeof hint), "cannot write '%s': %s", pend, strerror(errno));
    fprintf(f, "# t6-prep (pid %ld) is moving the shards of '%s' into place; if this line stays, that run did not\n"
               "# finish: re-run t6-prep with --force\nformat t6-corpus-manifest\nversion 1\nname %s\ncomplete false\n",
            (long)getpid(), o->name, o->name);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) t6_fatal_hint(space_hint(O, hint, sizeof hint), "cannot write '%s': %s", pend, strerror(e));
    if (rename(pend, man) != 0)
        t6_fatal_hint(space_hint(O, hint, sizeof hint), "cannot move '%s' to '%s': %s", pend, man, strerror(errno));
    fsync_path(o->outdir, 1);
    /* from here on a failure leaves the "complete false" manifest: t6 refuses the set */
    const char *redo = "the output is incomplete and marked so in its manifest (t6 refuses it); fix the cause and re-run with --force";
    each_ours(o->outdir, o->name, remove_old_shard, NULL);
    for (int i = 0; i < O->n_recs; i++) {
        char from[4200], to[4200];
        snprintf(from, sizeof from, "%s/%s", O->tmp, O->recs[i].name);
        snprintf(to, sizeof to, "%s/%s", o->outdir, O->recs[i].name);
        if (rename(from, to) != 0) t6_fatal_hint(redo, "cannot move '%s' to '%s': %s", from, to, strerror(errno));
    }
    fsync_path(o->outdir, 1);
    if (rename(mtmp, man) != 0) t6_fatal_hint(redo, "cannot move '%s' to '%s': %s", mtmp, man, strerror(errno));
    fsync_path(o->outdir, 1);
    for (int i = 0; i < O->n_recs; i++) printf("  wrote %s/%s\n", o->outdir, O->recs[i].name);
    printf("  wrote %s\n", man);
    t6_out_abort(O);    /* the now empty temporary folder */
}

void t6_out_abort(t6_out *O)
{
    if (!O) return;
    if (O->train.w) t6_corpus_writer_abort(O->train.w);
    if (O->val.w) t6_corpus_writer_abort(O->val.w);
    O->train.w = O->val.w = NULL;
    if (!O->tmp) return;
    DIR *d = opendir(O->tmp);
    struct dirent *e;
    char p[4200];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", O->tmp, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(O->tmp);
    free(O->tmp);
    O->tmp = NULL;
}

void t6_out_free(t6_out *O)
{
    if (!O) return;
    t6_out_abort(O);
    free(O->train.hold.v);
    free(O->train.hold.p);
    free(O->val.hold.v);
    free(O->val.hold.p);
    free(O->recs);
    free(O);
}
