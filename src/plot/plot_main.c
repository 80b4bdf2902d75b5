/* plot_main.c -- `t6-plot`: draws loss curves and run comparisons from the HDF5 metrics
 * of one or more runs with gnuplot (PNG via pngcairo, SVG, PDF), or prints a text
 * summary per run. It writes the data files and the gnuplot script, runs gnuplot, and
 * keeps the script beside the picture on request so a user can restyle it.
 * doc/plot.md describes the options; tests/plot/ checks them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "plot.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: t6-plot [RUN_DIR|METRICS.h5 ...] [--eval RESULTS.h5 ...] -o FILE.png|.svg|.pdf [options]\n"
            "       t6-plot --summary RUN_DIR|METRICS.h5 ...\n"
            "       t6-plot --help | --version\n"
            "\n"
            "Draws the training curves of t6 runs from their metrics files (RUN_DIR/metrics.h5),\n"
            "one colour per run, with gnuplot; works on a run that is still going.\n"
            "\n"
            "Options:\n"
            "  -o FILE           the picture; its extension picks the format (.png, .svg, .pdf)\n"
            "  --x UNIT          x axis: steps (default), tokens or time (wall time of the steps)\n"
            "  --what LIST       panels, comma-separated, in this order: train_loss, val_loss,\n"
            "                    lr, grad_norm, tokens_per_s, mfu\n"
            "                    (default train_loss,val_loss,lr,grad_norm,tokens_per_s)\n"
            "  --smooth A        EMA factor of the smoothed training loss, 0 <= A < 1 (default 0.9;\n"
            "                    0 draws the raw curve only)\n"
            "  --since X         leave out points before X (in the unit of --x)\n"
            "  --until X         leave out points after X\n"
            "  --logy            log scale on the loss panels (gradient norm is always log)\n"
            "  --size WxH        picture size in pixels (default 1200 x 380 per row of panels;\n"
            "                    PDF: 100 px per inch)\n"
            "  --title TEXT      a title over all panels\n"
            "  --label NAME      name of the next run (or --eval file) in the legend (default: its\n"
            "                    directory, or the file's name)\n"
            "  --eval FILE.h5    add a bar chart of an evaluation results file (t6 job eval:\n"
            "                    the paper's nine tasks and their average, with standard errors);\n"
            "                    repeat to compare checkpoints; works without run directories\n"
            "  --keep-script     keep FILE.gp and its data files FILE.runN.{train,eval}.dat beside\n"
            "                    the picture (run `gnuplot FILE.gp` to redraw after editing)\n"
            "  --summary         print a text summary per run instead of drawing\n"
            "  --help            this text\n"
            "  --version         version\n"
            "\n"
            "gnuplot is taken from $T6_GNUPLOT or PATH (Debian/Ubuntu package gnuplot-nox).\n");
}

static int die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "t6-plot: error: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

/* A run argument: a run directory (its metrics.h5) or a metrics file. */
static int load_run(const char *arg, const char *label, t6_plot_run *r)
{
    struct stat st;
    char path[4200], err[1024];
    memset(r, 0, sizeof *r);
    if (stat(arg, &st) != 0) return die("'%s': %s", arg, strerror(errno));
    char *dir;
    if (S_ISDIR(st.st_mode)) {
        snprintf(path, sizeof path, "%s/metrics.h5", arg);
        dir = t6_strdup(arg);
    } else {
        snprintf(path, sizeof path, "%s", arg);
        dir = t6_strdup(arg);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        else strcpy(dir, ".");
    }
    r->m = t6_metrics_read(path, err, sizeof err);
    if (!r->m) {
        free(dir);
        return die("%s%s", err, S_ISDIR(st.st_mode) ? " (is this a t6 run directory?)" : "");
    }
    r->dir = dir;
    if (label) {
        r->name = t6_strdup(label);
    } else {
        /* the directory's own name: runs/t6_small -> t6_small */
        char *d = t6_strdup(S_ISDIR(st.st_mode) ? arg : dir);
        size_t n = strlen(d);
        while (n > 1 && d[n - 1] == '/') d[--n] = 0;
        char *base = strrchr(d, '/');
        r->name = t6_strdup(base ? base + 1 : d);
        free(d);
    }
    return 0;
}

