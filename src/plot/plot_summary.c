/* plot_summary.c -- `t6-plot --summary`: one text block per run for a terminal or a
 * batch log (model, parameters, progress, validation loss, wall time, throughput,
 * status), from the metrics file and the run's t6.status. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "memtrack.h"
#include "util.h"

static void status_line(const char *dir, char *out, size_t len)
{
    snprintf(out, len, "unknown (no t6.status)");
    if (!dir || !*dir) return;
    char path[4200];
    snprintf(path, sizeof path, "%s/t6.status", dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fgets(out, (int)len, f)) out[strcspn(out, "\n")] = 0;
    fclose(f);
}

static void fmt_time(char *buf, size_t len, double s)
{
    if (s < 120) snprintf(buf, len, "%.1f s", s);
    else if (s < 7200) snprintf(buf, len, "%.1f min", s / 60);
    else snprintf(buf, len, "%.2f h", s / 3600);
}

void t6_plot_summary(FILE *f, const t6_plot_run *r)
{
    const t6_metrics_data *m = r->m;
    char b1[64], b2[64], st[256];
    fprintf(f, "run %s (%s)\n", r->name, m->path);
    fprintf(f, "  model:      %s", m->attention[0] ? m->attention : "attention ?");
    if (m->n_layer > 0) fprintf(f, ", %ld layers, n_embd %ld, %ld heads", m->n_layer, m->n_embd, m->n_head);
    if (isfinite(m->n_params)) fprintf(f, ", %s parameters", t6_fmt_count(b1, sizeof b1, (long long)m->n_params));
    if (isfinite(m->world_size)) fprintf(f, ", %.0f rank(s)", m->world_size);
    fputc('\n', f);
    size_t n = m->n_train;
    double steps = n ? m->train[T6_M_STEP][n - 1] : 0;
    double tokens = n ? m->train[T6_M_TOKENS_SEEN][n - 1] : 0;
    fprintf(f, "  progress:   %s steps, %s tokens\n", t6_fmt_count(b1, sizeof b1, (long long)steps),
            t6_fmt_count(b2, sizeof b2, (long long)tokens));
    if (n) {
        fprintf(f, "  train loss: last %.4f at step %.0f (EMA %.4f)\n", m->train[T6_M_LOSS][n - 1], steps,
                r->ema ? r->ema[n - 1] : NAN);
    }
    long best = -1;
    for (size_t i = 0; i < m->n_eval; i++)
        if (isfinite(m->eval[T6_E_VAL_LOSS][i]) && (best < 0 || m->eval[T6_E_VAL_LOSS][i] < m->eval[T6_E_VAL_LOSS][best]))
            best = (long)i;
    if (best >= 0) {
        size_t last = m->n_eval - 1;
        fprintf(f, "  val loss:   best %.4f at step %.0f, last %.4f at step %.0f (%zu evaluations)\n",
                m->eval[T6_E_VAL_LOSS][best], m->eval[T6_E_STEP][best], m->eval[T6_E_VAL_LOSS][last],
                m->eval[T6_E_STEP][last], m->n_eval);
    } else {
        fprintf(f, "  val loss:   none recorded\n");
    }
    double wall = 0, mfu_sum = 0;
    size_t mfu_n = 0;
    for (size_t i = 0; i < n; i++) {
        double s = m->train[T6_M_STEP_TIME][i];
        if (isfinite(s) && s > 0) wall += s;
        double u = m->train[T6_M_MFU][i];
        if (isfinite(u)) { mfu_sum += u; mfu_n++; }
    }
    /* mean throughput = tokens of the recorded steps / their time (not a mean of rates) */
    double tok_recorded = n ? tokens - (n > 0 ? m->train[T6_M_TOKENS_SEEN][0] - m->tokens_per_step : 0) : 0;
    if (!isfinite(tok_recorded)) tok_recorded = tokens;
    fmt_time(b1, sizeof b1, wall);
    fprintf(f, "  wall time:  %s of steps; %s tokens/s", b1,
            wall > 0 ? t6_fmt_count(b2, sizeof b2, (long long)(tok_recorded / wall)) : "n/a");
    if (mfu_n) fprintf(f, "; MFU %.1f%%\n", 100 * mfu_sum / (double)mfu_n);
    else fputs("; MFU n/a (no peak FLOP/s known)\n", f);
    /* the largest peak any session of the run recorded (0: before metrics version 3) */
    double mem = 0;
    for (size_t i = 0; i < n; i++)
        if (m->train[T6_M_MEM_PEAK][i] > mem) mem = m->train[T6_M_MEM_PEAK][i];
    if (mem > 0) fprintf(f, "  memory:     peak %s allocated on rank 0\n", t6_fmt_mem(b1, sizeof b1, (size_t)mem));
    status_line(r->dir, st, sizeof st);
    fprintf(f, "  status:     %s\n", st);
}
