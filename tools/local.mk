# tools/local.mk -- the one tool users of an installed t6 need: fetching the GPT-2
# vocabulary for t6-prep, installed into $(datadir)/t6/tools.
t6toolsdir = $(datadir)/t6/tools
dist_t6tools_SCRIPTS = tools/fetch-gpt2-vocab.sh
