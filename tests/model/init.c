/* init.c -- parameter layout and initialization:
 *  - the paper's exact parameter counts through params.c, and the per-layer TPA formula
 *    d(RQ+RK+RV)(h+dh) + d*h*dh of the paper's Table 1; the model allocates exactly
 *    the layout's count, tensors tile the buffer without gaps;
 *  - init statistics per tensor: every value within U(-b, b), mean ~ 0 and variance
 *    ~ b^2/3, W_O and the MLP output projection exactly zero;
 *  - the init is a function of the seed only (same twice, different for another seed,
 *    independent of the thread count: see threads.c);
 *  - initial loss with the reference init on random tokens: at init W_O = W_3 = 0, so
 *    logits = rmsnorm(wte[x]) . wte; with wte ~ U(+-1/sqrt(d)) a wrong-token logit has
 *    variance 1/3 and the input token's own logit is ~sqrt(d/3), so
 *    E[loss] ~ log(exp(sqrt(d/3)) + (V-1) exp(1/6)) (-> ln V for small d/ln V). */
#include "tmodel.h"

static t6_model_config paper(t6_attn_type a, int L, int d, int h, int G)
{
    t6_model_config c;
    memset(&c, 0, sizeof c);
    c.attention = a;
    c.n_layer = L;
    c.n_embd = d;
    c.n_head = h;
    c.head_dim = 64;
    c.q_rank = 6;
    c.k_rank = 2;
    c.v_rank = 2;
    c.n_kv_head = G;
    c.vocab_size = 50304;
    c.block_size = 1024;
    c.mlp_hidden = 8 * d / 3;
    c.rope_base = 10000.0;
    c.q_lora_rank = 512;
    c.kv_lora_rank = 256;
    c.qk_rope_head_dim = 32;
    c.v_head_dim = 64;
    return c;
}

static void test_counts(void)
{
    static const struct { const char *name; t6_attn_type a; int L, d, h, G; size_t expect; } cases[] = {
        {"T6 small", T6_ATTN_TPA, 12, 768, 34, 34, 124342272},
        {"T6 medium", T6_ATTN_TPA, 24, 1024, 47, 47, 353992704},
        {"T6 large", T6_ATTN_TPA, 36, 1280, 61, 61, 773698560},
        {"T6 XL", T6_ATTN_TPA, 48, 1600, 78, 78, 1555814400},
        {"MHA small", T6_ATTN_MHA, 12, 768, 12, 12, 123568128},
        {"MHA medium", T6_ATTN_MHA, 24, 1024, 16, 16, 353452032},
        {"TPA-KVonly small", T6_ATTN_TPA_KVONLY, 12, 768, 22, 22, 124379136},
        /* MLA (../shared/spec/mla.md): the released configs (latents 512/256 at every size) */
        {"MLA small", T6_ATTN_MLA, 12, 768, 13, 13, 123085824},
        {"MLA medium", T6_ATTN_MLA, 24, 1024, 23, 23, 353863680},
        {"MLA large", T6_ATTN_MLA, 36, 1280, 34, 34, 773634048},
        {"MLA XL", T6_ATTN_MLA, 48, 1600, 49, 49, 1558370304},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t6_model_config c = paper(cases[i].a, cases[i].L, cases[i].d, cases[i].h, cases[i].G);
        t6_param_layout pl;
        t6_param_layout_init(&pl, &c);
        tm_check(pl.n_params == cases[i].expect, "%s: %zu parameters (paper: %zu)", cases[i].name, pl.n_params, cases[i].expect);
        if (c.attention == T6_ATTN_TPA) {
            size_t attn = pl.group_params[T6_GROUP_ATTENTION];
            size_t per_layer = (size_t)c.n_embd * (c.q_rank + c.k_rank + c.v_rank) * (c.n_head + c.head_dim) +
                               (size_t)c.n_embd * c.n_head * c.head_dim;
            tm_check(attn == per_layer * c.n_layer, "%s: attention = L * (d(RQ+RK+RV)(h+dh) + d h dh) (Table 1)", cases[i].name);
        }
        t6_param_layout_free(&pl);
    }
    /* MLA under the paper's Table 10 reading (latents d_c/d'_c per size, h = 12 at small) */
    static const struct { const char *name; int L, d, h, dkv, dq; size_t expect; } t10[] = {
        {"MLA small (Table 10)", 12, 768, 12, 256, 512, 121512960},
        {"MLA medium (Table 10)", 24, 1024, 23, 512, 1024, 417976320},
        {"MLA large (Table 10)", 36, 1280, 34, 512, 1024, 909321216},
        {"MLA XL (Table 10)", 48, 1600, 49, 512, 1024, 1810065408},
    };
    for (size_t i = 0; i < sizeof t10 / sizeof t10[0]; i++) {
        t6_model_config c = paper(T6_ATTN_MLA, t10[i].L, t10[i].d, t10[i].h, t10[i].h);
        c.kv_lora_rank = t10[i].dkv;
        c.q_lora_rank = t10[i].dq;
        t6_param_layout pl;
        t6_param_layout_init(&pl, &c);
        tm_check(pl.n_params == t10[i].expect, "%s: %zu parameters (spec: %zu)", t10[i].name, pl.n_params,
                 t10[i].expect);
        t6_param_layout_free(&pl);
    }
}

