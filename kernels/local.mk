# kernels/local.mk -- the CUDA backend, built only when configure found CUDA. One file
# per op (named like the src/cpu/ counterparts); cuda_common.cuh holds the shared state.
T6_CUDA_LIB =
if HAVE_CUDA
noinst_LIBRARIES += libt6cuda.a
libt6cuda_a_SOURCES = kernels/cuda_backend.cu kernels/cuda_check.h kernels/cuda_common.cuh \
	kernels/matmul.cu kernels/convert.cu kernels/embed.cu kernels/rmsnorm.cu kernels/rope.cu \
	kernels/tpa_product.cu kernels/attention.cu kernels/attention_mma.cu kernels/swiglu.cu \
	kernels/cross_entropy.cu kernels/adamw.cu kernels/norms.cu kernels/nccl.cu
T6_CUDA_LIB += libt6cuda.a
endif
EXTRA_DIST += kernels/cuda_backend.cu kernels/cuda_check.h kernels/cuda_common.cuh \
	kernels/matmul.cu kernels/convert.cu kernels/embed.cu kernels/rmsnorm.cu kernels/rope.cu \
	kernels/tpa_product.cu kernels/attention.cu kernels/attention_mma.cu kernels/swiglu.cu \
	kernels/cross_entropy.cu kernels/adamw.cu kernels/norms.cu kernels/nccl.cu
NVCCFLAGS = -O3 -std=c++17 $(CUDA_GENCODE) -Xcompiler -fPIC,-Wall -I$(top_srcdir)/src -I$(top_builddir) --expt-relaxed-constexpr
.cu.$(OBJEXT):
	$(AM_V_CC)$(NVCC) $(NVCCFLAGS) $(DEFS) -c -o $@ $<
