/* deck.c -- SCAFFOLD: replaced by the foundation issue's deck parser. */
#include "deck.h"
#include <stdio.h>
#include <string.h>
int t6_deck_load(t6_deck *deck, const char *path, const char *const *ov, int nov, char *err, size_t n)
{ (void)deck; (void)path; (void)ov; (void)nov; snprintf(err, n, "deck parser not implemented yet"); return -1; }
void t6_deck_free(t6_deck *deck) { (void)deck; }
const char *t6_attn_name(t6_attn_type a) { (void)a; return "tpa"; }
