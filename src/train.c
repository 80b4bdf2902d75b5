/* train.c -- the jobs of `t6 DECK`: training (data-parallel over MPI ranks, with
 * periodic evaluation, HDF5 metrics and checkpoints, exact resume and clean stops on
 * SIGUSR1/SIGTERM) and stand-alone evaluation of a checkpoint. doc/training.md
 * describes the loop; the step order below is what makes resume bitwise exact:
 * everything a step depends on (parameters, AdamW moments and counter, the data
 * stream position, the step number that drives the schedule) is in the checkpoint. */
#include "config.h"

#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "ckpt.h"
#include "data.h"
#include "dist.h"
#include "eval/evrun.h"
#include "metrics.h"
#include "model.h"
#include "optim.h"
#include "params.h"
#include "schedule.h"
#include "signals.h"
#include "util.h"

typedef struct {
    t6_deck *deck;
    t6_dist dist;
    t6_backend *be;
    t6_model *model;
    const t6_param_layout *pl;
    t6_data *data;
    t6_optim opt;
    t6_metrics *metrics;
    char ckpt_dir[4096];
    char ckpt_loaded[4400]; /* the checkpoint resume() loaded (rank 0), for eval results */
    int B, T, accum;
    long step;              /* optimizer steps completed */
    uint64_t tokens_seen;
    double best_val;
    long last_ckpt_step;
    int32_t *tok, *tgt;
    double flops_per_token, peak_flops;
} t6_run;

/* ---- status file (interfaces: <run_dir>/t6.status, one line, atomic) --------------
 * The atexit hook needs to reach it when a fatal error exits from deep inside a
 * module, hence this one file-scope record. */
static struct {
    char path[4200];
    int active;   /* rank 0 and the path is set */
    int final;    /* a final state was written: do not overwrite with "failed" */
    long step;
} g_status;

static void status_write(const char *line, int durable)
{
    if (!g_status.active) return;
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", g_status.path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "%s: warning: cannot write status file '%s': %s\n", t6_progname(), tmp, strerror(errno));
        return;
    }
    fprintf(f, "%s\n", line);
    fflush(f);
    if (durable) fsync(fileno(f));   /* final states must survive a node crash */
    fclose(f);
    if (rename(tmp, g_status.path) != 0)
        fprintf(stderr, "%s: warning: cannot rename status file onto '%s': %s\n", t6_progname(), g_status.path, strerror(errno));
}

static void status_set(const char *state, long step, int final)
{
    char line[64];
    snprintf(line, sizeof line, "%s %ld", state, step);
    g_status.step = step;
    status_write(line, final);
    if (final) g_status.final = 1;
}

static void status_atexit(void)
{
    if (g_status.active && !g_status.final) status_write("failed", 1);
}

/* ---- pieces of the loop ------------------------------------------------------------ */
static void save_checkpoint(t6_run *r)
{
    const size_t n = r->pl->n_params;
    if (r->dist.rank == 0) {
        status_set("running", r->step, 0);
        t6_ckpt_tensors t = {t6_malloc(n * sizeof(float)), t6_malloc(n * sizeof(float)), t6_malloc(n * sizeof(float))};
        t6_model_get_params(r->model, t.params);
        r->be->ops->to_host(r->be, t.m, r->opt.m, n * sizeof(float));
        r->be->ops->to_host(r->be, t.v, r->opt.v, n * sizeof(float));
        t6_ckpt_state st;
        memset(&st, 0, sizeof st);
        st.step = r->step;
        st.tokens_seen = r->tokens_seen;
        st.best_val_loss = r->best_val;
        st.world_size = r->dist.world;
        st.adam_t = r->opt.t;
        t6_data_get_state(r->data, &st.data);
        char path[4300];
        double t0 = t6_now();
        t6_ckpt_write(r->ckpt_dir, r->deck, r->pl, &t, &st, path, sizeof path);
        t6_ckpt_prune(r->ckpt_dir, r->deck->output.keep_last, r->deck->output.milestone_interval);
        printf("step %ld: checkpoint %s (%.2fs)\n", r->step, path, t6_now() - t0);
        fflush(stdout);
        free(t.params);
        free(t.m);
        free(t.v);
    }
    t6_dist_barrier(&r->dist);
    r->last_ckpt_step = r->step;
}

