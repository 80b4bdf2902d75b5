# tests/model/local.mk -- tests of the model and the CPU backend (see tests/local.mk).
T6_MODEL_TEST_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
EXTRA_DIST += tests/model/tmodel.h bench/cpu/RESULTS.md

check_PROGRAMS += tests/model/gradcheck
tests_model_gradcheck_SOURCES = tests/model/gradcheck.c tests/model/tmodel.h
tests_model_gradcheck_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/gradcheck

check_PROGRAMS += tests/model/identities
tests_model_identities_SOURCES = tests/model/identities.c tests/model/tmodel.h
tests_model_identities_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/identities

check_PROGRAMS += tests/model/init
tests_model_init_SOURCES = tests/model/init.c tests/model/tmodel.h
tests_model_init_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/init

check_PROGRAMS += tests/model/strides
tests_model_strides_SOURCES = tests/model/strides.c tests/model/tmodel.h
tests_model_strides_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/strides

check_PROGRAMS += tests/model/threads
tests_model_threads_SOURCES = tests/model/threads.c tests/model/tmodel.h
tests_model_threads_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/threads

# The CPU benchmark (bench/cpu/): compiled with the tests (so it keeps building) but
# never run by make check; `make bench-cpu` builds it alone.
check_PROGRAMS += bench/cpu/bench_cpu
bench_cpu_bench_cpu_SOURCES = bench/cpu/bench_cpu.c
bench_cpu_bench_cpu_LDADD = $(T6_MODEL_TEST_LDADD)
.PHONY: bench-cpu
bench-cpu: bench/cpu/bench_cpu
check_PROGRAMS += bench/cpu/bench_matmul
bench_cpu_bench_matmul_SOURCES = bench/cpu/bench_matmul.c
bench_cpu_bench_matmul_LDADD = $(T6_MODEL_TEST_LDADD)
bench-cpu: bench/cpu/bench_matmul

TESTS += tests/model/blocked.sh
EXTRA_DIST += tests/model/blocked.sh

check_PROGRAMS += tests/model/mla
tests_model_mla_SOURCES = tests/model/mla.c tests/model/tmodel.h
tests_model_mla_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/mla

check_PROGRAMS += tests/model/mla_split
tests_model_mla_split_SOURCES = tests/model/mla_split.c tests/model/tmodel.h
tests_model_mla_split_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/mla_split

# train.recompute: bitwise gradients and ordered peak memory (doc/training.md "Memory")
check_PROGRAMS += tests/model/recompute
tests_model_recompute_SOURCES = tests/model/recompute.c tests/model/tmodel.h
tests_model_recompute_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/recompute
check_PROGRAMS += tests/model/memtrack
tests_model_memtrack_SOURCES = tests/model/memtrack.c tests/model/tmodel.h
tests_model_memtrack_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/memtrack
TESTS += tests/model/alloc-funnel.sh
EXTRA_DIST += tests/model/alloc-funnel.sh

# attention_mma.cu's indexing on the host emulator (tools/mma-emu), no GPU needed
TESTS += tests/model/attention-mma-emu.sh
EXTRA_DIST += tests/model/attention-mma-emu.sh

# tpa_split / tpa_join: the fused factor split (RoPE included) against six copies + rope
check_PROGRAMS += tests/model/tpa_split
tests_model_tpa_split_SOURCES = tests/model/tpa_split.c tests/model/tmodel.h
tests_model_tpa_split_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/tpa_split

# tpa_qkv_fwd / tpa_qkv_bwd: the fused ops against split + 3 products (and 3 product
# backwards + join), bitwise on the CPU, and against finite differences
check_PROGRAMS += tests/model/tpa_qkv
tests_model_tpa_qkv_SOURCES = tests/model/tpa_qkv.c tests/model/tmodel.h
tests_model_tpa_qkv_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/tpa_qkv
# ... and kernels/tpa_qkv.cu's CUDA kernels on the host emulator (tools/mma-emu)
TESTS += tests/model/tpa-qkv-emu.sh
EXTRA_DIST += tests/model/tpa-qkv-emu.sh

# decode.cu's tensor-core decode attention (its three paths) on the host emulator
# (tools/mma-emu), no GPU needed
TESTS += tests/model/decode-mma-emu.sh
EXTRA_DIST += tests/model/decode-mma-emu.sh

# add_rmsnorm_fwd (the residual add fused with the next RMSNorm) == add_inplace + rmsnorm_fwd
check_PROGRAMS += tests/model/fused_norm
tests_model_fused_norm_SOURCES = tests/model/fused_norm.c tests/model/tmodel.h
tests_model_fused_norm_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/fused_norm

# rmsnorm.cu's bf16 vector kernels (forward, fused residual add, backward) on the host
# emulator (tools/mma-emu), no GPU needed
TESTS += tests/model/rmsnorm-emu.sh
EXTRA_DIST += tests/model/rmsnorm-emu.sh
