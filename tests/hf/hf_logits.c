/* hf_logits.c -- t6's logits for given token sequences, from a Hugging Face export or a
 * checkpoint: what tests/gpu/hf_reference_check.py compares with the reference PyTorch
 * model, and what export.sh uses to show that an fp32 export computes exactly what its
 * checkpoint computes.
 *   hf_logits SOURCE TOKENS OUT [cpu|cuda]
 * SOURCE: hf:DIR or a t6 checkpoint file (the model config comes from it). TOKENS: a
 * text file, one sequence per line, every line the same number T of token ids. OUT:
 * the logits, B x T x V little-endian float32 (V = the padded vocab_size). Prints
 * "logits B T V" on success. cuda runs the bf16 CUDA backend (CUDA builds only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "ckpt.h"
#include "hf.h"
#include "model.h"
#include "util.h"

/* Reads TOKENS: *B lines of *T ids each. */
static int32_t *read_tokens(const char *path, int *B, int *T, int vocab)
{
    FILE *f = fopen(path, "r");
    if (!f) t6_fatal("cannot open token file '%s'", path);
    int32_t *tok = NULL;
    size_t n = 0, cap = 0;
    int b = 0, t = -1, line = 0;
    char buf[1 << 16];
    while (fgets(buf, sizeof buf, f)) {
        line++;
        if (!strchr(buf, '\n') && !feof(f)) t6_fatal("%s:%d: line longer than %zu bytes", path, line, sizeof buf);
        int cnt = 0;
        char *s = buf, *end;
        for (;;) {
            long v = strtol(s, &end, 10);
            if (end == s) break;
            if (v < 0 || v >= vocab) t6_fatal("%s:%d: token %ld outside 0..%d", path, line, v, vocab - 1);
            if (n == cap) tok = t6_realloc(tok, (cap = cap ? 2 * cap : 4096) * sizeof *tok);
            tok[n++] = (int32_t)v;
            cnt++;
            s = end;
        }
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
        if (*s) t6_fatal("%s:%d: not a token id: '%.20s'", path, line, s);
        if (cnt == 0) continue;
        if (t >= 0 && cnt != t) t6_fatal("%s:%d: %d tokens, the first line has %d", path, line, cnt, t);
        t = cnt;
        b++;
    }
    fclose(f);
    if (b == 0) t6_fatal("'%s' holds no token sequence", path);
    *B = b;
    *T = t;
    return tok;
}

int main(int argc, char **argv)
{
    t6_set_progname("hf_logits");
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: hf_logits hf:DIR|CHECKPOINT TOKENS OUT [cpu|cuda]\n");
        return 2;
    }
    const char *src = argv[1];
    char err[4096];
    t6_model_config cfg;
    int rc = strncmp(src, "hf:", 3) == 0 ? t6_hf_read_config(src + 3, &cfg, err, sizeof err)
                                          : t6_ckpt_read_config(src, &cfg, err, sizeof err);
    if (rc) t6_fatal("%s", err);
    int B, T;
    int32_t *tok = read_tokens(argv[2], &B, &T, cfg.vocab_size);
    if (T > cfg.block_size) t6_fatal("sequences of %d tokens exceed block_size %d", T, cfg.block_size);

    t6_backend_config bc;
    memset(&bc, 0, sizeof bc);
    bc.device = argc == 5 && strcmp(argv[4], "cuda") == 0 ? T6_BACKEND_CUDA : T6_BACKEND_CPU;
    bc.precision = bc.device == T6_BACKEND_CUDA ? T6_PREC_BF16 : T6_PREC_FP32;
    t6_backend *be = t6_backend_create(&bc, 0);
    t6_model *m = t6_model_create(&cfg, be, B, T);
    const t6_param_layout *pl = t6_model_layout(m);
    float *p = t6_malloc(pl->n_params * sizeof(float));
    if (t6_init_from(src, &cfg, pl, p, err, sizeof err) != 0) t6_fatal("%s", err);
    t6_model_set_params(m, p);
    t6_model_forward(m, tok, NULL, 0, 0.0f);
    size_t nl = (size_t)B * (size_t)T * (size_t)cfg.vocab_size;
    float *logits = t6_malloc(nl * sizeof(float));
    t6_model_get_logits(m, logits);
    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(logits, sizeof(float), nl, f) != nl || fclose(f) != 0) t6_fatal("cannot write '%s'", argv[3]);
    printf("logits %d %d %d\n", B, T, cfg.vocab_size);
    free(logits);
    free(p);
    free(tok);
    t6_model_destroy(m);
    t6_backend_destroy(be);
    return 0;
}
