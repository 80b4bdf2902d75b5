# tests/prep/local.mk -- tests of this area (see tests/local.mk).
# C test programs are run through small .sh wrappers so that they get a scratch
# directory and the data folder from the environment.
check_PROGRAMS += tests/prep/corpus_test
tests_prep_corpus_test_SOURCES = tests/prep/corpus_test.c
tests_prep_corpus_test_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
TESTS += tests/prep/corpus.sh
EXTRA_DIST += tests/prep/corpus.sh
