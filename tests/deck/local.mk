# tests/deck/local.mk -- tests of the deck parser and of `t6` itself (see tests/local.mk).
# Shell tests run with $(SHELL); they find t6 through T6_BUILDDIR and the decks through
# T6_SRCDIR and write only to a temporary folder.
TESTS += \
  tests/deck/param-counts.sh \
  tests/deck/good-decks.sh \
  tests/deck/bad-decks.sh \
  tests/deck/set-overrides.sh \
  tests/deck/world.sh \
  tests/deck/zero-memory.sh \
  tests/deck/doc-sync.sh \
  tests/deck/help.sh \
  tests/deck/blas-env.sh
EXTRA_DIST += \
  tests/deck/common.sh \
  tests/deck/param-counts.sh \
  tests/deck/good-decks.sh \
  tests/deck/bad-decks.sh \
  tests/deck/set-overrides.sh \
  tests/deck/world.sh \
  tests/deck/zero-memory.sh \
  tests/deck/doc-sync.sh \
  tests/deck/help.sh \
  tests/deck/blas-env.sh \
  tests/deck/decks
# The harness wrapper of compiled tests (LOG_COMPILER in Makefile.am) must ship too.
EXTRA_DIST += tests/run-test.sh
