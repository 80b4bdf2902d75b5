/* dist.c -- MPI processes and small collectives of a run (see dist.h); sums are
 * added here in rank order, so they do not depend on the MPI library's algorithm. */
#include "config.h"   /* first: T6_HAVE_MPI / T6_HAVE_CUDA decide what backend.h declares */

#include "dist.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#ifdef T6_HAVE_MPI
#include <mpi.h>
#endif

#ifndef T6_HAVE_MPI
static int env_int(const char *name, int def)
{
    const char *s = getenv(name);
    if (!s || !*s) return def;
    char *end;
    long v = strtol(s, &end, 10);
    return (*end == '\0' && v >= 0) ? (int)v : def;
}
#endif

void t6_dist_init(t6_dist *d)
{
    memset(d, 0, sizeof *d);
    d->world = 1;
    d->local_world = 1;
#ifdef T6_HAVE_MPI
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        MPI_Init(NULL, NULL);
        d->mpi_owned = 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->world);
    /* The processes sharing this node's memory are the node's ranks; their order
     * gives the local rank (same as OMPI_COMM_WORLD_LOCAL_RANK / SLURM_LOCALID). */
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &d->local_rank);
    MPI_Comm_size(node, &d->local_world);
    MPI_Comm_free(&node);
#else
    /* Without MPI a launcher may still have started several copies: refuse, since
     * they would all train the same thing and write the same files. */
    int n = env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", 1));
    if (n > 1)
        t6_fatal_hint("rebuild with ./configure --with-mpi, or start one process",
                      "this t6 was built without MPI but was started as %d processes", n);
    d->local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", env_int("SLURM_LOCALID", 0));
#endif
}

void t6_dist_finalize(t6_dist *d)
{
#ifdef T6_HAVE_MPI
    if (d->mpi_owned) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin) MPI_Finalize();
        d->mpi_owned = 0;
    }
#endif
}

void t6_dist_abort(t6_dist *d, int code)
{
#ifdef T6_HAVE_MPI
    if (d->world > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    (void)d;
    exit(code);
}

void t6_dist_setup_backend(t6_dist *d, t6_backend *be)
{
#ifdef T6_HAVE_CUDA
    if (be->kind == T6_BACKEND_CUDA && d->world > 1) {
        size_t n = t6_cuda_nccl_id_size();
        void *id = t6_calloc(1, n);
        if (d->rank == 0) t6_cuda_nccl_get_id(id);
        t6_dist_bcast(d, id, n, 0);
        t6_cuda_nccl_init(be, id, d->rank, d->world);
        free(id);
        d->nccl_ready = 1;
    }
#else
    (void)d;
    (void)be;
#endif
}

void t6_dist_barrier(t6_dist *d)
{
#ifdef T6_HAVE_MPI
    if (d->world > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
    (void)d;
}

void t6_dist_bcast(t6_dist *d, void *buf, size_t bytes, int root)
{
#ifdef T6_HAVE_MPI
    if (d->world > 1) {
        char *p = buf;
        while (bytes > 0) {     /* MPI counts are int */
            size_t n = bytes > (1u << 30) ? (1u << 30) : bytes;
            MPI_Bcast(p, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
            p += n;
            bytes -= n;
        }
    }
#endif
    (void)d; (void)buf; (void)bytes; (void)root;
}

void t6_dist_sum_doubles(t6_dist *d, double *vals, int n)
{
#ifdef T6_HAVE_MPI
    if (d->world > 1 && n > 0) {
        double *all = t6_malloc((size_t)n * (size_t)d->world * sizeof(double));
        MPI_Allgather(vals, n, MPI_DOUBLE, all, n, MPI_DOUBLE, MPI_COMM_WORLD);
        for (int i = 0; i < n; i++) {
            double acc = all[i];
            for (int r = 1; r < d->world; r++) acc += all[(size_t)r * n + i];
            vals[i] = acc;
        }
        free(all);
    }
#endif
    (void)d; (void)vals; (void)n;
}

int t6_dist_any(t6_dist *d, int flag)
{
    int out = flag ? 1 : 0;
#ifdef T6_HAVE_MPI
    if (d->world > 1) MPI_Allreduce(MPI_IN_PLACE, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
#endif
    (void)d;
    return out;
}
