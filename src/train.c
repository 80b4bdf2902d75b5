/* train.c -- the jobs of `t6 DECK`: training (data-parallel over MPI ranks, with
 * periodic evaluation, HDF5 metrics and checkpoints, exact resume and clean stops on
 * SIGUSR1/SIGTERM) and stand-alone evaluation of a checkpoint. doc/training.md
 * describes the loop; the step order below is what makes resume bitwise exact:
 * everything a step depends on (parameters, AdamW moments and counter, the data
 * stream position, the step number that drives the schedule) is in the checkpoint. */
#include "config.h"

#include "train.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "ckpt.h"
#include "data.h"
#include "deckdiff.h"
#include "dist.h"
#include "gradsync.h"
#include "h5io.h"
#include "lineage.h"
#include "hf.h"
#include "eval/evrun.h"
#include "metrics.h"
#include "model.h"
#include "optim.h"
#include "params.h"
#include "rundir.h"
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
    t6_gradsync *gs;        /* gradient reduction in buckets; ZeRO-1 shards (gradsync.h) */
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
    t6_rundir rundir;       /* rank 0 of a training job: lock and status file */
    int metrics_hook;       /* t6_fatal hook that closes the metrics file */
    /* divergence guard (doc/training.md): running mean of accepted losses, skips in a
     * row, whether an event happened since the last checkpoint, and that checkpoint,
     * which becomes "last good" once the run has gone a whole interval past it cleanly */
    int guard_on;
    double loss_mean;
    long skips;
    int event_since_ckpt;
    char prev_ckpt[8400];
    char lineage[96];       /* lineage id: drawn at a fresh start, inherited on resume */
    int lineage_inherited;  /* 1 when it came from the resumed checkpoint */
} t6_run;

/* ---- status file (interfaces: <run_dir>/t6.status; rundir.h) ------------------- */
static void status_set(t6_run *r, const char *state, long step, int final)
{
    t6_rundir_status(&r->rundir, state, step, final);
}

/* t6_fatal hook: whatever failed, the metrics rows appended so far reach the file
 * and HDF5 holds no writable handle when the process exits. */
static void close_metrics_on_fatal(const char *msg, void *arg)
{
    (void)msg;
    t6_run *r = arg;
    t6_metrics *m = r->metrics;
    r->metrics = NULL;
    t6_metrics_close(m);
}

/* "failed <step>: <reason>": a failure the job scripts must not requeue. */
static void status_fail(t6_run *r, long step, const char *reason)
{
    t6_rundir_note_step(&r->rundir, step);
    t6_rundir_fail(&r->rundir, reason);
}

/* ---- pieces of the loop ------------------------------------------------------------ */
static void save_checkpoint(t6_run *r)
{
    const size_t n = r->pl->n_params;
    t6_ckpt_tensors t = {NULL, NULL, NULL};
    long adam_t = r->opt.t;
    if (r->dist.rank == 0) {
        t.m = t6_malloc(n * sizeof(float));
        t.v = t6_malloc(n * sizeof(float));
        t6_optim_get_moments(&r->opt, t.m, t.v, &adam_t);
    }
    if (r->deck->train.zero && r->dist.world > 1) {
        /* ZeRO-1: the moments' shards meet on rank 0, which writes the same file as an
         * unsharded run (every other rank sends only its own range) */
        float *mm = t.m, *vv = t.v;
        if (r->dist.rank != 0) {
            mm = t6_malloc((r->opt.cnt ? r->opt.cnt : 1) * sizeof(float));
            vv = t6_malloc((r->opt.cnt ? r->opt.cnt : 1) * sizeof(float));
            t6_optim_get_moments_shard(&r->opt, mm, vv);
        }
        t6_gradsync_gather_host(r->gs, mm, r->opt.off);
        t6_gradsync_gather_host(r->gs, vv, r->opt.off);
        if (r->dist.rank != 0) {
            free(mm);
            free(vv);
        }
    }
    if (r->dist.rank == 0) {
        status_set(r, "running", r->step, 0);
        /* the rows up to this step reach the disk before the checkpoint does: a crash
         * after it must not leave steps the resumed run will not redo without a row */
        t6_metrics_sync(r->metrics);
        t.params = t6_malloc(n * sizeof(float));
        t6_model_get_params(r->model, t.params);
        t6_ckpt_state st;
        memset(&st, 0, sizeof st);
        st.adam_t = adam_t;
        st.batch_sequences = (long long)r->B * r->accum * r->dist.world;
        st.grad_accum = r->accum;
        st.step = r->step;
        st.tokens_seen = r->tokens_seen;
        st.best_val_loss = r->best_val;
        st.world_size = r->dist.world;
        st.guard_loss_mean = r->loss_mean;
        st.guard_skips = r->skips;
        snprintf(st.lineage, sizeof st.lineage, "%s", r->lineage);
        t6_data_get_state(r->data, &st.data);
        char path[4300];
        double t0 = t6_now();
        t6_ckpt_write(r->ckpt_dir, r->deck, r->pl, &t, &st, path, sizeof path);
        /* the previous checkpoint is vouched for once the run went on from it to this
         * one without a divergence event; promoted before pruning, which spares it */
        if (r->guard_on && !r->event_since_ckpt && r->prev_ckpt[0] && access(r->prev_ckpt, F_OK) == 0)
            t6_lineage_set_last_good(r->ckpt_dir, r->prev_ckpt);
        snprintf(r->prev_ckpt, sizeof r->prev_ckpt, "%s", path);
        r->event_since_ckpt = 0;
        t6_lineage_prune(r->ckpt_dir, r->deck->output.keep_last, r->deck->output.milestone_interval, r->lineage);
        printf("step %ld: checkpoint %s (%.2fs)\n", r->step, path, t6_now() - t0);
        fflush(stdout);
        free(t.params);
        free(t.m);
        free(t.v);
    }
    t6_dist_barrier(&r->dist);
    r->last_ckpt_step = r->step;
}

