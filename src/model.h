/* model.h -- the T6 model (and its MHA/MQA/GQA/TPA-KVonly variants), written once
 * over the backend's table of operations (backend.h). Owns the parameters (one
 * contiguous fp32 master buffer, views described by params.h), their gradients, the
 * compute copy of the weights and the activations kept for the backward pass (an
 * inference-only model, t6_model_create_inference, has neither gradients nor more than
 * one layer's activations). */
#ifndef T6_MODEL_H
#define T6_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "params.h"

typedef struct t6_model t6_model;

/* Allocates a model for micro-batches of B sequences of T tokens (T <= block_size). */
t6_model *t6_model_create(const t6_model_config *cfg, t6_backend *be, int B, int T);

/* An inference-only model of B x T tokens (generation; doc/generate.md "Memory"):
 * no gradients and no backward buffers; one layer's activations, shared by every
 * layer (each layer's are valid from its forward until the next layer's, which is when
 * the layer hook runs); a residual stream of two slices; logits for at most
 * `logit_rows` rows (0 = all B*T; t6_model_forward_rows scores chosen rows). Backward,
 * gradients and a full-logits forward of more rows are refused. */
t6_model *t6_model_create_inference(const t6_model_config *cfg, t6_backend *be, int B, int T, int logit_rows);

/* Called by every forward after layer `layer`, while that layer's activations
 * (t6_model_attn_view) are still there; NULL removes it. */
typedef void (*t6_layer_hook)(void *ctx, t6_model *m, int layer);
void t6_model_set_layer_hook(t6_model *m, t6_layer_hook fn, void *ctx);

/* Forward without targets that computes the final norm and the
 * lm_head only for the n_rows rows (positions b*T + t) listed in `rows`, and copies
 * their logits to logits_host (n_rows x vocab_size floats). */
void t6_model_forward_rows(t6_model *m, const int32_t *tokens, const int32_t *rows, int n_rows, float *logits_host);
void t6_model_destroy(t6_model *m);

/* Options of model creation (t6_model_create: all defaults). */
typedef struct {
    t6_recompute recompute;   /* train.recompute: what the forward keeps for the backward */
} t6_model_opts;
t6_model *t6_model_create_opts(const t6_model_config *cfg, t6_backend *be, int B, int T, const t6_model_opts *opts);
t6_recompute t6_model_recompute(const t6_model *m);

/* The bytes a model allocated through its backend (requested sizes, as the backend's
 * counters see them: t6_backend_mem_stats), by use. */
typedef struct {
    size_t weights;       /* fp32 parameters and gradients, the compute copy, token buffers */
    size_t activations;   /* kept by the forward for the backward: residual stream, layers, final norm, logits */
    size_t per_layer;     /*   of which one layer's own buffers */
    size_t recompute;     /*   of which the one shared copy of what the layers recompute (0 for "none") */
    size_t logits;        /*   of which the logits (N x vocab; dlogits after a forward for backward) */
    size_t scratch;       /* the backward's buffers (activation gradients; TPA's fused factor output) */
    size_t total;         /* weights + activations + scratch */
} t6_model_mem;
void t6_model_memory(const t6_model *m, t6_model_mem *out);
/* The same figures for a model that is not allocated (t6 --check): the model is created
 * on a "meta" backend whose buffers have sizes but no memory (model_mem.c), with
 * the element size and weight copies of the backend `device`/`precision` would give. */
void t6_model_memory_estimate(const t6_model_config *cfg, t6_backend_kind device, t6_precision precision, int B,
                              int T, t6_recompute recompute, t6_model_mem *out);

const t6_param_layout *t6_model_layout(const t6_model *m);
t6_backend *t6_model_backend(const t6_model *m);

/* Initialization of t6-model.md from the seeded counter-based RNG (doc/model.md):
 * the same seed gives the same weights whatever the thread count or backend. */
void t6_model_init_params(t6_model *m, uint64_t seed);

