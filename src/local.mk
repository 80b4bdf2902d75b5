# src/local.mk -- the t6 host code: libt6core.a (shared with tests and t6-prep) and t6.
noinst_LIBRARIES += libt6core.a
libt6core_a_SOURCES = \
  src/util.c src/util.h \
  src/params.c src/params.h \
  src/deck.c src/deck.h \
  src/backend.c src/backend.h \
  src/model.h \
  src/train.c src/train.h

bin_PROGRAMS += t6
t6_SOURCES = src/main.c
t6_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
libt6core_a_SOURCES += src/corpus.c src/corpus.h
libt6core_a_SOURCES += src/model.c src/rng.c src/rng.h
libt6core_a_SOURCES += src/dist.c src/dist.h src/signals.c src/signals.h src/schedule.c src/schedule.h \
  src/optim.c src/optim.h src/data.c src/data.h src/ckpt.c src/ckpt.h src/metrics.c src/metrics.h

# Only t6 itself: the deck search path and the installed folders (deckpath.c),
# --version (version.c) and --man-deck (mandeck.c).
t6_SOURCES += src/deckpath.c src/deckpath.h src/version.c src/version.h src/mandeck.c src/mandeck.h
# --version's commit. Rewritten only when HEAD or the dirty state changes (so t6 is
# relinked only then); "unknown" without a .git of this very tree (a release tarball,
# also when unpacked inside a checkout, as make distcheck does).
BUILT_SOURCES = t6-commit.h
nodist_t6_SOURCES = t6-commit.h
CLEANFILES += t6-commit.h
t6-commit.h: t6-commit-force
	@c=unknown; \
	if test -e '$(top_srcdir)/.git' && command -v git >/dev/null 2>&1; then \
	  c=`git -C '$(top_srcdir)' rev-parse --short=12 HEAD 2>/dev/null` || c=unknown; \
	  if test "$$c" != unknown && test -n "`git -C '$(top_srcdir)' status --porcelain --untracked-files=no 2>/dev/null`"; then \
	    c="$$c-dirty"; \
	  fi; \
	fi; \
	echo "#define T6_GIT_COMMIT \"$$c\"" >$@.tmp$$$$; \
	if cmp -s $@.tmp$$$$ $@; then rm -f $@.tmp$$$$; else mv -f $@.tmp$$$$ $@; fi
t6-commit-force:
.PHONY: t6-commit-force
