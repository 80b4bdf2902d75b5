/* options.c -- t6-prep's command line: defaults, --help text and parsing into an
 * `options` (prep/options.h). Every bad value stops with a message naming the option. */
#include "options.h"

#include <getopt.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

void prep_usage(FILE *f)
{
    fprintf(f,
"usage: t6-prep --vocab DIR -o OUTDIR [options] INPUT...\n"
"Tokenizes text with GPT-2 BPE (byte-exact with tiktoken) into t6-corpus HDF5 shards.\n"
"INPUT: files or directories (searched recursively, sorted). Formats by name:\n"
"  *.parquet, *.jsonl/*.json[.gz], *.tar/*.tar.xz/*.xz/*.zip (archives), else text.\n"
"  --vocab DIR            encoder.json + vocab.bpe (tools/fetch-gpt2-vocab.sh)\n"
"  -o, --out DIR          output directory (created with its parents if missing)\n"
"  --name NAME            shard name prefix (default: corpus): letters, digits, . _ + -\n"
"  --layout fineweb|owt   presets: fineweb = --eot prefix --val first-shard;\n"
"                         owt = --eot suffix --val fraction --val-fraction 0.0005\n"
"  --eot prefix|suffix|none   where <|endoftext|> goes around each document\n"
"  --val first-shard|fraction|none\n"
"  --val-fraction F       share of documents held out (default 0.0005)\n"
"  --seed N               seed of the val selection (default 2357)\n"
"  --shard-tokens N       tokens per shard (default 100000000)\n"
"  --min-shard-tokens N   a last shard with fewer tokens is merged into the one\n"
"                         before it (default 4097: one 4096-token sequence + target)\n"
"  --format auto|text|jsonl|parquet|archive\n"
"  --field NAME           JSONL/Parquet text field (default text)\n"
"  --delimiter STR        text files: split documents on STR (\\n escapes ok)\n"
"  --member-ext EXT       archives/directories: only files ending in EXT\n"
"  --invalid-utf8 replace|skip|error   (default replace, as Python errors='replace')\n"
"  --strict               any skipped record is an error\n"
"  --max-doc-bytes N      larger documents: skipped in archives, an error in text\n"
"                         and JSONL (default 1 GiB)\n"
"  -j, --threads N        tokenizer threads (default: all cores)\n"
"  --batch-mb N           text per parallel batch (default 32)\n"
"  --progress-interval S  seconds between progress lines when not on a TTY (default 10)\n"
"  --force                replace existing shards of the same name (at the end, once\n"
"                         the new ones are complete and hashed)\n"
"  -q, --quiet            no progress output\n"
"  --version, --help\n"
"Output appears only when complete: shards are written to OUTDIR/.NAME.tmp.PID/ and\n"
"moved into place at the end, then OUTDIR/NAME.manifest is written.\n");
}

static char *unescape(const char *s)
{
    char *o = t6_malloc(strlen(s) + 1), *p = o;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *p++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 'r' ? '\r' : *s;
        } else *p++ = *s;
    }
    *p = 0;
    return o;
}

/* A number: the whole of v (strtod alone takes "" as 0 and "5x" as 5). */
static double num_arg(const char *opt, const char *v, const char *hint)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || x != x) t6_fatal_hint(hint, "%s '%s' is not a number", opt, v);
    return x;
}

/* A count such as 1e8 or 100000000: a whole number, at least lo. */
static uint64_t count_arg(const char *opt, const char *v, double lo)
{
    double x = num_arg(opt, v, "e.g. 1e8");
    if (!(x >= lo) || x > 1e15 || x != (double)(uint64_t)x)
        t6_fatal_hint("e.g. 1e8", "%s '%s' is not a whole count >= %.0f", opt, v, lo);
    return (uint64_t)x;
}

