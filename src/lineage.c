/* lineage.c -- rollback of a checkpoint directory and the last-good link (see
 * lineage.h). Rank 0 only; every change is a rename within one file system, so a
 * crash in the middle leaves each checkpoint either in place or moved, never torn. */
#include "config.h"

#include "lineage.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "h5io.h"
#include "util.h"

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* dir/abandoned-YYYYMMDDTHHMMSSZ, with -2, -3, ... when two rollbacks share a second. */
static void make_abandoned_dir(const char *dir, char *out, size_t len)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 1;; i++) {
        if (i == 1) snprintf(out, len, "%s/abandoned-%s", dir, stamp);
        else snprintf(out, len, "%s/abandoned-%s-%d", dir, stamp, i);
        if (mkdir(out, 0777) == 0) return;
        if (errno != EEXIST)
            t6_fatal_hint("check free space and permissions of output.run_dir",
                          "rolling back: cannot create '%s': %s", out, strerror(errno));
    }
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in) t6_fatal("rolling back: cannot read '%s' to keep a copy: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    if (!out) t6_fatal("rolling back: cannot create '%s': %s", to, strerror(errno));
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            t6_fatal_hint("check free space in output.run_dir", "rolling back: writing '%s' failed: %s", to,
                          strerror(errno));
    int bad = ferror(in);
    fclose(in);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0 || bad)
        t6_fatal_hint("check free space in output.run_dir", "rolling back: copying '%s' to '%s' failed", from, to);
    fclose(out);
}

int t6_lineage_rollback(const char *dir, long resumed_step, const char *resumed_path, const char *metrics_path)
{
    char **paths;
    long *steps;
    int n = t6_ckpt_list(dir, &paths, &steps);
    int newer = 0;
    while (newer < n && steps[newer] > resumed_step) newer++;   /* newest first */
    /* the file resumed from stays, whatever its name says (a renamed checkpoint given
     * as output.resume) */
    char rp[PATH_MAX];
    int kept = 0;
    for (int i = 0; i < newer; i++)
        if (realpath(paths[i], rp) && strcmp(rp, resumed_path) == 0) {
            free(paths[i]);
            paths[i] = NULL;
            kept = 1;
        }
    if (newer - kept == 0) {
        t6_ckpt_list_free(paths, steps, n);
        return 0;
    }
    char aside[4200], to[4400], moved[512] = "";
    make_abandoned_dir(dir, aside, sizeof aside);
    /* the metrics rows past resumed_step are cut when the file is reopened: keep a copy
     * of the abandoned branch's record next to its checkpoints */
    if (metrics_path && access(metrics_path, F_OK) == 0) {
        snprintf(to, sizeof to, "%s/%s", aside, base_name(metrics_path));
        copy_file(metrics_path, to);
    }
    for (int i = newer - 1; i >= 0; i--) {
        if (!paths[i]) continue;
        snprintf(to, sizeof to, "%s/%s", aside, base_name(paths[i]));
        if (rename(paths[i], to) != 0)
            t6_fatal_hint("move the newer checkpoints out of the way by hand, or resume from the newest",
                          "rolling back: cannot move '%s' to '%s': %s", paths[i], to, strerror(errno));
        size_t l = strlen(moved);
        if (l + 24 < sizeof moved) snprintf(moved + l, sizeof moved - l, "%s%ld", l ? ", " : "", steps[i]);
    }
    t6_fsync_path(aside);
    t6_fsync_path(dir);

    /* a last-good link into the moved branch would now dangle */
    char link[4200];
    struct stat sb;
    snprintf(link, sizeof link, "%s/%s", dir, T6_LAST_GOOD);
    if (lstat(link, &sb) == 0 && stat(link, &sb) != 0) {
        unlink(link);
        char rp_dir[4200];
        snprintf(rp_dir, sizeof rp_dir, "%s/%s", dir, base_name(resumed_path));
        if (access(rp_dir, F_OK) == 0) t6_lineage_set_last_good(dir, rp_dir);
    }
    printf("rolling back to step %ld: moved %d newer checkpoint(s) (step %s)%s to %s/\n", resumed_step, newer - kept, moved,
           metrics_path && access(metrics_path, F_OK) == 0 ? " and a copy of the metrics file" : "", aside);
    fflush(stdout);
    t6_ckpt_list_free(paths, steps, n);
    return newer - kept;
}

void t6_lineage_set_last_good(const char *dir, const char *ckpt_path)
{
    char link[4200], tmp[4300];
    snprintf(link, sizeof link, "%s/%s", dir, T6_LAST_GOOD);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, T6_LAST_GOOD, (long)getpid());
    unlink(tmp);
    /* relative: the run directory may be moved or mounted elsewhere */
    if (symlink(base_name(ckpt_path), tmp) != 0 || rename(tmp, link) != 0) {
        fprintf(stderr, "%s: warning: cannot point '%s' at '%s': %s\n", t6_progname(), link, ckpt_path,
                strerror(errno));
        unlink(tmp);
    }
}

void t6_lineage_new_id(char *id, size_t len)
{
    char host[64] = "?", stamp[32];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(id, len, "%s-%s-%ld", stamp, host, (long)getpid());
}

/* 1 when the checkpoint at path belongs to lineage: the same id, no id (written by
 * an older t6) or unreadable (a damaged file ages out as before). */
static int in_lineage(const char *path, const char *lineage)
{
    t6_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 1;
    char *id = NULL;
    int mine = t6_h5_get_str_dup(f, "lineage.id", &id) != 0 || !id[0] || strcmp(id, lineage) == 0;
    free(id);
    H5Fclose(f);
    return mine;
}

void t6_lineage_prune(const char *dir, int keep_last, int milestone_interval, const char *lineage)
{
    if (keep_last <= 0) return;
    char **paths;
    long *steps;
    int n = t6_ckpt_list(dir, &paths, &steps);
    char link[4200], good[4200] = "";
    snprintf(link, sizeof link, "%s/%s", dir, T6_LAST_GOOD);
    ssize_t gl = readlink(link, good, sizeof good - 1);
    good[gl > 0 ? gl : 0] = '\0';
    int kept = 0, removed = 0;
    for (int i = 0; i < n; i++) {   /* newest first */
        if (!in_lineage(paths[i], lineage)) continue;
        if (kept < keep_last) { kept++; continue; }
        if (milestone_interval > 0 && steps[i] % milestone_interval == 0) continue;
        if (good[0] && strcmp(base_name(paths[i]), good) == 0) continue;
        if (unlink(paths[i]) == 0) removed++;
        else fprintf(stderr, "%s: warning: cannot remove old checkpoint '%s': %s\n", t6_progname(), paths[i],
                     strerror(errno));
    }
    if (removed) t6_fsync_path(dir);
    t6_ckpt_list_free(paths, steps, n);
}
