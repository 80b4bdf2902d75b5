/* params.c -- builds the parameter layout of t6_param_layout from a model config:
 * names follow tensorgi/TPA's state dict so checkpoints map one-to-one onto it. */
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int add_tensor(t6_param_layout *pl, int cap, int layer, t6_param_group group,
                      const char *name, int rows, int cols, double bound)
{
    T6_CHECK(pl->n_tensors < cap, NULL, "internal: parameter table overflow");
    t6_param_info *t = &pl->tensors[pl->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->layer = layer;
    t->group = group;
    t->rows = rows;
    t->cols = cols;
    t->numel = (size_t)rows * (size_t)cols;
    t->offset = pl->n_params;
    t->init_bound = bound;
    t->ndim = 2;
    pl->n_params += t->numel;
    pl->group_params[group] += t->numel;
    return pl->n_tensors++;
}

/* Xavier-uniform bound of the reference, which views a (out x in) weight as a 3-D
 * tensor (d, h, R) or (d, R, dh): PyTorch's fan_in = size(1) * receptive, fan_out =
 * size(0) * receptive with receptive = size(2). */
static double xavier3(int d0, int d1, int d2)
{
    double fan_in = (double)d1 * d2, fan_out = (double)d0 * d2;
    return sqrt(6.0 / (fan_in + fan_out));
}

void t6_param_layout_init(t6_param_layout *pl, const t6_model_config *c)
{
    memset(pl, 0, sizeof *pl);
    pl->cfg = *c;
    const int L = c->n_layer, d = c->n_embd, h = c->n_head, dh = c->head_dim;
    const int hid = c->mlp_hidden, G = c->n_kv_head;
    const int cap = 1 + L * 12;
    pl->tensors = t6_calloc((size_t)cap, sizeof *pl->tensors);
    pl->layers = t6_calloc((size_t)(L > 0 ? L : 1), sizeof *pl->layers);
    const double lin = 1.0 / sqrt((double)d);   /* nn.Linear default: U(+-1/sqrt(in)) */
    char nm[96];

    pl->wte = add_tensor(pl, cap, -1, T6_GROUP_EMBEDDING, "transformer.wte.weight", c->vocab_size, d, lin);
    for (int l = 0; l < L; l++) {
        t6_layer_params *lp = &pl->layers[l];
        memset(lp, -1, sizeof *lp);
#define ADD(field, group, suffix, rows, cols, bound) do { \
            snprintf(nm, sizeof nm, "transformer.h.%d.%s", l, suffix); \
            lp->field = add_tensor(pl, cap, l, group, nm, rows, cols, bound); } while (0)
        switch (c->attention) {
        case T6_ATTN_TPA:
            ADD(w_a_q, T6_GROUP_ATTENTION, "attn.c_qkv.W_A_q.weight", h * c->q_rank, d, xavier3(d, h, c->q_rank));
            ADD(w_a_k, T6_GROUP_ATTENTION, "attn.c_qkv.W_A_k.weight", h * c->k_rank, d, xavier3(d, h, c->k_rank));
            ADD(w_a_v, T6_GROUP_ATTENTION, "attn.c_qkv.W_A_v.weight", h * c->v_rank, d, xavier3(d, h, c->v_rank));
            ADD(w_b_q, T6_GROUP_ATTENTION, "attn.c_qkv.W_B_q.weight", c->q_rank * dh, d, xavier3(d, c->q_rank, dh));
            ADD(w_b_k, T6_GROUP_ATTENTION, "attn.c_qkv.W_B_k.weight", c->k_rank * dh, d, xavier3(d, c->k_rank, dh));
            ADD(w_b_v, T6_GROUP_ATTENTION, "attn.c_qkv.W_B_v.weight", c->v_rank * dh, d, xavier3(d, c->v_rank, dh));
            break;
        case T6_ATTN_TPA_KVONLY:
            /* The reference keeps this c_q inside CPLinear (attn.c_qkv.c_q) and
             * initializes it with xavier_uniform_ on the 2-D (h*dh, d) weight. */
            ADD(w_q, T6_GROUP_ATTENTION, "attn.c_qkv.c_q.weight", h * dh, d, sqrt(6.0 / ((double)d + (double)h * dh)));
            ADD(w_a_k, T6_GROUP_ATTENTION, "attn.c_qkv.W_A_k.weight", h * c->k_rank, d, xavier3(d, h, c->k_rank));
            ADD(w_a_v, T6_GROUP_ATTENTION, "attn.c_qkv.W_A_v.weight", h * c->v_rank, d, xavier3(d, h, c->v_rank));
            ADD(w_b_k, T6_GROUP_ATTENTION, "attn.c_qkv.W_B_k.weight", c->k_rank * dh, d, xavier3(d, c->k_rank, dh));
            ADD(w_b_v, T6_GROUP_ATTENTION, "attn.c_qkv.W_B_v.weight", c->v_rank * dh, d, xavier3(d, c->v_rank, dh));
            break;
        case T6_ATTN_MHA:
        case T6_ATTN_MQA:
        case T6_ATTN_GQA:
            ADD(w_q, T6_GROUP_ATTENTION, "attn.c_q.weight", h * dh, d, lin);
            ADD(w_k, T6_GROUP_ATTENTION, "attn.c_k.weight", G * dh, d, lin);
            ADD(w_v, T6_GROUP_ATTENTION, "attn.c_v.weight", G * dh, d, lin);
            break;
        case T6_ATTN_MLA: {
            /* PyTorch's default Linear init U(+-1/sqrt(in)); the RMSNorm weights start at 1 */
            const int dq = c->q_lora_rank, dkv = c->kv_lora_rank, dr = c->qk_rope_head_dim, dv = c->v_head_dim;
            ADD(q_a, T6_GROUP_ATTENTION, "attn.q_a_proj.weight", dq, d, lin);
            ADD(q_a_norm, T6_GROUP_ATTENTION, "attn.q_a_layernorm.weight", dq, 1, 0.0);
            ADD(q_b, T6_GROUP_ATTENTION, "attn.q_b_proj.weight", h * (dh + dr), dq, 1.0 / sqrt((double)dq));
            ADD(kv_a, T6_GROUP_ATTENTION, "attn.kv_a_proj_with_mqa.weight", dkv + dr, d, lin);
            ADD(kv_a_norm, T6_GROUP_ATTENTION, "attn.kv_a_layernorm.weight", dkv, 1, 0.0);
            ADD(kv_b, T6_GROUP_ATTENTION, "attn.kv_b_proj.weight", h * (dh + dv), dkv, 1.0 / sqrt((double)dkv));
            pl->tensors[lp->q_a_norm].init_fill = 1.0f;
            pl->tensors[lp->q_a_norm].ndim = 1;
            pl->tensors[lp->kv_a_norm].init_fill = 1.0f;
            pl->tensors[lp->kv_a_norm].ndim = 1;
            break;
        }
        }
        const int attn_width = c->attention == T6_ATTN_MLA ? h * c->v_head_dim : h * dh;
        ADD(attn_proj, T6_GROUP_ATTENTION, "attn.c_proj.weight", d, attn_width, 0.0);
        ADD(fc1, T6_GROUP_MLP, "mlp.c_fc1.weight", hid, d, lin);
        ADD(fc2, T6_GROUP_MLP, "mlp.c_fc2.weight", hid, d, lin);
        ADD(mlp_proj, T6_GROUP_MLP, "mlp.c_proj.weight", d, hid, 0.0);
#undef ADD
    }
}

