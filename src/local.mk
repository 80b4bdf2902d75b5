# src/local.mk -- the t6 host code: libt6core.a (shared with tests and t6-prep) and t6.
# The evaluation code (src/eval/) tokenizes with the GPT-2 BPE of libt6bpe.a (prep/local.mk),
# the one copy t6-prep links too.
noinst_LIBRARIES += libt6core.a
libt6core_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/prep $(JANSSON_CFLAGS) $(LIBARCHIVE_CFLAGS)
libt6core_a_SOURCES = \
  src/util.c src/util.h \
  src/params.c src/params.h \
  src/deck.c src/deck.h \
  src/backend.c src/backend.h src/memtrack.c src/memtrack.h \
  src/model.h \
  src/train.c src/train.h

bin_PROGRAMS += t6
# generate.c is t6's alone: it needs the GPT-2 tokenizer (libt6bpe.a, prep/local.mk)
t6_SOURCES = src/main.c src/generate.c src/generate.h
t6_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/prep $(PCRE2_CFLAGS) $(JANSSON_CFLAGS)
t6_LDADD = libt6core.a libt6bpe.a $(T6_CUDA_LIB) $(T6_EVAL_LIBS) $(T6_BASE_LIBS) $(CUDA_LIBS)
# what src/eval/ needs beyond the base libraries (tests that run evaluation code add it too)
T6_EVAL_LIBS = $(PCRE2_LIBS) $(JANSSON_LIBS) $(LIBARCHIVE_LIBS) $(CSV_LIBS)
libt6core_a_SOURCES += src/corpus.c src/corpus.h
libt6core_a_SOURCES += src/model.c src/model_mem.c src/rng.c src/rng.h src/kvcache.c src/kvcache.h src/mla_decode.c src/mla_decode.h src/textstream.c src/textstream.h src/sample.c src/sample.h
libt6core_a_SOURCES += src/dist.c src/dist.h src/gradsync.c src/gradsync.h src/signals.c src/signals.h src/schedule.c src/schedule.h \
  src/optim.c src/optim.h src/data.c src/data.h src/ckpt.c src/ckpt.h src/metrics.c src/metrics.h \
  src/h5io.c src/h5io.h src/rundir.c src/rundir.h
libt6core_a_SOURCES += src/manifest.c src/manifest.h
libt6core_a_SOURCES += src/lineage.c src/lineage.h src/deckdiff.c src/deckdiff.h
# Hugging Face export/import (doc/formats/hf-export.md)
libt6core_a_SOURCES += src/safetensors.c src/safetensors.h src/hf.c src/hf.h

# t6-plot: curves and summaries from the metrics files (src/plot/, doc/plot.md)
libt6core_a_SOURCES += src/metrics_read.c src/metrics_read.h
bin_PROGRAMS += t6-plot
t6_plot_SOURCES = src/plot/plot_main.c src/plot/plot.h src/plot/plot_data.c src/plot/plot_script.c \
  src/plot/plot_summary.c src/plot/plot_eval.c
t6_plot_LDADD = libt6core.a $(T6_BASE_LIBS)
libt6core_a_SOURCES += src/eval/evtask.h src/eval/evdata.c src/eval/evprompt.c src/eval/evscore.c \
  src/eval/evrun.c src/eval/evrun.h src/eval/evreport.c src/eval/pyrandom.c src/eval/pyrandom.h \
  src/eval/arrow.c src/eval/arrow.h

# Only t6 itself: the deck search path and the installed folders (deckpath.c),
# --version (version.c) and --man-deck (mandeck.c).
t6_SOURCES += src/deckpath.c src/deckpath.h src/version.c src/version.h src/mandeck.c src/mandeck.h
# --version's commit. Rewritten only when HEAD or the dirty state changes (so t6 is
# relinked only then); "unknown" without a .git of this very tree (a release tarball,
# also when unpacked inside a checkout, as make distcheck does).
BUILT_SOURCES = t6-commit.h
# BUILT_SOURCES only count for make all/check/install: `make t6` alone (the GPU scripts
# do that) needs the header as a plain prerequisite of the object that includes it
src/t6-version.$(OBJEXT): t6-commit.h
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
