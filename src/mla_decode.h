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

/* After the prefill's forward over B rows of T tokens: positions 0..T-1 of layer l's
 * cache rows from that forward's normalised latents and rotated k_R. */
void t6_mla_prefill_layer(struct t6_kvcache *kv, t6_model *m, int l, int B, int T);

/* One decode step as t6_model_decode_step (model.h) for an MLA model. */
void t6_mla_decode_step(t6_model *m, struct t6_kvcache *kv, const int32_t *tokens, const int32_t *pos,
                        float *logits_host);

#endif
