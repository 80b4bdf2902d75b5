/* rundir.c -- run-directory lock, status file and temporary-file rule (see rundir.h). */
#include "rundir.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "signals.h"
#include "util.h"

/* ---- lock ------------------------------------------------------------------------ */
typedef struct {
    long pid;           /* 0: the file names nobody */
    char host[256];
    char started[64];
} holder;

static void my_host(char *buf, size_t len)
{
    if (gethostname(buf, len) != 0) snprintf(buf, len, "unknown");
    buf[len - 1] = '\0';
}

static int pid_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static void read_holder(int fd, holder *h)
{
    char buf[1024];
    memset(h, 0, sizeof *h);
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return;
    buf[n] = '\0';
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "pid ", 4) == 0) h->pid = atol(line + 4);
        else if (strncmp(line, "host ", 5) == 0) snprintf(h->host, sizeof h->host, "%s", line + 5);
        else if (strncmp(line, "started ", 8) == 0) snprintf(h->started, sizeof h->started, "%s", line + 8);
    }
}

static void write_holder(int fd, const char *path)
{
    char host[256], when[64], buf[512];
    my_host(host, sizeof host);
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    int n = snprintf(buf, sizeof buf, "pid %ld\nhost %s\nstarted %s\n", (long)getpid(), host, when);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        t6_fatal_hint("check free space and permissions of output.run_dir",
                      "cannot write the lock file '%s': %s", path, strerror(errno));
    fsync(fd);
}

static int same_host(const holder *h)
{
    char host[256];
    my_host(host, sizeof host);
    return strcmp(h->host, host) == 0;
}

static void refuse(const t6_rundir *rd, const holder *h, const char *why)
{
    t6_fatal_hint("wait for that run to end or stop it (kill -USR1 <pid> checkpoints and stops it), "
                  "or use another output.run_dir",
                  "run directory '%s' is in use by t6 pid %ld on host %s (started %s)%s; lock file '%s'",
                  rd->dir, h->pid, h->host[0] ? h->host : "?", h->started[0] ? h->started : "?", why,
                  rd->lock_path);
}

static void warn_takeover(const t6_rundir *rd, const holder *h, const char *why)
{
    fprintf(stderr, "%s: warning: taking over the lock '%s' of t6 pid %ld on host %s (started %s): %s\n",
            t6_progname(), rd->lock_path, h->pid, h->host[0] ? h->host : "?", h->started[0] ? h->started : "?", why);
}

void t6_rundir_lock(t6_rundir *rd, const char *dir)
{
    memset(rd, 0, sizeof *rd);
    rd->lock_fd = -1;
    rd->hook = -1;
    snprintf(rd->dir, sizeof rd->dir, "%s", dir);
    snprintf(rd->lock_path, sizeof rd->lock_path, "%s/t6.lock", dir);
    snprintf(rd->status_path, sizeof rd->status_path, "%s/t6.status", dir);
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(rd->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            t6_fatal_hint("check that output.run_dir is writable", "cannot open the lock file '%s': %s",
                          rd->lock_path, strerror(errno));
        int rc = flock(fd, LOCK_EX | LOCK_NB);
        int e = errno;
        holder h;
        read_holder(fd, &h);
        if (rc == 0) {
            if (h.pid > 0 && !(h.pid == (long)getpid() && same_host(&h)))
                warn_takeover(rd, &h, "that run ended without releasing it (killed or crashed)");
            write_holder(fd, rd->lock_path);
            rd->lock_fd = fd;
            return;
        }
        if (e == EWOULDBLOCK) {
            /* the holder may have locked but not yet written its name */
            for (int i = 0; i < 40 && h.pid <= 0; i++) {
                usleep(50000);
                read_holder(fd, &h);
            }
            close(fd);
            if (h.pid > 0 && same_host(&h) && !pid_alive(h.pid)) {
                warn_takeover(rd, &h, "it is still locked, but that process is dead (a process it started "
                                      "may hold the file); starting a fresh lock file");
                unlink(rd->lock_path);
                continue;
            }
            refuse(rd, &h, "");
        }
        if (e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL) {
            /* no flock on this file system: the recorded holder decides */
            if (h.pid > 0 && h.pid != (long)getpid()) {
                if (!same_host(&h))
                    refuse(rd, &h, " (this file system has no flock, and a process on another host cannot be "
                                   "checked: remove the lock file if that run is over)");
                if (pid_alive(h.pid)) refuse(rd, &h, "");
                warn_takeover(rd, &h, "that process is dead");
            }
            write_holder(fd, rd->lock_path);
            rd->lock_fd = fd;
            return;
        }
        close(fd);
        t6_fatal_hint("check output.run_dir", "cannot lock '%s': %s", rd->lock_path, strerror(e));
    }
    t6_fatal_hint("remove the lock file if no run uses the directory", "cannot take over the lock '%s'", rd->lock_path);
}

