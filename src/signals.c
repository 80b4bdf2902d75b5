/* signals.c -- stop requests by signal (see signals.h). A sig_atomic_t flag is the
 * only thing the stop handler touches; everything else (the checkpoint, MPI
 * agreement between ranks) happens in the loops. The abort handler (second SIGINT)
 * uses only async-signal-safe calls (open, write, rename, unlink, _exit) on paths
 * prepared beforehand. */
#include "signals.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal = 0;

/* Prepared for the abort handler. A path is usable only while its flag is set, and
 * the flag is cleared before the buffer is rewritten. */
static struct {
    char status[4200], status_tmp[4300], temp[4400];
    volatile sig_atomic_t have_status, have_temp;
    volatile long step;
} abort_ctx;

static void put(int fd, const char *s)
{
    ssize_t r = write(fd, s, strlen(s));
    (void)r;
}

/* async-signal-safe decimal of a non-negative long */
static void put_long(int fd, long v)
{
    char b[24];
    int i = (int)sizeof b;
    b[--i] = '\0';
    if (v < 0) v = 0;
    do { b[--i] = (char)('0' + v % 10); v /= 10; } while (v && i > 0);
    put(fd, b + i);
}

static void abort_now(void)
{
    put(2, "\nt6: second SIGINT: aborting without a checkpoint\n");
    if (abort_ctx.have_temp) unlink(abort_ctx.temp);
    if (abort_ctx.have_status) {
        int fd = open(abort_ctx.status_tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            put(fd, "failed ");
            put_long(fd, abort_ctx.step);
            put(fd, ": aborted by a second SIGINT\n");
            close(fd);
            rename(abort_ctx.status_tmp, abort_ctx.status);
        }
    }
    _exit(130);
}

/* what a first SIGINT prints: the training loop's by default (a static string) */
static const char *volatile sigint_note =
    "\nt6: SIGINT: stopping after this step with a checkpoint (press Ctrl-C again to abort)\n";

void t6_signals_set_sigint_note(const char *note)
{
    sigint_note = note;
}

static void on_stop(int sig)
{
    if (sig == SIGINT && stop_signal == SIGINT) abort_now();
    if (sig == SIGINT) put(2, sigint_note);
    /* a SIGINT after another stop signal still counts as the first SIGINT */
    if (stop_signal == 0 || sig == SIGINT) stop_signal = sig;
}

void t6_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;   /* let interrupted I/O continue; the loops poll the flag */
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* `nohup t6 ...` ignores SIGHUP on purpose: keep it ignored */
    struct sigaction old;
    if (sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, NULL);
}

int t6_stop_requested(void)
{
    return (int)stop_signal;
}

int t6_signals_stop_requested(void)
{
    return t6_stop_requested();
}

void t6_test_delay(const char *env_name)
{
    const char *s = getenv(env_name);
    if (s && atol(s) > 0) usleep((useconds_t)(atol(s) * 1000));
}

void t6_signals_set_abort_status(const char *status_path)
{
    abort_ctx.have_status = 0;
    if (!status_path) return;
    snprintf(abort_ctx.status, sizeof abort_ctx.status, "%s", status_path);
    snprintf(abort_ctx.status_tmp, sizeof abort_ctx.status_tmp, "%s.tmp.%ld", status_path, (long)getpid());
    abort_ctx.have_status = 1;
}

void t6_signals_set_abort_step(long step)
{
    abort_ctx.step = step;
}

void t6_signals_set_abort_temp(const char *path)
{
    abort_ctx.have_temp = 0;
    if (!path) return;
    snprintf(abort_ctx.temp, sizeof abort_ctx.temp, "%s", path);
    abort_ctx.have_temp = 1;
}
