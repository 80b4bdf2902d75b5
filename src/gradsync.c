/* gradsync.c -- bucketed, overlapped gradient reduction and ZeRO-1 shards (see
 * gradsync.h). The CPU path uses MPI non-blocking collectives that only move data
 * (MPI_Ialltoallv to the owners, MPI_Allgatherv back); the additions happen here, in
 * rank order, after the wait. The CUDA path calls nccl.cu's range collectives. */
#include "config.h"   /* first: T6_HAVE_MPI / T6_HAVE_CUDA decide what backend.h declares */

#include "gradsync.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#ifdef T6_HAVE_MPI
#include <mpi.h>
#endif

/* Largest bucket: MPI counts are int, and bucket_mb = 0 still goes in pieces. */
#define T6_GS_MAX_BUCKET ((size_t)1 << 28)
#define T6_GS_PASS ((size_t)8 << 20)

typedef struct {
    size_t lo, hi;          /* elements of the bucket */
    size_t mine_lo, mine;   /* its part in this rank's shard */
    int launched;
#ifdef T6_HAVE_MPI
    int *scnt, *sdsp, *rcnt, *rdsp;   /* must live until the request completes */
    MPI_Request req;
#endif
} bucket;

struct t6_gradsync {
    t6_dist *d;
    t6_backend *be;
    float *grads;
    size_t n;
    int zero, overlap, armed;
    size_t *off;            /* W+1 shard offsets */
    int nb, next;           /* buckets, next to launch */
    bucket *b;
    float *scratch;         /* CPU: W copies of each bucket's part of this shard */
};

size_t t6_shard_max(size_t n, int world)
{
    return world < 1 ? n : (n + (size_t)world - 1) / (size_t)world;
}

t6_gradsync *t6_gradsync_create(t6_dist *d, t6_backend *be, float *grads, size_t n, double bucket_mb, int zero)
{
    t6_gradsync *g = t6_calloc(1, sizeof *g);
    const int W = d->world;
    g->d = d;
    g->be = be;
    g->grads = grads;
    g->n = n;
    g->zero = zero;
    g->overlap = bucket_mb > 0 && W > 1;
    g->off = t6_calloc((size_t)W + 1, sizeof *g->off);
    size_t base = n / (size_t)W, rem = n % (size_t)W;
    for (int r = 0; r < W; r++) g->off[r + 1] = g->off[r] + base + ((size_t)r < rem ? 1 : 0);
    size_t E = bucket_mb > 0 ? (size_t)(bucket_mb * 1024.0 * 1024.0 / sizeof(float)) : T6_GS_PASS;
    if (E > T6_GS_MAX_BUCKET) E = T6_GS_MAX_BUCKET;
    if (E < 1) E = 1;
    g->nb = n ? (int)((n + E - 1) / E) : 0;
    g->b = t6_calloc((size_t)(g->nb ? g->nb : 1), sizeof *g->b);
    const size_t my_lo = g->off[d->rank], my_hi = g->off[d->rank + 1];
    for (int k = 0; k < g->nb; k++) {
        bucket *bk = &g->b[k];
        bk->hi = n - (size_t)k * E;
        bk->lo = bk->hi > E ? bk->hi - E : 0;
        size_t a = my_lo > bk->lo ? my_lo : bk->lo, z = my_hi < bk->hi ? my_hi : bk->hi;
        bk->mine_lo = a;
        bk->mine = z > a ? z - a : 0;
#ifdef T6_HAVE_MPI
        if (W > 1 && be->kind == T6_BACKEND_CPU) {
            bk->scnt = t6_calloc((size_t)W * 4, sizeof(int));
            bk->sdsp = bk->scnt + W;
            bk->rcnt = bk->scnt + 2 * W;
            bk->rdsp = bk->scnt + 3 * W;
            for (int r = 0; r < W; r++) {
                size_t ra = g->off[r] > bk->lo ? g->off[r] : bk->lo, rz = g->off[r + 1] < bk->hi ? g->off[r + 1] : bk->hi;
                bk->scnt[r] = rz > ra ? (int)(rz - ra) : 0;
                bk->sdsp[r] = rz > ra ? (int)(ra - bk->lo) : 0;
                bk->rcnt[r] = (int)bk->mine;
                bk->rdsp[r] = r * (int)bk->mine;
            }
            bk->req = MPI_REQUEST_NULL;
        }
#endif
    }
    if (W > 1 && be->kind == T6_BACKEND_CPU) {
        size_t s = (size_t)W * (my_hi - my_lo);
        g->scratch = t6_malloc((s ? s : 1) * sizeof(float));
    }
    T6_CHECK(W == 1 || be->kind == T6_BACKEND_CPU
#ifdef T6_HAVE_CUDA
                 || (be->kind == T6_BACKEND_CUDA && d->nccl_ready)
#endif
             , NULL, "internal: no gradient reduction for backend %d over %d ranks", (int)be->kind, W);
    return g;
}

void t6_gradsync_destroy(t6_gradsync *g)
{
    if (!g) return;
#ifdef T6_HAVE_MPI
    for (int k = 0; k < g->nb; k++) free(g->b[k].scnt);
#endif
    free(g->b);
    free(g->off);
    free(g->scratch);
    free(g);
}

void t6_gradsync_shard(const t6_gradsync *g, size_t *off, size_t *cnt)
{
    if (!g->zero) {
        *off = 0;
        *cnt = g->n;
        return;
    }
    *off = g->off[g->d->rank];
    *cnt = g->off[g->d->rank + 1] - *off;
}

