/* params.h -- the parameter layout of a T6 model: every tensor by its reference
 * state-dict name, shape in PyTorch (out_features, in_features) order, offset into
 * the one contiguous parameter buffer, and its initialization. Used by the model
 * (views), the checkpoint writer/reader (names) and `t6 --check` (counts). */
#ifndef T6_PARAMS_H
#define T6_PARAMS_H

#include <stddef.h>
#include "deck.h"

typedef enum {
    T6_GROUP_EMBEDDING = 0, /* wte (= lm_head, tied) */
    T6_GROUP_ATTENTION,     /* TPA factors / q,k,v projections and the output projection */
    T6_GROUP_MLP,           /* SwiGLU fc1, fc2, proj */
    T6_GROUP_COUNT
} t6_param_group;

typedef struct {
    char name[96];          /* e.g. "transformer.h.3.attn.c_qkv.W_A_q.weight" */
    int layer;              /* -1 for wte */
    t6_param_group group;
    int rows, cols;         /* (out_features, in_features); wte: (vocab, d) */
    size_t offset;          /* elements from the start of the parameter buffer */
    size_t numel;
    double init_bound;      /* iid U(-b, b); 0 means constant init_fill */
    float init_fill;        /* the constant of a tensor with init_bound 0: 0, or 1 for norm weights */
    int ndim;               /* 2 for matrices; 1 for vectors (MLA norm weights: rows = n, cols = 1) */
} t6_param_info;

/* Indices into t6_param_layout.tensors for one layer; -1 where the attention type
 * has no such tensor. */
typedef struct {
    int w_a_q, w_a_k, w_a_v;   /* TPA A factors: (h*R) x d  (w_a_q: TPA only) */
    int w_b_q, w_b_k, w_b_v;   /* TPA B factors: (R*dh) x d (w_b_q: TPA only) */
    int w_q, w_k, w_v;         /* standard projections: w_q for MHA family and TPA-KVonly */
    int attn_proj;             /* W_O: d x (h*dh) */
    int fc1, fc2, mlp_proj;    /* SwiGLU: hidden x d, hidden x d, d x hidden */
    /* MLA (attention "mla"): q_a d'_c x d, q_a_norm (d'_c), q_b h*(dh+dR) x d'_c,
     * kv_a (d_c+dR) x d, kv_a_norm (d_c), kv_b h*(dh+dv) x d_c; attn_proj d x (h*dv) */
    int q_a, q_a_norm, q_b, kv_a, kv_a_norm, kv_b;
} t6_layer_params;

typedef struct {
    t6_model_config cfg;
    int n_tensors;
    t6_param_info *tensors;
    int wte;                   /* index of the embedding */
    t6_layer_params *layers;   /* n_layer entries */
    size_t n_params;           /* total elements (tied embedding counted once) */
    size_t group_params[T6_GROUP_COUNT];
} t6_param_layout;

void t6_param_layout_init(t6_param_layout *layout, const t6_model_config *cfg);
void t6_param_layout_free(t6_param_layout *layout);
int t6_param_layout_find(const t6_param_layout *layout, const char *name);

/* Derived figures printed by `t6 --check`. */
/* 6N + 12*L*h*dh*T; for MLA the attention term is 6*L*h*(dh_qk + dh_v)*T with
 * dh_qk = head_dim + qk_rope_head_dim, dh_v = v_head_dim (the same count per score/value product). */
double t6_flops_per_token(const t6_model_config *cfg, size_t n_params, int seq_len);
long t6_kv_cache_numbers_per_token_layer(const t6_model_config *cfg);

#endif
