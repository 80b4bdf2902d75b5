/* kvcache.h -- the KV cache of generation (doc/generate.md, layout in doc/model.md):
 * per layer, per batch row, per position, what the attention type needs to attend
 * to a token again without recomputing it:
 *   tpa, tpa_kvonly: A_K (R_K, h), B̃_K (R_K, dh) with RoPE applied, A_V (R_V, h), B_V (R_V, dh)
 *                    = (R_K + R_V)(h + dh) numbers per token per layer (paper Table 1);
 *   mha, mqa, gqa:   K (G, dh) with RoPE applied, V (G, dh) = 2 G dh numbers;
 *   mla:             [c_kv (d_c) normalised latent, k_R (d_R) rotated] = d_c + d_R numbers
 *                    (src/mla_decode.h: the absorbed decode attends in the latent space).
 * Buffers are (B, M_max, record) in the backend's act type. The cache also owns the
 * decode workspace (one token per row) and copies of W_A_K, W_A_V with their rows
 * reordered from (head, rank) to (rank, head), so that the projection of a new token
 * writes the cache's (R, h) record directly (the decode ops read A as (R, h)). */
#ifndef T6_KVCACHE_H
#define T6_KVCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

typedef struct t6_model t6_model;

typedef struct {
    void *ak, *bk, *av, *bv;      /* factor caches (tpa, tpa_kvonly); NULL otherwise */
    void *k, *v;                  /* plain caches (mha, mqa, gqa); NULL otherwise */
    void *wak, *wav;              /* W_A_K, W_A_V rows in (rank, head) order, compute type */
    void *ckv;                    /* mla: latent records (B, M_max, d_c + d_R); NULL otherwise */
    void *wq, *wo;                /* mla: the absorbed query (h(d_c+d_R) x d'_c) and output
                                   * (d x h d_c) matrices, compute type (src/mla_decode.c) */
} t6_kv_layer;

typedef struct t6_kvcache {
    t6_model_config cfg;
    t6_backend *be;
    int B, M_max;                 /* batch rows, tokens per row */
    int factored;                 /* 1: factor caches (tpa, tpa_kvonly) */
    int G;                        /* kv heads of the plain caches */
    int mla;                      /* 1: MLA's latent cache (src/mla_decode.c) */
    struct t6_mla_ws *mla_ws;     /* its decode workspace */
    t6_kv_layer *layers;          /* n_layer entries */
    size_t cache_bytes;           /* bytes of all cache buffers */

    /* device int32 (B) each, in one buffer (ints: one copy per step): the token being
     * decoded, its position, lens = pos + 1; zeros (M_max): positions of the prefill copies */
    int32_t *ints, *tok, *pos, *lens, *zeros;
    int32_t *ints_host;           /* host staging of ints (3B) */
    /* decode workspace, act type, N = B rows */
    void *x, *xm, *ln, *aq, *bq, *q, *k, *v, *fa, *fb, *y, *h1, *h2, *g, *logits;
    float *rstd;
    /* prefill scratch for the reordered A factors: (rows*T, R*h) */
    void *pre;
    size_t pre_elems;

    /* CUDA graphs of the decode step (doc/generate.md "CUDA graphs"): use_graphs is set
     * by the caller (off by default); the step is recorded once after one unrecorded
     * step (graph_warm) and replayed; graph_steps counts the replays */
    int use_graphs;
    void *graph;
    int graph_warm;
    long graph_steps;

    size_t mem_peak;              /* the most memory in use seen (ops->mem_in_use) after each prefill layer */
} t6_kvcache;

/* A cache of B rows of up to M_max tokens for model m (M_max <= block_size). Reads the
 * model's current parameters for the reordered A weights: create it after loading. */
t6_kvcache *t6_kvcache_create(t6_model *m, int B, int M_max);
void t6_kvcache_destroy(t6_kvcache *kv);

/* Runs the prompts (B rows of T tokens, right-padded; row b's prompt is tokens
 * [b*T, b*T + lens[b])) through the model's forward, writes positions 0..T-1 of every
 * row into the cache (positions at and after lens[b] hold pad tokens that decoding
 * overwrites), and stores the logits of each row's last prompt token in logits_host
 * (B x vocab_size floats). B <= kv->B, T <= kv->M_max.
 * Chunked over rows: the rows go through the forward in groups of as many rows of T
 * tokens as the model was created for (t6_model_capacity / T, at least 1, at most
 * t6_model_logit_rows), each layer's
 * factors copied into the cache right after that layer (the model's layer hook, so an
 * inference model that keeps one layer's activations serves), and only each row's last
 * prompt position is scored (t6_model_forward_rows). Every row's result is the same
 * whatever the grouping: the rows of a batch never interact. */
void t6_kvcache_prefill(t6_kvcache *kv, t6_model *m, const int32_t *tokens, const int *lens, int B, int T,
                        float *logits_host);

/* Bytes of one token's record of one layer in an element size of `elem_bytes`. */
size_t t6_kvcache_bytes_per_token_layer(const t6_model_config *cfg, size_t elem_bytes);

#endif
