#!/bin/sh
# tests/run-test.sh -- LOG_COMPILER of the compiled tests (Makefile.am): runs one test
# program under Automake's harness and passes its exit status through (0 pass, 77 skip,
# anything else fail), saying so in the log when it skipped or died by a signal.
[ $# -ge 1 ] || { echo "run-test.sh: no test program given" >&2; exit 99; }
"$@"
rc=$?
case $rc in
    0) ;;
    77) echo "run-test.sh: $1 skipped (exit 77; the reason is printed above)" ;;
    *) [ $rc -gt 128 ] && echo "run-test.sh: $1 killed by signal $((rc - 128))"
       echo "run-test.sh: $1 failed with exit status $rc" ;;
esac
exit $rc