/* Resume on another number of ranks (rank 0, after the load): what moves and what
 * cannot. The data stream is a global counter and the moments are re-sharded, so only
 * the global batch matters: the same sequences per step continue the run exactly (up
 * to the float order of the gradient sum); another global batch changes the stream's
 * stride, tokens per step and the gradient's noise, so it needs output.resume_force.
 * Fatal (naming both) when the batch changed without output.resume_force. */
static void check_resume_batch(const t6_run *r, const char *from, const t6_ckpt_state *st)
{
    const t6_train_config *tc = &r->deck->train;
    const int W = r->dist.world;
    const long long now = (long long)r->B * r->accum * W;
    const int force = r->deck->output.resume_force;
    if (st->batch_sequences <= 0) {
        /* a checkpoint of an older t6 does not record its global batch: only its own
         * world size is known to continue it (the deck comparison covers the rest) */
        if (st->world_size != W && !force)
            t6_fatal_hint("resume with as many ranks as the run that wrote it, or add --set output.resume_force=true",
                          "checkpoint '%s' has world_size = %d, this run has %d ranks, and it predates the "
                          "train.batch_sequences attribute that lets a run move to another number of ranks",
                          from, st->world_size, W);
        return;
    }
    if (st->batch_sequences != now) {
        /* a hint the user can paste: a deck that gives grad_accum cannot also take
         * --set train.global_batch (deck.c refuses both), so name the grad_accum that keeps
         * the batch on these ranks when there is one */
        char hint[320];
        const long long per = (long long)r->B * W;
        if (tc->global_batch > 0 || st->batch_sequences % per != 0)
            snprintf(hint, sizeof hint, "keep the global batch (%s--set train.global_batch=%lld, on a number of ranks that "
                     "divides it), or add --set output.resume_force=true to continue with the new one",
                     tc->global_batch > 0 ? "" : "a deck without train.grad_accum and ", st->batch_sequences);
        else
            snprintf(hint, sizeof hint, "keep the global batch (--set train.grad_accum=%lld on %d rank(s)), or add "
                     "--set output.resume_force=true to continue with the new one", st->batch_sequences / per, W);
        if (!force)
            t6_fatal_hint(hint,
                          "checkpoint '%s' was written with %lld sequences per optimizer step (%d rank(s)), this run has "
                          "%lld (micro_batch %d x grad_accum %d x %d rank(s)): tokens per step, the gradient noise and "
                          "the data stream's stride would change",
                          from, st->batch_sequences, st->world_size, now, r->B, r->accum, W);
        fprintf(stderr, "%s: warning: output.resume_force = true: the global batch changes from %lld to %lld sequences "
                        "per step; the data stream continues at sequence %llu without repeating or skipping any\n",
                t6_progname(), st->batch_sequences, now, (unsigned long long)st->data.next);
        return;
    }
    if (tc->accum_mode == T6_ACCUM_SUM_REFERENCE && st->grad_accum > 0 && st->grad_accum != r->accum && !force)
        t6_fatal_hint("resume with the checkpoint's grad_accum (ranks x micro_batch to match), use "
                      "train.accum_mode = \"mean\", or add --set output.resume_force=true",
                      "checkpoint '%s' was written with grad_accum = %d, this run has %d: with train.accum_mode = \"sum\" "
                      "the gradient is grad_accum times the batch mean, so its scale would change",
                      from, st->grad_accum, r->accum);
    if (st->world_size != W)
        printf("resuming a %d-rank checkpoint on %d rank(s): the same %lld sequences per step (micro_batch %d x "
               "grad_accum %d x %d)%s\n", st->world_size, W, now, r->B, r->accum, W,
               tc->zero ? ", AdamW moments re-sharded" : "");
}

