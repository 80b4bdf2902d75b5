/* ckpt.c -- HDF5 checkpoints (see ckpt.h and doc/formats/checkpoint.md). */
#include "config.h"

#include "ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "h5io.h"
#include "rundir.h"
#include "signals.h"
#include "util.h"

/* ---- model config as attributes ---------------------------------------------------- */
typedef struct { const char *name; int value; } cfg_int;

static int config_ints(const t6_model_config *c, cfg_int *out)
{
    int n = 0;
#define CI(field) out[n].name = "model." #field; out[n].value = c->field; n++;
    CI(n_layer) CI(n_embd) CI(n_head) CI(head_dim) CI(q_rank) CI(k_rank) CI(v_rank)
    CI(n_kv_head) CI(vocab_size) CI(block_size) CI(mlp_hidden)
#undef CI
    return n;
}

/* MLA's sizes: written for every type, compared only for mla (the others never use
 * them); files that predate them read as the deck defaults */
static const struct { const char *name; int def; } MLA_SIZES[4] = {
    {"model.q_lora_rank", 512}, {"model.kv_lora_rank", 256}, {"model.qk_rope_head_dim", 32}, {"model.v_head_dim", 64}};
static void mla_sizes(const t6_model_config *c, int v[4])
{
    v[0] = c->q_lora_rank; v[1] = c->kv_lora_rank; v[2] = c->qk_rope_head_dim; v[3] = c->v_head_dim;
}
static int mla_size_in_file(hid_t f, int i)
{
    int64_t v;
    return t6_h5_get_i64(f, MLA_SIZES[i].name, &v) == 0 && v > 0 && v <= 1 << 20 ? (int)v : MLA_SIZES[i].def;
}

/* ---- writing ----------------------------------------------------------------------
 * Every failure of a write goes through write_fail: the file and everything open in
 * it are closed, the temporary file is removed, and the message says which file, how
 * much it needed and how much space is left. The previous checkpoints are not touched
 * (retention runs only after a successful write). */
typedef struct {
    const char *dir, *tmp, *final;
    long long need;     /* estimated size of the file */
    hid_t file;
} ckpt_writer;

__attribute__((noreturn)) static void write_fail(ckpt_writer *w, const char *what)
{
    char why[256], nb[32], fb[32];
    int e = errno;
    t6_h5_reason(why, sizeof why);
    t6_h5_close_file_all(w->file);
    w->file = -1;
    unlink(w->tmp);
    t6_signals_set_abort_temp(NULL);
    long long avail = t6_free_bytes(w->dir);
    if (!why[0] && e) snprintf(why, sizeof why, "%s", strerror(e));
    t6_fatal_hint("free space in output.run_dir (or lower output.keep_last); the previous checkpoints are untouched",
                  "checkpoint '%s': %s failed (%s); the file needs about %s, '%s' has %s free; "
                  "the temporary file was removed", w->final, what, why[0] ? why : "HDF5 error",
                  t6_fmt_bytes(nb, sizeof nb, w->need), w->dir, t6_fmt_bytes(fb, sizeof fb, avail));
}