void t6_param_layout_free(t6_param_layout *pl)
{
    free(pl->tensors);
    free(pl->layers);
    memset(pl, 0, sizeof *pl);
}

int t6_param_layout_find(const t6_param_layout *pl, const char *name)
{
    for (int i = 0; i < pl->n_tensors; i++)
        if (strcmp(pl->tensors[i].name, name) == 0) return i;
    return -1;
}

double t6_flops_per_token(const t6_model_config *c, size_t n_params, int seq_len)
{
    if (c->attention == T6_ATTN_MLA)
        return 6.0 * (double)n_params +
               6.0 * c->n_layer * c->n_head * (double)(c->head_dim + c->qk_rope_head_dim + c->v_head_dim) * seq_len;
    return 6.0 * (double)n_params + 12.0 * c->n_layer * c->n_head * c->head_dim * (double)seq_len;
}

long t6_kv_cache_numbers_per_token_layer(const t6_model_config *c)
{
    switch (c->attention) {
    case T6_ATTN_TPA:
    case T6_ATTN_TPA_KVONLY:
        return (long)(c->k_rank + c->v_rank) * (c->n_head + c->head_dim);
    case T6_ATTN_MLA:
        return (long)c->kv_lora_rank + c->qk_rope_head_dim;   /* the latent and the shared rotary key */
    default:
        return 2L * c->n_kv_head * c->head_dim;
    }
}
