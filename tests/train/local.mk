# tests/train/local.mk -- tests of the training loop, data, checkpoints and metrics
# (issue #5). Shell tests drive the t6 binary on the tiny demo model; mkcorpus
# writes small corpora for the error tests.
EXTRA_DIST += tests/train/common.sh tests/train/gpu-train.sh tests/gpu/zero1.sh
check_PROGRAMS += tests/train/mkcorpus
tests_train_mkcorpus_SOURCES = tests/train/mkcorpus.c
tests_train_mkcorpus_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
check_PROGRAMS += tests/train/ckptcmp
tests_train_ckptcmp_SOURCES = tests/train/ckptcmp.c
tests_train_ckptcmp_LDADD = $(T6_BASE_LIBS)
check_PROGRAMS += tests/train/units
tests_train_units_SOURCES = tests/train/units.c
tests_train_units_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
check_PROGRAMS += tests/train/h5io_units
tests_train_h5io_units_SOURCES = tests/train/h5io_units.c
tests_train_h5io_units_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
TRAIN_TESTS = tests/train/units.sh tests/train/h5io-units.sh tests/train/exact-resume.sh tests/train/mpi-accum.sh tests/train/zero.sh \
  tests/train/ckpt-kill.sh tests/train/sigusr1.sh tests/train/errors.sh \
  tests/train/shakespeare.sh tests/train/retention.sh tests/train/full-disk.sh \
  tests/train/run-lock.sh tests/train/signals.sh tests/train/rollback.sh \
  tests/train/divergence.sh tests/train/deck-change.sh \
  tests/train/corpus-checks.sh tests/train/recompute.sh tests/train/format-docs.sh \
  tests/train/resume-probes.sh
TESTS += $(TRAIN_TESTS)
EXTRA_DIST += $(TRAIN_TESTS)
