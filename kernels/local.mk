# kernels/local.mk -- the CUDA backend, built only when configure found CUDA. One file
# per op (named like the src/cpu/ counterparts); cuda_common.cuh holds the shared state.
T6_CUDA_LIB =
if HAVE_CUDA
noinst_LIBRARIES += libt6cuda.a
libt6cuda_a_SOURCES = kernels/cuda_backend.cu kernels/cuda_check.h kernels/cuda_common.cuh \
	kernels/matmul.cu kernels/convert.cu kernels/embed.cu kernels/rmsnorm.cu kernels/rope.cu \
	kernels/tpa_product.cu kernels/tpa_split.cu kernels/tpa_qkv.cu kernels/attention.cu kernels/attention_mma.cu kernels/swiglu.cu \
	kernels/cross_entropy.cu kernels/adamw.cu kernels/norms.cu kernels/nccl.cu \
	kernels/profile.cu kernels/profile.h kernels/decode.cu kernels/decode_mla.cu kernels/mla.cu kernels/mla_split.cu kernels/graph.cu
T6_CUDA_LIB += libt6cuda.a
# nvcc objects get no automatic header dependencies: rebuild them when the shared
# headers (the ops table's signatures among them) change
$(libt6cuda_a_OBJECTS): kernels/cuda_common.cuh kernels/cuda_check.h kernels/profile.h src/backend.h \
	src/util.h src/deck.h
endif
EXTRA_DIST += kernels/cuda_backend.cu kernels/cuda_check.h kernels/cuda_common.cuh \
	kernels/matmul.cu kernels/convert.cu kernels/embed.cu kernels/rmsnorm.cu kernels/rope.cu \
	kernels/tpa_product.cu kernels/tpa_split.cu kernels/tpa_qkv.cu kernels/attention.cu kernels/attention_mma.cu kernels/swiglu.cu \
	kernels/cross_entropy.cu kernels/adamw.cu kernels/norms.cu kernels/nccl.cu \
	kernels/profile.cu kernels/profile.h kernels/decode.cu kernels/decode_mla.cu kernels/mla.cu kernels/mla_split.cu kernels/graph.cu \
	tests/gpu/run.sh tests/gpu/gpu_check.c tests/gpu/gen_check.c tests/gpu/gpu_test.h tests/gpu/gen_check.sh \
	bench/gpu/verify-medium.sh bench/gpu/decode_bench.c bench/gpu/decode_ref.py bench/gpu/decode-compare.sh \
	bench/gpu/recompute.sh bench/gpu/scaling.sh bench/gpu/mla-compare.sh bench/gpu/mla_ref_bench.py \
	bench/gpu/compare-train.sh bench/gpu/ref_train_bench.py bench/gpu/perf-verify.sh
NVCCFLAGS = -O3 -std=c++17 $(CUDA_GENCODE) -Xcompiler -fPIC,-Wall -I$(top_srcdir)/src -I$(top_builddir) --expt-relaxed-constexpr
.cu.$(OBJEXT):
	$(AM_V_CC)$(NVCC) $(NVCCFLAGS) $(DEFS) -c -o $@ $<

# GPU-only programs (never in make check: CI has no GPU). `make gpu-tests` builds
# tests/gpu/gpu_check (run by tests/gpu/run.sh) and tests/gpu/gen_check (tests/gpu/gen_check.sh), `make gpu-bench` bench/gpu/gpu_bench
# and bench/gpu/decode_bench (run by bench/gpu/decode-compare.sh).
if HAVE_CUDA
EXTRA_PROGRAMS = tests/gpu/gpu_check tests/gpu/gen_check bench/gpu/gpu_bench bench/gpu/decode_bench
tests_gpu_gpu_check_SOURCES = tests/gpu/gpu_check.c tests/gpu/gpu_test.h
tests_gpu_gpu_check_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/kernels
tests_gpu_gpu_check_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
tests_gpu_gen_check_SOURCES = tests/gpu/gen_check.c tests/gpu/gpu_test.h
tests_gpu_gen_check_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
bench_gpu_gpu_bench_SOURCES = bench/gpu/gpu_bench.c
bench_gpu_gpu_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/kernels
bench_gpu_gpu_bench_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
bench_gpu_decode_bench_SOURCES = bench/gpu/decode_bench.c
bench_gpu_decode_bench_CPPFLAGS = $(AM_CPPFLAGS) $(CUDA_CFLAGS) -I$(top_srcdir)/kernels
bench_gpu_decode_bench_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
CLEANFILES += tests/gpu/gpu_check tests/gpu/gen_check bench/gpu/gpu_bench bench/gpu/decode_bench
gpu-tests: tests/gpu/gpu_check tests/gpu/gen_check
gpu-bench: bench/gpu/gpu_bench bench/gpu/decode_bench
else
gpu-tests gpu-bench:
	@echo "gpu-tests/gpu-bench need a build configured --with-cuda"; exit 1
endif
.PHONY: gpu-tests gpu-bench