/* Finds and loads the checkpoint output.resume asks for (rank 0), broadcasts it.
 * Returns 1 when the run resumes, 0 for a fresh start. */
static int resume(t6_run *r, int required)
{
    const char *mode = r->deck->output.resume ? r->deck->output.resume : "auto";
    const size_t n = r->pl->n_params;
    int found = 0;
    t6_ckpt_tensors t = {NULL, NULL, NULL};
    t6_ckpt_state st;
    memset(&st, 0, sizeof st);
    int world_check = r->deck->job == T6_JOB_EVAL ? 0 : r->dist.world;
    if (r->dist.rank == 0) {
        t.params = t6_malloc(n * sizeof(float));
        t.m = t6_malloc(n * sizeof(float));
        t.v = t6_malloc(n * sizeof(float));
        char err[1024];
        char **paths = NULL;
        long *steps = NULL;
        int np = t6_ckpt_list(r->ckpt_dir, &paths, &steps);
        if (strcmp(mode, "never") == 0) {
            if (np > 0 && r->deck->job != T6_JOB_EVAL)
                t6_fatal_hint("use a new output.run_dir, remove its checkpoints/, or set output.resume = \"auto\"",
                              "output.resume = \"never\" but '%s' already holds %d checkpoint(s), newest '%s'",
                              r->ckpt_dir, np, paths[0]);
        } else if (strcmp(mode, "auto") == 0) {
            for (int i = 0; i < np && !found; i++) {
                if (t6_ckpt_load(paths[i], r->deck, r->pl, world_check, &t, &st, err, sizeof err) == 0) {
                    found = 1;
                    snprintf(r->ckpt_loaded, sizeof r->ckpt_loaded, "%s", paths[i]);
                    printf("resuming from %s (step %ld)\n", paths[i], st.step);
                } else {
                    fprintf(stderr, "%s: warning: skipping checkpoint '%s': %s\n", t6_progname(), paths[i], err);
                }
            }
            if (np > 0 && !found)
                t6_fatal_hint("move the damaged files out of the checkpoint directory to start over",
                              "output.resume = \"auto\": none of the %d checkpoint(s) in '%s' is valid", np, r->ckpt_dir);
        } else {
            if (t6_ckpt_load(mode, r->deck, r->pl, world_check, &t, &st, err, sizeof err) != 0)
                t6_fatal_hint("give a complete checkpoint file, or \"auto\" / \"never\"",
                              "output.resume = \"%s\": not a valid checkpoint: %s", mode, err);
            found = 1;
            snprintf(r->ckpt_loaded, sizeof r->ckpt_loaded, "%s", mode);
            printf("resuming from %s (step %ld)\n", mode, st.step);
        }
        if (required && !found) {
            const char *why = np == 0 ? "there is none" : "output.resume = \"never\"";
            t6_fatal_hint("train first, or set output.resume to a checkpoint path",
                          "evaluation needs a checkpoint in '%s' but %s", r->ckpt_dir, why);
        }
        t6_ckpt_list_free(paths, steps, np);
        fflush(stdout);
    }
    t6_dist_bcast(&r->dist, &found, sizeof found, 0);
    if (!found) {
        free(t.params); free(t.m); free(t.v);
        return 0;
    }
    if (r->dist.rank != 0) {
        t.params = t6_malloc(n * sizeof(float));
        t.m = t6_malloc(n * sizeof(float));
        t.v = t6_malloc(n * sizeof(float));
    }
    t6_dist_bcast(&r->dist, &st, sizeof st, 0);
    t6_dist_bcast(&r->dist, t.params, n * sizeof(float), 0);
    t6_dist_bcast(&r->dist, t.m, n * sizeof(float), 0);
    t6_dist_bcast(&r->dist, t.v, n * sizeof(float), 0);
    t6_model_set_params(r->model, t.params);
    if (r->opt.m) {
        r->be->ops->to_device(r->be, r->opt.m, t.m, n * sizeof(float));
        r->be->ops->to_device(r->be, r->opt.v, t.v, n * sizeof(float));
        r->opt.t = st.adam_t;
    }
    if (r->data && r->deck->job != T6_JOB_EVAL) t6_data_set_state(r->data, &st.data, mode);
    r->step = st.step;
    r->tokens_seen = st.tokens_seen;
    r->best_val = st.best_val_loss;
    r->last_ckpt_step = st.step;
    free(t.params); free(t.m); free(t.v);
    return 1;
}

