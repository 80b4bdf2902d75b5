/* version.c -- `t6 --version` (version.h). The build options come from configure
 * (config.h), the commit from t6-commit.h, which make rewrites whenever the checkout's
 * HEAD (or its dirty state) changes, and which says "unknown" when built from a
 * release tarball (no .git). */
#include "version.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "deckpath.h"
#include "t6-commit.h"
#include "cpu/blas_env.h"
#ifdef T6_HAVE_MPI
#include <mpi.h>
#endif

void t6_print_version(FILE *f)
{
#ifdef T6_HAVE_MPI
    const char *mpi = "yes";
#else
    const char *mpi = "no";
#endif
#ifdef T6_HAVE_CUDA
    const char *cuda = "yes";
#else
    const char *cuda = "no";
#endif
#ifdef T6_HAVE_BLAS
    const char *blas = "yes";
#else
    const char *blas = "no";
#endif
    /* The first two lines are parsed by tests and job scripts: keep their form. */
    fprintf(f, "t6 (T6-C) %s\n", PACKAGE_VERSION);
    fprintf(f, "features: mpi=%s cuda=%s blas=%s\n", mpi, cuda, blas);
    fprintf(f, "commit: %s\n", T6_GIT_COMMIT);
#ifdef T6_HAVE_CUDA
    fprintf(f, "cuda: %s, archs %s\n", T6_NVCC_VERSION, T6_CUDA_ARCHS);
#else
    fprintf(f, "cuda: not built (configure found no usable CUDA, or --without-cuda)\n");
#endif
#ifdef T6_HAVE_MPI
    /* One of the few MPI calls allowed before MPI_Init; only its first line. */
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (MPI_Get_library_version(lib, &len) == MPI_SUCCESS) {
        lib[strcspn(lib, "\r\n,")] = '\0';
        fprintf(f, "mpi: %s\n", lib);
    } else {
        fprintf(f, "mpi: yes (library version unknown)\n");
    }
#else
    fprintf(f, "mpi: not built (single process)\n");
#endif
#ifdef T6_HAVE_BLAS
    fprintf(f, "blas: OpenBLAS %s\n", T6_BLAS_VERSION);
#else
    fprintf(f, "blas: none (the built-in blocked matmul)\n");
#endif
    fprintf(f, "hdf5: %s\n", T6_HDF5_VERSION);
    fprintf(f, "libconfig: %s\n", T6_LIBCONFIG_VERSION);
    fprintf(f, "configure: %s\n", T6_CONFIGURE_ARGS[0] ? T6_CONFIGURE_ARGS : "(no options)");
    char *input = t6_installed_dir(T6_INPUTDIR);
    fprintf(f, "prefix: %s\ndecks: %s\n", T6_PREFIX, input);
    free(input);
    /* last: the OpenBLAS kernels in use (tests/deck/blas-env.sh reads this line) */
    const char *ct = getenv("OPENBLAS_CORETYPE");
    fprintf(f, "blas kernels: %s%s%s%s\n", t6_blas_core(), ct ? " (OPENBLAS_CORETYPE=" : "", ct ? ct : "", ct ? ")" : "");
}
