# doc/local.mk -- the documentation installed into $(docdir) in the source tree's
# layout (README.md, doc/*.md, doc/img/, doc/formats/), so the paths the documents give
# each other ("doc/generate.md", the README's picture) hold in the installed copy too.
# tests/install/install.sh checks that every doc/*.md and doc/formats/*.md of the source
# tree is installed and that the documents' relative links resolve there.
dist_doc_DATA = README.md
docdocdir = $(docdir)/doc
dist_docdoc_DATA = \
  doc/deck.md doc/running.md doc/training.md doc/model.md doc/prep.md doc/cuda.md \
  doc/performance.md doc/eval.md doc/generate.md doc/plot.md
# the picture doc/plot.md shows
docimgdir = $(docdir)/doc/img
dist_docimg_DATA = doc/img/demo-curves.png
docformatsdir = $(docdir)/doc/formats
dist_docformats_DATA = doc/formats/corpus.md doc/formats/checkpoint.md doc/formats/metrics.md \
  doc/formats/eval-results.md doc/formats/hf-export.md doc/formats/rundir.md \
  doc/formats/arrow.md
