/* cuda_check.h -- checks every CUDA runtime, cuBLAS(Lt) and NCCL call and turns a
 * failure into t6_fatal naming the file and line of the call and the library's own
 * error string, because an unchecked launch error surfaces ops later as garbage. */
#ifndef T6_CUDA_CHECK_H
#define T6_CUDA_CHECK_H

#include <cuda_runtime.h>
#include <cublasLt.h>

extern "C" {
#include "util.h"
}

#define CUDA_CHECK(call)                                                               \
    do {                                                                               \
        cudaError_t e_ = (call);                                                       \
        if (e_ != cudaSuccess)                                                         \
            t6_fatal_at(__FILE__, __LINE__, "check the GPU (nvidia-smi) and the sizes",  \
                        "CUDA: %s failed: %s", #call, cudaGetErrorString(e_));         \
    } while (0)

/* After a kernel launch: catches bad launch configurations at the launch site. */
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#define CUBLAS_CHECK(call)                                                             \
    do {                                                                               \
        cublasStatus_t s_ = (call);                                                    \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                               \
            t6_fatal_at(__FILE__, __LINE__, "unsupported shape/type combination?",      \
                        "cuBLAS: %s failed: status %d (%s)", #call, (int)s_,           \
                        cublasLtGetStatusString(s_));                                  \
    } while (0)

#define NCCL_CHECK(call)                                                               \
    do {                                                                               \
        ncclResult_t r_ = (call);                                                      \
        if (r_ != ncclSuccess)                                                         \
            t6_fatal_at(__FILE__, __LINE__, "set NCCL_DEBUG=INFO for details",           \
                        "NCCL: %s failed: %s", #call, ncclGetErrorString(r_));         \
    } while (0)

#endif
