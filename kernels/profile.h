/* profile.h -- C interface of profile.cu: per-op GPU time of a CUDA backend (for the
 * benchmarks) and the device memory in use. Only in builds with CUDA. */
#ifndef T6_CUDA_PROFILE_H
#define T6_CUDA_PROFILE_H

#include <stdio.h>
#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif
/* Wraps be's compute ops; call BEFORE creating the model (it copies the ops pointer).
 * Timing runs between t6_cuda_prof_reset() and t6_cuda_prof_report(). */
void t6_cuda_prof_enable(t6_backend *be);
void t6_cuda_prof_reset(void);
void t6_cuda_prof_report(FILE *f, int steps);
size_t t6_cuda_mem_used(t6_backend *be);
/* the backend's stream (a cudaStream_t), for a benchmark's own events and copies */
void *t6_cuda_stream(t6_backend *be);
/* internal: whether ops are being timed; the per-shape GEMM table (matmul.cu) */
int t6_cuda_prof_active(void);
void t6_cuda_matmul_prof_report(t6_backend *be, FILE *f, int steps);
/* the path the last decode attention call took ("split+combine", "one-launch", "fused",
 * "generic+combine"; "none" before any) and, when grid is not NULL, its blocks per row,
 * warps per block (0: generic kernel) and tokens per split (decode.cu) */
const char *t6_cuda_decode_path(t6_backend *be, int grid[3]);
#ifdef __cplusplus
}
#endif
#endif
