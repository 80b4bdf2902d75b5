/* blas_env.c -- OPENBLAS_CORETYPE for CPUs that the installed OpenBLAS does not know
 * (see blas_env.h). Debian 12's OpenBLAS 0.3.21 falls back to the SSE3 "Prescott"
 * kernels on e.g. Emerald Rapids Xeons, several times slower (doc/model.md). The
 * variable is read when the library loads, so setenv alone comes too late: t6 sets it
 * and re-executes itself once, before MPI or anything else has started. An
 * OPENBLAS_CORETYPE the user set is left alone (that also ends the re-exec). */
#include "blas_env.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"

#ifdef T6_HAVE_BLAS
#include <cblas.h>
#endif

/* T6_TEST_OPENBLAS_CORENAME pretends OpenBLAS reported that core (tests/deck/blas-env.sh
 * checks the re-exec on CPUs that OpenBLAS knows). */
static const char *detected_core(void)
{
#ifdef T6_HAVE_BLAS
    const char *t = getenv("T6_TEST_OPENBLAS_CORENAME");
    return t && *t ? t : openblas_get_corename();
#else
    return NULL;
#endif
}

const char *t6_blas_core(void)
{
#ifdef T6_HAVE_BLAS
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
#else
    return "none";
#endif
}

void t6_blas_env_setup(char **argv)
{
#if defined(T6_HAVE_BLAS) && defined(__x86_64__) && defined(__GNUC__)
    if (getenv("OPENBLAS_CORETYPE")) return;
    const char *core = detected_core();
    if (!core || strcasecmp(core, "prescott") != 0) return;
    const char *fix = __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
    if (!fix) return;
    setenv("OPENBLAS_CORETYPE", fix, 1);
    unsetenv("T6_TEST_OPENBLAS_CORENAME");
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on; cpu_backend.c prints the warning with the fix */
    unsetenv("OPENBLAS_CORETYPE");
#else
    (void)argv;
#endif
}
