// cuda_backend.cu -- SCAFFOLD: replaced by the CUDA-backend issue's implementation.
#include <cuda_runtime.h>
extern "C" {
#include "backend.h"
#include "util.h"
t6_backend *t6_cuda_backend_create(const t6_backend_config *cfg, int local_rank) { (void)cfg; (void)local_rank; t6_fatal("CUDA backend not implemented yet"); }
void t6_cuda_backend_destroy(t6_backend *be) { (void)be; }
}