static int write_tensor(hid_t grp, const t6_param_info *pi, const float *data)
{
    hsize_t dims[2] = {(hsize_t)pi->rows, (hsize_t)pi->cols};
    hsize_t rows_per_chunk = (hsize_t)((16u << 20) / (size_t)(pi->cols > 0 ? pi->cols : 1));
    if (rows_per_chunk < 1) rows_per_chunk = 1;
    if (rows_per_chunk > dims[0]) rows_per_chunk = dims[0];
    hsize_t chunk[2] = {rows_per_chunk, dims[1]};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_fletcher32(dcpl);   /* a checksum per chunk: corruption is a read error, not silent */
    hid_t ds = H5Dcreate2(grp, pi->name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = (ds >= 0 && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0) ? 0 : -1;
    if (ds >= 0 && H5Dclose(ds) < 0) rc = -1;
    H5Pclose(dcpl);
    H5Sclose(sp);
    return rc;
}

static void write_group(ckpt_writer *w, const char *gname, const t6_param_layout *pl, const float *base)
{
    char what[300];
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(w->file, gname, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    if (g < 0) {
        snprintf(what, sizeof what, "creating group %s", gname);
        write_fail(w, what);
    }
    for (int i = 0; i < pl->n_tensors; i++)
        if (write_tensor(g, &pl->tensors[i], base + pl->tensors[i].offset) != 0) {
            snprintf(what, sizeof what, "writing tensor %s/%s", gname, pl->tensors[i].name);
            write_fail(w, what);
        }
    if (H5Gclose(g) < 0) {
        snprintf(what, sizeof what, "closing group %s", gname);
        write_fail(w, what);
    }
}

/* Per-dataset overhead of a checkpoint (object header, chunk index, Fletcher-32,
 * link) and the fixed part (superblock, root group, attributes without the deck),
 * measured on HDF5 1.10 with generous margins: the estimate must not be below the
 * real size, or the free-space check would pass a write that then fails. */
#define CKPT_BYTES_PER_TENSOR 8192
#define CKPT_BYTES_FIXED (64 * 1024)

long long t6_ckpt_estimate_bytes(const t6_deck *deck, const t6_param_layout *pl)
{
    long long deck_len = 0;
    char *deck_text = t6_deck_to_string(deck);
    if (deck_text) deck_len = (long long)strlen(deck_text);
    free(deck_text);
    return 3LL * (long long)pl->n_params * (long long)sizeof(float) +
           3LL * pl->n_tensors * CKPT_BYTES_PER_TENSOR + deck_len + CKPT_BYTES_FIXED;
}

void t6_ckpt_write(const char *dir, const t6_deck *deck, const t6_param_layout *pl,
                   const t6_ckpt_tensors *t, const t6_ckpt_state *st, char *path_out, size_t path_len)
{
    char final[4200], tmp[4300], nb[32], fb[32];
    snprintf(final, sizeof final, "%s/ckpt_%08ld.h5", dir, st->step);
    snprintf(tmp, sizeof tmp, "%s/.ckpt_%08ld.h5.tmp.%ld", dir, st->step, (long)getpid());
    ckpt_writer w = {dir, tmp, final, t6_ckpt_estimate_bytes(deck, pl), -1};
    /* refuse before writing anything: a write that fills the disk may also starve
     * the metrics file and the status file of space */
    long long avail = t6_free_bytes(dir);
    /* test only (tests/train/full-disk.sh): skip the check to reach the failure
     * path of a write that runs out of space half-way */
    const char *skip = getenv("T6_TEST_SKIP_SPACE_CHECK");
    if (skip && atoi(skip) > 0) avail = -1;
    if (avail >= 0 && avail < w.need)
        t6_fatal_hint("free space in output.run_dir (or lower output.keep_last); the previous checkpoints are untouched",
                      "not enough free space for checkpoint '%s': it needs about %s, '%s' has %s free",
                      final, t6_fmt_bytes(nb, sizeof nb, w.need), dir, t6_fmt_bytes(fb, sizeof fb, avail));
    t6_h5_quiet();
    t6_signals_set_abort_temp(tmp);   /* a second SIGINT removes it */
    /* HDF5 1.8 file-format objects (superblock 2, object header 2): their metadata,
     * the attributes that hold step, data.next and optim.t included, carry checksums
     * that HDF5 verifies on read, as the Fletcher-32 filter does for the tensors. The
     * 1.6-era default has none: a flipped byte in data.next resumed silently at
     * another place in the data stream. Readable by HDF5 1.8 and later (h5py too). */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
    w.file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (w.file < 0) write_fail(&w, "creating the file");

    hid_t f = w.file;
    int bad = 0;
    bad |= t6_h5_attr_str(f, "format", T6_CKPT_FORMAT);
    bad |= t6_h5_attr_i64(f, "version", T6_CKPT_VERSION);
    bad |= t6_h5_attr_str(f, "t6_version", PACKAGE_VERSION);
    char *deck_text = t6_deck_to_string(deck);
    if (deck_text) {
        bad |= t6_h5_attr_str(f, "deck", deck_text);
        free(deck_text);
    }
    bad |= t6_h5_attr_str(f, "model.attention", t6_attn_name(deck->model.attention));
    cfg_int ci[16];
    int nci = config_ints(&deck->model, ci);
    for (int i = 0; i < nci; i++) bad |= t6_h5_attr_i64(f, ci[i].name, ci[i].value);
    bad |= t6_h5_attr_f64(f, "model.rope_base", deck->model.rope_base);
    /* MLA's sizes, written for every type (readers of older files default them) */
    bad |= t6_h5_attr_i64(f, "model.q_lora_rank", deck->model.q_lora_rank);
    bad |= t6_h5_attr_i64(f, "model.kv_lora_rank", deck->model.kv_lora_rank);
    bad |= t6_h5_attr_i64(f, "model.qk_rope_head_dim", deck->model.qk_rope_head_dim);
    bad |= t6_h5_attr_i64(f, "model.v_head_dim", deck->model.v_head_dim);
    bad |= t6_h5_attr_i64(f, "n_params", (int64_t)pl->n_params);
    bad |= t6_h5_attr_i64(f, "step", st->step);
    bad |= t6_h5_attr_i64(f, "tokens_seen", (int64_t)st->tokens_seen);
    bad |= t6_h5_attr_f64(f, "best_val_loss", st->best_val_loss);
    bad |= t6_h5_attr_i64(f, "world_size", st->world_size);
    bad |= t6_h5_attr_i64(f, "train.batch_sequences", st->batch_sequences);
    bad |= t6_h5_attr_i64(f, "train.grad_accum", st->grad_accum);
    bad |= t6_h5_attr_i64(f, "optim.t", st->adam_t);
    bad |= t6_h5_attr_f64(f, "optim.beta1", deck->optim.beta1);
    bad |= t6_h5_attr_f64(f, "optim.beta2", deck->optim.beta2);
    bad |= t6_h5_attr_f64(f, "optim.eps", deck->optim.eps);
    bad |= t6_h5_attr_f64(f, "optim.weight_decay", deck->optim.weight_decay);
    bad |= t6_h5_attr_i64(f, "data.seed", (int64_t)st->data.seed);
    bad |= t6_h5_attr_i64(f, "data.next", (int64_t)st->data.next);
    bad |= t6_h5_attr_i64(f, "data.n_windows", (int64_t)st->data.n_windows);
    bad |= t6_h5_attr_str(f, "data.sampling", st->data.sampling == T6_SAMPLE_EPOCH ? "epoch" : "random");
    if (st->data.fingerprint) {
        char fp[24];
        snprintf(fp, sizeof fp, "%016llx", (unsigned long long)st->data.fingerprint);
        bad |= t6_h5_attr_str(f, "data.fingerprint", fp);
    }
    bad |= t6_h5_attr_f64(f, "guard.loss_mean", st->guard_loss_mean);
    bad |= t6_h5_attr_i64(f, "guard.skips", st->guard_skips);
    bad |= t6_h5_attr_str(f, "lineage.id", st->lineage);
    bad |= t6_h5_attr_i64(f, "created_unix", (int64_t)time(NULL));
    if (bad) write_fail(&w, "writing the attributes");

    write_group(&w, "/params", pl, t->params);
    const char *delay = getenv("T6_TEST_CKPT_DELAY_MS");
    if (delay && atol(delay) > 0) {
        /* test-only (tests/train/ckpt-kill.sh): hold the half-written file on disk so a
         * test can kill -9 the process in the middle of a checkpoint write */
        H5Fflush(f, H5F_SCOPE_GLOBAL);
        usleep((useconds_t)(atol(delay) * 1000));
    }
    write_group(&w, "/optim/m", pl, t->m);
    write_group(&w, "/optim/v", pl, t->v);
    /* written last: a file without it was never completed */
    if (t6_h5_attr_i64(f, "complete", 1) != 0) write_fail(&w, "writing the 'complete' mark");
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) write_fail(&w, "flushing the file");
    w.file = -1;
    if (H5Fclose(f) < 0) {
        /* after a failed close the id is unusable: only the file is left to remove */
        w.file = -1;
        write_fail(&w, "closing the file");
    }
    char err[9000];
    if (t6_rename_durable(tmp, final, err, sizeof err) != 0) {
        write_fail(&w, err);
    }
    t6_signals_set_abort_temp(NULL);
    if (path_out) snprintf(path_out, path_len, "%s", final);
}

/* ---- reading ---------------------------------------------------------------------- */
static int read_tensor(hid_t grp, const t6_param_info *pi, float *out, const char *path,
                       const char *gname, char *err, size_t err_len)
{
    if (H5Lexists(grp, pi->name, H5P_DEFAULT) <= 0)
        t6_fatal_hint("the checkpoint was written for another model: start a new run_dir or fix the deck",
                      "checkpoint '%s' has no tensor %s/%s that this model needs", path, gname, pi->name);
    hid_t ds = H5Dopen2(grp, pi->name, H5P_DEFAULT);
    if (ds < 0) { snprintf(err, err_len, "cannot open %s/%s", gname, pi->name); return -1; }
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[2] = {0, 0};
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd == 2) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    if (nd != 2 || dims[0] != (hsize_t)pi->rows || dims[1] != (hsize_t)pi->cols) {
        H5Dclose(ds);
        t6_fatal_hint("the checkpoint was written for another model shape: start a new run_dir or fix the deck",
                      "checkpoint '%s': tensor %s/%s has shape (%llu, %llu), this model needs (%d, %d)",
                      path, gname, pi->name, (unsigned long long)dims[0], (unsigned long long)(nd == 2 ? dims[1] : 0),
                      pi->rows, pi->cols);
    }
    int rc = H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0 ? 0 : -1;
    H5Dclose(ds);
    if (rc != 0) snprintf(err, err_len, "reading %s/%s failed (checksum error or truncated file)", gname, pi->name);
    return rc;
}