/* ---- status ---------------------------------------------------------------------- */
/* Set while a status file is being written, for the atexit hook (which gets no
 * argument). */
static t6_rundir *g_active;

/* Writes line to path atomically (temp + rename). On a full disk the temp file may
 * not fit: then the file is rewritten in place (truncating frees its block first),
 * better than leaving a stale "running". */
static void write_line(const char *path, const char *line, int durable)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f) {
        int ok = fprintf(f, "%s\n", line) > 0 && fflush(f) == 0;
        if (ok && durable) ok = fsync(fileno(f)) == 0;
        ok = (fclose(f) == 0) && ok;
        if (ok && rename(tmp, path) == 0) return;
        unlink(tmp);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        size_t n = strlen(line);
        int ok = write(fd, line, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
        if (durable) fsync(fd);
        close(fd);
        if (ok) return;
    }
    fprintf(stderr, "%s: warning: cannot write status file '%s': %s\n", t6_progname(), path, strerror(errno));
}

static void on_fatal(const char *msg, void *arg)
{
    t6_rundir_fail(arg, msg);
    t6_rundir_close(arg);
}

static void on_exit_hook(void)
{
    if (g_active && g_active->status_on && !g_active->final) t6_rundir_fail(g_active, "exited without a final state");
}

void t6_rundir_status_start(t6_rundir *rd)
{
    static int atexit_done = 0;
    rd->status_on = 1;
    rd->final = 0;
    g_active = rd;
    if (!atexit_done) atexit(on_exit_hook);
    atexit_done = 1;
    rd->hook = t6_fatal_hook_push(on_fatal, rd);
    t6_signals_set_abort_status(rd->status_path);
}

void t6_rundir_status(t6_rundir *rd, const char *state, long step, int final)
{
    if (!rd->status_on || rd->final) return;
    char line[64];
    snprintf(line, sizeof line, "%s %ld", state, step);
    rd->step = step;
    t6_signals_set_abort_step(step);
    write_line(rd->status_path, line, final);   /* final states must survive a node crash */
    if (final) rd->final = 1;
}

void t6_rundir_note_step(t6_rundir *rd, long step)
{
    if (!rd->status_on) return;
    rd->step = step;
    t6_signals_set_abort_step(step);
}

void t6_rundir_fail(t6_rundir *rd, const char *reason)
{
    if (!rd->status_on || rd->final) return;
    char line[1200];
    int n = snprintf(line, sizeof line, "failed %ld: %s", rd->step, reason);
    for (int i = 0; i < n && line[i]; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    write_line(rd->status_path, line, 1);
    rd->final = 1;
}

void t6_rundir_close(t6_rundir *rd)
{
    if (rd->hook >= 0) t6_fatal_hook_pop(rd->hook);
    rd->hook = -1;
    if (g_active == rd) {
        on_exit_hook();   /* a close without a final state is a failure too */
        g_active = NULL;
        t6_signals_set_abort_status(NULL);
    }
    rd->status_on = 0;
    if (rd->lock_fd >= 0) {
        /* emptied, not removed (see rundir.h); the lock itself goes with the fd */
        if (ftruncate(rd->lock_fd, 0) == 0) fsync(rd->lock_fd);
        close(rd->lock_fd);
        rd->lock_fd = -1;
    }
}

/* ---- temporary files ------------------------------------------------------------- */
int t6_temp_writer_alive(const char *name)
{
    const char *t = strstr(name, ".tmp.");
    if (!t) return -1;
    const char *last;
    while ((last = strstr(t + 1, ".tmp.")) != NULL) t = last;
    const char *d = t + 5;
    if (!*d) return -1;
    for (const char *p = d; *p; p++)
        if (!isdigit((unsigned char)*p)) return -1;
    long pid = atol(d);
    if (pid == (long)getpid()) return 0;
    return pid_alive(pid) ? 1 : 0;
}

int t6_clean_temp_files(const char *dir, const char *prefix, const char *what)
{
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        if (prefix && strncmp(de->d_name, prefix, strlen(prefix)) != 0) continue;
        int alive = t6_temp_writer_alive(de->d_name);
        if (alive < 0) continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (alive) {
            fprintf(stderr, "%s: warning: leaving '%s': the process writing it is still running\n", t6_progname(), p);
            continue;
        }
        fprintf(stderr, "%s: warning: removing '%s', %s whose writing was interrupted\n", t6_progname(), p, what);
        if (unlink(p) == 0) removed++;
    }
    closedir(dp);
    return removed;
}
