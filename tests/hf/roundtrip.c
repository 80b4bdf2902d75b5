/* roundtrip.c -- unit tests of src/hf.c and src/safetensors.c without the t6 binary:
 * for every attention type, export -> t6_hf_read_config gives back the model config,
 * export (fp32) -> t6_hf_load gives back the parameters bit for bit (values chosen to
 * include -0, subnormals, infinities, NaN payloads), export (bf16) -> load gives the
 * round-to-nearest-even bf16 value of each parameter, computed here independently by
 * comparing the two bf16 neighbours in double precision; and a deck model that differs
 * from config.json in one field is refused with a message naming that field.
 *   roundtrip SCRATCH_DIR */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hf.h"
#include "params.h"
#include "safetensors.h"
#include "util.h"

static int fails = 0, checks = 0;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } } while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next32(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Parameter values: mostly ordinary weights, plus the special cases every 97th value,
 * and exact bf16 ties (low half 0x8000) to exercise ties-to-even. */
static void fill(float *p, size_t n)
{
    static const uint32_t special[] = {0x80000000u, 0x00000001u, 0x007fffffu, 0x7f800000u, 0xff800000u,
                                       0x7fc00001u, 0x7f7fffffu, 0x3f808000u, 0x3f818000u, 0xbf7f8000u};
    for (size_t i = 0; i < n; i++) {
        if (i % 97 == 0) p[i] = from_bits(special[(i / 97) % (sizeof special / sizeof special[0])]);
        else if (i % 13 == 0) p[i] = from_bits((next32() & 0xffff0000u) | 0x8000u);
        else p[i] = ((float)(next32() % 2000001u) - 1000000.0f) * 1e-7f;
    }
}

/* Round-to-nearest-even to bf16, done differently from src/: the two candidates
 * (truncation and the next bf16 up in magnitude) compared by distance in double. */
static uint32_t bf16_ref(float x)
{
    uint32_t u = bits(x);
    if (isnan(x)) return 0xffffffffu;   /* any NaN: compared by isnan below */
    uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;
    if (isinf(x)) return u;
    /* hi may be an infinity: then it stands for +-2^128, the next value of the binade */
    double vh = isinf(from_bits(hi)) ? copysign(ldexp(1.0, 128), (double)x) : (double)from_bits(hi);
    double dl = fabs((double)from_bits(lo) - (double)x), dh = fabs(vh - (double)x);
    if (dl < dh) return lo;
    if (dh < dl) return hi;
    return ((lo >> 16) & 1u) ? hi : lo;
}

static t6_model_config base_config(t6_attn_type a)
{
    t6_model_config c;
    memset(&c, 0, sizeof c);
    c.attention = a;
    c.n_layer = 2;
    c.n_embd = 48;
    c.n_head = a == T6_ATTN_MHA ? 6 : 4;
    c.head_dim = a == T6_ATTN_MHA ? 8 : 16;
    c.q_rank = 6;
    c.k_rank = 2;
    c.v_rank = a == T6_ATTN_TPA_KVONLY ? 3 : 2;   /* kvonly: differing ranks round-trip through t6's keys */
    c.n_kv_head = a == T6_ATTN_MQA ? 1 : a == T6_ATTN_GQA ? 2 : c.n_head;
    c.vocab_size = 300;
    c.block_size = 64;
    c.mlp_hidden = (8 * c.n_embd) / 3;
    c.rope_base = 10000.0;
    /* MLA: latents 24/20, rope part 8, values 12 (padded to 16 + 8 inside t6) */
    c.q_lora_rank = 24;
    c.kv_lora_rank = 20;
    c.qk_rope_head_dim = 8;
    c.v_head_dim = 12;
    return c;
}

static int same_config(const t6_model_config *a, const t6_model_config *b)
{
    int tpa = a->attention == T6_ATTN_TPA || a->attention == T6_ATTN_TPA_KVONLY;
    return a->attention == b->attention && a->n_layer == b->n_layer && a->n_embd == b->n_embd &&
           a->n_head == b->n_head && a->head_dim == b->head_dim &&
           (a->attention != T6_ATTN_TPA || a->q_rank == b->q_rank) &&
           (!tpa || (a->k_rank == b->k_rank && a->v_rank == b->v_rank)) && a->n_kv_head == b->n_kv_head &&
           a->vocab_size == b->vocab_size && a->block_size == b->block_size && a->mlp_hidden == b->mlp_hidden &&
           a->rope_base == b->rope_base &&
           (a->attention != T6_ATTN_MLA || (a->q_lora_rank == b->q_lora_rank && a->kv_lora_rank == b->kv_lora_rank &&
                                             a->qk_rope_head_dim == b->qk_rope_head_dim &&
                                             a->v_head_dim == b->v_head_dim));
}

static void test_type(const char *scratch, t6_attn_type a)
{
    const char *an = t6_attn_name(a);
    t6_model_config c = base_config(a);
    t6_param_layout pl;
    t6_param_layout_init(&pl, &c);
    size_t n = pl.n_params;
    float *p = t6_malloc(n * sizeof(float)), *q = t6_malloc(n * sizeof(float));
    fill(p, n);
    char dir[4096], err[2048];

    for (int dt = 0; dt < 2; dt++) {
        snprintf(dir, sizeof dir, "%s/%s-%s", scratch, an, dt ? "bf16" : "fp32");
        t6_hf_export_opts o = {dt ? T6_HF_BF16 : T6_HF_FP32, NULL, "roundtrip.c"};
        int rc = t6_hf_export(dir, &c, &pl, p, &o, err, sizeof err);
        CHECK(rc == 0, "%s: export to %s: %s", an, dir, err);
        if (rc) continue;
        t6_model_config back;
        rc = t6_hf_read_config(dir, &back, err, sizeof err);
        CHECK(rc == 0 && same_config(&c, &back), "%s: config.json does not give back the model config (%s)", an,
              rc ? err : "fields differ");
        memset(q, 0x55, n * sizeof(float));
        rc = t6_hf_load(dir, &c, &pl, q, err, sizeof err);
        CHECK(rc == 0, "%s/%s: load: %s", an, dt ? "bf16" : "fp32", err);
        if (rc) continue;
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < n; i++) {
            int ok;
            if (!dt) ok = bits(q[i]) == bits(p[i]);
            else if (isnan(p[i])) ok = isnan(q[i]);
            else ok = bits(q[i]) == bf16_ref(p[i]);
            if (!ok && bad++ == 0) first = i;
        }
        CHECK(bad == 0, "%s/%s: %zu of %zu parameters differ, first at %zu: %08x -> %08x", an, dt ? "bf16" : "fp32", bad,
              n, first, bits(p[first]), bits(q[first]));
    }

    /* config.json with only the reference's GPTConfig keys (as the reference itself
     * would save it): the type comes from group_size or the tensor names */
    if (c.k_rank == c.v_rank) {
        char cj[4200];
        snprintf(dir, sizeof dir, "%s/%s-fp32", scratch, an);
        snprintf(cj, sizeof cj, "%s/config.json", dir);
        json_t *j = json_load_file(cj, 0, NULL);
        const char *own[] = {"t6_attention", "k_rank", "v_rank", "n_kv_head", "mlp_hidden", "rope_base"};
        for (size_t i = 0; j && i < sizeof own / sizeof own[0]; i++) json_object_del(j, own[i]);
        snprintf(dir, sizeof dir, "%s/%s-refkeys", scratch, an);
        char cmd[8600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/%s-fp32' '%s'", dir, scratch, an, dir);
        int ok = j && system(cmd) == 0;
        snprintf(cj, sizeof cj, "%s/config.json", dir);
        ok = ok && json_dump_file(j, cj, JSON_INDENT(1)) == 0;
        json_decref(j);
        t6_model_config back;
        ok = ok && t6_hf_read_config(dir, &back, err, sizeof err) == 0;
        CHECK(ok && same_config(&c, &back), "%s: config.json with the reference's keys only does not give the model "
              "config back (%s)", an, ok ? "fields differ" : err);
    }

    /* one field off at a time: the message names it */
    snprintf(dir, sizeof dir, "%s/%s-fp32", scratch, an);
    struct { const char *name; int *field; int delta; } F[] = {
        {"n_layer", &c.n_layer, 1}, {"vocab_size", &c.vocab_size, 4}, {"block_size", &c.block_size, 64},
        {"mlp_hidden", &c.mlp_hidden, 2}, {"n_head", &c.n_head, a == T6_ATTN_MHA ? 0 : 4},
    };
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
        if (!F[i].delta) continue;
        *F[i].field += F[i].delta;
        t6_param_layout pl2;
        t6_param_layout_init(&pl2, &c);
        float *r = t6_malloc(pl2.n_params * sizeof(float));
        err[0] = '\0';
        int rc = t6_hf_load(dir, &c, &pl2, r, err, sizeof err);
        CHECK(rc != 0 && strstr(err, F[i].name) && strstr(err, "config.json"),
              "%s: deck %s differing from config.json: rc %d, message '%s'", an, F[i].name, rc, err);
        free(r);
        t6_param_layout_free(&pl2);
        *F[i].field -= F[i].delta;
    }
    free(p);
    free(q);
    t6_param_layout_free(&pl);
}