/* The training corpus must be the one the checkpoint was trained on: data.* keys are
 * compared with the deck, but a shard replaced under the same name (re-prepared, or
 * another corpus copied over it, even of the same length) changes only the content.
 * Rank 0, after the load; fatal unless output.resume_force. */
static void check_resume_corpus(const t6_run *r, const char *from, const t6_ckpt_state *st)
{
    const uint64_t now = r->data ? t6_data_fingerprint(r->data) : 0;
    if (!st->data.fingerprint || !now || st->data.fingerprint == now) return;
    if (!r->deck->output.resume_force)
        t6_fatal_hint("resume with the shards the run was trained on, or add --set output.resume_force=true to go on "
                      "with these",
                      "checkpoint '%s' was trained on other training data: its data.fingerprint is %016llx, the shards "
                      "of data.train (%llu tokens) now give %016llx (a shard replaced or re-prepared, or another order)",
                      from, (unsigned long long)st->data.fingerprint,
                      (unsigned long long)t6_data_train_tokens(r->data), (unsigned long long)now);
    fprintf(stderr, "%s: warning: output.resume_force = true: the training data changed since checkpoint '%s' "
                    "(data.fingerprint %016llx, now %016llx); the stream continues at sequence %llu of the new data\n",
            t6_progname(), from, (unsigned long long)st->data.fingerprint, (unsigned long long)now,
            (unsigned long long)st->data.next);
}

/* 1 when this run has the checkpoint's sequences per step over all ranks (so its
 * split over ranks and micro-steps may differ); 0 for an older file without the
 * figure (the deck comparison then treats every batch key as before). */
static int same_global_batch(const t6_run *r, const t6_ckpt_state *st)
{
    if (st->batch_sequences <= 0) return 0;
    return st->batch_sequences == (long long)r->B * r->accum * r->dist.world;
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
    /* the world size may change between runs (re-sharding below; doc/running.md):
     * what must not change is the global batch, checked after the load */
    const int world_check = 0;
    const int train = r->deck->job == T6_JOB_TRAIN;
    char from[4300] = "";
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
                if (t6_ckpt_load(paths[i], r->deck, r->pl, world_check, &t, &st, err, sizeof err) != 0) {
                    fprintf(stderr, "%s: warning: skipping checkpoint '%s': %s\n", t6_progname(), paths[i], err);
                } else if (st.step != steps[i]) {
                    /* renamed or copied under another step's name: rollback and retention go by
                     * the name, and would take it for another checkpoint than it is */
                    fprintf(stderr, "%s: warning: skipping checkpoint '%s': its name says step %ld but it holds step %ld "
                                    "(renamed?); give it as output.resume to resume from it\n", t6_progname(), paths[i],
                            steps[i], st.step);
                } else {
                    snprintf(from, sizeof from, "%s", paths[i]);
                    found = 1;
                    snprintf(r->ckpt_loaded, sizeof r->ckpt_loaded, "%s", paths[i]);
                    printf("resuming from %s (step %ld)\n", paths[i], st.step);
                }
            }
            if (np > 0 && !found)
                t6_fatal_hint("move the damaged files out of the checkpoint directory to start over",
                              "output.resume = \"auto\": none of the %d checkpoint(s) in '%s' is valid", np, r->ckpt_dir);
        } else {
            snprintf(from, sizeof from, "%s", mode);
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
        if (found && train) {
            /* after the load, whose errors for another model shape are the more
             * precise: the deck comparison (it lists every change and names the keys
             * that would break the run), then what the global batch and the world
             * size imply */
            /* on another number of ranks the global batch is the question (its split,
             * grad_accum or micro_batch, has to change with the ranks): answered
             * first, with the grad_accum that keeps it, before the deck comparison
             * would call the split's change a change of the data stream */
            const int moved = st.world_size != r->dist.world;
            if (moved) check_resume_batch(r, from, &st);
            t6_deck_check_resume(from, r->deck, same_global_batch(r, &st));
            if (!moved) check_resume_batch(r, from, &st);
            check_resume_corpus(r, from, &st);
            /* rolling back: the newer checkpoints form a branch this run abandons; moved
             * aside, they can neither be resumed by the next "auto" nor count for
             * retention (the metrics rows past st.step are cut when the file opens) */
            char mpath[4400], real[PATH_MAX], here[PATH_MAX];
            snprintf(mpath, sizeof mpath, "%s/%s", r->deck->output.run_dir,
                     r->deck->output.metrics ? r->deck->output.metrics : "metrics.h5");
            /* resolved: resuming from last-good.h5 names the file it points at */
            const char *rp = realpath(from, real) ? real : from, *b = strrchr(rp, '/');
            t6_lineage_rollback(r->ckpt_dir, st.step, rp, mpath);
            /* the resumed checkpoint, when it is one of this directory's, is the
             * candidate for last-good */
            snprintf(r->prev_ckpt, sizeof r->prev_ckpt, "%s/%s", r->ckpt_dir, b ? b + 1 : rp);
            if (!realpath(r->prev_ckpt, here) || strcmp(here, rp) != 0) r->prev_ckpt[0] = '\0';
        }
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
    t6_dist_bcast(&r->dist, from, sizeof from, 0);
    t6_dist_bcast(&r->dist, t.params, n * sizeof(float), 0);
    t6_dist_bcast(&r->dist, t.m, n * sizeof(float), 0);
    t6_dist_bcast(&r->dist, t.v, n * sizeof(float), 0);
    t6_model_set_params(r->model, t.params);
    if (r->opt.m) t6_optim_set_moments(&r->opt, t.m, t.v, st.adam_t);
    r->loss_mean = st.guard_loss_mean;
    r->skips = st.guard_skips;
    /* a checkpoint of an older t6 has no lineage: its continuation starts one */
    if (st.lineage[0]) snprintf(r->lineage, sizeof r->lineage, "%s", st.lineage);
    r->lineage_inherited = st.lineage[0] != '\0';
    if (r->data && train && r->deck->output.resume_force) {
        /* forced (t6_deck_check_resume listed the changes): the deck's sampling and seed
         * take over from the checkpoint's position in the stream */
        st.data.seed = r->deck->train.seed;
        st.data.sampling = r->deck->data.sampling;
    }
    if (r->data && train) t6_data_set_state(r->data, &st.data, from);
    r->step = st.step;
    r->tokens_seen = st.tokens_seen;
    r->best_val = st.best_val_loss;
    r->last_ckpt_step = st.step;
    free(t.params); free(t.m); free(t.v);
    return 1;
}

