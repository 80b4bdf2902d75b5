/* hf.c -- the Hugging Face export and import of hf.h. config.json carries two sets of
 * keys: the GPTConfig fields of the reference model file for the attention type (what
 * GPT.from_pretrained reads) and t6_* / k_rank / v_rank / n_kv_head / mlp_hidden /
 * rope_base, which the reference ignores (PretrainedConfig keeps unknown keys as
 * attributes) and which let t6 rebuild exactly the model it wrote. */
#include "config.h"

#include "hf.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "safetensors.h"
#include "util.h"

#define LM_HEAD "lm_head.weight"

/* The reference model file per attention type, and its GPTConfig class defaults (used
 * for keys a config.json leaves out, as from_pretrained would). */
typedef struct {
    const char *file;
    int n_layer, n_head, head_dim, n_embd, rank, q_rank, block_size, vocab_size, group_size;
} ref_model;

static const ref_model REF[] = {
    [T6_ATTN_TPA] = {"model/T6.py", 12, 22, 64, 768, 2, 6, 1024, 50304, 0},
    [T6_ATTN_TPA_KVONLY] = {"model/T6_kvonly.py", 12, 22, 64, 768, 2, 12, 1024, 50304, 0},
    [T6_ATTN_MHA] = {"model/llama-mha.py", 12, 6, 128, 768, 1, 1, 1024, 50304, 0},
    [T6_ATTN_MQA] = {"model/llama-gqa.py", 12, 24, 64, 768, 1, 1, 1024, 50304, 4},
    [T6_ATTN_GQA] = {"model/llama-gqa.py", 12, 24, 64, 768, 1, 1, 1024, 50304, 4},
    [T6_ATTN_MLA] = {"model/llama-mla.py", 12, 13, 64, 768, 1, 1, 1024, 50304, 0},
};

static void path_join(char *out, size_t len, const char *dir, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* ---- export ----------------------------------------------------------------------- */
/* mkdir -p that reports instead of exiting (t6_mkdir_p's hint is about output.run_dir). */
static int make_dir(const char *dir, char *err, size_t len)
{
    char *p = t6_strdup(dir);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            t6_seterr(err, len, "cannot create directory '%s': %s", p, strerror(errno));
            rc = -1;
            break;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    struct stat st;
    if (rc == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        t6_seterr(err, len, "'%s' exists and is not a directory (the export writes a directory)", dir);
        rc = -1;
    }
    return rc;
}

static int copy_file(const char *from, const char *to, char *err, size_t len)
{
    FILE *in = fopen(from, "rb");
    if (!in) {
        t6_seterr(err, len, "tokenizer file '%s': %s (give a vocab folder holding encoder.json and vocab.bpe, e.g. "
                  "from tools/fetch-gpt2-vocab.sh, or --vocab none)", from, strerror(errno));
        return -1;
    }
    FILE *out = fopen(to, "wb");
    if (!out) {
        t6_seterr(err, len, "cannot create '%s': %s", to, strerror(errno));
        fclose(in);
        return -1;
    }
    char buf[65536];
    size_t n;
    int bad = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) { bad = 1; break; }
    if (ferror(in)) bad = 1;
    fclose(in);
    if (fclose(out) != 0) bad = 1;
    if (bad) t6_seterr(err, len, "copying '%s' to '%s' failed: %s", from, to, strerror(errno));
    return bad ? -1 : 0;
}

