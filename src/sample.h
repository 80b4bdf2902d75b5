/* sample.h -- choosing the next token from a row of logits (doc/generate.md):
 * greedy (temperature 0), or sampling at a temperature from the top-k / top-p
 * (nucleus) set, with a uniform number the caller draws from its RNG stream so that
 * a prompt's text depends only on the seed and the prompt's index. */
#ifndef T6_SAMPLE_H
#define T6_SAMPLE_H

typedef struct {
    double temperature;   /* 0 = greedy */
    int top_k;            /* 0 = all tokens */
    double top_p;         /* 1 = all tokens */
} t6_sampler;

/* The next token among ids 0..n_valid-1 of logits (n_valid <= the row's length: ids a
 * tokenizer cannot print, e.g. GPT-2's vocabulary padding, never win). u in [0, 1).
 * Greedy picks the lowest id among equal maxima. Deterministic for given inputs. */
int t6_sample_token(const t6_sampler *s, const float *logits, int n_valid, double u);

#endif