static int read_group(hid_t f, const char *gname, const t6_param_layout *pl, float *base,
                      const char *path, char *err, size_t err_len)
{
    hid_t g = H5Gopen2(f, gname, H5P_DEFAULT);
    if (g < 0) { snprintf(err, err_len, "group %s missing", gname); return -1; }
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0) { H5Gclose(g); snprintf(err, err_len, "group %s unreadable", gname); return -1; }
    int n = (int)gi.nlinks;
    if (n != pl->n_tensors) {
        H5Gclose(g);
        t6_fatal_hint("the checkpoint was written for another model: start a new run_dir or fix the deck",
                      "checkpoint '%s': %s holds %d tensors, this model has %d", path, gname, n, pl->n_tensors);
    }
    for (int i = 0; i < pl->n_tensors; i++)
        if (read_tensor(g, &pl->tensors[i], base + pl->tensors[i].offset, path, gname, err, err_len) != 0) {
            H5Gclose(g);
            return -1;
        }
    H5Gclose(g);
    return 0;
}

int t6_ckpt_load(const char *path, const t6_deck *deck, const t6_param_layout *pl, int world_size,
                 t6_ckpt_tensors *t, t6_ckpt_state *st, char *err, size_t err_len)
{
    t6_h5_quiet();
    memset(st, 0, sizeof *st);
    if (access(path, R_OK) != 0) { snprintf(err, err_len, "cannot read: %s", strerror(errno)); return -1; }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        /* a run directory or its checkpoints/ given as output.resume */
        snprintf(err, err_len, "is a directory, not a checkpoint file (give a ckpt_<step>.h5 in it, or \"auto\" with "
                 "output.run_dir set to the run)");
        return -1;
    }
    H5Eclear2(H5E_DEFAULT);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        char why[256];
        t6_h5_reason(why, sizeof why);
        snprintf(err, err_len, "not a readable HDF5 file (%s)", why[0] ? why : "truncated or corrupt?");
        return -1;
    }
    int rc = -1;
    char *s = NULL;
    int64_t v64 = 0;
    if (t6_h5_get_str_dup(f, "format", &s) != 0 || strcmp(s, T6_CKPT_FORMAT) != 0) {
        snprintf(err, err_len, "attribute 'format' is not \"%s\"", T6_CKPT_FORMAT);
        goto out;
    }
    if (t6_h5_get_i64(f, "version", &v64) != 0 || v64 != T6_CKPT_VERSION) {
        snprintf(err, err_len, "attribute 'version' is %lld, this t6 reads version %d", (long long)v64, T6_CKPT_VERSION);
        goto out;
    }
    if (t6_h5_get_i64(f, "complete", &v64) != 0 || v64 != 1) {
        snprintf(err, err_len, "incomplete checkpoint (no 'complete' attribute)");
        goto out;
    }
    /* a valid checkpoint: from here on a mismatch with this run is fatal */
    free(s); s = NULL;
    if (t6_h5_get_str_dup(f, "model.attention", &s) != 0) { snprintf(err, err_len, "attribute 'model.attention' missing"); goto out; }
    if (strcmp(s, t6_attn_name(deck->model.attention)) != 0)
        t6_fatal_hint("resume with the deck the run started with, or use a new output.run_dir",
                      "checkpoint '%s' has model.attention = \"%s\", the deck says \"%s\"", path, s,
                      t6_attn_name(deck->model.attention));
    cfg_int ci[16];
    int nci = config_ints(&deck->model, ci);
    for (int i = 0; i < nci; i++) {
        if (t6_h5_get_i64(f, ci[i].name, &v64) != 0) { snprintf(err, err_len, "attribute '%s' missing", ci[i].name); goto out; }
        if (v64 != ci[i].value)
            t6_fatal_hint("resume with the deck the run started with, or use a new output.run_dir",
                          "checkpoint '%s' has %s = %lld, the deck says %d", path, ci[i].name, (long long)v64, ci[i].value);
    }
    if (deck->model.attention == T6_ATTN_MLA) {
        int w[4];
        mla_sizes(&deck->model, w);
        for (int i = 0; i < 4; i++)
            if (mla_size_in_file(f, i) != w[i])
                t6_fatal_hint("resume with the deck the run started with, or use a new output.run_dir",
                              "checkpoint '%s' has %s = %d, the deck says %d", path, MLA_SIZES[i].name,
                              mla_size_in_file(f, i), w[i]);
    }
    double rb = 0;
    if (t6_h5_get_f64(f, "model.rope_base", &rb) == 0 && rb != deck->model.rope_base)
        t6_fatal_hint("resume with the deck the run started with", "checkpoint '%s' has model.rope_base = %g, the deck says %g",
                      path, rb, deck->model.rope_base);
    if (t6_h5_get_i64(f, "world_size", &v64) != 0) { snprintf(err, err_len, "attribute 'world_size' missing"); goto out; }
    if (world_size > 0 && v64 != world_size)
        t6_fatal_hint("resume with as many ranks as the run that wrote it (the data order and batch split depend on it)",
                      "checkpoint '%s' has world_size = %lld, this run has %d ranks", path, (long long)v64, world_size);
    st->world_size = (int)v64;
    /* written since the world size may change on resume; absent in older files (0) */
    st->batch_sequences = t6_h5_get_i64(f, "train.batch_sequences", &v64) == 0 ? (long long)v64 : 0;
    st->grad_accum = t6_h5_get_i64(f, "train.grad_accum", &v64) == 0 ? (int)v64 : 0;
    int64_t step = 0, tok = 0, at = 0, dseed = 0, dnext = 0, dnw = 0;
    if (t6_h5_get_i64(f, "step", &step) || t6_h5_get_i64(f, "tokens_seen", &tok) ||
        t6_h5_get_i64(f, "optim.t", &at) || t6_h5_get_f64(f, "best_val_loss", &st->best_val_loss) ||
        t6_h5_get_i64(f, "data.seed", &dseed) || t6_h5_get_i64(f, "data.next", &dnext) ||
        t6_h5_get_i64(f, "data.n_windows", &dnw)) {
        snprintf(err, err_len, "a state attribute (step, tokens_seen, optim.t, best_val_loss, data.*) is missing");
        goto out;
    }
    free(s); s = NULL;
    if (t6_h5_get_str_dup(f, "data.sampling", &s) != 0) { snprintf(err, err_len, "attribute 'data.sampling' missing"); goto out; }
    st->step = (long)step;
    st->tokens_seen = (uint64_t)tok;
    st->adam_t = (long)at;
    st->data.seed = (uint64_t)dseed;
    st->data.next = (uint64_t)dnext;
    st->data.n_windows = (uint64_t)dnw;
    /* absent in checkpoints of older t6 (0: not compared) */
    char fp[24] = "";
    st->data.fingerprint = t6_h5_get_str(f, "data.fingerprint", fp, sizeof fp) == 0 ? strtoull(fp, NULL, 16) : 0;
    /* guard state: absent in checkpoints of older t6 versions (= no history) */
    int64_t gs = 0;
    if (t6_h5_get_f64(f, "guard.loss_mean", &st->guard_loss_mean) != 0) st->guard_loss_mean = NAN;
    st->guard_skips = t6_h5_get_i64(f, "guard.skips", &gs) == 0 ? (long)gs : 0;
    char *lin = NULL;
    snprintf(st->lineage, sizeof st->lineage, "%s", t6_h5_get_str_dup(f, "lineage.id", &lin) == 0 ? lin : "");
    free(lin);
    st->data.sampling = strcmp(s, "epoch") == 0 ? T6_SAMPLE_EPOCH : T6_SAMPLE_RANDOM;
    if (read_group(f, "/params", pl, t->params, path, err, err_len) != 0) goto out;
    if (read_group(f, "/optim/m", pl, t->m, path, err, err_len) != 0) goto out;
    if (read_group(f, "/optim/v", pl, t->v, path, err, err_len) != 0) goto out;
    rc = 0;