static json_t *config_json(const t6_model_config *c, const t6_hf_export_opts *o)
{
    json_t *j = json_object();
    json_t *arch = json_array();
    json_array_append_new(arch, json_string("GPT"));
    json_object_set_new(j, "architectures", arch);
    json_object_set_new(j, "model_type", json_string("gpt2"));   /* the reference GPTConfig's */
    /* the reference GPTConfig fields */
    json_object_set_new(j, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(j, "n_layer", json_integer(c->n_layer));
    json_object_set_new(j, "n_head", json_integer(c->n_head));
    json_object_set_new(j, "head_dim", json_integer(c->head_dim));
    json_object_set_new(j, "n_embd", json_integer(c->n_embd));
    int tpa = c->attention == T6_ATTN_TPA || c->attention == T6_ATTN_TPA_KVONLY;
    json_object_set_new(j, "rank", json_integer(tpa ? c->k_rank : 1));
    json_object_set_new(j, "q_rank", json_integer(c->attention == T6_ATTN_TPA ? c->q_rank : REF[c->attention].q_rank));
    if (c->attention == T6_ATTN_MQA || c->attention == T6_ATTN_GQA)
        json_object_set_new(j, "group_size", json_integer(c->n_head / c->n_kv_head));
    if (c->attention == T6_ATTN_MLA) {   /* llama-mla.py's GPTConfig */
        json_object_set_new(j, "q_lora_rank", json_integer(c->q_lora_rank));
        json_object_set_new(j, "kv_lora_rank", json_integer(c->kv_lora_rank));
        json_object_set_new(j, "qk_rope_head_dim", json_integer(c->qk_rope_head_dim));
        json_object_set_new(j, "v_head_dim", json_integer(c->v_head_dim));
    }
    json_object_set_new(j, "block_size", json_integer(c->block_size));
    json_object_set_new(j, "bias", json_false());
    json_object_set_new(j, "dropout", json_real(0.0));
    json_object_set_new(j, "scale_attn_by_inverse_layer_idx", json_false());
    json_object_set_new(j, "using_groupnorm", json_false());
    json_object_set_new(j, "tie_word_embeddings", json_true());
    json_object_set_new(j, "torch_dtype", json_string(o->dtype == T6_HF_BF16 ? "bfloat16" : "float32"));
    /* T6-C's own: what the reference fields cannot say */
    json_object_set_new(j, "t6_attention", json_string(t6_attn_name(c->attention)));
    json_object_set_new(j, "k_rank", json_integer(c->k_rank));
    json_object_set_new(j, "v_rank", json_integer(c->v_rank));
    json_object_set_new(j, "n_kv_head", json_integer(c->n_kv_head));
    json_object_set_new(j, "mlp_hidden", json_integer(c->mlp_hidden));
    json_object_set_new(j, "rope_base", json_real(c->rope_base));
    json_object_set_new(j, "t6_reference_model", json_string(REF[c->attention].file));
    json_object_set_new(j, "t6_export_version", json_integer(T6_HF_EXPORT_VERSION));
    json_object_set_new(j, "t6_version", json_string(PACKAGE_VERSION));
    if (o->source) json_object_set_new(j, "t6_source", json_string(o->source));
    return j;
}

/* What the reference model file cannot load as written: warn, the directory still
 * round-trips through t6. */
static void warn_reference(const t6_model_config *c, const char *dir)
{
    const char *p = t6_progname();
    if ((c->attention == T6_ATTN_TPA || c->attention == T6_ATTN_TPA_KVONLY) && c->k_rank != c->v_rank)
        fprintf(stderr, "%s: warning: '%s': k_rank %d != v_rank %d; %s has one 'rank' for K and V and cannot load it\n",
                p, dir, c->k_rank, c->v_rank, REF[c->attention].file);
    if (c->mlp_hidden != (int)floor(8.0 / 3.0 * c->n_embd))
        fprintf(stderr, "%s: warning: '%s': mlp_hidden %d is not floor(8/3 * n_embd); %s cannot load it\n", p, dir,
                c->mlp_hidden, REF[c->attention].file);
    if (c->rope_base != 10000.0)
        fprintf(stderr, "%s: warning: '%s': rope_base %g; %s hard-codes 10000\n", p, dir, c->rope_base,
                REF[c->attention].file);
}

/* An export's files are first written under these names in DIR (a rerun overwrites
 * what a killed export left), and renamed into place together once all are complete:
 * an export that fails or is stopped midway leaves a previous export in DIR whole. */
#define PARTIAL ".t6-export-partial."
static const char *const EXPORT_FILES[] = {"vocab.json", "merges.txt", "model.safetensors", "config.json"};
enum { N_EXPORT_FILES = 4 };

static void partial_path(char *out, size_t len, const char *dir, const char *name)
{
    snprintf(out, len, "%s/" PARTIAL "%s", dir, name);
}

/* Removes every staged file in DIR: this export's after a failure, and at the start
 * what an export killed by a signal or kill -9 left (also model.safetensors' own
 * .tmp.PID of t6_st_write). */
static void remove_partials(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4352];
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, PARTIAL, strlen(PARTIAL)) == 0) {
            path_join(p, sizeof p, dir, e->d_name);
            unlink(p);
        }
    closedir(d);
}

