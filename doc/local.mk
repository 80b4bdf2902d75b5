# doc/local.mk -- the documentation installed into $(docdir): README.md and doc/*.md,
# doc/formats/*.md into $(docdir)/formats. tests/install/install.sh checks that every
# doc/*.md and doc/formats/*.md of the source tree is listed here.
dist_doc_DATA = README.md \
  doc/deck.md doc/running.md doc/training.md doc/model.md doc/prep.md doc/cuda.md \
  doc/performance.md doc/eval.md doc/generate.md doc/plot.md
# the picture doc/plot.md shows
docimgdir = $(docdir)/img
dist_docimg_DATA = doc/img/demo-curves.png
docformatsdir = $(docdir)/formats
dist_docformats_DATA = doc/formats/corpus.md doc/formats/checkpoint.md doc/formats/metrics.md \
  doc/formats/eval-results.md doc/formats/hf-export.md doc/formats/rundir.md \
  doc/formats/arrow.md