out:
    if (rc != 0) {
        /* HDF5's own reason, when it had one: "incorrect metadata checksum" tells a
         * damaged file from one that was never completed */
        char why[256];
        t6_h5_reason(why, sizeof why);
        size_t l = strlen(err);
        if (why[0] && l + 16 < err_len) snprintf(err + l, err_len - l, " (HDF5: %s)", why);
    }
    free(s);
    H5Fclose(f);
    return rc;
}

/* ---- parameters only (model.init_from, --export-hf) ---------------------------------- */
/* Opens path and checks that it is a complete t6 checkpoint; -1 (file closed) otherwise. */
static hid_t open_complete(const char *path, char *err, size_t err_len)
{
    t6_h5_quiet();
    if (access(path, R_OK) != 0) { t6_seterr(err, err_len, "checkpoint '%s': cannot read: %s", path, strerror(errno)); return -1; }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) { t6_seterr(err, err_len, "checkpoint '%s': not a readable HDF5 file (truncated or corrupt?)", path); return -1; }
    char *s = NULL;
    int64_t v = 0;
    const char *why = NULL;
    if (t6_h5_get_str_dup(f, "format", &s) != 0 || strcmp(s, T6_CKPT_FORMAT) != 0) why = "attribute 'format' is not \"" T6_CKPT_FORMAT "\"";
    else if (t6_h5_get_i64(f, "version", &v) != 0 || v != T6_CKPT_VERSION) why = "attribute 'version' is not one this t6 reads";
    else if (t6_h5_get_i64(f, "complete", &v) != 0 || v != 1) why = "incomplete checkpoint (no 'complete' attribute)";
    free(s);
    if (why) {
        t6_seterr(err, err_len, "checkpoint '%s': %s", path, why);
        H5Fclose(f);
        return -1;
    }
    return f;
}

