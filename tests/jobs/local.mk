# tests/jobs/local.mk -- tests of the job scripts (jobs/), see doc/running.md
# ("How the scripts are tested"): a real single-host Slurm (tools/slurm-local.sh)
# running the CPU demo through the same scripts with preemption and requeue, the GPU
# scripts on a fake 8-GPU node, the prep job, and the PBS scripts under a harness
# that fakes PBS. The Slurm tests skip (77) only where the daemons cannot run.
TESTS += tests/jobs/slurm-demo.sh tests/jobs/slurm-layouts.sh tests/jobs/slurm-prep.sh \
  tests/jobs/pbs-harness.sh tests/jobs/run-dir-guard.sh
EXTRA_DIST += tests/jobs/cluster.sh tests/jobs/slurm-demo.sh tests/jobs/slurm-layouts.sh tests/jobs/slurm-prep.sh \
  tests/jobs/pbs-harness.sh tests/jobs/run-dir-guard.sh