static void free_run(t6_plot_run *r)
{
    t6_metrics_data_free(r->m);
    free(r->name);
    free(r->dir);
    free(r->x_train);
    free(r->x_eval);
    free(r->ema);
}

/* gnuplot from $T6_GNUPLOT or PATH; NULL when there is none. */
static char *find_gnuplot(void)
{
    const char *env = getenv("T6_GNUPLOT");
    if (env && *env) return access(env, X_OK) == 0 ? t6_strdup(env) : NULL;
    const char *path = getenv("PATH");
    if (!path) return NULL;
    char *copy = t6_strdup(path), *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char cand[4200];
        snprintf(cand, sizeof cand, "%s/gnuplot", *d ? d : ".");
        if (access(cand, X_OK) == 0) {
            free(copy);
            return t6_strdup(cand);
        }
    }
    free(copy);
    return NULL;
}

static int run_gnuplot(const char *gnuplot, const char *script)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execl(gnuplot, "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int parse_double(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (!*s || *end || errno) {
        fprintf(stderr, "t6-plot: error: %s %s: not a number\n", opt, s);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    t6_set_progname("t6-plot");
    t6_plot_opts o = {0};
    o.smooth = 0.9;
    o.since = o.until = NAN;
    int want_summary = 0, what_given = 0, width = 0, height = 0;
    const char *label = NULL;
    t6_plot_run *runs = t6_calloc((size_t)argc, sizeof *runs);
    const char **args = t6_calloc((size_t)argc, sizeof *args);
    const char **labels = t6_calloc((size_t)argc, sizeof *labels);
    int nargs = 0;
    t6_plot_eval *evals = t6_calloc((size_t)argc, sizeof *evals);
    int neval = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE() do { if (!val) return die("%s needs a value%s", a, ""); i++; } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("t6-plot (T6-C) %s\n", PACKAGE_VERSION);
            return 0;
        } else if (strcmp(a, "-o") == 0) {
            NEED_VALUE();
            o.out = val;
        } else if (strcmp(a, "--x") == 0) {
            NEED_VALUE();
            if (strcmp(val, "steps") == 0) o.x = T6_PLOT_X_STEPS;
            else if (strcmp(val, "tokens") == 0) o.x = T6_PLOT_X_TOKENS;
            else if (strcmp(val, "time") == 0) o.x = T6_PLOT_X_TIME;
            else return die("--x %s: expected steps, tokens or time%s", val, "");
        } else if (strcmp(a, "--what") == 0) {
            NEED_VALUE();
            what_given = 1;
            char *copy = t6_strdup(val), *save = NULL;
            for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                int k = t6_plot_panel_parse(p);
                if (k < 0)
                    return die("--what: unknown panel '%s' (allowed: train_loss, val_loss, lr, grad_norm, "
                               "tokens_per_s, mfu)%s", p, "");
                o.panels[k] = 1;
            }
            free(copy);
        } else if (strcmp(a, "--smooth") == 0) {
            NEED_VALUE();
            if (parse_double(a, val, &o.smooth)) return 1;
            if (!(o.smooth >= 0 && o.smooth < 1)) return die("--smooth %s: must be in [0, 1)%s", val, "");
        } else if (strcmp(a, "--since") == 0) {
            NEED_VALUE();
            if (parse_double(a, val, &o.since)) return 1;
        } else if (strcmp(a, "--until") == 0) {
            NEED_VALUE();
            if (parse_double(a, val, &o.until)) return 1;
        } else if (strcmp(a, "--logy") == 0) {
            o.logy = 1;
        } else if (strcmp(a, "--size") == 0) {
            NEED_VALUE();
            if (sscanf(val, "%dx%d", &width, &height) != 2 || width < 100 || height < 100 || width > 20000 ||
                height > 20000)
                return die("--size %s: expected WxH in pixels, each 100..20000 (e.g. 1200x800)%s", val, "");
        } else if (strcmp(a, "--title") == 0) {
            NEED_VALUE();
            o.title = val;
        } else if (strcmp(a, "--label") == 0) {
            NEED_VALUE();
            label = val;
        } else if (strcmp(a, "--eval") == 0) {
            NEED_VALUE();
            char eerr[1024];
            if (t6_plot_eval_read(val, &evals[neval], eerr, sizeof eerr)) return die("%s%s", eerr, "");
            if (label) {
                evals[neval].name = t6_strdup(label);
            } else {
                const char *base = strrchr(val, '/');
                evals[neval].name = t6_strdup(base ? base + 1 : val);
                size_t L = strlen(evals[neval].name);
                if (L > 3 && strcmp(evals[neval].name + L - 3, ".h5") == 0) evals[neval].name[L - 3] = 0;
            }
            label = NULL;
            neval++;
        } else if (strcmp(a, "--keep-script") == 0) {
            o.keep_script = 1;
        } else if (strcmp(a, "--summary") == 0) {
            want_summary = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "t6-plot: error: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            labels[nargs] = label;
            label = NULL;
            args[nargs++] = a;
        }
