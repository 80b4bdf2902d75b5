# tests/prep/local.mk -- tests of this area (see tests/local.mk).
# C test programs are run through small .sh wrappers so that they get a scratch
# directory and the data folder from the environment.
PREP_TEST_LIBS = libt6prep.a libt6bpe.a libt6core.a $(PCRE2_LIBS) $(JANSSON_LIBS) $(SNAPPY_LIBS) \
  $(ZSTD_LIBS) $(ZLIB_LIBS) $(LIBARCHIVE_LIBS) $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)

check_PROGRAMS += tests/prep/corpus_test tests/prep/bpe_test tests/prep/corpus_sum \
  tests/prep/mkparquet bench/prep/bench_tok
tests_prep_corpus_test_SOURCES = tests/prep/corpus_test.c
tests_prep_corpus_test_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
tests_prep_bpe_test_SOURCES = tests/prep/bpe_test.c
tests_prep_bpe_test_CPPFLAGS = $(PREP_CPPFLAGS)
tests_prep_bpe_test_LDADD = $(PREP_TEST_LIBS)
tests_prep_corpus_sum_SOURCES = tests/prep/corpus_sum.c
tests_prep_corpus_sum_CPPFLAGS = $(PREP_CPPFLAGS)
tests_prep_corpus_sum_LDADD = $(PREP_TEST_LIBS)
tests_prep_mkparquet_SOURCES = tests/prep/mkparquet.c
tests_prep_mkparquet_CPPFLAGS = $(PREP_CPPFLAGS)
tests_prep_mkparquet_LDADD = $(PREP_TEST_LIBS)
# an LD_PRELOAD shim that SIGKILLs t6-prep at one step of its end of run (finish.sh)
check_PROGRAMS += tests/prep/killat.so
tests_prep_killat_so_SOURCES = tests/prep/killat.c
tests_prep_killat_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_prep_killat_so_LDFLAGS = -shared
tests_prep_killat_so_LDADD = -ldl
bench_prep_bench_tok_SOURCES = bench/prep/bench_tok.c
bench_prep_bench_tok_CPPFLAGS = $(PREP_CPPFLAGS)
bench_prep_bench_tok_LDADD = $(PREP_TEST_LIBS)

TESTS += tests/prep/corpus.sh tests/prep/bpe.sh tests/prep/prep.sh tests/prep/parquet.sh tests/prep/errors.sh \
  tests/prep/integrity.sh tests/prep/finish.sh tests/prep/probes.sh
EXTRA_DIST += tests/prep/corpus.sh tests/prep/bpe.sh tests/prep/prep.sh tests/prep/parquet.sh \
  tests/prep/errors.sh tests/prep/integrity.sh tests/prep/finish.sh tests/prep/probes.sh tests/prep/lib.sh tests/prep/hard_cases.txt tests/prep/hard_cases.json \
  tests/prep/ref_gpt2.py