/* model.init_from: rank 0 reads the weights (a Hugging Face export or a checkpoint's
 * parameters), every rank gets them. Returns 1 when the key is set and they were loaded. */
static int load_init_from(t6_run *r)
{
    const char *spec = r->deck->init_from;
    if (!spec || strcmp(spec, "none") == 0) return 0;
    const size_t n = r->pl->n_params;
    float *p = t6_malloc(n * sizeof(float));
    if (r->dist.rank == 0) {
        char err[2048];
        if (t6_init_from(spec, &r->deck->model, r->pl, p, err, sizeof err) < 0)
            t6_fatal_hint("see model.init_from in doc/deck.md and doc/formats/hf-export.md", "model.init_from: %s", err);
        printf("initialized from %s\n", spec);
        fflush(stdout);
    }
    t6_dist_bcast(&r->dist, p, n * sizeof(float), 0);
    t6_model_set_params(r->model, p);
    free(p);
    return 1;
}

/* Mean val loss over eval_iters batches, shared out over the ranks (so the value
 * does not depend on the world size). NaN without a val split, and NaN with
 * *interrupted set when a stop signal arrived during it (checked every batch, so a
 * long evaluation does not outlast the scheduler's grace period). */
static double evaluate(t6_run *r, int *interrupted)
{
    *interrupted = 0;
    if (!t6_data_has_val(r->data) || r->deck->train.eval_iters <= 0) return NAN;
    double acc[3] = {0.0, 0.0, 0.0};   /* loss sum, batches, ranks interrupted */
    for (int it = r->dist.rank; it < r->deck->train.eval_iters; it += r->dist.world) {
        if (t6_stop_requested()) {
            acc[2] = 1.0;
            break;
        }
        t6_data_val_batch(r->data, it, r->tok, r->tgt);
        acc[0] += (double)t6_model_forward(r->model, r->tok, r->tgt, 0, 0.0f);
        acc[1] += 1.0;
        t6_test_delay("T6_TEST_EVAL_DELAY_MS");
    }
    /* one collective whatever happened: a rank that stopped early still joins it */
    t6_dist_sum_doubles(&r->dist, acc, 3);
    if (acc[2] > 0.0) {
        *interrupted = 1;
        if (r->dist.rank == 0) {
            printf("step %ld: evaluation interrupted by signal after %.0f of %d batches (not recorded)\n",
                   r->step, acc[1], r->deck->train.eval_iters);
            fflush(stdout);
        }
        return NAN;
    }
    return acc[0] / acc[1];
}

