/* nccl.cu -- the NCCL collectives of the CUDA backend: the range collectives of the
 * bucketed reduction and ZeRO-1 (src/gradsync.c): a bucket [lo, hi) all-reduced,
 * reduced onto the owners of the shards it overlaps, or gathered from them. MPI
 * (dist.c) broadcasts the unique id rank 0 gets from t6_cuda_nccl_get_id; every rank
 * then joins the communicator on its backend's device.
 * A bucket launched while the backward still runs goes on a side stream that first
 * waits for everything enqueued on the main stream so far (an event), so the
 * reduction overlaps the rest of the backward; t6_cuda_nccl_join makes the main
 * stream wait for the side stream before the optimizer reads the gradient. */
#include "cuda_common.cuh"

#include <nccl.h>

extern "C" size_t t6_cuda_nccl_id_size(void) { return sizeof(ncclUniqueId); }

extern "C" void t6_cuda_nccl_get_id(void *id)
{
    NCCL_CHECK(ncclGetUniqueId((ncclUniqueId *)id));
}

extern "C" void t6_cuda_nccl_init(t6_backend *be, const void *id, int rank, int world)
{
    t6_cuda_impl *im = cu_impl(be);
    ncclUniqueId uid;
    memcpy(&uid, id, sizeof uid);
    ncclComm_t comm;
    CUDA_CHECK(cudaSetDevice(im->device));
    NCCL_CHECK(ncclCommInitRank(&comm, world, uid, rank));
    im->nccl_comm = comm;
    im->nccl_world = world;
    CUDA_CHECK(cudaStreamCreateWithFlags(&im->nccl_stream, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&im->nccl_ev_main, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&im->nccl_ev_side, cudaEventDisableTiming));
}

/* Shards have any sizes (element ranges of the flat vector, independent of buckets
 * and of parameter boundaries), so the reduce-scatter and all-gather of a bucket are
 * grouped ncclReduce / ncclBroadcast calls, one per shard owner it overlaps, rather
 * than ncclReduceScatter / ncclAllGather, which need equal counts. */
extern "C" void t6_cuda_nccl_range(t6_backend *be, float *buf, size_t lo, size_t hi, const size_t *shard_off,
                                   int op, int side)
{
    t6_cuda_impl *im = cu_impl(be);
    T6_CHECK(im->nccl_comm, "call t6_cuda_nccl_init first (dist.c)", "NCCL collective before init");
    ncclComm_t comm = (ncclComm_t)im->nccl_comm;
    cudaStream_t st = im->stream;
    if (side) {
        CUDA_CHECK(cudaEventRecord(im->nccl_ev_main, im->stream));
        CUDA_CHECK(cudaStreamWaitEvent(im->nccl_stream, im->nccl_ev_main, 0));
        st = im->nccl_stream;
    }
    if (op == T6_NCCL_ALLREDUCE) {
        NCCL_CHECK(ncclAllReduce(buf + lo, buf + lo, hi - lo, ncclFloat, ncclSum, comm, st));
        return;
    }
    NCCL_CHECK(ncclGroupStart());
    for (int r = 0; r < im->nccl_world; r++) {
        size_t a = shard_off[r] > lo ? shard_off[r] : lo, b = shard_off[r + 1] < hi ? shard_off[r + 1] : hi;
        if (a >= b) continue;
        if (op == T6_NCCL_REDUCE_SHARDS)
            NCCL_CHECK(ncclReduce(buf + a, buf + a, b - a, ncclFloat, ncclSum, r, comm, st));
        else
            NCCL_CHECK(ncclBroadcast(buf + a, buf + a, b - a, ncclFloat, r, comm, st));
    }
    NCCL_CHECK(ncclGroupEnd());
}

extern "C" void t6_cuda_nccl_join(t6_backend *be)
{
    t6_cuda_impl *im = cu_impl(be);
    if (!im->nccl_comm) return;
    CUDA_CHECK(cudaEventRecord(im->nccl_ev_side, im->nccl_stream));
    CUDA_CHECK(cudaStreamWaitEvent(im->stream, im->nccl_ev_side, 0));
}

void t6_cuda_nccl_destroy(t6_backend *be)
{
    t6_cuda_impl *im = cu_impl(be);
    if (!im->nccl_comm) return;
    CUDA_CHECK(cudaStreamSynchronize(im->nccl_stream));
    CUDA_CHECK(cudaEventDestroy(im->nccl_ev_main));
    CUDA_CHECK(cudaEventDestroy(im->nccl_ev_side));
    CUDA_CHECK(cudaStreamDestroy(im->nccl_stream));
    NCCL_CHECK(ncclCommDestroy((ncclComm_t)im->nccl_comm));
    im->nccl_comm = NULL;
}
