/* plot.h -- t6-plot's pieces: the options, one loaded run, and the three jobs (data files,
 * gnuplot script, text summary). plot_main.c parses the command line and runs them. */
#ifndef T6_PLOT_H
#define T6_PLOT_H

#include <stdio.h>

#include "metrics_read.h"

typedef enum { T6_PLOT_X_STEPS = 0, T6_PLOT_X_TOKENS, T6_PLOT_X_TIME } t6_plot_x;

/* Panels, in the order they are drawn when selected. */
typedef enum {
    T6_PANEL_TRAIN_LOSS = 0, T6_PANEL_VAL_LOSS, T6_PANEL_LR, T6_PANEL_GRAD_NORM,
    T6_PANEL_TOKENS_PER_S, T6_PANEL_MFU, T6_PANEL_COUNT
} t6_plot_panel;

typedef struct {
    char *name;       /* label: the run directory's name (or --label) */
    char *dir;        /* run directory ("" when a metrics file was named directly) */
    t6_metrics_data *m;
    double *x_train;  /* x of every /train row in the chosen unit */
    double *x_eval;   /* x of every /eval row */
    double *ema;      /* smoothed train loss */
} t6_plot_run;

typedef struct {
    const char *out;          /* -o FILE.png|.svg|.pdf */
    t6_plot_x x;
    int panels[T6_PANEL_COUNT];
    double smooth;            /* EMA factor in [0,1); 0 = no smoothed curve */
    double since, until;      /* x range (NaN = open) */
    int logy;                 /* log scale on the loss panels */
    int width, height;        /* pixels (PDF: 100 px per inch) */
    int keep_script;
    const char *title;
    double time_scale;        /* seconds per unit of the time axis */
    const char *time_unit;
} t6_plot_opts;

/* Evaluation results (doc/formats/eval-results.md) for the bar chart: the paper's nine
 * columns (its metric per task, x 100) and their mean; NaN where a task is absent. */
#define T6_PLOT_EVAL_COLS 10
typedef struct {
    char *name;                        /* legend: the file's name without .h5 (or --label) */
    double value[T6_PLOT_EVAL_COLS];
    double stderr_[T6_PLOT_EVAL_COLS];
} t6_plot_eval;
const char *t6_plot_eval_label(int col);
int t6_plot_eval_read(const char *path, t6_plot_eval *e, char *err, size_t errlen);
int t6_plot_eval_write_data(const t6_plot_eval *e, const char *path, char *err, size_t errlen);

/* Panel names as --what takes them ("train_loss", ...); NULL past the end. */
const char *t6_plot_panel_name(int panel);
int t6_plot_panel_parse(const char *name);

/* Fills x_train/x_eval/ema of a loaded run from the options. */
void t6_plot_prepare(t6_plot_run *r, const t6_plot_opts *o);

/* Writes the run's data files <base>.train.dat and <base>.eval.dat (whitespace
 * columns, '?' for missing; the header line names the columns). Returns 0 or -1 with
 * a message in err. */
int t6_plot_write_data(const t6_plot_run *r, const t6_plot_opts *o, const char *base, char *err, size_t errlen);

/* Writes the gnuplot script that draws every selected panel for all runs, reading the
 * data files at data_base[i]. */
int t6_plot_write_script(FILE *f, const t6_plot_run *runs, int nrun, char *const *data_base,
                         const t6_plot_opts *o, const t6_plot_eval *evals, int neval, char *const *eval_data);

/* One text block per run: model, parameters, steps/tokens, best and last validation
 * loss, wall time, mean tokens/s and MFU, status. */
void t6_plot_summary(FILE *f, const t6_plot_run *r);

#endif
