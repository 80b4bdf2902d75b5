# tests/model/local.mk -- tests of the model and the CPU backend (see tests/local.mk).
T6_MODEL_TEST_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
EXTRA_DIST += tests/model/tmodel.h

check_PROGRAMS += tests/model/gradcheck
tests_model_gradcheck_SOURCES = tests/model/gradcheck.c tests/model/tmodel.h
tests_model_gradcheck_LDADD = $(T6_MODEL_TEST_LDADD)
TESTS += tests/model/gradcheck
