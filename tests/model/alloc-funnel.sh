#!/bin/sh
# alloc-funnel.sh -- every device allocation of the CUDA backend goes through its one
# allocator (t6_cuda_dev_alloc and friends in kernels/cuda_backend.cu), so the memory
# counters (src/memtrack.c, t6_backend_mem_stats) see it: no other file of kernels/ or
# src/ may call cudaMalloc, cudaMallocAsync, cudaFree or cudaFreeAsync. Pinned host memory
# (cudaMallocHost / cudaFreeHost) is not device memory and is allowed. Runs without a GPU.
set -u
S=${T6_SRCDIR:?T6_SRCDIR not set (run through make check)}
hits=$(grep -nE '\bcuda(Malloc|MallocAsync|Free|FreeAsync)\s*\(' "$S"/kernels/*.cu "$S"/kernels/*.cuh "$S"/kernels/*.h \
       "$S"/src/*.c "$S"/src/*/*.c 2>/dev/null | grep -v "^$S/kernels/cuda_backend.cu:")
n=$(grep -cE '\bcuda(Malloc|MallocAsync|Free|FreeAsync)\s*\(' "$S/kernels/cuda_backend.cu")
if [ -n "$hits" ]; then
    echo "FAIL: device allocations outside the backend's allocator (use t6_cuda_dev_alloc/_free[_async]):"
    echo "$hits"
    exit 1
fi
# the allocator itself: one cudaMalloc, one cudaMallocAsync, one cudaFree, one cudaFreeAsync
if [ "$n" -ne 4 ]; then
    echo "FAIL: kernels/cuda_backend.cu has $n device allocation calls, expected the allocator's 4"
    exit 1
fi
echo "ok: every device allocation goes through kernels/cuda_backend.cu's allocator ($n calls there)"
