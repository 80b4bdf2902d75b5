# prep/local.mk -- t6-prep: GPT-2 BPE tokenizer, corpus readers, corpus writer.
# libt6prep.a holds everything but main() so that tests, benchmarks and fuzz targets
# link the same code as the program.
PREP_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/prep $(PCRE2_CFLAGS) $(JANSSON_CFLAGS) \
  $(SNAPPY_CFLAGS) $(ZSTD_CFLAGS) $(ZLIB_CFLAGS) $(LIBARCHIVE_CFLAGS)
PREP_LIBS = libt6prep.a libt6bpe.a libt6core.a $(PCRE2_LIBS) $(JANSSON_LIBS) $(SNAPPY_LIBS) \
  $(ZSTD_LIBS) $(ZLIB_LIBS) $(LIBARCHIVE_LIBS) $(T6_BASE_LIBS)

# libt6bpe.a: the GPT-2 tokenizer alone, linked into both t6-prep and t6 (evaluation)
noinst_LIBRARIES += libt6bpe.a
libt6bpe_a_CPPFLAGS = $(PREP_CPPFLAGS)
libt6bpe_a_SOURCES = prep/bpe.c prep/bpe.h

noinst_LIBRARIES += libt6prep.a
libt6prep_a_CPPFLAGS = $(PREP_CPPFLAGS)
libt6prep_a_SOURCES = prep/parquet.c prep/parquet.h prep/readers.c prep/readers.h

bin_PROGRAMS += t6-prep
t6_prep_CPPFLAGS = $(PREP_CPPFLAGS)
t6_prep_SOURCES = prep/main.c prep/options.c prep/options.h prep/output.c prep/output.h
t6_prep_LDADD = $(PREP_LIBS)

# fuzz targets are built with clang by fuzz/build.sh (see doc/prep.md), not by make
EXTRA_DIST += fuzz/build.sh fuzz/fuzz_bpe.c fuzz/fuzz_parquet.c fuzz/fuzz_jsonl.c fuzz/fuzz_arrow.c tests/prep/cmp_gpt3_encoder.js
