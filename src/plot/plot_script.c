/* plot_script.c -- writes the gnuplot script that draws the selected panels for every
 * run: one colour per run (the same in every panel), raw training loss as a light
 * line under its smoothed curve, validation loss with points, gradient norm on a log
 * axis. The script is plain gnuplot 5 so a user can restyle it (--keep-script). */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A qualitative palette that stays readable for up to 10 runs (then it repeats). */
static const char *const palette[] = {
    "1f77b4", "d62728", "2ca02c", "ff7f0e", "9467bd", "8c564b", "e377c2", "7f7f7f", "bcbd22", "17becf",
};
#define NPALETTE ((int)(sizeof palette / sizeof palette[0]))

/* A gnuplot double-quoted string: backslash and quote escaped; used with noenhanced. */
static void quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if (*s == '\n') { fputs("\\n", f); continue; }
        fputc(*s, f);
    }
    fputc('"', f);
}

static void legend(FILE *f, const t6_plot_run *r, const char *suffix)
{
    char buf[512];
    if (r->m->attention[0])
        snprintf(buf, sizeof buf, "%s (%s)%s", r->name, r->m->attention, suffix);
    else
        snprintf(buf, sizeof buf, "%s%s", r->name, suffix);
    fputs(" title ", f);
    quoted(f, buf);
    fputs(" noenhanced", f);
}

static const char *x_label(const t6_plot_opts *o)
{
    static char buf[64];
    switch (o->x) {
    case T6_PLOT_X_STEPS: return "optimizer steps";
    case T6_PLOT_X_TOKENS: return "training tokens";
    case T6_PLOT_X_TIME: snprintf(buf, sizeof buf, "wall time of steps (%s)", o->time_unit); return buf;
    }
    return "";
}