/* Mean val loss over eval_iters batches, shared out over the ranks (so the value
 * does not depend on the world size). NaN without a val split. */
static double evaluate(t6_run *r)
{
    if (!t6_data_has_val(r->data) || r->deck->train.eval_iters <= 0) return NAN;
    double acc[2] = {0.0, 0.0};
    for (int it = r->dist.rank; it < r->deck->train.eval_iters; it += r->dist.world) {
        t6_data_val_batch(r->data, it, r->tok, r->tgt);
        acc[0] += (double)t6_model_forward(r->model, r->tok, r->tgt, 0, 0.0f);
        acc[1] += 1.0;
    }
    t6_dist_sum_doubles(&r->dist, acc, 2);
    return acc[0] / acc[1];
}

static void eval_and_record(t6_run *r)
{
    double t0 = t6_now();
    double val = evaluate(r);
    if (isnan(val)) return;
    if (val < r->best_val || !isfinite(r->best_val)) r->best_val = val;
    if (r->dist.rank == 0) {
        printf("step %ld: val loss %.4f, ppl %.2f (%d batches, %.2fs)\n", r->step, val, exp(val),
               r->deck->train.eval_iters, t6_now() - t0);
        fflush(stdout);
        double row[T6_E_NEVAL] = {(double)r->step, val, exp(val)};
        t6_metrics_eval_row(r->metrics, row);
        t6_metrics_flush(r->metrics);
    }
}

static void test_delay(const char *name)
{
    const char *s = getenv(name);
    if (s && atol(s) > 0) usleep((useconds_t)(atol(s) * 1000));
}

/* One optimizer step: grad_accum forward/backward micro-steps per rank, gradient
 * sum over ranks, clipping, AdamW. Returns the mean loss over the global batch. */
static double train_step(t6_run *r, t6_optim_stats *st)
{
    const t6_train_config *tc = &r->deck->train;
    const int W = r->dist.world;
    /* mean: d(mean loss over the global batch); sum_reference: the reference sums the
     * micro-steps' gradients (and DDP averages over ranks) -- accum times larger */
    const float gscale = tc->accum_mode == T6_ACCUM_SUM_REFERENCE ? 1.0f / (float)W
                                                                  : 1.0f / (float)(r->accum * W);
    t6_model_zero_grad(r->model);
    double loss = 0.0;
    for (int mu = 0; mu < r->accum; mu++) {
        t6_data_train_batch(r->data, mu, r->tok, r->tgt);
        loss += (double)t6_model_forward(r->model, r->tok, r->tgt, 1, gscale);
        t6_model_backward(r->model);
    }
    t6_dist_allreduce_grads(&r->dist, r->be, t6_model_grads(r->model), r->pl->n_params);
    t6_dist_sum_doubles(&r->dist, &loss, 1);
    loss /= (double)(r->accum * W);
    if (!isfinite(loss))
        t6_fatal_hint("lower optim.lr, raise warmup, or check the data",
                      "the training loss is %f at step %ld", loss, r->step + 1);
    double lr = t6_schedule_lr(&r->deck->optim, r->step);
    /* adamw refreshes the bf16 compute copy in the same pass over the parameters */
    t6_optim_step(&r->opt, t6_model_params(r->model), t6_model_compute_weights(r->model),
                  t6_model_grads(r->model), lr, st);
    t6_data_advance(r->data);
    return loss;
}