int t6_ckpt_read_config(const char *path, t6_model_config *cfg, char *err, size_t err_len)
{
    memset(cfg, 0, sizeof *cfg);
    hid_t f = open_complete(path, err, err_len);
    if (f < 0) return -1;
    int rc = -1;
    char *s = NULL;
    if (t6_h5_get_str_dup(f, "model.attention", &s) != 0) {
        t6_seterr(err, err_len, "checkpoint '%s': attribute 'model.attention' missing", path);
        goto out;
    }
    int a;
    for (a = T6_ATTN_TPA; a <= T6_ATTN_MLA; a++)
        if (strcmp(s, t6_attn_name((t6_attn_type)a)) == 0) break;
    if (a > T6_ATTN_MLA) { t6_seterr(err, err_len, "checkpoint '%s': model.attention = \"%s\" is unknown", path, s); goto out; }
    cfg->attention = (t6_attn_type)a;
    int *fields[] = {&cfg->n_layer, &cfg->n_embd, &cfg->n_head, &cfg->head_dim, &cfg->q_rank, &cfg->k_rank,
                     &cfg->v_rank, &cfg->n_kv_head, &cfg->vocab_size, &cfg->block_size, &cfg->mlp_hidden};
    cfg_int ci[16];
    int nci = config_ints(cfg, ci);
    for (int i = 0; i < nci; i++) {
        int64_t v;
        if (t6_h5_get_i64(f, ci[i].name, &v) != 0 || v < 0 || v > 1 << 30) {
            t6_seterr(err, err_len, "checkpoint '%s': attribute '%s' missing or out of range", path, ci[i].name);
            goto out;
        }
        *fields[i] = (int)v;
    }
    cfg->rope_base = 10000.0;
    t6_h5_get_f64(f, "model.rope_base", &cfg->rope_base);
    /* MLA's sizes: the deck defaults where a checkpoint predates them */
    cfg->q_lora_rank = mla_size_in_file(f, 0);
    cfg->kv_lora_rank = mla_size_in_file(f, 1);
    cfg->qk_rope_head_dim = mla_size_in_file(f, 2);
    cfg->v_head_dim = mla_size_in_file(f, 3);
    rc = 0;
out:
    free(s);
    H5Fclose(f);
    return rc;
}

