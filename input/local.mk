# input/local.mk -- the paper decks and the demo deck, installed into $(datadir)/t6/input
# where `t6 NAME` finds them (src/deckpath.c). tests/install/install.sh checks that
# every input/*.cfg of the source tree is listed here.
t6inputdir = $(datadir)/t6/input
dist_t6input_DATA = \
  input/demo.cfg \
  input/t6_small.cfg input/t6_medium.cfg input/t6_large.cfg input/t6_xl.cfg \
  input/tpa_kvonly_small.cfg input/tpa_kvonly_medium.cfg \
  input/mha_small.cfg input/mha_medium.cfg \
  input/mqa_small.cfg input/mqa_medium.cfg \
  input/gqa_small.cfg input/gqa_medium.cfg \
  input/mla_small.cfg input/mla_medium.cfg input/mla_large.cfg input/mla_xl.cfg \
  input/mla_small_table10.cfg input/mla_medium_table10.cfg input/mla_large_table10.cfg \
  input/mla_xl_table10.cfg

# `make installcheck` (also part of make distcheck): the installed t6, run outside the
# build tree, finds every installed deck by its name and accepts it.
installcheck-local:
	@cd / && for f in $(dist_t6input_DATA); do \
	  n=`basename "$$f" .cfg`; \
	  '$(DESTDIR)$(bindir)/t6$(EXEEXT)' --check "$$n" >/dev/null || { echo "installcheck: t6 --check $$n failed"; exit 1; }; \
	done; echo "installcheck: the installed t6 finds and accepts all $(words $(dist_t6input_DATA)) installed decks by name"
