# tests/install/local.mk -- tests of `make install` (doc/running.md, "Installing"):
# a DESTDIR install used from an empty folder outside the checkout (deck lookup by
# name, --version, make uninstall), the manual pages (rendered by man without
# warnings, options and deck keys the same as the programs'), the modulefile
# (modulecmd). The installed job scripts run in tests/jobs/slurm-demo.sh. device-plan.sh:
# the GPU machine's plan (bench/gpu/verify-all.sh, its README) names only what the tree has.
TESTS += tests/install/install.sh tests/install/man-pages.sh tests/install/modulefile.sh \
  tests/install/device-plan.sh
EXTRA_DIST += tests/install/common.sh tests/install/install.sh tests/install/man-pages.sh \
  tests/install/modulefile.sh tests/install/device-plan.sh
