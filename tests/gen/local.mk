# tests/gen/local.mk -- tests of generation: KV cache, decode ops, the generate job
# (see tests/local.mk).
T6_GEN_TEST_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)

check_PROGRAMS += tests/gen/incremental tests/gen/decode_attn tests/gen/ops_table tests/gen/textstream tests/gen/greedy \
	tests/gen/prefill_chunks tests/gen/graph_steps
tests_gen_incremental_SOURCES = tests/gen/incremental.c
tests_gen_incremental_LDADD = $(T6_GEN_TEST_LDADD)
tests_gen_decode_attn_SOURCES = tests/gen/decode_attn.c
tests_gen_decode_attn_LDADD = $(T6_GEN_TEST_LDADD)
tests_gen_ops_table_SOURCES = tests/gen/ops_table.c
tests_gen_ops_table_LDADD = $(T6_GEN_TEST_LDADD)
tests_gen_textstream_SOURCES = tests/gen/textstream.c
tests_gen_textstream_LDADD = $(T6_GEN_TEST_LDADD)
tests_gen_greedy_SOURCES = tests/gen/greedy.c
tests_gen_greedy_LDADD = $(T6_GEN_TEST_LDADD)
tests_gen_prefill_chunks_SOURCES = tests/gen/prefill_chunks.c
tests_gen_prefill_chunks_LDADD = $(T6_GEN_TEST_LDADD)
tests_gen_graph_steps_SOURCES = tests/gen/graph_steps.c
tests_gen_graph_steps_LDADD = $(T6_GEN_TEST_LDADD)
TESTS += tests/gen/incremental tests/gen/decode_attn tests/gen/ops_table tests/gen/textstream tests/gen/greedy \
	tests/gen/prefill_chunks tests/gen/graph_steps
TESTS += tests/gen/generate.sh tests/gen/interrupt.sh
EXTRA_DIST += tests/gen/generate.sh tests/gen/interrupt.sh
