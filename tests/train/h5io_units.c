/* h5io_units.c -- unit tests of the failure-path helpers (issue #10 items 1, 2, 11):
 * HDF5 attribute round trips and their missing / wrong-type answers, the one-line
 * reason taken from HDF5's error stack, the fatal-hook order of t6_fatal (in a forked
 * child: newest hook first, each once, exit 1), the temporary-file rule (a writer pid
 * that is alive keeps its file) and the run-directory lock inside one process.
 *   h5io_units SCRATCH_DIR */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "h5io.h"
#include "rundir.h"
#include "util.h"

static int fails = 0, checks = 0;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } } while (0)

static void test_attrs(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/attrs.h5", dir);
    t6_h5_quiet();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(f >= 0, "cannot create %s", path);
    CHECK(t6_h5_attr_str(f, "s", "hello") == 0, "attr_str");
    CHECK(t6_h5_attr_str(f, "s", "replaced, longer") == 0, "attr_str over an existing one");
    CHECK(t6_h5_attr_i64(f, "i", -42) == 0, "attr_i64");
    CHECK(t6_h5_attr_f64(f, "d", 2.5) == 0, "attr_f64");
    H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char s[64], small[4];
    int64_t i = 0;
    double d = 0;
    char *dup = NULL;
    CHECK(t6_h5_get_str(f, "s", s, sizeof s) == 0 && strcmp(s, "replaced, longer") == 0, "get_str: '%s'", s);
    CHECK(t6_h5_get_str(f, "s", small, sizeof small) == 0 && strcmp(small, "rep") == 0, "get_str truncates: '%s'", small);
    CHECK(t6_h5_get_str_dup(f, "s", &dup) == 0 && dup && strcmp(dup, "replaced, longer") == 0, "get_str_dup");
    free(dup);
    CHECK(t6_h5_get_i64(f, "i", &i) == 0 && i == -42, "get_i64: %lld", (long long)i);
    CHECK(t6_h5_get_f64(f, "d", &d) == 0 && d == 2.5, "get_f64: %g", d);
    CHECK(t6_h5_get_f64(f, "i", &d) == 0 && d == -42.0, "get_f64 of an integer: %g", d);
    CHECK(t6_h5_get_i64(f, "d", &i) == T6_H5_BADTYPE, "get_i64 of a float must be BADTYPE");
    CHECK(t6_h5_get_i64(f, "s", &i) == T6_H5_BADTYPE, "get_i64 of a string must be BADTYPE");
    CHECK(t6_h5_get_str(f, "i", s, sizeof s) == T6_H5_BADTYPE, "get_str of an integer must be BADTYPE");
    CHECK(t6_h5_get_i64(f, "nope", &i) == T6_H5_MISSING, "missing attribute must be MISSING");
    /* a failing call leaves one line, not HDF5's stack */
    hid_t bad = H5Dopen2(f, "no_such_dataset", H5P_DEFAULT);
    char why[256];
    t6_h5_reason(why, sizeof why);
    CHECK(bad < 0 && why[0] != '\0' && !strchr(why, '\n'), "reason of a failed H5Dopen2: '%s'", why);
    t6_h5_reason(why, sizeof why);
    CHECK(why[0] == '\0', "the reason clears the stack: '%s'", why);
    t6_h5_close_file_all(f);
}

static void hook_a(const char *msg, void *arg) { (void)arg; printf("hook a: %s\n", msg); fflush(stdout); }
static void hook_b(const char *msg, void *arg) { (void)arg; printf("hook b: %s\n", msg); fflush(stdout); }
static void hook_popped(const char *msg, void *arg) { (void)msg; (void)arg; printf("popped hook ran\n"); fflush(stdout); }

static void test_fatal_hooks(const char *dir)
{
    char out[4200];
    snprintf(out, sizeof out, "%s/hooks.txt", dir);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(3);
        t6_fatal_hook_push(hook_a, NULL);
        int p = t6_fatal_hook_push(hook_popped, NULL);
        t6_fatal_hook_pop(p);
        t6_fatal_hook_push(hook_b, NULL);
        t6_fatal("boom %d", 7);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "t6_fatal with hooks: exit status %d, want 1", st);
    char text[512] = "";
    FILE *f = fopen(out, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f) fclose(f);
    CHECK(strcmp(text, "hook b: boom 7\nhook a: boom 7\n") == 0, "hooks newest first, once, popped one not run: '%s'", text);
}

static void test_temp_rule(void)
{
    char name[64];
    snprintf(name, sizeof name, ".ckpt_00000001.h5.tmp.%ld", (long)getpid());
    CHECK(t6_temp_writer_alive(name) == 0, "our own temp file counts as a dead writer's");
    pid_t child = fork();
    if (child == 0) { pause(); _exit(0); }
    snprintf(name, sizeof name, "t6.status.tmp.%ld", (long)child);
    CHECK(t6_temp_writer_alive(name) == 1, "a live writer's temp file must be kept");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    CHECK(t6_temp_writer_alive(name) == 0, "a dead writer's temp file may go");
    CHECK(t6_temp_writer_alive("ckpt_00000001.h5") == -1, "no .tmp. suffix");
    CHECK(t6_temp_writer_alive("x.tmp.12ab") == -1, "a suffix that is no pid");
}

static void test_lock(const char *dir)
{
    /* the lock is taken, names us, and is emptied on close; a second take works */
    t6_rundir rd;
    t6_rundir_lock(&rd, dir);
    char path[4200], buf[512] = "";
    snprintf(path, sizeof path, "%s/t6.lock", dir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
    char want[64];
    snprintf(want, sizeof want, "pid %ld\n", (long)getpid());
    CHECK(strncmp(buf, want, strlen(want)) == 0 && strstr(buf, "\nhost ") && strstr(buf, "\nstarted "),
          "lock file content: '%s'", buf);
    /* a child process cannot take it while we hold it */
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        t6_rundir other;
        t6_rundir_lock(&other, dir);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "a second locker must fail (status %d)", st);
    t6_rundir_close(&rd);
    f = fopen(path, "r");
    n = f ? fread(buf, 1, sizeof buf - 1, f) : 99;
    if (f) fclose(f);
    CHECK(n == 0, "the lock file is emptied on close (%zu bytes)", n);
    t6_rundir_lock(&rd, dir);
    CHECK(rd.lock_fd >= 0, "the lock can be taken again");
    t6_rundir_close(&rd);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: h5io_units SCRATCH_DIR\n"); return 2; }
    char b[32];
    CHECK(strcmp(t6_fmt_bytes(b, sizeof b, 999), "999 bytes") == 0, "fmt_bytes(999) = %s", b);
    CHECK(strcmp(t6_fmt_bytes(b, sizeof b, 1900000), "1.9 MB") == 0, "fmt_bytes(1.9e6) = %s", b);
    CHECK(t6_free_bytes(argv[1]) > 0, "free bytes of the scratch dir");
    test_attrs(argv[1]);
    test_fatal_hooks(argv[1]);
    test_temp_rule();
    test_lock(argv[1]);
    printf("%d checks, %d failed\n", checks, fails);
    return fails ? 1 : 0;
}
