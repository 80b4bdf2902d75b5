/* greedy.c -- greedy decoding through the library (prefill + decode steps) is
 * deterministic: the same tokens with 1 and 2 threads, and the same tokens after the
 * weights went through a checkpoint (t6_ckpt_write, then t6_ckpt_load into a new
 * model). Every attention type, a batch of two prompts of different lengths. */
#include "../model/tmodel.h"

#include <unistd.h>

#include "ckpt.h"
#include "kvcache.h"
#include "sample.h"

enum { B = 2, STEPS = 9 };

/* Greedy continuation of two prompts (lengths 4 and 2): out[b*STEPS + s]. */
static void greedy(t6_model *m, int32_t *out)
{
    const t6_model_config *c = &t6_model_layout(m)->cfg;
    const int V = c->vocab_size, T = 4;
    const int32_t prompt[B * 4] = {3, 1, 4, 1, 5, 9, 0, 0};
    const int lens[B] = {4, 2};
    t6_kvcache *kv = t6_kvcache_create(m, B, T + STEPS);
    float *lg = t6_malloc(sizeof(float) * B * V);
    const t6_sampler greedy_s = {0.0, 0, 1.0};
    t6_kvcache_prefill(kv, m, prompt, lens, B, T, lg);
    int32_t tok[B], pos[B];
    for (int s = 0; s < STEPS; s++) {
        for (int b = 0; b < B; b++) {
            tok[b] = out[b * STEPS + s] = t6_sample_token(&greedy_s, lg + (size_t)b * V, V, 0.5);
            pos[b] = lens[b] + s;
        }
        t6_model_decode_step(m, kv, tok, pos, lg);
    }
    free(lg);
    t6_kvcache_destroy(kv);
}

int main(void)
{
    char dir[] = "/tmp/t6-greedy-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    for (int ti = 0; ti < TM_N_DECODE_TYPES; ti++) {
        const t6_attn_type a = tm_all_types[ti];
        t6_deck deck;
        memset(&deck, 0, sizeof deck);
        deck.path = "greedy-test";
        deck.model = tm_tiny_config(a);
        deck.model.vocab_size = 61;   /* enough tokens that greedy choices differ */
        int32_t t1[B * STEPS], t2[B * STEPS], t3[B * STEPS];

        t6_backend *be1 = tm_cpu_backend(1);
        t6_model *m1 = t6_model_create(&deck.model, be1, B, 4);
        const t6_param_layout *pl = t6_model_layout(m1);
        float *host = t6_malloc(pl->n_params * sizeof(float));
        tm_random_params(m1, 21 + ti, 1.0f, host);
        greedy(m1, t1);

        t6_backend *be2 = tm_cpu_backend(2);
        t6_model *m2 = t6_model_create(&deck.model, be2, B, 4);
        t6_model_set_params(m2, host);
        greedy(m2, t2);
        tm_check(memcmp(t1, t2, sizeof t1) == 0, "%s: greedy tokens equal with 1 and 2 threads", t6_attn_name(a));

        /* through a checkpoint */
        float *zeros = t6_calloc(pl->n_params, sizeof(float));
        t6_ckpt_tensors t = {host, zeros, zeros};
        t6_ckpt_state st;
        memset(&st, 0, sizeof st);
        st.step = 1;
        st.world_size = 1;
        char path[512];
        t6_ckpt_write(dir, &deck, pl, &t, &st, path, sizeof path);
        t6_ckpt_tensors back = {t6_malloc(pl->n_params * sizeof(float)), t6_malloc(pl->n_params * sizeof(float)),
                                t6_malloc(pl->n_params * sizeof(float))};
        t6_ckpt_state st2;
        char err[512];
        int rc = t6_ckpt_load(path, &deck, pl, 0, &back, &st2, err, sizeof err);
        tm_check(rc == 0, "%s: checkpoint written and read back%s%s", t6_attn_name(a), rc ? ": " : "", rc ? err : "");
        t6_model *m3 = t6_model_create(&deck.model, be1, B, 4);
        t6_model_set_params(m3, back.params);
        greedy(m3, t3);
        tm_check(memcmp(t1, t3, sizeof t1) == 0, "%s: greedy tokens equal after a checkpoint save/load",
                 t6_attn_name(a));
        int distinct = 0;
        for (int i = 1; i < B * STEPS; i++) distinct += t1[i] != t1[0];
        tm_check(distinct > 0, "%s: the continuation is not one repeated token (the comparison means something)",
                 t6_attn_name(a));
        unlink(path);
        free(back.params); free(back.m); free(back.v); free(zeros); free(host);
        t6_model_destroy(m3);
        t6_model_destroy(m2);
        t6_model_destroy(m1);
        t6_backend_destroy(be2);
        t6_backend_destroy(be1);
    }
    rmdir(dir);
    return tm_finish("greedy");
}
