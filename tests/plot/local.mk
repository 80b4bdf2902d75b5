# tests/plot/local.mk -- t6-plot (issue #16): the lineage filter of the metrics reader,
# and the tool end to end on tiny demo runs.
check_PROGRAMS += tests/plot/lineage
tests_plot_lineage_SOURCES = tests/plot/lineage.c
tests_plot_lineage_LDADD = libt6core.a $(T6_BASE_LIBS)
PLOT_TESTS = tests/plot/lineage tests/plot/plot.sh tests/plot/eval-bars.sh
TESTS += $(PLOT_TESTS)
EXTRA_DIST += tests/plot/plot.sh tests/plot/eval-bars.sh
