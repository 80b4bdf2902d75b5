# kernels/local.mk -- the CUDA backend, built only when configure found CUDA.
T6_CUDA_LIB =
if HAVE_CUDA
noinst_LIBRARIES += libt6cuda.a
libt6cuda_a_SOURCES = kernels/cuda_backend.cu
T6_CUDA_LIB += libt6cuda.a
endif
NVCCFLAGS = -O3 -std=c++17 $(CUDA_GENCODE) -Xcompiler -fPIC,-Wall -I$(top_srcdir)/src -I$(top_builddir) --expt-relaxed-constexpr
.cu.$(OBJEXT):
	$(AM_V_CC)$(NVCC) $(NVCCFLAGS) $(DEFS) -c -o $@ $<