static void setup(t6_run *r, t6_deck *deck)
{
    char err[1024];
    memset(r, 0, sizeof *r);
    r->deck = deck;
    t6_dist_init(&r->dist);
    if (t6_deck_resolve_world(deck, r->dist.world, err, sizeof err) != 0)
        t6_fatal_hint("change train.global_batch / micro_batch / grad_accum or the number of ranks", "%s", err);
    r->B = deck->train.micro_batch;
    r->T = deck->train.seq_len;
    r->accum = deck->train.grad_accum > 0 ? deck->train.grad_accum : 1;
    r->best_val = INFINITY;
    r->last_ckpt_step = -1;
    snprintf(r->ckpt_dir, sizeof r->ckpt_dir, "%s/checkpoints", deck->output.run_dir);
    if (r->dist.rank == 0) {
        t6_mkdir_p(deck->output.run_dir);
        t6_mkdir_p(r->ckpt_dir);
        snprintf(g_status.path, sizeof g_status.path, "%s/t6.status", deck->output.run_dir);
        /* the status file tells job scripts where training stands: an evaluation of
         * the same run_dir leaves it alone */
        g_status.active = deck->job == T6_JOB_TRAIN;
        atexit(status_atexit);
        t6_ckpt_clean_temp(r->ckpt_dir);
    }
    t6_dist_barrier(&r->dist);
    t6_signals_install();
    r->be = t6_backend_create(&deck->backend, r->dist.local_rank);
    t6_dist_setup_backend(&r->dist, r->be);
    r->model = t6_model_create(&deck->model, r->be, r->B, r->T);
    r->pl = t6_model_layout(r->model);
    /* an evaluation of lm-eval tasks alone needs no corpus */
    r->data = deck->job == T6_JOB_EVAL && deck->data.n_train == 0 && deck->eval.n_tasks > 0
                  ? NULL : t6_data_open(deck, &r->dist);
    r->tok = t6_malloc((size_t)r->B * (size_t)r->T * sizeof(int32_t));
    r->tgt = t6_malloc((size_t)r->B * (size_t)r->T * sizeof(int32_t));
    r->flops_per_token = t6_flops_per_token(&deck->model, r->pl->n_params, r->T);
    const char *peak = getenv("T6_PEAK_FLOPS");
    r->peak_flops = peak ? atof(peak) : r->be->peak_flops;
}

static void teardown(t6_run *r)
{
    t6_metrics_close(r->metrics);
    t6_optim_free(&r->opt);
    t6_data_close(r->data);
    free(r->tok);
    free(r->tgt);
    t6_model_destroy(r->model);
    t6_backend_destroy(r->be);
    t6_dist_finalize(&r->dist);
}

static int run_eval(t6_run *r)
{
    resume(r, 1);
    /* evaluation prints its result and writes no metrics file */
    const int tasks = r->deck->eval.n_tasks > 0;
    if (!(r->data && t6_data_has_val(r->data)) && !tasks) {
        if (r->dist.rank == 0)
            fprintf(stderr, "%s: error: evaluation needs data.val or eval.tasks\n", t6_progname());
        return 1;
    }
    if (r->data && t6_data_has_val(r->data)) {
        double val = evaluate(r);
        if (r->dist.rank == 0) {
            printf("eval step %ld: val loss %.6f, ppl %.4f (%d batches)\n", r->step, val, exp(val),
                   r->deck->train.eval_iters);
            fflush(stdout);
        }
    }
    /* lm-evaluation-harness tasks (src/eval/, doc/eval.md) */
    if (tasks) return t6_eval_tasks(r->deck, &r->dist, r->model, r->ckpt_loaded, r->step);
    return 0;
}

