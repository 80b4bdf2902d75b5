/* mla_decode.h -- generation with MLA (attention "mla", doc/generate.md "MLA"): the
 * latent KV cache and the absorbed decode step. Kept apart from kvcache.c and model.c,
 * which call in here for MLA only.
 *
 * Cache per token per layer: [c_kv (d_c), k_R (d_R)] = the normalised latent (after
 * kv_a_layernorm) and the rotated shared rope key, d_c + d_R numbers (t6 --check).
 * Decode, per head i (W_UK_i = the k_nope rows of kv_b, W_UV_i its v rows):
 *   q_lat = W_UK_i^T q_nope (d_c);  s_t = (q_lat . c_kv,t + q_R . k_R,t) / sqrt(dh + d_R);
 *   o_lat = softmax(s) . c_kv (d_c);  y_i = W_UV_i o_lat (d_v);  then c_proj.
 * That equals the training forward's attention over K = [W_UK c_kv, k_R], V = W_UV c_kv
 * (tests/gen/incremental.c, decode_attn.c), without ever forming K or V. */
#ifndef T6_MLA_DECODE_H
#define T6_MLA_DECODE_H

#include <stdint.h>

typedef struct t6_model t6_model;
struct t6_kvcache;
typedef struct t6_mla_ws t6_mla_ws;

/* Per-layer latent caches, the absorbed query and output matrices (from the model's
 * current parameters: create the cache after loading) and the decode workspace of kv
 * (kv->B rows, kv->M_max tokens). */
void t6_mla_kvcache_alloc(struct t6_kvcache *kv, t6_model *m);
void t6_mla_kvcache_free(struct t6_kvcache *kv);

/* From the prefill's layer hook, after layer l's forward over the group of B rows of
 * T tokens that starts at cache row b0: positions 0..T-1 of those cache rows from the
 * forward's normalised latents and rotated k_R. */
void t6_mla_prefill_layer(struct t6_kvcache *kv, t6_model *m, int l, int b0, int B, int T);

/* The device work of one decode step of an MLA model (model.c's decode_layers): from
 * the tokens, positions and lengths in kv's device buffers to the logits in kv->logits,
 * with no host copy or synchronisation, so that it can be recorded as a graph. */
void t6_mla_decode_layers(t6_model *m, struct t6_kvcache *kv);

#endif