static void set_defaults(options *o)
{
    memset(o, 0, sizeof *o);
    o->name = "corpus";
    o->eot = EOT_PREFIX;
    o->val = VAL_FIRST_SHARD;
    o->val_fraction = 0.0005;
    o->seed = 2357;
    o->shard_tokens = 100000000;
    o->min_shard_tokens = 4097;
    o->threads = omp_get_max_threads();
    o->batch_mb = 32;
    o->progress_interval = 10;
    o->ro.field = "text";
    o->ro.jsonl_raw = 1;
}

/* "a|b|c" choices: the index of v, or fatal naming the option. */
static int choice(const char *opt, const char *v, const char *const *names, const char *allowed)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i])) return i;
    t6_fatal_hint(allowed, "%s '%s' is unknown", opt, v);
}

/* --name becomes file names NAME_{train,val}_NNNNNN.h5 and NAME.manifest, which t6
 * (the manifest check) and deck globs such as NAME_val_*.h5 split again: a name that
 * itself looks like a split ("web_val") would make NAME_val_*.h5 of the name "web"
 * match the shards of "web_val" too. */
static void check_name(const char *name)
{
    const char *why = NULL;
    size_t l = strlen(name);
    if (!*name) why = "is empty";
    else if (name[0] == '.' || name[0] == '-') why = "starts with '.' or '-'";
    else if (strstr(name, "_train_") || strstr(name, "_val_") || (l >= 6 && !strcmp(name + l - 6, "_train")) ||
             (l >= 4 && !strcmp(name + l - 4, "_val")))
        why = "contains '_train' or '_val' as a part of its own (shard names NAME_val_*.h5 would become ambiguous)";
    for (const char *q = name; *q && !why; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || strchr("._+-", *q)))
            why = "has a character other than letters, digits and . _ + -";
    if (why) t6_fatal_hint("e.g. --name fineweb_edu", "--name '%s' %s", name, why);
}