int t6_ckpt_load_params(const char *path, const t6_model_config *cfg, const t6_param_layout *pl, float *params,
                        char *err, size_t err_len)
{
    t6_model_config have;
    if (t6_ckpt_read_config(path, &have, err, err_len) != 0) return -1;
    if (have.attention != cfg->attention) {
        t6_seterr(err, err_len, "checkpoint '%s' has model.attention = \"%s\", the deck says \"%s\"", path,
                  t6_attn_name(have.attention), t6_attn_name(cfg->attention));
        return -1;
    }
    cfg_int want[16], got[16];
    int n = config_ints(cfg, want);
    config_ints(&have, got);
    for (int i = 0; i < n; i++)
        if (want[i].value != got[i].value) {
            t6_seterr(err, err_len, "checkpoint '%s' has %s = %d, the deck says %d", path, want[i].name, got[i].value,
                      want[i].value);
            return -1;
        }
    if (have.rope_base != cfg->rope_base) {
        t6_seterr(err, err_len, "checkpoint '%s' has model.rope_base = %g, the deck says %g", path, have.rope_base,
                  cfg->rope_base);
        return -1;
    }
    if (cfg->attention == T6_ATTN_MLA) {
        int w[4], h[4];
        mla_sizes(cfg, w);
        mla_sizes(&have, h);
        for (int i = 0; i < 4; i++)
            if (w[i] != h[i]) {
                t6_seterr(err, err_len, "checkpoint '%s' has %s = %d, the deck says %d", path, MLA_SIZES[i].name, h[i],
                          w[i]);
                return -1;
            }
    }
    hid_t f = open_complete(path, err, err_len);
    if (f < 0) return -1;
    char e2[1024] = "";
    int rc = read_group(f, "/params", pl, params, path, e2, sizeof e2);
    if (rc != 0) t6_seterr(err, err_len, "checkpoint '%s': %s", path, e2);
    H5Fclose(f);
    return rc;
}

