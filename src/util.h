/* util.h -- error reporting, checked allocation and small helpers shared by every
 * program of T6-C. Errors are fatal by design in a batch job: a message naming the
 * source location and a hint beats an error code nobody checks. */
#ifndef T6_UTIL_H
#define T6_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Print "t6: error: <msg>" (and "  hint: <hint>" when hint is non-NULL), the
 * source location in debug builds, then exit(1). */
void t6_fatal_at(const char *file, int line, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
#define t6_fatal(...) t6_fatal_at(__FILE__, __LINE__, NULL, __VA_ARGS__)
#define t6_fatal_hint(hint, ...) t6_fatal_at(__FILE__, __LINE__, (hint), __VA_ARGS__)

/* Fatal-exit hooks: t6_fatal runs them (newest first) after printing the message and
 * before exit(1), passing the message (without the hint). For what must happen
 * whatever module fails: closing HDF5 files that are being written, writing
 * "failed <step>: <reason>" to the run's status file. A hook must not rely on the
 * state of the module that failed; if it calls t6_fatal itself, the remaining hooks
 * still run, once. Returns a handle for t6_fatal_hook_pop (-1 when the table of 8 is
 * full). */
typedef void (*t6_fatal_hook_fn)(const char *msg, void *arg);
int t6_fatal_hook_push(t6_fatal_hook_fn fn, void *arg);
void t6_fatal_hook_pop(int handle);

/* T6_CHECK(cond, hint, fmt, ...): fatal with file:line when cond is false. */
#define T6_CHECK(cond, hint, ...) \
    do { if (!(cond)) t6_fatal_at(__FILE__, __LINE__, (hint), __VA_ARGS__); } while (0)

/* Writes a formatted message into a caller's error buffer (err may be NULL): the
 * convention of the library-style modules (corpus, readers) that report, not exit. */
void t6_seterr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void *t6_malloc_at(size_t n, const char *file, int line);
void *t6_calloc_at(size_t n, size_t size, const char *file, int line);
void *t6_realloc_at(void *p, size_t n, const char *file, int line);
char *t6_strdup_at(const char *s, const char *file, int line);
#define t6_malloc(n) t6_malloc_at((n), __FILE__, __LINE__)
#define t6_calloc(n, s) t6_calloc_at((n), (s), __FILE__, __LINE__)
#define t6_realloc(p, n) t6_realloc_at((p), (n), __FILE__, __LINE__)
#define t6_strdup(s) t6_strdup_at((s), __FILE__, __LINE__)

/* Program name used as the prefix of every message ("t6", "t6-prep"). */
void t6_set_progname(const char *name);
const char *t6_progname(void);

/* Wall-clock seconds from a monotonic clock. */
double t6_now(void);

/* Formats n with thousands separators ("124,342,272") into buf; returns buf. */
char *t6_fmt_count(char *buf, size_t len, long long n);
/* Seconds as "M:SS", "H:MM:SS" or "Dd HH:MM:SS" (log lines: elapsed, ETA). */
char *t6_fmt_duration(char *buf, size_t len, double seconds);
/* A value for a log line: fixed "%.4f" in the usual range, scientific outside it
 * (a diverging norm of 3e10 stays readable). */
char *t6_fmt_value(char *buf, size_t len, double v);

#endif
