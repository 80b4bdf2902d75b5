# jobs/local.mk -- the Slurm/PBS job scripts and their helper, installed into
# $(datadir)/t6/jobs (doc/running.md). Installed scripts get the installed folder
# written into their "t6_installed=" line, so that they find the helper also when
# the batch system runs a copy of them (Slurm and PBS spool the script). The helper
# finds t6 in ../../../bin relative to the jobs folder. tests/install/install.sh
# checks that every script of jobs/ is listed here.
t6jobsdir = $(datadir)/t6/jobs
t6jobslibdir = $(datadir)/t6/jobs/lib
dist_t6jobs_SCRIPTS = \
  jobs/t6_small_a100.slurm jobs/t6_medium_h100.slurm jobs/t6_large_h100.slurm \
  jobs/t6_xl_h100_multinode.slurm jobs/prep_fineweb_edu.slurm \
  jobs/t6_medium_h100.pbs jobs/t6_xl_h100_multinode.pbs
dist_t6jobslib_DATA = jobs/lib/t6-job.sh

install-data-hook: install-jobs-hook
install-jobs-hook:
	@for f in $(dist_t6jobs_SCRIPTS); do \
	  d="$(DESTDIR)$(t6jobsdir)/`basename "$$f"`"; \
	  sed "s|^t6_installed=.*|t6_installed='$(datadir)/t6'  # written by make install|" "$$d" >"$$d.tmp" && \
	  cat "$$d.tmp" >"$$d" && rm -f "$$d.tmp" || exit 1; \
	done
.PHONY: install-jobs-hook