/* Renames the staged files (first = 0 with tokenizer files, 2 without) into place with
 * the stop signals blocked, so that Ctrl-C or SIGTERM cannot land between two renames:
 * DIR then holds either the previous export or the new one. */
static int commit_partials(const char *dir, int first, char *err, size_t len)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGQUIT);
    sigprocmask(SIG_BLOCK, &block, &old);
    int rc = 0;
    char from[4352], to[4352];
    for (int i = first; i < N_EXPORT_FILES && rc == 0; i++) {
        partial_path(from, sizeof from, dir, EXPORT_FILES[i]);
        path_join(to, sizeof to, dir, EXPORT_FILES[i]);
        if (rename(from, to) != 0) {
            t6_seterr(err, len, "renaming '%s' to '%s' failed: %s", from, to, strerror(errno));
            rc = -1;
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int t6_hf_export(const char *dir, const t6_model_config *cfg, const t6_param_layout *pl, const float *params,
                 const t6_hf_export_opts *o, char *err, size_t len)
{
    char path[4352];
    if (make_dir(dir, err, len)) return -1;
    remove_partials(dir);
    warn_reference(cfg, dir);

    /* tokenizer first: a missing vocab folder fails before gigabytes are written */
    if (o->vocab_dir) {
        char from[4352];
        path_join(from, sizeof from, o->vocab_dir, "encoder.json");
        partial_path(path, sizeof path, dir, "vocab.json");
        if (copy_file(from, path, err, len)) { remove_partials(dir); return -1; }
        path_join(from, sizeof from, o->vocab_dir, "vocab.bpe");
        partial_path(path, sizeof path, dir, "merges.txt");
        if (copy_file(from, path, err, len)) { remove_partials(dir); return -1; }
    }

    /* every tensor of the layout, then lm_head.weight: the same data as wte (tied) */
    t6_st_src *src = t6_calloc((size_t)pl->n_tensors + 1, sizeof *src);
    for (int i = 0; i < pl->n_tensors; i++) {
        const t6_param_info *t = &pl->tensors[i];
        /* vectors (MLA's norm weights) are 1-D, as in the reference's state dict */
        src[i] = (t6_st_src){t->name, t->rows, t->ndim == 1 ? 0 : t->cols, params + t->offset};
    }
    const t6_param_info *wte = &pl->tensors[pl->wte];
    src[pl->n_tensors] = (t6_st_src){LM_HEAD, wte->rows, wte->cols, params + wte->offset};
    char ver[32];
    snprintf(ver, sizeof ver, "%d", T6_HF_EXPORT_VERSION);
    const char *meta[] = {"t6_attention", t6_attn_name(cfg->attention), "t6_export_version", ver};
    partial_path(path, sizeof path, dir, "model.safetensors");
    int rc = t6_st_write(path, src, pl->n_tensors + 1, o->dtype == T6_HF_BF16 ? T6_ST_BF16 : T6_ST_F32, meta, 2, err,
                         len);
    free(src);
    if (rc) { remove_partials(dir); return -1; }

    json_t *j = config_json(cfg, o);
    partial_path(path, sizeof path, dir, "config.json");
    errno = 0;
    rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(j);
    if (rc) {
        t6_seterr(err, len, "cannot write '%s': %s", path, errno ? strerror(errno) : "write error");
        remove_partials(dir);
        return -1;
    }
    if (commit_partials(dir, o->vocab_dir ? 0 : 2, err, len)) { remove_partials(dir); return -1; }
    return 0;
}

int t6_hf_export_checkpoint(const char *ckpt, const char *dir, const t6_hf_export_opts *o, char *err, size_t len)
{
    t6_model_config cfg;
    if (t6_ckpt_read_config(ckpt, &cfg, err, len)) return -1;
    t6_param_layout pl;
    t6_param_layout_init(&pl, &cfg);
    float *params = t6_malloc(pl.n_params * sizeof(float));
    int rc = t6_ckpt_load_params(ckpt, &cfg, &pl, params, err, len);
    if (rc == 0) {
        t6_hf_export_opts o2 = *o;
        if (!o2.source) o2.source = ckpt;
        rc = t6_hf_export(dir, &cfg, &pl, params, &o2, err, len);
    }
    free(params);
    t6_param_layout_free(&pl);
    return rc;
}

/* ---- import ----------------------------------------------------------------------- */
/* An integer key of config.json: its value, the default when absent; -1 with err when
 * present but not an integer in [lo, hi]. */
static int get_int(json_t *j, const char *key, int def, int lo, int hi, int *out, const char *path, char *err,
                   size_t len)
{
    json_t *v = json_object_get(j, key);
    if (!v || json_is_null(v)) { *out = def; return 0; }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        t6_seterr(err, len, "'%s': \"%s\" must be an integer in %d..%d", path, key, lo, hi);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

/* A boolean the reference has and T6 does not implement: must be false or absent. */
static int must_be_false(json_t *j, const char *key, const char *why, const char *path, char *err, size_t len)
{
    json_t *v = json_object_get(j, key);
    if (!v || json_is_false(v) || json_is_null(v)) return 0;
    t6_seterr(err, len, "'%s': \"%s\" is %s; T6-C %s (allowed: false)", path, key, json_is_true(v) ? "true" : "not false",
              why);
    return -1;
}

/* Attention type from the safetensors tensor names of layer 0. */
static int attention_from_tensors(const char *dir, t6_attn_type *a, char *err, size_t len)
{
    char path[4352];
    path_join(path, sizeof path, dir, "model.safetensors");
    t6_st_file sf;
    if (t6_st_open(&sf, path, err, len)) return -1;
    int rc = 0;
    if (t6_st_find(&sf, "transformer.h.0.attn.c_qkv.W_A_q.weight") >= 0) *a = T6_ATTN_TPA;
    else if (t6_st_find(&sf, "transformer.h.0.attn.c_qkv.c_q.weight") >= 0) *a = T6_ATTN_TPA_KVONLY;
    else if (t6_st_find(&sf, "transformer.h.0.attn.c_q.weight") >= 0) *a = T6_ATTN_MHA;
    else if (t6_st_find(&sf, "transformer.h.0.attn.q_a_proj.weight") >= 0) *a = T6_ATTN_MLA;
    else {
        t6_seterr(err, len, "'%s': no t6_attention in config.json, and no layer-0 attention tensor to tell the "
                  "attention type by", path);
        rc = -1;
    }
    t6_st_close(&sf);
    return rc;
}

int t6_hf_read_config(const char *dir, t6_model_config *c, char *err, size_t len)
{
    char path[4352];
    memset(c, 0, sizeof *c);
    path_join(path, sizeof path, dir, "config.json");
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) {
        if (je.line <= 0) t6_seterr(err, len, "'%s': %s", path, je.text);
        else t6_seterr(err, len, "%s:%d:%d: not valid JSON: %s", path, je.line, je.column, je.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(j)) { t6_seterr(err, len, "'%s': not a JSON object", path); goto out; }

    json_t *at = json_object_get(j, "t6_attention");
    int group_size = 0;
    if (at) {
        int a;
        for (a = T6_ATTN_TPA; a <= T6_ATTN_MLA; a++)
            if (json_is_string(at) && strcmp(json_string_value(at), t6_attn_name((t6_attn_type)a)) == 0) break;
        if (a > T6_ATTN_MLA) {
            t6_seterr(err, len, "'%s': \"t6_attention\" is not one of tpa, tpa_kvonly, mha, mqa, gqa, mla", path);
            goto out;
        }
        c->attention = (t6_attn_type)a;
    } else if (json_object_get(j, "group_size")) {
        c->attention = T6_ATTN_GQA;   /* llama-gqa.py; MQA when group_size == n_head, below */
    } else if (attention_from_tensors(dir, &c->attention, err, len)) {
        goto out;
    }
    const ref_model *r = &REF[c->attention];
    const int BIG = 1 << 30;
    if (get_int(j, "vocab_size", r->vocab_size, 1, BIG, &c->vocab_size, path, err, len) ||
        get_int(j, "n_layer", r->n_layer, 1, BIG, &c->n_layer, path, err, len) ||
        get_int(j, "n_head", r->n_head, 1, BIG, &c->n_head, path, err, len) ||
        get_int(j, "n_embd", r->n_embd, 1, BIG, &c->n_embd, path, err, len) ||
        get_int(j, "head_dim", r->head_dim, 1, BIG, &c->head_dim, path, err, len) ||
        get_int(j, "q_rank", r->q_rank, 1, BIG, &c->q_rank, path, err, len) ||
        get_int(j, "rank", r->rank, 1, BIG, &c->k_rank, path, err, len) ||
        get_int(j, "block_size", r->block_size, 1, BIG, &c->block_size, path, err, len))
        goto out;
    if (c->attention == T6_ATTN_MHA) c->head_dim = c->n_embd / c->n_head;   /* llama-mha.py derives it */
    c->v_rank = c->k_rank;
    if (get_int(j, "k_rank", c->k_rank, 1, BIG, &c->k_rank, path, err, len) ||
        get_int(j, "v_rank", c->v_rank, 1, BIG, &c->v_rank, path, err, len) ||
        get_int(j, "mlp_hidden", (int)floor(8.0 / 3.0 * c->n_embd), 1, BIG, &c->mlp_hidden, path, err, len))
        goto out;
    c->n_kv_head = c->n_head;
    if (c->attention == T6_ATTN_MQA || c->attention == T6_ATTN_GQA) {
        if (get_int(j, "group_size", r->group_size, 1, BIG, &group_size, path, err, len)) goto out;
        if (c->n_head % group_size) {
            t6_seterr(err, len, "'%s': \"group_size\" %d does not divide \"n_head\" %d", path, group_size, c->n_head);
            goto out;
        }
        c->n_kv_head = c->n_head / group_size;
        if (!at) c->attention = c->n_kv_head == 1 ? T6_ATTN_MQA : T6_ATTN_GQA;
    }
    if (get_int(j, "n_kv_head", c->n_kv_head, 1, BIG, &c->n_kv_head, path, err, len)) goto out;
    /* MLA's sizes, llama-mla.py's class defaults where config.json leaves them out */
    if (get_int(j, "q_lora_rank", 512, 1, BIG, &c->q_lora_rank, path, err, len) ||
        get_int(j, "kv_lora_rank", 256, 1, BIG, &c->kv_lora_rank, path, err, len) ||
        get_int(j, "qk_rope_head_dim", 32, 1, BIG, &c->qk_rope_head_dim, path, err, len) ||
        get_int(j, "v_head_dim", 64, 1, BIG, &c->v_head_dim, path, err, len))
        goto out;
    c->rope_base = 10000.0;
    json_t *rb = json_object_get(j, "rope_base");
    if (rb) {
        if (!json_is_number(rb) || !(json_number_value(rb) > 0)) {
            t6_seterr(err, len, "'%s': \"rope_base\" must be a positive number", path);
            goto out;
        }
        c->rope_base = json_number_value(rb);
    }
    if (must_be_false(j, "bias", "has no biases", path, err, len) ||
        must_be_false(j, "using_groupnorm", "has no per-head RMSNorm (subln)", path, err, len))
        goto out;
    rc = 0;
out:
    json_decref(j);
    return rc;
}

/* config.json against the model t6 is building: the first field that differs. */
static int check_config(const char *dir, const t6_model_config *want, char *err, size_t len)
{
    t6_model_config got;
    if (t6_hf_read_config(dir, &got, err, len)) return -1;
    char path[4352];
    path_join(path, sizeof path, dir, "config.json");
    if (got.attention != want->attention) {
        t6_seterr(err, len, "'%s' describes attention \"%s\", the deck's model.attention is \"%s\"", path,
                  t6_attn_name(got.attention), t6_attn_name(want->attention));
        return -1;
    }
    int tpa = want->attention == T6_ATTN_TPA || want->attention == T6_ATTN_TPA_KVONLY;
    const struct { const char *json, *deck; int got, want, applies; } F[] = {
        {"n_layer", "model.n_layer", got.n_layer, want->n_layer, 1},
        {"n_embd", "model.n_embd", got.n_embd, want->n_embd, 1},
        {"n_head", "model.n_head", got.n_head, want->n_head, 1},
        {"head_dim", "model.head_dim", got.head_dim, want->head_dim, 1},
        {"q_rank", "model.q_rank", got.q_rank, want->q_rank, want->attention == T6_ATTN_TPA},
        {"k_rank (rank)", "model.k_rank", got.k_rank, want->k_rank, tpa},
        {"v_rank (rank)", "model.v_rank", got.v_rank, want->v_rank, tpa},
        {"n_kv_head (n_head / group_size)", "model.n_kv_head", got.n_kv_head, want->n_kv_head, 1},
        {"vocab_size", "model.vocab_size", got.vocab_size, want->vocab_size, 1},
        {"block_size", "model.block_size", got.block_size, want->block_size, 1},
        {"mlp_hidden", "model.mlp_hidden", got.mlp_hidden, want->mlp_hidden, 1},
        {"q_lora_rank", "model.q_lora_rank", got.q_lora_rank, want->q_lora_rank, want->attention == T6_ATTN_MLA},
        {"kv_lora_rank", "model.kv_lora_rank", got.kv_lora_rank, want->kv_lora_rank, want->attention == T6_ATTN_MLA},
        {"qk_rope_head_dim", "model.qk_rope_head_dim", got.qk_rope_head_dim, want->qk_rope_head_dim,
         want->attention == T6_ATTN_MLA},
        {"v_head_dim", "model.v_head_dim", got.v_head_dim, want->v_head_dim, want->attention == T6_ATTN_MLA},
    };
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++)
        if (F[i].applies && F[i].got != F[i].want) {
            t6_seterr(err, len, "'%s' has %s = %d, the deck's %s = %d", path, F[i].json, F[i].got, F[i].deck, F[i].want);
            return -1;
        }
    if (got.rope_base != want->rope_base) {
        /* all digits: 10000.0000001 and 10000 both print as 10000 with %g */
        t6_seterr(err, len, "'%s' has rope_base = %.17g, the deck's model.rope_base = %.17g", path, got.rope_base,
                  want->rope_base);
        return -1;
    }
    return 0;
}

int t6_hf_load(const char *dir, const t6_model_config *cfg, const t6_param_layout *pl, float *params, char *err,
               size_t len)
{
    if (check_config(dir, cfg, err, len)) return -1;
    char path[4352];
    path_join(path, sizeof path, dir, "model.safetensors");
    t6_st_file sf;
    if (t6_st_open(&sf, path, err, len)) return -1;
    int rc = -1;
    float *head = NULL;
    for (int i = 0; i < sf.n; i++)
        if (strcmp(sf.e[i].name, LM_HEAD) != 0 && t6_param_layout_find(pl, sf.e[i].name) < 0) {
            t6_seterr(err, len, "'%s': tensor '%s' is not a parameter of this %s model", path, sf.e[i].name,
                      t6_attn_name(cfg->attention));
            goto out;
        }
    for (int i = 0; i < pl->n_tensors; i++) {
        const t6_param_info *t = &pl->tensors[i];
        int k = t6_st_find(&sf, t->name);
        if (k < 0) {
            t6_seterr(err, len, "'%s': tensor '%s' missing", path, t->name);
            goto out;
        }
        const t6_st_entry *e = &sf.e[k];
        if (e->dtype < 0) {
            t6_seterr(err, len, "'%s': tensor '%s' has dtype %s (allowed: F32, BF16)", path, t->name, e->dtype_name);
            goto out;
        }
        if (e->ndim != t->ndim || e->shape[0] != t->rows || (t->ndim == 2 && e->shape[1] != t->cols)) {
            char sh[96] = "";
            for (int d = 0; d < e->ndim && strlen(sh) < 64; d++)
                snprintf(sh + strlen(sh), sizeof sh - strlen(sh), "%s%lld", d ? ", " : "", (long long)e->shape[d]);
            t6_seterr(err, len, "'%s': tensor '%s' has shape (%s), this model needs (%d, %d)", path, t->name, sh, t->rows,
                      t->cols);
            goto out;
        }
        if (t6_st_read_f32(&sf, k, params + t->offset, t->numel, err, len)) goto out;
    }
    int h = t6_st_find(&sf, LM_HEAD);
    if (h >= 0) {
        /* T6 ties lm_head to wte: an untied head could not be represented, so refuse it */
        const t6_param_info *w = &pl->tensors[pl->wte];
        const t6_st_entry *e = &sf.e[h];
        if (e->ndim != 2 || e->shape[0] != w->rows || e->shape[1] != w->cols) {
            t6_seterr(err, len, "'%s': tensor '%s' does not have the shape of transformer.wte.weight (%d, %d)", path,
                      LM_HEAD, w->rows, w->cols);
            goto out;
        }
        head = t6_malloc(w->numel * sizeof(float));
        if (t6_st_read_f32(&sf, h, head, w->numel, err, len)) goto out;
        if (memcmp(head, params + w->offset, w->numel * sizeof(float)) != 0) {
            t6_seterr(err, len, "'%s': '%s' differs from transformer.wte.weight; T6 ties them (untied heads are not "
                      "supported)", path, LM_HEAD);
            goto out;
        }
    }
    rc = 0;
out:
    free(head);
    t6_st_close(&sf);
    return rc;
}

/* Weights a model is to run with must be finite: a NaN or Inf weight makes every logit
 * NaN (generation would print the argmax of NaNs, evaluation a NaN loss). The first
 * one is named with its tensor and position. (t6_hf_load itself round-trips any
 * value, NaN included: tests/hf/roundtrip.c.) */
static int check_finite(const char *what, const t6_param_layout *pl, const float *params, char *err, size_t len)
{
    for (int i = 0; i < pl->n_tensors; i++) {
        const t6_param_info *t = &pl->tensors[i];
        for (size_t j = 0; j < t->numel; j++)
            if (!isfinite(params[t->offset + j])) {
                const size_t cols = t->ndim == 2 ? (size_t)t->cols : 1;
                t6_seterr(err, len, "'%s': tensor '%s' holds %s at [%zu, %zu]: the weights are damaged", what, t->name,
                          isnan(params[t->offset + j]) ? "NaN" : "an infinity", j / cols, j % cols);
                return -1;
            }
    }
    return 0;
}

int t6_init_from(const char *spec, const t6_model_config *cfg, const t6_param_layout *pl, float *params, char *err,
                 size_t len)
{
    if (!spec || !*spec || strcmp(spec, "none") == 0) return 1;
    if (strncmp(spec, "hf:", 3) == 0) {
        if (!spec[3]) { t6_seterr(err, len, "model.init_from = \"hf:\": no directory after hf:"); return -1; }
        if (t6_hf_load(spec + 3, cfg, pl, params, err, len)) return -1;
        char st[4352];
        path_join(st, sizeof st, spec + 3, "model.safetensors");
        return check_finite(st, pl, params, err, len);
    }
    struct stat st;
    if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode)) {
        t6_seterr(err, len, "model.init_from = \"%s\" is a directory: write \"hf:%s\" for a Hugging Face export, or "
                  "name a checkpoint file", spec, spec);
        return -1;
    }
    if (t6_ckpt_load_params(spec, cfg, pl, params, err, len)) return -1;
    return check_finite(spec, pl, params, err, len);
}