int t6_plot_write_script(FILE *f, const t6_plot_run *runs, int nrun, char *const *data_base,
                         const t6_plot_opts *o, const t6_plot_eval *evals, int neval, char *const *eval_data)
{
    int npanel = 0;
    if (nrun > 0)
        for (int p = 0; p < T6_PANEL_COUNT; p++) npanel += o->panels[p] != 0;
    npanel += neval > 0;   /* the evaluation bar chart: one more panel, the last */
    const char *ext = strrchr(o->out, '.');
    fprintf(f, "# t6-plot: %d run(s), %d panel(s); regenerate the picture with: gnuplot THIS_FILE\n", nrun, npanel);
    if (ext && strcmp(ext, ".svg") == 0)
        fprintf(f, "set terminal svg size %d,%d dynamic enhanced font \"sans,11\" background rgb \"white\"\n",
                o->width, o->height);
    else if (ext && strcmp(ext, ".pdf") == 0)
        fprintf(f, "set terminal pdfcairo size %.2fin,%.2fin enhanced font \"sans,9\"\n", o->width / 100.0,
                o->height / 100.0);
    else
        fprintf(f, "set terminal pngcairo size %d,%d enhanced font \"sans,10\" background rgb \"white\"\n",
                o->width, o->height);
    fputs("set output ", f);
    quoted(f, o->out);
    fputs("\nset datafile missing \"?\"\nset grid lc rgb \"#dddddd\"\nset key top right noenhanced\n", f);
    /* token counts read best as 25M, 1.2G; steps and times as plain numbers */
    fputs(o->x == T6_PLOT_X_TOKENS ? "set format x \"%.1s%c\"\n" : "set format x \"%g\"\n", f);
    fputs("set mxtics\n", f);
    int cols = npanel > 1 ? 2 : 1, rows = (npanel + cols - 1) / cols;
    fprintf(f, "set multiplot layout %d,%d", rows, cols);
    if (o->title) {
        fputs(" title ", f);
        quoted(f, o->title);
        fputs(" noenhanced", f);
    }
    fputs("\n", f);
    fputs("set xlabel ", f);
    quoted(f, x_label(o));
    fputs("\n", f);
    if (!isnan(o->since) || !isnan(o->until)) {
        fputs("set xrange [", f);
        if (!isnan(o->since)) fprintf(f, "%.17g", o->since);
        fputs(":", f);
        if (!isnan(o->until)) fprintf(f, "%.17g", o->until);
        fputs("]\n", f);
    }

    for (int p = 0; p < T6_PANEL_COUNT && nrun > 0; p++) {
        if (!o->panels[p]) continue;
        int logy = 0;
        const char *ylabel = "";
        switch (p) {
        case T6_PANEL_TRAIN_LOSS: ylabel = "training loss"; logy = o->logy; break;
        case T6_PANEL_VAL_LOSS: ylabel = "validation loss"; logy = o->logy; break;
        case T6_PANEL_LR: ylabel = "learning rate"; break;
        case T6_PANEL_GRAD_NORM: ylabel = "gradient norm (before clipping)"; logy = 1; break;
        case T6_PANEL_TOKENS_PER_S: ylabel = "tokens/s (all ranks)"; break;
        case T6_PANEL_MFU: ylabel = "MFU"; break;
        }
        fprintf(f, "\n# ---- panel %s\n", t6_plot_panel_name(p));
        fputs("set title ", f);
        quoted(f, ylabel);
        fputs(" noenhanced\nset ylabel ", f);
        quoted(f, ylabel);
        fprintf(f, "\n%s\n", logy ? "set logscale y\nset format y \"%g\"" : "unset logscale y\nset format y \"%g\"");
        fputs("plot \\\n", f);
        int first = 1;
        for (int i = 0; i < nrun; i++) {
            const char *col = palette[i % NPALETTE];
            char file[4300];
            snprintf(file, sizeof file, "%s.%s.dat", data_base[i], p == T6_PANEL_VAL_LOSS ? "eval" : "train");
#define NEXT() do { if (!first) fputs(", \\\n", f); first = 0; fputs("  ", f); quoted(f, file); } while (0)
            switch (p) {
            case T6_PANEL_TRAIN_LOSS:
                NEXT();
                fprintf(f, " using 1:3 with lines lw 1 lc rgb \"#A0%s\"", col);
                legend(f, &runs[i], o->smooth > 0 ? " raw" : "");
                if (o->smooth > 0) {
                    NEXT();
                    fprintf(f, " using 1:4 with lines lw 2 lc rgb \"#%s\"", col);
                    char sfx[64];
                    snprintf(sfx, sizeof sfx, " EMA %.3g", o->smooth);
                    legend(f, &runs[i], sfx);
                }
                break;
            case T6_PANEL_VAL_LOSS:
                NEXT();
                fprintf(f, " using 1:3 with linespoints lw 2 pt 7 ps 0.6 lc rgb \"#%s\"", col);
                legend(f, &runs[i], "");
                break;
            default: {
                int c = p == T6_PANEL_LR ? 5 : p == T6_PANEL_GRAD_NORM ? 6 : p == T6_PANEL_TOKENS_PER_S ? 7 : 8;
                NEXT();
                fprintf(f, " using 1:%d with lines lw 1.5 lc rgb \"#%s\"", c, col);
                legend(f, &runs[i], "");
            }
            }
#undef NEXT
        }
        fputs("\n", f);
    }
    if (neval > 0) {
        /* grouped bars: one group per task (the paper's column order, then Avg), one bar
         * per results file, its standard error as the error bar */
        fputs("\n# ---- panel eval (bar chart of the evaluation results)\n", f);
        fputs("set title \"zero-shot accuracy x 100 (the paper's metric per task; Avg of the nine)\" noenhanced\n", f);
        fputs("set ylabel \"accuracy x 100\"\nunset xlabel\nunset logscale y\nset format y \"%g\"\n", f);
        fputs("set xrange [*:*]\nset yrange [0:*]\nset style data histograms\n", f);
        fputs("set style histogram errorbars gap 1 lw 1\nset style fill solid 0.75 border -1\nset boxwidth 0.9\n", f);
        fputs("set xtics nomirror rotate by -25 left\nset grid ytics\nplot \\\n", f);
        for (int i = 0; i < neval; i++) {
            if (i) fputs(", \\\n", f);
            fputs("  ", f);
            quoted(f, eval_data[i]);
            fprintf(f, " using 2:3%s lc rgb \"#%s\" title ", i == 0 ? ":xtic(1)" : "", palette[i % NPALETTE]);
            quoted(f, evals[i].name);
            fputs(" noenhanced", f);
        }
        fputs("\n", f);
    }
    fputs("\nunset multiplot\nset output\n", f);
    return ferror(f) ? -1 : 0;
}
