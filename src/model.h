/* model.h -- the T6 model (and its MHA/MQA/GQA/TPA-KVonly variants), written once
 * over the backend's table of operations (backend.h). Owns the parameters (one
 * contiguous fp32 master buffer, views described by params.h), their gradients, the
 * compute copy of the weights and the activations kept for the backward pass. */
#ifndef T6_MODEL_H
#define T6_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "params.h"

typedef struct t6_model t6_model;

/* Allocates a model for micro-batches of B sequences of T tokens (T <= block_size). */
t6_model *t6_model_create(const t6_model_config *cfg, t6_backend *be, int B, int T);
void t6_model_destroy(t6_model *m);

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

/* ---- generation (src/kvcache.h, doc/generate.md) ---- */
struct t6_kvcache;

/* Activations of layer l after the last forward, (N, width) rows in act type, for the
 * prefill to copy into a KV cache: ln1 (N, d) = the attention block's normalized
 * input; bk (N, R_K*dh) after RoPE and bv (N, R_V*dh) for tpa/tpa_kvonly (else NULL);
 * k (N, G*dh) after RoPE and v (N, G*dh) (the materialized K/V for every type). */
typedef struct {
    const void *ln1, *bk, *bv, *k, *v;
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