static void test_bf16_helpers(void)
{
    /* fixed points of the rounding, checked against hand-worked values */
    CHECK(t6_f32_to_bf16(1.0f) == 0x3f80, "bf16(1.0) = %04x", t6_f32_to_bf16(1.0f));
    CHECK(t6_f32_to_bf16(from_bits(0x3f808000u)) == 0x3f80, "tie to even (down) gives %04x",
          t6_f32_to_bf16(from_bits(0x3f808000u)));
    CHECK(t6_f32_to_bf16(from_bits(0x3f818000u)) == 0x3f82, "tie to even (up) gives %04x",
          t6_f32_to_bf16(from_bits(0x3f818000u)));
    CHECK(t6_f32_to_bf16(from_bits(0x3f808001u)) == 0x3f81, "above the tie gives %04x",
          t6_f32_to_bf16(from_bits(0x3f808001u)));
    CHECK(isnan(t6_bf16_to_f32(t6_f32_to_bf16(from_bits(0x7f800001u)))), "a NaN with a low payload stays NaN");
    CHECK(t6_bf16_to_f32(0xc040) == -3.0f, "bf16 0xc040 = %g, want -3", t6_bf16_to_f32(0xc040));
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: roundtrip SCRATCH_DIR\n"); return 2; }
    t6_set_progname("roundtrip");
    test_bf16_helpers();
    for (int a = T6_ATTN_TPA; a <= T6_ATTN_MLA; a++) test_type(argv[1], (t6_attn_type)a);
    printf("%d checks, %d failed\n", checks, fails);
    return fails ? 1 : 0;
}