/* ---- the checkpoint directory ----------------------------------------------------- */
static int parse_name(const char *name, long *step)
{
    int len = 0;
    if (sscanf(name, "ckpt_%ld.h5%n", step, &len) == 1 && name[len] == '\0' && len > 0) return 1;
    return 0;
}

typedef struct { char *path; long step; } entry;
static int by_step_desc(const void *a, const void *b)
{
    long x = ((const entry *)a)->step, y = ((const entry *)b)->step;
    return x < y ? 1 : x > y ? -1 : 0;
}

int t6_ckpt_list(const char *dir, char ***paths, long **steps)
{
    DIR *dp = opendir(dir);
    if (paths) *paths = NULL;
    if (steps) *steps = NULL;
    if (!dp) return 0;
    entry *e = NULL;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        long s;
        if (!parse_name(de->d_name, &s)) continue;
        e = t6_realloc(e, (size_t)(n + 1) * sizeof *e);
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        e[n].path = t6_malloc(len);
        snprintf(e[n].path, len, "%s/%s", dir, de->d_name);
        e[n].step = s;
        n++;
    }
    closedir(dp);
    if (n > 1) qsort(e, (size_t)n, sizeof *e, by_step_desc);
    if (paths) *paths = t6_calloc((size_t)(n ? n : 1), sizeof(char *));
    if (steps) *steps = t6_calloc((size_t)(n ? n : 1), sizeof(long));
    for (int i = 0; i < n; i++) {
        if (paths) (*paths)[i] = e[i].path; else free(e[i].path);
        if (steps) (*steps)[i] = e[i].step;
    }
    free(e);
    return n;
}

void t6_ckpt_list_free(char **paths, long *steps, int n)
{
    if (paths) for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
    free(steps);
}

void t6_ckpt_clean_temp(const char *dir)
{
    t6_clean_temp_files(dir, ".ckpt_", "a checkpoint");
}
