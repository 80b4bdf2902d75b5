# doc/local.mk -- the documentation installed into $(docdir): README.md and doc/*.md,
# doc/formats/*.md into $(docdir)/formats. tests/install/install.sh checks that every
# doc/*.md and doc/formats/*.md of the source tree is listed here.
dist_doc_DATA = README.md \
  doc/deck.md doc/running.md doc/training.md doc/model.md doc/prep.md doc/cuda.md \
  doc/performance.md
docformatsdir = $(docdir)/formats
dist_docformats_DATA = doc/formats/corpus.md doc/formats/checkpoint.md doc/formats/metrics.md
