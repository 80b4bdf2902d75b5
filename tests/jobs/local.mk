# tests/jobs/local.mk -- tests of the job scripts (jobs/): a real single-host Slurm
# running the CPU demo through the same scripts (skipped only where the daemons
# cannot run), and the PBS scripts under a harness that fakes PBS (see
# doc/running.md, "PBS").
TESTS += tests/jobs/slurm-demo.sh tests/jobs/pbs-harness.sh
EXTRA_DIST += tests/jobs/slurm-demo.sh tests/jobs/pbs-harness.sh
