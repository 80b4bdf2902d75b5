/* options.h -- t6-prep's command line: the options of one run and their parser
 * (prep/options.c). Kept apart from the pipeline (prep/main.c) and the shard output
 * (prep/output.c) so each reads on its own. */
#ifndef T6_PREP_OPTIONS_H
#define T6_PREP_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "readers.h"

typedef enum { EOT_PREFIX, EOT_SUFFIX, EOT_NONE } eot_mode;
typedef enum { VAL_FIRST_SHARD, VAL_FRACTION, VAL_NONE } val_mode;
typedef enum { BAD_REPLACE, BAD_SKIP, BAD_ERROR } bad_mode;

typedef struct {
    const char *vocab, *outdir, *name;
    t6_reader_opts ro;
    eot_mode eot;
    val_mode val;
    int layout_fineweb;          /* --layout fineweb given (for its warnings) */
    double val_fraction;
    uint64_t seed, shard_tokens;
    uint64_t min_shard_tokens;   /* a last shard smaller than this joins the one before */
    bad_mode bad_utf8;
    int threads, strict, force, quiet;
    double batch_mb, progress_interval;
    char **inputs;               /* the INPUT arguments */
    int n_inputs;
} options;

void prep_usage(FILE *f);
/* Fills o from argv (defaults first). Exits 0 after --help / --version, 2 on an unknown
 * option, 1 with a message naming the option on a bad value or a missing argument. */
void prep_parse_args(options *o, int argc, char **argv);

#endif
