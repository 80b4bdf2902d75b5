/* loglik.c -- the evaluation's scoring path (rows, shared rows, batches of mixed
 * lengths, truncation window, host log-softmax) against an independent computation:
 * the model's own cross-entropy op run on each request alone (B = 1, targets only at the
 * continuation positions), which gives -loglik / n_cont, and the argmax of its logits
 * for is_greedy. A small random-weight TPA model with a 300-token vocabulary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "dist.h"
#include "eval/evrun.h"
#include "model.h"

static int fails = 0, checks = 0;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } } while (0)

enum { V = 300, MAXLEN = 32 };

static void add(t6_ev_results *R, const int32_t *ctx, int nct, const int32_t *cont, int nco, long doc, int choice)
{
    t6_ev_request *q = &R->req[R->n_req++];
    memset(q, 0, sizeof *q);
    q->doc = doc;
    q->choice = choice;
    t6_ev_window(ctx, (size_t)nct, cont, (size_t)nco, MAXLEN, &q->tok, &q->n_tok, &q->n_cont);
}

int main(void)
{
    t6_model_config c;
    memset(&c, 0, sizeof c);
    c.attention = T6_ATTN_TPA;
    c.n_layer = 2; c.n_embd = 32; c.n_head = 4; c.head_dim = 8;
    c.q_rank = 6; c.k_rank = 2; c.v_rank = 2; c.n_kv_head = 4;
    c.vocab_size = V; c.block_size = 64; c.mlp_hidden = 8 * 32 / 3; c.rope_base = 10000.0;
    t6_backend_config bc = {T6_BACKEND_CPU, T6_PREC_FP32, 0};
    t6_backend *be = t6_backend_create(&bc, 0);
    t6_dist dist;
    t6_dist_init(&dist);
    t6_model *m = t6_model_create(&c, be, 3, MAXLEN);   /* room for 96 tokens: several batches */
    t6_model_init_params(m, 7);
    t6_model_sync_compute_weights(m);

    t6_ev_results R;
    memset(&R, 0, sizeof R);
    R.max_len = MAXLEN;
    R.req = calloc(16, sizeof *R.req);
    int32_t ctx[64], cont[8];
    unsigned s = 12345;
    for (int i = 0; i < 64; i++) { s = s * 1103515245u + 12345u; ctx[i] = (int32_t)((s >> 16) % V); }
    for (int i = 0; i < 8; i++) cont[i] = (int32_t)((i * 37 + 11) % V);
    add(&R, ctx, 10, cont, 3, 0, 0);            /* 3-token continuation */
    add(&R, ctx, 10, cont + 3, 2, 0, 1);
    int32_t one[4] = {5, 17, 250, 299};
    for (int k = 0; k < 4; k++) add(&R, ctx + 5, 6, one + k, 1, 1, k);   /* one shared row */
    add(&R, ctx, 40, cont, 2, 2, 0);            /* truncated: window 33 tokens */
    add(&R, ctx, 0 + 1, cont, 5, 3, 0);         /* short */
    add(&R, ctx + 20, 30, cont, 1, 4, 0);       /* 31 tokens, one-token continuation alone */
    /* a continuation made of the model's own argmax is greedy */
    float *lg = malloc((size_t)12 * V * sizeof(float));
    t6_model *g = t6_model_create(&c, be, 1, 12);
    float *p0 = malloc(t6_model_layout(m)->n_params * sizeof(float));
    t6_model_get_params(m, p0);
    t6_model_set_params(g, p0);
    t6_model_forward(g, ctx + 50, NULL, 0, 0.0f);
    t6_model_get_logits(g, lg);
    int32_t best = 0;
    for (int v = 1; v < V; v++)
        if (lg[(size_t)11 * V + v] > lg[(size_t)11 * V + best]) best = v;
    add(&R, ctx + 50, 12, &best, 1, 5, 0);
    t6_model_destroy(g);
    free(lg); free(p0);
    int stopped = 0;
    t6_ev_score_requests(&R, &dist, m, 3 * MAXLEN, V, &stopped);
    CHECK(R.req[R.n_req - 1].greedy == 1, "the argmax continuation is not greedy");
    CHECK(!stopped, "stopped");
    CHECK(R.n_rows == 7, "rows: %ld, want 7 (the four one-token choices of doc 1 share one)", R.n_rows);
    CHECK(R.req[6].n_tok == MAXLEN + 1 && R.req[6].tok[0] == ctx[40 + 2 - (MAXLEN + 1)], "truncation window");

    /* reference: each request alone through the model's cross-entropy */
    float *host = malloc((size_t)MAXLEN * V * sizeof(float));
    float *params = malloc(t6_model_layout(m)->n_params * sizeof(float));
    t6_model_get_params(m, params);
    for (size_t i = 0; i < R.n_req; i++) {
        const t6_ev_request *q = &R.req[i];
        int T = q->n_tok - 1;
        t6_model *r = t6_model_create(&c, be, 1, T);
        t6_model_set_params(r, params);
        int32_t tgt[64];
        for (int p = 0; p < T; p++) tgt[p] = p >= T - q->n_cont ? q->tok[p + 1] : -1;
        double loss = t6_model_forward(r, q->tok, tgt, 0, 0.0f);
        double ref = -loss * q->n_cont;
        CHECK(fabs(q->ll - ref) <= 1e-4 * (1.0 + fabs(ref)), "request %zu: loglik %.8f, cross-entropy gives %.8f", i,
              q->ll, ref);
        t6_model_forward(r, q->tok, NULL, 0, 0.0f);
        t6_model_get_logits(r, host);
        int greedy = 1;
        for (int p = T - q->n_cont; p < T; p++) {
            int am = 0;
            for (int v = 1; v < V; v++)
                if (host[(size_t)p * V + v] > host[(size_t)p * V + am]) am = v;
            greedy &= am == q->tok[p + 1];
        }
        CHECK(greedy == q->greedy, "request %zu: is_greedy %d, argmax says %d", i, q->greedy, greedy);
        t6_model_destroy(r);
    }
    printf("%d checks, %d failed\n", checks, fails);
    for (size_t i = 0; i < R.n_req; i++) free(R.req[i].tok);
    free(R.req); free(host); free(params);
    t6_model_destroy(m);
    t6_backend_destroy(be);
    t6_dist_finalize(&dist);
    return fails ? 1 : 0;
}
