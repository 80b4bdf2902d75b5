/* util.c -- fatal errors with location and hint, checked allocation, clocks. */
#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *progname = "t6";

void t6_set_progname(const char *name) { progname = name; }
const char *t6_progname(void) { return progname; }

/* The fatal-exit hooks (see util.h). A table, not a context struct: t6_fatal is
 * reached from any depth of any module, which has no run context to pass. */
#define MAX_FATAL_HOOKS 8
static struct { t6_fatal_hook_fn fn; void *arg; } fatal_hooks[MAX_FATAL_HOOKS];
static int n_fatal_hooks = 0;

int t6_fatal_hook_push(t6_fatal_hook_fn fn, void *arg)
{
    if (n_fatal_hooks == MAX_FATAL_HOOKS) return -1;
    fatal_hooks[n_fatal_hooks].fn = fn;
    fatal_hooks[n_fatal_hooks].arg = arg;
    return n_fatal_hooks++;
}

void t6_fatal_hook_pop(int handle)
{
    if (handle < 0 || handle >= n_fatal_hooks) return;
    fatal_hooks[handle].fn = NULL;
    while (n_fatal_hooks > 0 && !fatal_hooks[n_fatal_hooks - 1].fn) n_fatal_hooks--;
}

void t6_fatal_at(const char *file, int line, const char *hint, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    fflush(stdout);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: error: %s\n", progname, msg);
    if (hint && *hint) fprintf(stderr, "  hint: %s\n", hint);
    if (getenv("T6_DEBUG")) fprintf(stderr, "  (raised at %s:%d)\n", file, line);
    fflush(stderr);
    /* each hook is taken off the table before it runs: a hook that fails fatally
     * lands here again and the rest still run, none twice */
    while (n_fatal_hooks > 0) {
        int i = --n_fatal_hooks;
        t6_fatal_hook_fn fn = fatal_hooks[i].fn;
        fatal_hooks[i].fn = NULL;
        if (fn) fn(msg, fatal_hooks[i].arg);
    }
    exit(1);
}

void t6_seterr(char *err, size_t len, const char *fmt, ...)
{
    if (!err || !len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

void *t6_malloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p) t6_fatal_at(file, line, "reduce the batch or model size", "out of memory allocating %zu bytes", n);
    return p;
}

void *t6_calloc_at(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) t6_fatal_at(file, line, "reduce the batch or model size", "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *t6_realloc_at(void *old, size_t n, const char *file, int line)
{
    void *p = realloc(old, n ? n : 1);
    if (!p) t6_fatal_at(file, line, NULL, "out of memory reallocating %zu bytes", n);
    return p;
}

char *t6_strdup_at(const char *s, const char *file, int line)
{
    size_t n = strlen(s) + 1;
    char *p = t6_malloc_at(n, file, line);
    memcpy(p, s, n);
    return p;
}

double t6_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *t6_fmt_count(char *buf, size_t len, long long n)
{
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%lld", n < 0 ? -n : n);
    size_t o = 0;
    if (n < 0 && o + 1 < len) buf[o++] = '-';
    for (int i = 0; i < nd && o + 1 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0 && o + 1 < len) buf[o++] = ',';
        if (o + 1 < len) buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

char *t6_fmt_duration(char *buf, size_t len, double seconds)
{
    if (!(seconds >= 0) || seconds > 1e9) {
        snprintf(buf, len, "?");
        return buf;
    }
    long long t = (long long)(seconds + 0.5), d = t / 86400, h = t / 3600 % 24, m = t / 60 % 60, s = t % 60;
    if (d) snprintf(buf, len, "%lldd %02lld:%02lld:%02lld", d, h, m, s);
    else if (h) snprintf(buf, len, "%lld:%02lld:%02lld", h, m, s);
    else snprintf(buf, len, "%lld:%02lld", m, s);
    return buf;
}

char *t6_fmt_value(char *buf, size_t len, double v)
{
    double a = v < 0 ? -v : v;
    if (a != 0 && (a >= 1e5 || a < 1e-3)) snprintf(buf, len, "%.3e", v);
    else snprintf(buf, len, "%.4f", v);
    return buf;
}
