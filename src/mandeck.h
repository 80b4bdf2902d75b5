/* mandeck.h -- the manual page t6-deck(5), written by `t6 --man-deck` from the deck's
 * key table (the same table --help-deck prints and doc/deck.md is checked against), so
 * that the installed page cannot describe other keys than the parser accepts. */
#ifndef T6_MANDECK_H
#define T6_MANDECK_H

#include <stdio.h>

/* Writes the whole page (roff, man macros) to f. */
void t6_man_deck(FILE *f);

#endif
