/* plot_data.c -- from a loaded metrics history to what is drawn: the x axis in the
 * chosen unit (steps, tokens seen, wall time), the smoothed loss, and the data files
 * gnuplot reads. Every point written is a metrics row (tests compare them). */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const panel_names[T6_PANEL_COUNT] = {
    "train_loss", "val_loss", "lr", "grad_norm", "tokens_per_s", "mfu",
};

const char *t6_plot_panel_name(int panel)
{
    return panel >= 0 && panel < T6_PANEL_COUNT ? panel_names[panel] : NULL;
}

int t6_plot_panel_parse(const char *name)
{
    for (int i = 0; i < T6_PANEL_COUNT; i++)
        if (strcmp(name, panel_names[i]) == 0) return i;
    return -1;
}

/* Cumulative wall time after each /train row (sum of the step times: the run's own
 * clock, without the gaps between a stop and its resume). */
static double *cumulative_time(const t6_metrics_data *m)
{
    double *t = t6_malloc((m->n_train ? m->n_train : 1) * sizeof *t);
    double acc = 0;
    for (size_t i = 0; i < m->n_train; i++) {
        double s = m->train[T6_M_STEP_TIME][i];
        if (isfinite(s) && s > 0) acc += s;
        t[i] = acc;
    }
    return t;
}

/* Index of the /train row of step s (rows are monotonic), or -1. */
static long train_row_of_step(const t6_metrics_data *m, double s)
{
    size_t lo = 0, hi = m->n_train;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->train[T6_M_STEP][mid] < s) lo = mid + 1;
        else hi = mid;
    }
    return lo < m->n_train && m->train[T6_M_STEP][lo] == s ? (long)lo : -1;
}

void t6_plot_prepare(t6_plot_run *r, const t6_plot_opts *o)
{
    const t6_metrics_data *m = r->m;
    size_t nt = m->n_train ? m->n_train : 1, ne = m->n_eval ? m->n_eval : 1;
    r->x_train = t6_malloc(nt * sizeof(double));
    r->x_eval = t6_malloc(ne * sizeof(double));
    r->ema = t6_malloc(nt * sizeof(double));
    double *time = cumulative_time(m);
    for (size_t i = 0; i < m->n_train; i++) {
        switch (o->x) {
        case T6_PLOT_X_STEPS: r->x_train[i] = m->train[T6_M_STEP][i]; break;
        case T6_PLOT_X_TOKENS: r->x_train[i] = m->train[T6_M_TOKENS_SEEN][i]; break;
        case T6_PLOT_X_TIME: r->x_train[i] = time[i] / o->time_scale; break;
        }
    }
    for (size_t i = 0; i < m->n_eval; i++) {
        double s = m->eval[T6_E_STEP][i];
        long row = s > 0 ? train_row_of_step(m, s) : -1;
        switch (o->x) {
        case T6_PLOT_X_STEPS: r->x_eval[i] = s; break;
        case T6_PLOT_X_TOKENS:
            /* tokens seen when evaluated: that step's row, else steps x tokens per step */
            r->x_eval[i] = s <= 0 ? 0 : row >= 0 ? m->train[T6_M_TOKENS_SEEN][row] : s * m->tokens_per_step;
            break;
        case T6_PLOT_X_TIME: r->x_eval[i] = s <= 0 ? 0 : row >= 0 ? time[row] / o->time_scale : NAN; break;
        }
    }
    free(time);
    /* EMA with bias correction (the first points are not pulled towards 0) */
    double acc = 0, weight = 0;
    for (size_t i = 0; i < m->n_train; i++) {
        double x = m->train[T6_M_LOSS][i];
        if (!isfinite(x)) {
            r->ema[i] = NAN;
            continue;
        }
        acc = o->smooth * acc + (1 - o->smooth) * x;
        weight = o->smooth * weight + (1 - o->smooth);
        r->ema[i] = acc / weight;
    }
}

static int in_range(double x, const t6_plot_opts *o)
{
    if (isnan(x)) return 0;
    if (!isnan(o->since) && x < o->since) return 0;
    if (!isnan(o->until) && x > o->until) return 0;
    return 1;
}

static void put(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, " %.17g", v);
    else fputs(" ?", f);
}

int t6_plot_write_data(const t6_plot_run *r, const t6_plot_opts *o, const char *base, char *err, size_t errlen)
{
    char path[4200];
    const t6_metrics_data *m = r->m;
    snprintf(path, sizeof path, "%s.train.dat", base);
    FILE *f = fopen(path, "w");
    if (!f) {
        t6_seterr(err, errlen, "cannot write data file '%s'", path);
        return -1;
    }
    fprintf(f, "# x step loss loss_ema lr grad_norm tokens_per_s mfu   (run %s, metrics %s)\n", r->name, m->path);
    for (size_t i = 0; i < m->n_train; i++) {
        if (!in_range(r->x_train[i], o)) continue;
        put(f, r->x_train[i]);
        put(f, m->train[T6_M_STEP][i]);
        put(f, m->train[T6_M_LOSS][i]);
        put(f, r->ema[i]);
        put(f, m->train[T6_M_LR][i]);
        put(f, m->train[T6_M_GRAD_NORM][i]);
        put(f, m->train[T6_M_TOKENS_PER_S][i]);
        put(f, m->train[T6_M_MFU][i]);
        fputc('\n', f);
    }
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    snprintf(path, sizeof path, "%s.eval.dat", base);
    f = fopen(path, "w");
    if (!f || bad) {
        if (f) fclose(f);
        t6_seterr(err, errlen, "cannot write data file '%s'", path);
        return -1;
    }
    fprintf(f, "# x step val_loss   (run %s)\n", r->name);
    for (size_t i = 0; i < m->n_eval; i++) {
        if (!in_range(r->x_eval[i], o)) continue;
        put(f, r->x_eval[i]);
        put(f, m->eval[T6_E_STEP][i]);
        put(f, m->eval[T6_E_VAL_LOSS][i]);
        fputc('\n', f);
    }
    bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad) {
        t6_seterr(err, errlen, "cannot write data file '%s'", path);
        return -1;
    }
    return 0;
}