static int run_train(t6_run *r)
{
    t6_deck *deck = r->deck;
    const t6_train_config *tc = &deck->train;
    t6_optim_init(&r->opt, r->be, &deck->optim, r->pl->n_params);
    int resumed = resume(r, 0);
    if (!resumed) {
        t6_model_init_params(r->model, tc->seed);
        t6_model_sync_compute_weights(r->model);
    }
    const uint64_t tokens_per_step = (uint64_t)r->B * (uint64_t)r->T * (uint64_t)r->accum * (uint64_t)r->dist.world;
    if (r->dist.rank == 0) {
        char path[4400], nb[32];
        snprintf(path, sizeof path, "%s/%s", deck->output.run_dir, deck->output.metrics ? deck->output.metrics : "metrics.h5");
        r->metrics = t6_metrics_open(path, resumed ? r->step : -1);
        t6_metrics_attr_i64(r->metrics, "n_params", (int64_t)r->pl->n_params);
        t6_metrics_attr_i64(r->metrics, "world_size", r->dist.world);
        t6_metrics_attr_i64(r->metrics, "tokens_per_step", (int64_t)tokens_per_step);
        t6_metrics_attr_f64(r->metrics, "flops_per_token", r->flops_per_token);
        t6_metrics_attr_f64(r->metrics, "peak_flops_per_rank", r->peak_flops > 0 ? r->peak_flops : NAN);
        printf("t6: %s model, %s parameters, %d rank(s) x %d micro-steps x %d x %d = %llu tokens/step, "
               "%ld steps, accumulation %s\n",
               t6_attn_name(deck->model.attention), t6_fmt_count(nb, sizeof nb, (long long)r->pl->n_params),
               r->dist.world, r->accum, r->B, r->T, (unsigned long long)tokens_per_step, tc->max_steps,
               tc->accum_mode == T6_ACCUM_SUM_REFERENCE ? "sum_reference" : "mean");
        fflush(stdout);
    }
    status_set("running", r->step, 0);

    if (!resumed && tc->eval_interval > 0) eval_and_record(r);   /* the reference evaluates at 0 */
    int stopped = 0;
    while (r->step < tc->max_steps) {
        r->be->ops->sync(r->be);
        double t0 = t6_now();
        t6_optim_stats st;
        double loss = train_step(r, &st);
        double pnorm = t6_optim_norm(r->be, t6_model_params(r->model), r->pl->n_params);
        r->be->ops->sync(r->be);
        double dt = t6_now() - t0;
        r->step++;
        r->tokens_seen += tokens_per_step;
        double tps = dt > 0 ? (double)tokens_per_step / dt : 0.0;
        double mfu = r->peak_flops > 0 ? r->flops_per_token * tps / (r->peak_flops * r->dist.world) : NAN;
        if (r->dist.rank == 0) {
            double row[T6_M_NTRAIN] = {(double)r->step, loss, st.lr, st.grad_norm, pnorm, (double)st.clipped,
                                       (double)r->tokens_seen, dt, tps, mfu};
            t6_metrics_train_row(r->metrics, row);
            int li = tc->log_interval > 0 ? tc->log_interval : 1;
            if (r->step % li == 0 || r->step == 1 || r->step == tc->max_steps) {
                char mfus[32];
                if (isnan(mfu)) snprintf(mfus, sizeof mfus, "n/a"); else snprintf(mfus, sizeof mfus, "%.1f%%", 100.0 * mfu);
                printf("step %ld/%ld: loss %.4f, lr %.2e, norm %.4f%s, dt %.1fms, tok/s %.0f, mfu %s\n", r->step,
                       tc->max_steps, loss, st.lr, st.grad_norm, st.clipped ? " (clipped)" : "", 1000.0 * dt, tps, mfus);
                fflush(stdout);
                t6_metrics_flush(r->metrics);
                status_set("running", r->step, 0);   /* at log cadence: cheap on parallel file systems */
            }
        }
        if (tc->eval_interval > 0 && (r->step % tc->eval_interval == 0 || r->step == tc->max_steps))
            eval_and_record(r);
        test_delay("T6_TEST_STEP_DELAY_MS");
        stopped = t6_dist_any(&r->dist, t6_signals_stop_requested() != 0);
        int ci = deck->output.checkpoint_interval;
        if ((ci > 0 && r->step % ci == 0) || stopped || r->step == tc->max_steps) save_checkpoint(r);
        if (stopped) break;
    }
    if (r->last_ckpt_step != r->step) save_checkpoint(r);   /* e.g. resumed at max_steps */
    if (r->dist.rank == 0) {
        t6_metrics_flush(r->metrics);
        if (stopped && r->step < tc->max_steps) {
            printf("stopped by signal at step %ld (checkpoint written); resume with the same deck\n", r->step);
            status_set("stopped", r->step, 1);
        } else {
            printf("finished at step %ld\n", r->step);
            status_set("finished", r->step, 1);
        }
        fflush(stdout);
    }
    return 0;
}

int t6_job_run(t6_deck *deck)
{
    t6_run r;
    setup(&r, deck);
    int rc = deck->job == T6_JOB_EVAL ? run_eval(&r) : run_train(&r);
    teardown(&r);
    return rc;
}