static void eval_and_record(t6_run *r)
{
    double t0 = t6_now();
    int interrupted;
    double val = evaluate(r, &interrupted);
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

/* The divergence guard's verdict on a step about to be applied: NULL when it looks
 * ordinary, else why not (into why). Loss and norm are global (all-reduced), so every
 * rank reaches the same verdict without communicating. */
static const char *guard_check(const t6_run *r, double loss, double norm, char *why, size_t len)
{
    const t6_train_config *tc = &r->deck->train;
    if (tc->grad_norm_limit > 0 && !(norm <= tc->grad_norm_limit)) {
        snprintf(why, len, "gradient norm %.3e > train.grad_norm_limit = %g", norm, tc->grad_norm_limit);
        return why;
    }
    if (tc->loss_spike_factor > 0 && isfinite(r->loss_mean) && loss > tc->loss_spike_factor * r->loss_mean) {
        snprintf(why, len, "loss %.4g > train.loss_spike_factor = %g x running mean %.4g", loss,
                 tc->loss_spike_factor, r->loss_mean);
        return why;
    }
    return NULL;
}

/* One optimizer step: grad_accum forward/backward micro-steps per rank, gradient
 * sum over ranks, the divergence guard, clipping, AdamW. *loss_out gets the mean
 * loss over the global batch; returns T6_GUARD_OK, or T6_GUARD_SKIPPED /
 * T6_GUARD_STOPPED when the guard withheld the update (why: the reason). */
static int train_step(t6_run *r, t6_optim_stats *st, double *loss_out, char *why, size_t why_len)
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
        /* the last micro-step's backward sends each bucket once it is final */
        if (mu == r->accum - 1) t6_gradsync_arm(r->gs);
        t6_model_backward(r->model);
    }
    t6_gradsync_finish(r->gs);
    t6_dist_sum_doubles(&r->dist, &loss, 1);
    loss /= (double)(r->accum * W);
    *loss_out = loss;
    if (!isfinite(loss))
        t6_fatal_hint("lower optim.lr, raise warmup, or check the data",
                      "the training loss is %f at step %ld", loss, r->step + 1);
    double lr = t6_schedule_lr(&r->deck->optim, r->step);
    double norm = t6_gradsync_grad_norm(r->gs);
    if (guard_check(r, loss, norm, why, why_len)) {
        st->grad_norm = norm;
        st->clipped = 0;
        st->lr = lr;
        r->event_since_ckpt = 1;
        if (r->deck->train.on_divergence == T6_DIVERGE_STOP || r->skips + 1 >= r->deck->train.max_skipped_steps)
            return T6_GUARD_STOPPED;
        /* skipped: no update, but the batch is consumed, so the next step sees new data */
        r->skips++;
        t6_data_advance(r->data);
        return T6_GUARD_SKIPPED;
    }
    r->skips = 0;
    /* the running mean of accepted losses (an EMA over about ten steps) */
    r->loss_mean = isfinite(r->loss_mean) ? 0.9 * r->loss_mean + 0.1 * loss : loss;
    /* adamw refreshes the bf16 compute copy in the same pass over the parameters */
    t6_optim_apply(&r->opt, t6_model_params(r->model), t6_model_compute_weights(r->model),
                   t6_model_grads(r->model), lr, norm, st);
    if (r->deck->train.zero && W > 1) {
        /* ZeRO-1: each rank updated its shard; everyone gets all of them */
        t6_gradsync_gather_params(r->gs, t6_model_params(r->model));
        if (!r->be->weights_are_master) t6_model_sync_compute_weights(r->model);
    }
    t6_data_advance(r->data);
    return T6_GUARD_OK;
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
    r->loss_mean = NAN;
    r->guard_on = deck->train.loss_spike_factor > 0 || deck->train.grad_norm_limit > 0;
    t6_lineage_new_id(r->lineage, sizeof r->lineage);
    snprintf(r->ckpt_dir, sizeof r->ckpt_dir, "%s/checkpoints", deck->output.run_dir);
    r->rundir.lock_fd = -1;
    r->rundir.hook = -1;
    r->metrics_hook = -1;
    if (r->dist.rank == 0) {
        t6_mkdir_p(deck->output.run_dir);
        /* a training job owns its run_dir (lock, status file, temp files); an
         * evaluation only reads checkpoints and leaves all three alone */
        if (deck->job == T6_JOB_TRAIN) {
            t6_rundir_lock(&r->rundir, deck->output.run_dir);
            t6_rundir_status_start(&r->rundir);
        }
        t6_mkdir_p(r->ckpt_dir);
        /* the first checkpoint may come hours into the run: a directory it cannot be
         * written into is refused now, not after the work it was to keep */
        if (deck->job == T6_JOB_TRAIN && access(r->ckpt_dir, W_OK | X_OK) != 0)
            t6_fatal_hint("make it writable (or choose another output.run_dir); nothing was written",
                          "checkpoint directory '%s' is not writable: %s", r->ckpt_dir, strerror(errno));
        if (deck->job == T6_JOB_TRAIN) {
            char data_dir[4200];
            snprintf(data_dir, sizeof data_dir, "%s/data", deck->output.run_dir);
            t6_ckpt_clean_temp(r->ckpt_dir);
            t6_clean_temp_files(deck->output.run_dir, "t6.status.tmp.", "a status file");
            t6_clean_temp_files(data_dir, "demo_", "a demo corpus");
        }
    }
    t6_dist_barrier(&r->dist);
    t6_signals_install();
    r->be = t6_backend_create(&deck->backend, r->dist.local_rank);
    t6_dist_setup_backend(&r->dist, r->be);
    /* an evaluation needs no gradients or kept activations: the inference-only model
     * (all logits, the scorers read every position's) */
    t6_model_opts mo = {deck->train.recompute};
    r->model = deck->job == T6_JOB_EVAL ? t6_model_create_inference(&deck->model, r->be, r->B, r->T, 0)
                                        : t6_model_create_opts(&deck->model, r->be, r->B, r->T, &mo);
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
    if (r->metrics_hook >= 0) t6_fatal_hook_pop(r->metrics_hook);
    t6_metrics_close(r->metrics);
    r->metrics = NULL;
    t6_rundir_close(&r->rundir);
    t6_optim_free(&r->opt);
    t6_gradsync_destroy(r->gs);
    t6_data_close(r->data);
    free(r->tok);
    free(r->tgt);
    t6_model_destroy(r->model);
    t6_backend_destroy(r->be);
    t6_dist_finalize(&r->dist);
}

