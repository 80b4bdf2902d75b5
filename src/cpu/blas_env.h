/* blas_env.h -- makes OpenBLAS fast on CPUs newer than the installed library
 * (src/cpu/blas_env.c): it picks its kernels when it loads, before main, so the
 * remedy, OPENBLAS_CORETYPE, has to be in the environment of a fresh exec. */
#ifndef T6_BLAS_ENV_H
#define T6_BLAS_ENV_H

/* Call first thing in main: when OpenBLAS fell back to its generic "Prescott" kernels
 * on an AVX2 / AVX-512 CPU and OPENBLAS_CORETYPE is unset, sets it to the matching
 * core and re-executes the program once (same pid and arguments). Quiet; if the exec
 * fails the backend's warning with the fix appears later. No-op without OpenBLAS. */
void t6_blas_env_setup(char **argv);
/* The kernel set OpenBLAS uses ("Haswell", "SkylakeX", ...; "none" without BLAS). */
const char *t6_blas_core(void);

#endif
