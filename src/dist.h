/* dist.h -- the processes of a run: MPI start-up and shutdown, rank, world size and
 * local rank (which GPU), and the small collectives the training loop needs. Without
 * MPI (or when t6 is started without mpirun) everything degrades to one process.
 * The gradient reduction (deterministic on the CPU backend, NCCL on CUDA) and the
 * ZeRO-1 shards are in gradsync.h. */
#ifndef T6_DIST_H
#define T6_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

typedef struct {
    int rank;           /* 0 .. world-1 */
    int world;          /* number of processes */
    int local_rank;     /* index among the processes of this node (GPU to use) */
    int local_world;
    int mpi_owned;      /* 1: t6 called MPI_Init and will call MPI_Finalize */
    int nccl_ready;     /* 1: the CUDA backend's NCCL communicator is set up */
} t6_dist;

/* Starts MPI when compiled in (safe to call when already initialized). */
void t6_dist_init(t6_dist *d);
void t6_dist_finalize(t6_dist *d);
/* Ends every process (MPI_Abort with MPI, exit otherwise). */
void t6_dist_abort(t6_dist *d, int code) __attribute__((noreturn));

/* Sets up NCCL for a CUDA backend (rank 0 creates the id, MPI broadcasts it);
 * a no-op for other backends or a single process. */
void t6_dist_setup_backend(t6_dist *d, t6_backend *be);

void t6_dist_barrier(t6_dist *d);
void t6_dist_bcast(t6_dist *d, void *buf, size_t bytes, int root);

/* In-place sum over ranks of n host doubles, in rank order (bitwise the same on
 * every rank, independent of MPI's algorithm). */
void t6_dist_sum_doubles(t6_dist *d, double *vals, int n);

/* Logical OR of a flag over ranks (used to agree on a stop request). */
int t6_dist_any(t6_dist *d, int flag);

#endif