static void test_init(void)
{
    for (int ai = 0; ai < TM_N_TYPES; ai++) {
        t6_model_config c = tm_tiny_config(tm_all_types[ai]);
        c.n_embd = 48;
        c.n_head = 4;
        c.head_dim = 16;
        c.vocab_size = 300;
        c.mlp_hidden = 8 * c.n_embd / 3;
        t6_backend *be = tm_cpu_backend(0);
        t6_model *m = t6_model_create(&c, be, 1, 4);
        const t6_param_layout *pl = t6_model_layout(m);
        const char *an = t6_attn_name(c.attention);
        size_t next = 0;
        int tiles = 1;
        for (int ti = 0; ti < pl->n_tensors; ti++) {
            tiles &= pl->tensors[ti].offset == next && pl->tensors[ti].numel == (size_t)pl->tensors[ti].rows * pl->tensors[ti].cols;
            next += pl->tensors[ti].numel;
        }
        tm_check(tiles && next == pl->n_params, "%s: %d tensors tile the %zu-parameter buffer", an, pl->n_tensors, pl->n_params);

        float *p = t6_malloc(pl->n_params * sizeof(float)), *p2 = t6_malloc(pl->n_params * sizeof(float));
        t6_model_init_params(m, 42);
        t6_model_get_params(m, p);
        t6_model_init_params(m, 42);
        t6_model_get_params(m, p2);
        tm_check(memcmp(p, p2, pl->n_params * sizeof(float)) == 0, "%s: same seed, same parameters", an);
        t6_model_init_params(m, 43);
        t6_model_get_params(m, p2);
        size_t same = 0;
        for (size_t i = 0; i < pl->n_params; i++) same += p[i] == p2[i] && p[i] != 0.0f;
        tm_check(same < pl->n_params / 1000 + 2, "%s: another seed gives other parameters (%zu equal nonzero)", an, same);

        for (int ti = 0; ti < pl->n_tensors; ti++) {
            const t6_param_info *t = &pl->tensors[ti];
            const float *x = p + t->offset;
            const double b = t->init_bound;
            const int must_be_zero = strstr(t->name, "attn.c_proj.") || strstr(t->name, "mlp.c_proj.");
            const int must_be_one = strstr(t->name, "_layernorm.weight") != NULL;   /* MLA's RMSNorm weights */
            if (must_be_one) {
                int one = 1;
                for (size_t i = 0; i < t->numel; i++) one &= x[i] == 1.0f;
                tm_check(one && b == 0.0 && t->ndim == 1 && t->cols == 1, "%s %s: ones (a vector of %d)", an,
                         t->name, t->rows);
                continue;
            }
            if (must_be_zero || b == 0.0) {
                int zero = 1;
                for (size_t i = 0; i < t->numel; i++) zero &= x[i] == 0.0f;
                tm_check(zero && must_be_zero && b == 0.0, "%s %s: zero-initialized", an, t->name);
                continue;
            }
            double mean = 0.0, var = 0.0, mx = 0.0;
            for (size_t i = 0; i < t->numel; i++) {
                mean += x[i];
                mx = fmax(mx, fabs(x[i]));
            }
            mean /= t->numel;
            for (size_t i = 0; i < t->numel; i++) var += (x[i] - mean) * (x[i] - mean);
            var /= t->numel;
            /* standard errors of a uniform sample: mean b/sqrt(3n), variance ~ 0.9 b^2 / (3 sqrt(n)) */
            const double n = (double)t->numel, se_mean = b / sqrt(3.0 * n), se_var = 0.9 * b * b / (3.0 * sqrt(n));
            tm_check(mx <= b && mx > 0.9 * b && fabs(mean) < 5 * se_mean && fabs(var - b * b / 3.0) < 5 * se_var,
                     "%s %-40s U(+-%.4f): max|x| %.4f mean %+.4f var/(b^2/3) %.3f", an, t->name, b, mx, mean,
                     var / (b * b / 3.0));
        }
        free(p);
        free(p2);
        t6_model_destroy(m);
        t6_backend_destroy(be);
    }
}

static void test_initial_loss(void)
{
    t6_model_config c = tm_tiny_config(T6_ATTN_TPA);
    c.n_embd = 32;
    c.n_head = 4;
    c.head_dim = 16;
    c.vocab_size = 1024;
    c.block_size = 64;
    c.mlp_hidden = 8 * c.n_embd / 3;
    t6_backend *be = tm_cpu_backend(0);
    const int B = 8, T = 64, N = B * T;
    t6_model *m = t6_model_create(&c, be, B, T);
    int32_t *x = t6_malloc(sizeof(int32_t) * N), *y = t6_malloc(sizeof(int32_t) * N);
    double mean = 0.0;
    const int reps = 4;
    for (int r = 0; r < reps; r++) {
        t6_model_init_params(m, 100 + r);
        tm_random_tokens(x, N, c.vocab_size, 200 + r, 1);
        tm_random_tokens(y, N, c.vocab_size, 200 + r, 2);
        mean += t6_model_forward(m, x, y, 0, 0.0f) / reps;
    }
    const double lnv = log((double)c.vocab_size);
    const double pred = log(exp(sqrt(c.n_embd / 3.0)) + (c.vocab_size - 1) * exp(1.0 / 6.0));
    tm_check(fabs(mean - pred) < 0.05 && mean > lnv && mean < lnv + 0.5,
             "initial loss on random tokens %.4f: ln V = %.4f, predicted from the init %.4f", mean, lnv, pred);
    free(x);
    free(y);
    t6_model_destroy(m);
    t6_backend_destroy(be);
}

int main(void)
{
    test_counts();
    test_init();
    test_initial_loss();
    return tm_finish("init");
}