void t6_gradsync_arm(t6_gradsync *g)
{
    g->armed = 1;
    g->next = 0;
    for (int k = 0; k < g->nb; k++) g->b[k].launched = 0;
}

static void launch(t6_gradsync *g, bucket *bk, int side)
{
    bk->launched = 1;
#ifdef T6_HAVE_CUDA
    if (g->be->kind == T6_BACKEND_CUDA) {
        t6_cuda_nccl_range(g->be, g->grads, bk->lo, bk->hi, g->off, g->zero ? T6_NCCL_REDUCE_SHARDS : T6_NCCL_ALLREDUCE,
                           side);
        return;
    }
#endif
    (void)side;
#ifdef T6_HAVE_MPI
    const size_t my_lo = g->off[g->d->rank];
    float *recv = g->scratch + (size_t)g->d->world * (bk->mine ? bk->mine_lo - my_lo : 0);
    MPI_Ialltoallv(g->grads + bk->lo, bk->scnt, bk->sdsp, MPI_FLOAT, recv, bk->rcnt, bk->rdsp, MPI_FLOAT,
                   MPI_COMM_WORLD, &bk->req);
#endif
}

void t6_gradsync_ready(void *arg, size_t lo)
{
    t6_gradsync *g = arg;
    if (!g->armed || !g->overlap) return;
    while (g->next < g->nb && g->b[g->next].lo >= lo) launch(g, &g->b[g->next++], 1);
#ifdef T6_HAVE_MPI
    /* MPI libraries without a progress thread move data inside MPI calls: poke them */
    if (g->be->kind == T6_BACKEND_CPU)
        for (int k = 0; k < g->next; k++) {
            int done;
            MPI_Test(&g->b[k].req, &done, MPI_STATUS_IGNORE);
        }
#endif
}

#ifdef T6_HAVE_MPI
/* Owner's sum of one bucket's part, in rank order (what dist.c's all-reduce did). */
static void sum_bucket(t6_gradsync *g, bucket *bk)
{
    MPI_Wait(&bk->req, MPI_STATUS_IGNORE);
    const int W = g->d->world;
    const size_t mine = bk->mine;
    if (!mine) return;
    const float *s = g->scratch + (size_t)W * (bk->mine_lo - g->off[g->d->rank]);
    float *dst = g->grads + bk->mine_lo;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < mine; i++) {
        float acc = s[i];
        for (int r = 1; r < W; r++) acc += s[(size_t)r * mine + i];
        dst[i] = acc;
    }
}
#endif

/* Every bucket's owners' parts of buf to every rank (CPU: blocking, in bucket order). */
static void gather_shards(t6_gradsync *g, float *buf)
{
#ifdef T6_HAVE_CUDA
    if (g->be->kind == T6_BACKEND_CUDA) {
        for (int k = 0; k < g->nb; k++)
            t6_cuda_nccl_range(g->be, buf, g->b[k].lo, g->b[k].hi, g->off, T6_NCCL_GATHER_SHARDS, 0);
        return;
    }
#endif
#ifdef T6_HAVE_MPI
    for (int k = 0; k < g->nb; k++) {
        bucket *bk = &g->b[k];
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, buf + bk->lo, bk->scnt, bk->sdsp, MPI_FLOAT, MPI_COMM_WORLD);
    }
#endif
    (void)g; (void)buf;
}

void t6_gradsync_finish(t6_gradsync *g)
{
    g->armed = 0;
    if (g->d->world <= 1) return;
    while (g->next < g->nb) launch(g, &g->b[g->next++], g->overlap);
#ifdef T6_HAVE_CUDA
    if (g->be->kind == T6_BACKEND_CUDA) {
        if (g->overlap) t6_cuda_nccl_join(g->be);
        return;   /* zero = 0: all-reduced; zero = 1: reduced onto the owners */
    }
#endif
#ifdef T6_HAVE_MPI
    for (int k = 0; k < g->nb; k++) sum_bucket(g, &g->b[k]);
    if (!g->zero) gather_shards(g, g->grads);
#endif
}

double t6_gradsync_grad_norm(t6_gradsync *g)
{
    const int r = g->d->rank;
    /* zero = 0 after an all-reduce holds the whole sum everywhere; the norm is still
     * taken over this rank's shard of the partition, so both modes agree bitwise */
    double ss = g->be->ops->sum_squares(g->be, g->grads + g->off[r], g->off[r + 1] - g->off[r]);
    t6_dist_sum_doubles(g->d, &ss, 1);
    return sqrt(ss);
}

void t6_gradsync_gather_params(t6_gradsync *g, float *params)
{
    if (g->d->world <= 1 || !g->zero) return;
    gather_shards(g, params);
}

void t6_gradsync_gather_host(t6_gradsync *g, float *host, size_t shard_off)
{
    (void)shard_off;
    if (g->d->world <= 1 || !g->zero) return;
#ifdef T6_HAVE_MPI
    const size_t chunk = (size_t)1 << 28;   /* MPI counts are int */
    for (int r = 1; r < g->d->world; r++) {
        if (g->d->rank != 0 && g->d->rank != r) continue;
        for (size_t o = g->off[r]; o < g->off[r + 1]; o += chunk) {
            size_t c = g->off[r + 1] - o < chunk ? g->off[r + 1] - o : chunk;
            if (g->d->rank == 0) MPI_Recv(host + o, (int)c, MPI_FLOAT, r, 614, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            else MPI_Send(host + (o - shard_off), (int)c, MPI_FLOAT, 0, 614, MPI_COMM_WORLD);
        }
    }
#endif
}
