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
# generate.c is t6's alone: it needs the GPT-2 tokenizer (libt6bpe.a, prep/local.mk)
t6_SOURCES = src/main.c src/generate.c src/generate.h
t6_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/prep $(PCRE2_CFLAGS) $(JANSSON_CFLAGS)
t6_LDADD = libt6core.a libt6bpe.a $(T6_CUDA_LIB) $(PCRE2_LIBS) $(JANSSON_LIBS) $(T6_BASE_LIBS) $(CUDA_LIBS)
libt6core_a_SOURCES += src/corpus.c src/corpus.h
libt6core_a_SOURCES += src/model.c src/rng.c src/rng.h src/kvcache.c src/kvcache.h src/textstream.c src/textstream.h src/sample.c src/sample.h
libt6core_a_SOURCES += src/dist.c src/dist.h src/signals.c src/signals.h src/schedule.c src/schedule.h \
  src/optim.c src/optim.h src/data.c src/data.h src/ckpt.c src/ckpt.h src/metrics.c src/metrics.h
