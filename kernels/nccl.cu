/* nccl.cu -- the NCCL gradient all-reduce of the CUDA backend. MPI (dist.c) broadcasts
 * the unique id rank 0 gets from t6_cuda_nccl_get_id; every rank then joins the
 * communicator on its backend's device and stream. */
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
}

extern "C" void t6_cuda_nccl_allreduce_sum(t6_backend *be, float *buf, size_t n)
{
    t6_cuda_impl *im = cu_impl(be);
    T6_CHECK(im->nccl_comm, "call t6_cuda_nccl_init first (dist.c)", "NCCL all-reduce before init");
    NCCL_CHECK(ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, (ncclComm_t)im->nccl_comm, im->stream));
}

void t6_cuda_nccl_destroy(t6_backend *be)
{
    t6_cuda_impl *im = cu_impl(be);
    if (!im->nccl_comm) return;
    NCCL_CHECK(ncclCommDestroy((ncclComm_t)im->nccl_comm));
    im->nccl_comm = NULL;
}
