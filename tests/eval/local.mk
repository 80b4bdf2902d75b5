# tests/eval/local.mk -- tests of the lm-eval task evaluation (src/eval/, doc/eval.md).
check_PROGRAMS += tests/eval/units
tests_eval_units_SOURCES = tests/eval/units.c
tests_eval_units_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/prep
tests_eval_units_LDADD = libt6core.a libt6bpe.a $(T6_CUDA_LIB) $(T6_EVAL_LIBS) $(T6_BASE_LIBS) $(CUDA_LIBS)
check_PROGRAMS += tests/eval/loglik
tests_eval_loglik_SOURCES = tests/eval/loglik.c
tests_eval_loglik_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/prep
tests_eval_loglik_LDADD = libt6core.a libt6bpe.a $(T6_CUDA_LIB) $(T6_EVAL_LIBS) $(T6_BASE_LIBS) $(CUDA_LIBS)
check_PROGRAMS += tests/eval/dumpdocs
tests_eval_dumpdocs_SOURCES = tests/eval/dumpdocs.c
tests_eval_dumpdocs_LDADD = libt6core.a libt6bpe.a $(T6_CUDA_LIB) $(T6_EVAL_LIBS) $(T6_BASE_LIBS) $(CUDA_LIBS)
check_PROGRAMS += tests/eval/arrowdump
tests_eval_arrowdump_SOURCES = tests/eval/arrowdump.c
tests_eval_arrowdump_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_EVAL_LIBS) $(T6_BASE_LIBS) $(CUDA_LIBS)
check_PROGRAMS += tests/eval/arrowsweep
tests_eval_arrowsweep_SOURCES = tests/eval/arrowsweep.c
tests_eval_arrowsweep_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_EVAL_LIBS) $(T6_BASE_LIBS) $(CUDA_LIBS)
EVAL_TESTS = tests/eval/units.sh tests/eval/loglik.sh tests/eval/prompts.sh tests/eval/e2e.sh tests/eval/errors.sh tests/eval/interrupt.sh tests/eval/arrow.sh tests/eval/arrow-bad.sh \
  tests/eval/arrow-synth.sh tests/eval/outputs.sh tests/eval/full-disk.sh
TESTS += $(EVAL_TESTS)
EXTRA_DIST += $(EVAL_TESTS) tests/eval/common.sh tests/eval/lmeval_prompts.py tests/eval/arrow_compare.py tests/eval/mkarrow.py tests/eval/recompute.py