#undef NEED_VALUE
    }
    if (nargs == 0 && (neval == 0 || want_summary)) {
        usage(stderr);
        return die("no run directory or metrics file given%s%s", "", "");
    }
    if (!want_summary) {
        if (!o.out) return die("no output file: give -o FILE.png, FILE.svg or FILE.pdf%s%s", "", "");
        const char *ext = strrchr(o.out, '.');
        if (!ext || (strcmp(ext, ".png") && strcmp(ext, ".svg") && strcmp(ext, ".pdf")))
            return die("-o %s: the extension must be .png, .svg or .pdf%s", o.out, "");
    }
    if (!what_given) {
        o.panels[T6_PANEL_TRAIN_LOSS] = o.panels[T6_PANEL_VAL_LOSS] = o.panels[T6_PANEL_LR] = 1;
        o.panels[T6_PANEL_GRAD_NORM] = o.panels[T6_PANEL_TOKENS_PER_S] = 1;
    }
    for (int i = 0; i < nargs; i++)
        if (load_run(args[i], labels[i], &runs[i])) return 1;

    /* the time axis in a unit that fits the longest run */
    double tmax = 0;
    for (int i = 0; i < nargs; i++) {
        double t = 0;
        for (size_t k = 0; k < runs[i].m->n_train; k++)
            if (isfinite(runs[i].m->train[T6_M_STEP_TIME][k])) t += runs[i].m->train[T6_M_STEP_TIME][k];
        if (t > tmax) tmax = t;
    }
    o.time_scale = tmax > 7200 ? 3600 : tmax > 300 ? 60 : 1;
    o.time_unit = tmax > 7200 ? "h" : tmax > 300 ? "min" : "s";
    for (int i = 0; i < nargs; i++) t6_plot_prepare(&runs[i], &o);

    if (want_summary) {
        for (int i = 0; i < nargs; i++) {
            if (i) putchar('\n');
            t6_plot_summary(stdout, &runs[i]);
        }
        return 0;
    }

    int npanel = 0;
    if (nargs > 0)
        for (int p = 0; p < T6_PANEL_COUNT; p++) npanel += o.panels[p];
    npanel += neval > 0;
    int rows = (npanel + (npanel > 1) ) / (npanel > 1 ? 2 : 1);
    o.width = width ? width : (npanel > 1 ? 1200 : 800);
    o.height = height ? height : 380 * rows + (o.title ? 40 : 0);

    /* data and script: beside the picture (--keep-script) or in a private temp dir */
    char tmpdir[4200] = "", prefix[4300], script[4400], err[1024];
    if (o.keep_script) {
        snprintf(prefix, sizeof prefix, "%.*s", (int)(strrchr(o.out, '.') - o.out), o.out);
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/t6-plot.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpdir)) return die("cannot create a temporary directory '%s': %s", tmpdir, strerror(errno));
        snprintf(prefix, sizeof prefix, "%s/plot", tmpdir);
    }
    char **bases = t6_calloc((size_t)nargs, sizeof *bases);
    int rc = 0;
    for (int i = 0; i < nargs && !rc; i++) {
        bases[i] = t6_malloc(strlen(prefix) + 32);
        sprintf(bases[i], "%s.run%d", prefix, i);
        if (t6_plot_write_data(&runs[i], &o, bases[i], err, sizeof err)) rc = die("%s%s", err, "");
    }
    char **ebases = t6_calloc((size_t)(neval ? neval : 1), sizeof *ebases);
    for (int i = 0; i < neval && !rc; i++) {
        ebases[i] = t6_malloc(strlen(prefix) + 32);
        sprintf(ebases[i], "%s.eval%d.dat", prefix, i);
        if (t6_plot_eval_write_data(&evals[i], ebases[i], err, sizeof err)) rc = die("%s%s", err, "");
    }
    snprintf(script, sizeof script, "%s.gp", prefix);
    if (!rc) {
        FILE *f = fopen(script, "w");
        if (!f) {
            rc = die("cannot write the gnuplot script '%s': %s", script, strerror(errno));
        } else {
            int bad = t6_plot_write_script(f, runs, nargs, bases, &o, evals, neval, ebases);
            bad |= fclose(f) != 0;
            if (bad) rc = die("cannot write the gnuplot script '%s'%s", script, "");
        }
    }
    if (!rc) {
        char *gnuplot = find_gnuplot();
        if (!gnuplot) {
            rc = die("gnuplot not found (looked in %s): install the package gnuplot-nox "
                     "(apt-get install gnuplot-nox) or set T6_GNUPLOT to its path",
                     getenv("T6_GNUPLOT") && *getenv("T6_GNUPLOT") ? "$T6_GNUPLOT" : "PATH", "");
            if (o.keep_script) fprintf(stderr, "t6-plot: the script is kept: %s\n", script);
        } else {
            int g = run_gnuplot(gnuplot, script);
            if (g != 0) {
                char code[32];
                snprintf(code, sizeof code, "%d", g);
                rc = die("gnuplot failed (exit %s) on the script %s", code,
                         o.keep_script ? script : "(rerun with --keep-script to keep it)");
                unlink(o.out);
            } else {
                printf("t6-plot: wrote %s (%d run%s, %d eval file%s, %d panel%s)%s%s\n", o.out, nargs,
                       nargs == 1 ? "" : "s", neval, neval == 1 ? "" : "s",
                       npanel, npanel == 1 ? "" : "s", o.keep_script ? "; script " : "",
                       o.keep_script ? script : "");
            }
            free(gnuplot);
        }
    }
    if (!o.keep_script) {
        for (int i = 0; i < nargs; i++) {
            char p[4400];
            snprintf(p, sizeof p, "%s.train.dat", bases[i]); unlink(p);
            snprintf(p, sizeof p, "%s.eval.dat", bases[i]); unlink(p);
        }
        for (int i = 0; i < neval; i++) if (ebases[i]) unlink(ebases[i]);
        unlink(script);
        rmdir(tmpdir);
    }
    for (int i = 0; i < neval; i++) {
        free(ebases[i]);
        free(evals[i].name);
    }
    free(ebases);
    free(evals);
    for (int i = 0; i < nargs; i++) {
        free(bases[i]);
        free_run(&runs[i]);
    }
    free(bases);
    free(runs);
    free(args);
    free(labels);
    return rc;
}