void prep_parse_args(options *o, int argc, char **argv)
{
    set_defaults(o);
    enum { O_VOCAB = 256, O_NAME, O_LAYOUT, O_EOT, O_VAL, O_VALF, O_SEED, O_SHARD, O_MINSHARD, O_FORMAT, O_FIELD,
           O_DELIM, O_EXT, O_BAD, O_STRICT, O_MAXDOC, O_BATCH, O_PINT, O_FORCE, O_VERSION };
    static const struct option lo[] = {
        {"vocab", 1, 0, O_VOCAB}, {"out", 1, 0, 'o'}, {"name", 1, 0, O_NAME}, {"layout", 1, 0, O_LAYOUT},
        {"eot", 1, 0, O_EOT}, {"val", 1, 0, O_VAL}, {"val-fraction", 1, 0, O_VALF}, {"seed", 1, 0, O_SEED},
        {"shard-tokens", 1, 0, O_SHARD}, {"min-shard-tokens", 1, 0, O_MINSHARD}, {"format", 1, 0, O_FORMAT},
        {"field", 1, 0, O_FIELD}, {"delimiter", 1, 0, O_DELIM}, {"member-ext", 1, 0, O_EXT},
        {"invalid-utf8", 1, 0, O_BAD}, {"strict", 0, 0, O_STRICT}, {"max-doc-bytes", 1, 0, O_MAXDOC},
        {"threads", 1, 0, 'j'}, {"batch-mb", 1, 0, O_BATCH}, {"progress-interval", 1, 0, O_PINT},
        {"force", 0, 0, O_FORCE}, {"quiet", 0, 0, 'q'}, {"version", 0, 0, O_VERSION}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    static const char *const layouts[] = {"fineweb", "owt", NULL}, *const eots[] = {"prefix", "suffix", "none", NULL},
                             *const vals[] = {"first-shard", "fraction", "none", NULL},
                             *const fmts[] = {"auto", "text", "jsonl", "parquet", "archive", NULL},
                             *const bads[] = {"replace", "skip", "error", NULL};
    static const t6_format fmtv[] = {T6_FMT_AUTO, T6_FMT_TEXT, T6_FMT_JSONL, T6_FMT_PARQUET, T6_FMT_ARCHIVE};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "o:j:qh", lo, NULL)) != -1) {
        switch (c) {
        case O_VOCAB: o->vocab = optarg; break;
        case 'o': o->outdir = optarg; break;
        case O_NAME: o->name = optarg; break;
        case O_LAYOUT:
            if (choice("--layout", optarg, layouts, "allowed: fineweb, owt") == 0) {
                o->eot = EOT_PREFIX; o->val = VAL_FIRST_SHARD; o->layout_fineweb = 1;
            } else {
                o->eot = EOT_SUFFIX; o->val = VAL_FRACTION; o->val_fraction = 0.0005; o->layout_fineweb = 0;
            }
            break;
        case O_EOT: o->eot = (eot_mode)choice("--eot", optarg, eots, "allowed: prefix, suffix, none"); break;
        case O_VAL: o->val = (val_mode)choice("--val", optarg, vals, "allowed: first-shard, fraction, none"); break;
        case O_VALF:
            o->val_fraction = num_arg("--val-fraction", optarg, "a number in [0, 1]");
            if (!(o->val_fraction >= 0 && o->val_fraction <= 1)) t6_fatal_hint("a number in [0, 1]", "--val-fraction '%s'", optarg);
            break;
        case O_SEED:
            o->seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end || optarg[0] == '-') t6_fatal_hint("e.g. --seed 2357", "--seed '%s' is not an integer >= 0", optarg);
            break;
        case O_SHARD: o->shard_tokens = count_arg("--shard-tokens", optarg, 1); break;
        case O_MINSHARD: o->min_shard_tokens = count_arg("--min-shard-tokens", optarg, 0); break;
        case O_FORMAT:
            o->ro.format = fmtv[choice("--format", optarg, fmts, "allowed: auto, text, jsonl, parquet, archive")];
            break;
        case O_FIELD: o->ro.field = optarg; break;
        case O_DELIM: o->ro.delimiter = unescape(optarg); if (!*o->ro.delimiter) t6_fatal("--delimiter is empty"); break;
        case O_EXT: o->ro.member_ext = optarg; break;
        case O_BAD: o->bad_utf8 = (bad_mode)choice("--invalid-utf8", optarg, bads, "allowed: replace, skip, error"); break;
        case O_STRICT: o->strict = 1; break;
        case O_MAXDOC: o->ro.max_doc = (size_t)count_arg("--max-doc-bytes", optarg, 1); break;
        case 'j':
            o->threads = (int)strtol(optarg, &end, 10);
            if (end == optarg || *end || o->threads < 1 || o->threads > 1024) t6_fatal_hint("1 to 1024", "--threads '%s'", optarg);
            break;
        case O_BATCH:
            o->batch_mb = num_arg("--batch-mb", optarg, "e.g. 32");
            if (!(o->batch_mb > 0 && o->batch_mb <= 1e6)) t6_fatal_hint("e.g. 32", "--batch-mb '%s' is not in (0, 1e6]", optarg);
            break;
        case O_PINT:
            o->progress_interval = num_arg("--progress-interval", optarg, "seconds, e.g. 10");
            if (!(o->progress_interval >= 0)) t6_fatal_hint("seconds, e.g. 10", "--progress-interval '%s' is negative", optarg);
            break;
        case O_FORCE: o->force = 1; break;
        case 'q': o->quiet = 1; break;
        case O_VERSION: printf("t6-prep %s\n", PACKAGE_VERSION); exit(0);
        case 'h': prep_usage(stdout); exit(0);
        default: prep_usage(stderr); exit(2);
        }
    }
    if (!o->vocab) t6_fatal_hint("get the files with tools/fetch-gpt2-vocab.sh DIR", "--vocab DIR is required");
    if (!o->outdir) t6_fatal_hint("e.g. -o data/fineweb", "-o OUTDIR is required");
    if (optind >= argc) t6_fatal_hint("t6-prep --help", "no input files");
    check_name(o->name);
    o->inputs = argv + optind;
    o->n_inputs = argc - optind;
}
