/* version.h -- `t6 --version`: the version, the commit it was built from and the build
 * options, for the record of a run (and for whoever answers "which t6 was that?"). */
#ifndef T6_VERSION_H
#define T6_VERSION_H

#include <stdio.h>

void t6_print_version(FILE *f);

#endif