/* Device buffers (fp32, n_params elements). */
float *t6_model_params(t6_model *m);
float *t6_model_grads(t6_model *m);
/* Host copies in and out of the master parameters (n_params floats). */
void t6_model_get_params(t6_model *m, float *host);
void t6_model_set_params(t6_model *m, const float *host);
void t6_model_get_grads(t6_model *m, float *host);
/* The compute copy of the weights (bf16 on CUDA) for the adamw op to refresh in the
 * same pass; NULL where the compute weights are the master parameters. */
void *t6_model_compute_weights(t6_model *m);
/* Refresh the compute copy after the master parameters changed outside adamw. */
void t6_model_sync_compute_weights(t6_model *m);

/* Forward pass on host token arrays of B*T int32 each. With targets, returns the
 * mean cross-entropy over the targets that are not -1 (NaN if none); without targets
 * returns 0 and leaves logits available. When `for_backward` is set the logits
 * buffer is turned into dlogits scaled by `grad_scale` (see t6_model_backward). */
float t6_model_forward(t6_model *m, const int32_t *tokens, const int32_t *targets,
                       int for_backward, float grad_scale);

/* Backward pass of the last forward (which must have had for_backward set): adds to
 * the gradients d(grad_scale * loss)/d(params). */
void t6_model_backward(t6_model *m);

void t6_model_zero_grad(t6_model *m);

/* Gradient-ready hook (src/gradsync.h: reduction overlapped with the backward): while
 * t6_model_backward runs, fn(arg, lo) is called each time the gradient elements
 * [lo, n_params) are final for this backward: after each layer (lo = the layer's
 * first offset; the layout puts wte first, then layers 0..L-1) and lo = 0 at the end.
 * On a device backend "final" means enqueued on its stream. fn NULL: no hook. */
typedef void (*t6_grad_ready_fn)(void *arg, size_t lo);
void t6_model_set_grad_hook(t6_model *m, t6_grad_ready_fn fn, void *arg);

/* Logits of the last forward without targets, as host floats (B*T*V). */
void t6_model_get_logits(t6_model *m, float *host);
/* Logits of n consecutive rows (positions b*T + t ...) of the last forward, n*V host floats. */
void t6_model_get_logits_rows(t6_model *m, size_t row, size_t n, float *host);

/* Re-shapes the model to B sequences of T tokens within the B*T it was created for
 * (evaluation batches rows of varying length); -1 when they do not fit. */
int t6_model_set_shape(t6_model *m, int B, int T);
/* The B*T tokens the model was created for, and the rows of logits it holds (B*T for a
 * training model, logit_rows for an inference model). */
int t6_model_capacity(const t6_model *m);
int t6_model_logit_rows(const t6_model *m);

/* ---- generation (src/kvcache.h, doc/generate.md) ---- */
struct t6_kvcache;

/* Activations of layer l after the last forward, (N, width) rows in act type, for the
 * prefill to copy into a KV cache: ln1 (N, d) = the attention block's normalized
 * input; bk (N, R_K*dh) after RoPE and bv (N, R_V*dh) for tpa/tpa_kvonly (else NULL);
 * k (N, G*dh) after RoPE and v (N, G*dh) (the materialized K/V for every type; for mla
 * the heads are dh + d_R wide, k_R rotated at columns dh..dh+d_R of each head);
 * latn (N, d_c) = mla's normalised latent (NULL for the other types). */
typedef struct {
    const void *ln1, *bk, *bv, *k, *v, *latn;
} t6_attn_view;
void t6_model_attn_view(t6_model *m, int l, t6_attn_view *v);

/* The compute copy of parameter tensor `tensor` (an index into the layout). */
const void *t6_model_weight(const t6_model *m, int tensor);
/* Row stride of the SwiGLU activations (round_up(mlp_hidden, 8)). */
int t6_model_hidden_ld(const t6_model *m);

/* One decode step: row b of kv (b < kv->B) takes tokens[b] at position pos[b] (host
 * arrays), appends its K/V record at pos[b], attends over positions 0..pos[b] and
 * writes its next-token logits to logits_host (kv->B x vocab_size floats). */
void t6_model_decode_step(t6_model *m, struct t6_kvcache *kv, const int32_t *tokens, const int32_t *pos,
                          float *logits_host);

#endif