static int run_eval(t6_run *r)
{
    if (!load_init_from(r)) resume(r, 1);   /* model.init_from names the weights to evaluate */
    /* what was evaluated, for the task results (their default path and `checkpoint`):
     * without this they went to a hidden ".eval-0shot.h5" in the working directory */
    else snprintf(r->ckpt_loaded, sizeof r->ckpt_loaded, "%s", r->deck->init_from);
    /* evaluation prints its result and writes no metrics file */
    const int tasks = r->deck->eval.n_tasks > 0;
    if (!(r->data && t6_data_has_val(r->data)) && !tasks) {
        if (r->dist.rank == 0)
            fprintf(stderr, "%s: error: evaluation needs data.val or eval.tasks\n", t6_progname());
        return 1;
    }
    /* the task results' paths are checked before any scoring, the val loss included */
    if (tasks) t6_eval_check_outputs(r->deck, &r->dist, r->ckpt_loaded);
    if (r->data && t6_data_has_val(r->data)) {
        int interrupted;
        double val = evaluate(r, &interrupted);
        if (interrupted) return 1;   /* evaluate said so; no partial result is printed as one */
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

/* The memory line after the first step of a session and at the end: the peak the
 * backend counted (what PyTorch's max_memory_allocated reports), and what the model and
 * the optimizer hold of it. Rank 0's figures (every rank holds the same model). */
static void report_memory(t6_run *r, const char *when)
{
    t6_mem_stats st;
    t6_model_mem mm;
    char b[6][32];
    t6_backend_mem_stats(r->be, &st);
    t6_model_memory(r->model, &mm);
    printf("memory %s: peak %s allocated on rank 0 (now %s; model %s = weights %s + activations %s + backward "
           "scratch %s; train.recompute = \"%s\")\n",
           when, t6_fmt_mem(b[0], sizeof b[0], st.peak), t6_fmt_mem(b[1], sizeof b[1], st.current),
           t6_fmt_mem(b[2], sizeof b[2], mm.total), t6_fmt_mem(b[3], sizeof b[3], mm.weights),
           t6_fmt_mem(b[4], sizeof b[4], mm.activations), t6_fmt_mem(b[5], sizeof b[5], mm.scratch),
           t6_recompute_name(t6_model_recompute(r->model)));
    fflush(stdout);
}

static int run_train(t6_run *r)
{
    t6_deck *deck = r->deck;
    const t6_train_config *tc = &deck->train;
    r->gs = t6_gradsync_create(&r->dist, r->be, t6_model_grads(r->model), r->pl->n_params, tc->bucket_mb, tc->zero);
    t6_model_set_grad_hook(r->model, t6_gradsync_ready, r->gs);
    size_t shard_off, shard_n;
    t6_gradsync_shard(r->gs, &shard_off, &shard_n);
    t6_optim_init_shard(&r->opt, r->be, &deck->optim, r->pl->n_params, shard_off, shard_n);
    int resumed = resume(r, 0);
    /* a failure from here on is reported at the resumed step, not at 0 */
    if (r->dist.rank == 0) t6_rundir_note_step(&r->rundir, r->step);
    if (!resumed && !load_init_from(r)) {
        t6_model_init_params(r->model, tc->seed);
        t6_model_sync_compute_weights(r->model);
    }
    const uint64_t tokens_per_step = (uint64_t)r->B * (uint64_t)r->T * (uint64_t)r->accum * (uint64_t)r->dist.world;
    if (r->dist.rank == 0) {
        char path[4400], nb[32];
        snprintf(path, sizeof path, "%s/%s", deck->output.run_dir, deck->output.metrics ? deck->output.metrics : "metrics.h5");
        r->metrics = t6_metrics_open(path, resumed ? r->step : -1, r->lineage, r->lineage_inherited);
        r->metrics_hook = t6_fatal_hook_push(close_metrics_on_fatal, r);
        t6_metrics_attr_i64(r->metrics, "n_params", (int64_t)r->pl->n_params);
        t6_metrics_attr_i64(r->metrics, "world_size", r->dist.world);
        t6_metrics_attr_i64(r->metrics, "tokens_per_step", (int64_t)tokens_per_step);
        t6_metrics_attr_f64(r->metrics, "flops_per_token", r->flops_per_token);
        t6_metrics_attr_f64(r->metrics, "peak_flops_per_rank", r->peak_flops > 0 ? r->peak_flops : NAN);
        /* what t6-plot puts in legends and summaries */
        t6_metrics_attr_str(r->metrics, "attention", t6_attn_name(r->deck->model.attention));
        t6_metrics_attr_i64(r->metrics, "n_layer", r->deck->model.n_layer);
        t6_metrics_attr_i64(r->metrics, "n_embd", r->deck->model.n_embd);
        t6_metrics_attr_i64(r->metrics, "n_head", r->deck->model.n_head);
        t6_metrics_attr_str(r->metrics, "recompute", t6_recompute_name(deck->train.recompute));
        printf("t6: %s model, %s parameters, %d rank(s) x %d micro-steps x %d x %d = %llu tokens/step, "
               "%ld steps, accumulation %s\n",
               t6_attn_name(deck->model.attention), t6_fmt_count(nb, sizeof nb, (long long)r->pl->n_params),
               r->dist.world, r->accum, r->B, r->T, (unsigned long long)tokens_per_step, tc->max_steps,
               tc->accum_mode == T6_ACCUM_SUM_REFERENCE ? "sum_reference" : "mean");
        if (r->dist.world > 1) {
            char how[64] = "one pass after the backward";
            if (tc->bucket_mb > 0) snprintf(how, sizeof how, "buckets of %g MB during the backward", tc->bucket_mb);
            printf("t6: gradient reduction in %s%s\n", how,
                   tc->zero ? "; ZeRO-1: AdamW moments sharded over the ranks" : "");
        }
        fflush(stdout);
    }
    status_set(r, "running", r->step, 0);
    if (resumed && r->step > tc->max_steps && r->dist.rank == 0)
        /* a run cannot go back: said, not taken for "finished at max_steps" */
        fprintf(stderr, "%s: warning: the checkpoint resumed is at step %ld, past train.max_steps = %ld: nothing to "
                        "train\n  hint: to end a run earlier, resume from an older checkpoint (output.resume = "
                        "\"%s/ckpt_<step>.h5\")\n", t6_progname(), r->step, tc->max_steps, r->ckpt_dir);

    if (!resumed && tc->eval_interval > 0) eval_and_record(r);   /* the reference evaluates at 0 */
    /* a signal during start-up or the first evaluation stops before any step */
    int stopped = t6_dist_any(&r->dist, t6_stop_requested() != 0), diverged = 0;
    const double run_t0 = t6_now();      /* elapsed and ETA of the log lines */
    const long first_step = r->step;
    while (!stopped && r->step < tc->max_steps) {
        r->be->ops->sync(r->be);
        double t0 = t6_now();
        t6_optim_stats st;
        double loss;
        char why[256];
        int guard = train_step(r, &st, &loss, why, sizeof why);
        double pnorm = t6_optim_norm(r->be, t6_model_params(r->model), r->pl->n_params);
        r->be->ops->sync(r->be);
        double dt = t6_now() - t0;
        if (guard == T6_GUARD_STOPPED) {
            /* not a completed step: the row is recorded under the step it would have
             * been (a later resume cuts it with everything past its checkpoint) */
            diverged = 1;
            if (r->dist.rank == 0) {
                t6_mem_stats mem;
                t6_backend_mem_stats(r->be, &mem);
                double row[T6_M_NTRAIN] = {(double)(r->step + 1), loss, st.lr, st.grad_norm, pnorm, 0.0,
                                           (double)r->tokens_seen, dt, 0.0, NAN, (double)T6_GUARD_STOPPED,
                                           (double)mem.peak};
                t6_metrics_train_row(r->metrics, row);
                t6_metrics_flush(r->metrics);
                fprintf(stderr, "%s: error: step %ld: divergence: %s%s; stopping without an update "
                                "(train.on_divergence = \"%s\")\n", t6_progname(), r->step + 1, why,
                        r->skips > 0 ? " after skipped steps" : "",
                        tc->on_divergence == T6_DIVERGE_SKIP ? "skip" : "stop");
            }
            break;
        }
        r->step++;
        r->tokens_seen += tokens_per_step;
        t6_rundir_note_step(&r->rundir, r->step);
        double tps = dt > 0 ? (double)tokens_per_step / dt : 0.0;
        t6_mem_stats mem;
        t6_backend_mem_stats(r->be, &mem);
        double mfu = r->peak_flops > 0 ? r->flops_per_token * tps / (r->peak_flops * r->dist.world) : NAN;
        if (r->dist.rank == 0) {
            double row[T6_M_NTRAIN] = {(double)r->step, loss, st.lr, st.grad_norm, pnorm, (double)st.clipped,
                                       (double)r->tokens_seen, dt, tps, mfu, (double)guard, (double)mem.peak};
            t6_metrics_train_row(r->metrics, row);
            if (guard == T6_GUARD_SKIPPED) {
                printf("step %ld/%ld: divergence guard: %s; step skipped, no update (%ld in a row, at most %d)\n",
                       r->step, tc->max_steps, why, r->skips, tc->max_skipped_steps);
                fflush(stdout);
            }
            int li = tc->log_interval > 0 ? tc->log_interval : 1;
            if (r->step % li == 0 || r->step == 1 || r->step == tc->max_steps) {
                /* ETA from the mean step time of this session, evaluations and
                 * checkpoints included; mfu only where the peak is known (GPUs) */
                char mfus[32] = "", ls[32], ns[32], el[32], eta[32];
                if (!isnan(mfu)) snprintf(mfus, sizeof mfus, ", mfu %.1f%%", 100.0 * mfu);
                double elapsed = t6_now() - run_t0;
                double left = elapsed / (double)(r->step - first_step) * (double)(tc->max_steps - r->step);
                printf("step %ld/%ld: loss %s, lr %.2e, norm %s%s, dt %.1fms, tok/s %.0f%s, elapsed %s, ETA %s\n", r->step,
                       tc->max_steps, t6_fmt_value(ls, sizeof ls, loss), st.lr, t6_fmt_value(ns, sizeof ns, st.grad_norm),
                       st.clipped ? " (clipped)" : "", 1000.0 * dt, tps, mfus, t6_fmt_duration(el, sizeof el, elapsed),
                       t6_fmt_duration(eta, sizeof eta, left));
                fflush(stdout);
                t6_metrics_flush(r->metrics);
                status_set(r, "running", r->step, 0);   /* at log cadence: cheap on parallel file systems */
            }
            if (r->step == first_step + 1) report_memory(r, "after the first step");
        }
        if (tc->eval_interval > 0 && (r->step % tc->eval_interval == 0 || r->step == tc->max_steps))
            eval_and_record(r);
        t6_test_delay("T6_TEST_STEP_DELAY_MS");
        stopped = t6_dist_any(&r->dist, t6_stop_requested() != 0);
        int ci = deck->output.checkpoint_interval;
        if ((ci > 0 && r->step % ci == 0) || stopped || r->step == tc->max_steps) save_checkpoint(r);
        if (stopped) break;
    }
    if (diverged) {
        /* no checkpoint of a state that just diverged: the last good one is the way back */
        if (r->dist.rank == 0) {
            char lg[4400], target[4400];
            snprintf(lg, sizeof lg, "%s/%s", r->ckpt_dir, T6_LAST_GOOD);
            ssize_t n = readlink(lg, target, sizeof target - 1);
            target[n > 0 ? n : 0] = '\0';
            if (n > 0)
                fprintf(stderr, "  hint: resume from the last good checkpoint: --set output.resume=%s/%s "
                                "(with a lower optim.lr or a longer warmup)\n", r->ckpt_dir, target);
            else
                fprintf(stderr, "  hint: no checkpoint is marked good yet (%s); lower optim.lr or raise warmup_steps\n", lg);
            status_fail(r, r->step, "divergence");
        }
        return 1;
    }
    if (r->last_ckpt_step != r->step) save_checkpoint(r);   /* e.g. resumed at max_steps */
    if (r->dist.rank == 0) {
        t6_metrics_flush(r->metrics);
        report_memory(r, "at the end");
        if (stopped && r->step < tc->max_steps) {
            printf("stopped by signal at step %ld (checkpoint written); resume with the same deck\n", r->step);
            status_set(r, "stopped", r->step, 1);
        } else {
            printf("finished at step %ld\n", r->step);
            status_set(r, "finished", r->step, 1);
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
