/* decode_bench.c -- decode attention of one new token against a cache of M tokens, the
 * paper's Figure 5 setting: d_model 2048, 32 heads, d_h 64, (R_Q, R_K, R_V) = (16, 1, 1),
 * bf16. For B in {1, 8, 16} and M = 2^12 .. 2^19 it times, through the backend's ops
 * table, FlashTPA (decode_attention_tpa over the factor cache), MHA (32 KV heads) and
 * GQA (4 KV heads) (decode_attention_kv), and separately the forming of the TPA query
 * from its factors (rope_fwd_pos on B_Q, then tpa_product_fwd with R_Q = 16), which the
 * TPA attention time does NOT include. MLA (decode_attention_mla, the absorbed form over
 * its latent cache) at the same d_model and heads with DeepSeek-V2's latent sizes,
 * d_c = 512 and d_R = 64 (the paper states no MLA configuration for Figure 5): 1152 B
 * per token; its time does not include the absorption GEMMs around it (W_UK^T into the
 * query, W_UV after), which are per-token and independent of M.
 *
 * Timing as triton.testing.do_bench does it: before every call a 256 MB buffer is
 * zeroed (L2 flushed: the cache is read from HBM, as in a model with many layers), CUDA
 * events around the call alone, median over the repetitions (about 100 ms' worth, 10 to
 * 300). Every row of the cache is full (lens = M). "GB/s" is the cache bytes the method
 * must read over the median time: TPA 2(R_K + R_V)(h + d_h) = 384 B per token, MHA
 * 2*2*32*64 = 8192 B, GQA 1024 B.
 *
 * Every TPA/GQA/MHA line also names the path the kernel took (path=split+combine,
 * fused, generic+combine) and its launch (blocks= per row, warps= per block, chunk=
 * tokens per warp).
 *
 * Usage: decode_bench [table|tune|sweep|graph] [methods]
 *   table  (default) the whole grid; one "RESULT method=... B=... M=... us=... GBps=..."
 *          line per point (bench/gpu/decode-compare.sh reads them)
 *   tune   FlashTPA at B=8 M=256K, B=1 M=4K and B=16 M=512K over split sizes
 *          (T6_DECODE_CHUNK; chunk=0 is the kernel's own choice)
 *   sweep  the kernel variants (kernels/decode.cu's T6_DECODE_* knobs: warps per
 *          block, cp.async ring stages, fused combine, fewest tokens per warp, L2
 *          prefetch distance) at nine shapes, FlashTPA, and GQA/MHA at two; lines end
 *          in variant=NAME
 *   graph  what a generation step pays per layer: L = 32 layers' FlashTPA calls, each
 *          layer over its own cache (slices of the big one, so every read is from
 *          HBM), recorded once into a CUDA graph (the backend's graph ops, as the
 *          model's decode step uses them) and replayed, the L2 flushed before each
 *          replay; us= is the replay's median time / L. method=tpa_graph: the decode
 *          attention (split kernel + combine) alone; tpa_graph_q: with q formed from
 *          its factors first (rope_fwd_pos on B_Q, tpa_product_fwd), as the model's
 *          step issues them. Shapes with L*B*M <= 16 * 2^19 tokens.
 *   methods: comma list of tpa, mha, gqa, mla, q (default all; graph: tpa) */
#include "config.h"

#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "profile.h"
#include "util.h"

#define H 32
#define DH 64
#define RQ 16
#define GQA_G 4
#define BMAX 16
#define MMAX (1 << 19)
#define MLA_DC 512
#define MLA_DR 64

#define CK(call)                                                                            \
    do {                                                                                    \
        cudaError_t e_ = (call);                                                            \
        if (e_ != cudaSuccess) t6_fatal("%s:%d: %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
    } while (0)

typedef struct {
    t6_backend *be;
    cudaStream_t st;
    void *flush;
    size_t flush_bytes;
    /* TPA factor cache at the largest shape, reinterpreted for smaller M (B, M, R, .) */
    void *ak, *bk, *av, *bv;
    void *k, *v;                 /* K/V cache, sized for MHA (32 heads); GQA uses a prefix */
    void *q, *out, *aq, *bq;
    void *mla, *mq, *mout;       /* MLA latent cache (B, M, d_c + d_R), queries, latent outputs */
    int32_t *lens, *pos;
} bench;

typedef enum { M_TPA, M_MHA, M_GQA, M_QFORM, M_MLA, M_N } method;
static const char *mname[] = {"tpa", "mha", "gqa", "tpa_qform", "mla"};

static uint64_t g_rng = 0x243f6a8885a308d3ull;
static float urand(void)
{
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* n act elements: 16M random values, then doubling device copies (the period, 32 MB,
 * is far beyond any reuse inside one call) */
static void fill(bench *b, void *d, size_t n, float scale)
{
    const size_t P = (size_t)1 << 24;
    size_t first = n < P ? n : P;
    float *h = t6_malloc(first * sizeof(float));
    for (size_t i = 0; i < first; i++) h[i] = urand() * scale;
    b->be->ops->act_from_float(b->be, d, h, first);
    free(h);
    b->be->ops->sync(b->be);
    for (size_t done = first; done < n;) {
        size_t c = done < n - done ? done : n - done;
        CK(cudaMemcpyAsync((char *)d + done * 2, d, c * 2, cudaMemcpyDeviceToDevice, b->st));
        done += c;
    }
    CK(cudaStreamSynchronize(b->st));
}

static void *dalloc(bench *b, size_t bytes) { return b->be->ops->alloc(b->be, bytes); }

static void call(bench *b, method m, int B, int M)
{
    t6_backend *be = b->be;
    switch (m) {
    case M_TPA:
        be->ops->decode_attention_tpa(be, b->out, b->q, b->ak, b->bk, b->av, b->bv, b->lens, B, M, H, 1, 1, DH);
        break;
    case M_MHA: be->ops->decode_attention_kv(be, b->out, b->q, b->k, b->v, b->lens, B, M, H, H, DH); break;
    case M_GQA: be->ops->decode_attention_kv(be, b->out, b->q, b->k, b->v, b->lens, B, M, H, GQA_G, DH); break;
    case M_QFORM:
        be->ops->rope_fwd_pos(be, b->bq, b->pos, B, RQ, DH, 10000.0);
        be->ops->tpa_product_fwd(be, b->q, b->aq, b->bq, B, H, RQ, DH);
        break;
    case M_MLA:
        be->ops->decode_attention_mla(be, b->mout, b->mq, b->mla, b->lens, B, M, H, MLA_DC, MLA_DR,
                                      1.0f / sqrtf((float)(DH + MLA_DR)));
        break;
    default: break;
    }
}

static int cmp_f(const void *x, const void *y)
{
    float a = *(const float *)x, c = *(const float *)y;
    return a < c ? -1 : a > c;
}

/* median microseconds of one call, L2 flushed before each */
static double time_call(bench *b, method m, int B, int M)
{
    int32_t *hl = t6_malloc(BMAX * sizeof(int32_t));
    for (int i = 0; i < BMAX; i++) hl[i] = M;
    b->be->ops->to_device(b->be, b->lens, hl, BMAX * sizeof(int32_t));
    free(hl);
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (int i = 0; i < 3; i++) call(b, m, B, M);
    CK(cudaEventRecord(e0, b->st));
    for (int i = 0; i < 5; i++) call(b, m, B, M);
    CK(cudaEventRecord(e1, b->st));
    CK(cudaEventSynchronize(e1));
    float est = 0.0f;
    CK(cudaEventElapsedTime(&est, e0, e1));
    est /= 5.0f;
    int reps = est > 0.0f ? (int)(100.0f / est) : 300;
    if (reps < 10) reps = 10;
    if (reps > 300) reps = 300;
    cudaEvent_t *ev = t6_malloc(2 * (size_t)reps * sizeof(cudaEvent_t));
    for (int i = 0; i < 2 * reps; i++) CK(cudaEventCreate(&ev[i]));
    for (int i = 0; i < reps; i++) {
        CK(cudaMemsetAsync(b->flush, 0, b->flush_bytes, b->st));
        CK(cudaEventRecord(ev[2 * i], b->st));
        call(b, m, B, M);
        CK(cudaEventRecord(ev[2 * i + 1], b->st));
    }
    CK(cudaStreamSynchronize(b->st));
    float *t = t6_malloc((size_t)reps * sizeof(float));
    for (int i = 0; i < reps; i++) CK(cudaEventElapsedTime(&t[i], ev[2 * i], ev[2 * i + 1]));
    qsort(t, reps, sizeof(float), cmp_f);
    double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    for (int i = 0; i < 2 * reps; i++) CK(cudaEventDestroy(ev[i]));
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    free(ev);
    free(t);
    return med * 1000.0;
}

static double bytes_read(method m, int B, int M)
{
    double per = m == M_TPA ? 2.0 * 2 * (H + DH) : m == M_MHA ? 2.0 * 2 * H * DH : m == M_GQA ? 2.0 * 2 * GQA_G * DH
               : m == M_MLA ? 2.0 * (MLA_DC + MLA_DR) : 0.0;
    if (m == M_QFORM) return 2.0 * B * (H * RQ + RQ * DH);
    return per * B * M;
}

/* (time_call's last call is the point's: the path is that call's) */
static void report(bench *b, method m, int B, int M, double us, const char *extra)
{
    double by = bytes_read(m, B, M);
    char path[96] = "";
    if (m == M_TPA || m == M_MHA || m == M_GQA) {
        int g[3];
        const char *p = t6_cuda_decode_path(b->be, g);
        snprintf(path, sizeof path, " path=%s blocks=%d warps=%d chunk=%d", p, g[0], g[1], g[2]);
    }
    printf("RESULT method=%s B=%d M=%d us=%.2f GBps=%.1f%s%s\n", mname[m], B, M, us, by / us / 1e3, extra ? extra : "",
           path);
    fflush(stdout);
}

/* The variants of the sweep: values of the kernel's knobs (empty: its default). */
static const struct {
    const char *name, *warps, *stages, *fuse, *minchunk, *prefetch;
} variants[] = {
    {"default", "", "", "", "", ""},
    {"legacy", "1", "0", "0", "64", "0"},   /* one-warp blocks: the kernel before blocks merged */
    {"merge_regs", "", "0", "0", "", "0"},  /* the default of the 2026-12-01 sweep (no L2 prefetch) */
    {"pf1", "", "0", "0", "", "1"},         /* L2 prefetch 1, 2, 4 tiles ahead of the registers */
    {"pf2", "", "0", "0", "", "2"},
    {"pf4", "", "0", "0", "", "4"},
    {"pf2_w1", "1", "0", "0", "64", "2"},
    {"ring3", "", "3", "", "", ""},
    {"ring2", "", "2", "", "", ""},
    {"ring4", "", "4", "", "", ""},
    {"ring3_w1", "1", "3", "0", "64", ""},
    {"ring3_w3", "3", "3", "", "", ""},
    {"ring3_fuse16_min32", "", "3", "16", "32", ""},
};

static void set_knob(const char *name, const char *v)
{
    if (*v) setenv(name, v, 1);
    else unsetenv(name);
}

/* ---- graph mode ---- */
#define GL 32                          /* layers of a step */

/* layer l's view of the TPA cache: the slice of B*M tokens from l*B*M */
static void graph_layer_call(bench *b, int l, int B, int M, int with_q)
{
    t6_backend *be = b->be;
    const size_t off = (size_t)l * B * M;
    if (with_q) {
        be->ops->rope_fwd_pos(be, b->bq, b->pos, B, RQ, DH, 10000.0);
        be->ops->tpa_product_fwd(be, b->q, b->aq, b->bq, B, H, RQ, DH);
    }
    be->ops->decode_attention_tpa(be, b->out, b->q, (char *)b->ak + off * H * 2, (char *)b->bk + off * DH * 2,
                                  (char *)b->av + off * H * 2, (char *)b->bv + off * DH * 2, b->lens, B, M, H, 1, 1, DH);
}

static void graph_point(bench *b, int B, int M, int with_q)
{
    t6_backend *be = b->be;
    int32_t hl[BMAX];
    for (int i = 0; i < BMAX; i++) hl[i] = M;
    be->ops->to_device(be, b->lens, hl, sizeof hl);
    for (int i = 0; i < BMAX; i++) hl[i] = M - 1;     /* the new token's position */
    be->ops->to_device(be, b->pos, hl, sizeof hl);
    for (int l = 0; l < GL; l++) graph_layer_call(b, l, B, M, with_q);   /* sizes the scratch */
    be->ops->sync(be);
    if (!be->ops->graph_begin(be)) t6_fatal("decode_bench graph: the backend cannot record graphs");
    for (int l = 0; l < GL; l++) graph_layer_call(b, l, B, M, with_q);
    void *g = be->ops->graph_end(be);
    if (!g) t6_fatal("decode_bench graph: recording B=%d M=%d failed", B, M);
    for (int i = 0; i < 3; i++)
        if (be->ops->graph_launch(be, g) < 0) t6_fatal("decode_bench graph: the graph is stale (the scratch grew)");
    const int reps = 50;
    cudaEvent_t ev[2 * 50];
    for (int i = 0; i < 2 * reps; i++) CK(cudaEventCreate(&ev[i]));
    for (int i = 0; i < reps; i++) {
        CK(cudaMemsetAsync(b->flush, 0, b->flush_bytes, b->st));
        CK(cudaEventRecord(ev[2 * i], b->st));
        if (be->ops->graph_launch(be, g) < 0) t6_fatal("decode_bench graph: the graph is stale (the scratch grew)");
        CK(cudaEventRecord(ev[2 * i + 1], b->st));
    }
    CK(cudaStreamSynchronize(b->st));
    float t[50];
    for (int i = 0; i < reps; i++) CK(cudaEventElapsedTime(&t[i], ev[2 * i], ev[2 * i + 1]));
    qsort(t, reps, sizeof(float), cmp_f);
    const double total = 0.5 * (t[reps / 2 - 1] + t[reps / 2]) * 1000.0, us = total / GL;
    for (int i = 0; i < 2 * reps; i++) CK(cudaEventDestroy(ev[i]));
    be->ops->graph_free(be, g);
    int gr[3];
    const char *p = t6_cuda_decode_path(be, gr);
    printf("RESULT method=%s B=%d M=%d us=%.2f GBps=%.1f layers=%d total_us=%.1f path=%s blocks=%d warps=%d chunk=%d\n",
           with_q ? "tpa_graph_q" : "tpa_graph", B, M, us, bytes_read(M_TPA, B, M) / us / 1e3, GL, total, p, gr[0], gr[1],
           gr[2]);
    fflush(stdout);
}

static void graph_mode(bench *b)
{
    const int shapes[][2] = {{1, 1 << 12}, {1, 1 << 14}, {1, 1 << 16}, {1, 1 << 18},
                             {8, 1 << 12}, {8, 1 << 15}, {16, 1 << 12}, {16, 1 << 14}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        if ((size_t)GL * shapes[s][0] * shapes[s][1] > (size_t)BMAX * MMAX) continue;
        for (int q = 0; q <= 1; q++) graph_point(b, shapes[s][0], shapes[s][1], q);
    }
}

static void sweep(bench *b, const int *want)
{
    const int shapes[][2] = {{1, 1 << 12}, {8, 1 << 12}, {16, 1 << 12}, {1, 1 << 16}, {8, 1 << 16},
                             {1, 1 << 18}, {8, 1 << 18}, {16, 1 << 18}, {16, 1 << 19}};
    const int kv[][2] = {{1, 1 << 12}, {8, 1 << 18}};
    char extra[80];
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        set_knob("T6_DECODE_WARPS", variants[v].warps);
        set_knob("T6_DECODE_STAGES", variants[v].stages);
        set_knob("T6_DECODE_FUSE", variants[v].fuse);
        set_knob("T6_DECODE_MINCHUNK", variants[v].minchunk);
        set_knob("T6_DECODE_PREFETCH", variants[v].prefetch);
        snprintf(extra, sizeof extra, " variant=%s", variants[v].name);
        if (want[M_TPA])
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
                report(b, M_TPA, shapes[s][0], shapes[s][1], time_call(b, M_TPA, shapes[s][0], shapes[s][1]), extra);
        if (v > 5) continue;                   /* the ring is TPA's: GQA/MHA only default .. pf4 */
        for (int m = M_MHA; m <= M_GQA; m++)
            if (want[m])
                for (size_t s = 0; s < sizeof kv / sizeof *kv; s++)
                    report(b, (method)m, kv[s][0], kv[s][1], time_call(b, (method)m, kv[s][0], kv[s][1]), extra);
    }
    set_knob("T6_DECODE_WARPS", "");
    set_knob("T6_DECODE_STAGES", "");
    set_knob("T6_DECODE_FUSE", "");
    set_knob("T6_DECODE_MINCHUNK", "");
    set_knob("T6_DECODE_PREFETCH", "");
}

int main(int argc, char **argv)
{
    t6_set_progname("decode_bench");
    const char *mode = argc > 1 ? argv[1] : "table";
    const char *which = argc > 2 ? argv[2] : !strcmp(mode, "graph") ? "tpa" : "tpa,mha,gqa,mla,q";
    if (strcmp(mode, "table") && strcmp(mode, "tune") && strcmp(mode, "sweep") && strcmp(mode, "graph"))
        t6_fatal_hint("decode_bench [table|tune|sweep|graph] [tpa,mha,gqa,mla,q]", "unknown mode '%s'", mode);
    if (!strcmp(mode, "graph") && argc > 2 && strcmp(which, "tpa"))
        t6_fatal_hint("decode_bench graph [tpa]", "graph mode times FlashTPA only, not '%s'", which);
    int want[M_N] = {0};
    char *list = t6_strdup(which);
    for (char *tk = strtok(list, ","); tk; tk = strtok(NULL, ",")) {
        if (!strcmp(tk, "tpa")) want[M_TPA] = 1;
        else if (!strcmp(tk, "mha")) want[M_MHA] = 1;
        else if (!strcmp(tk, "gqa")) want[M_GQA] = 1;
        else if (!strcmp(tk, "q")) want[M_QFORM] = 1;
        else if (!strcmp(tk, "mla")) want[M_MLA] = 1;
        else t6_fatal_hint("methods: a comma list of tpa, mha, gqa, mla, q", "unknown method '%s'", tk);
    }
    free(list);

    t6_backend_config bc = {T6_BACKEND_CUDA, T6_PREC_BF16, 0};
    bench b;
    memset(&b, 0, sizeof b);
    b.be = t6_backend_create(&bc, 0);
    b.st = (cudaStream_t)t6_cuda_stream(b.be);
    struct cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, b.be->device_index));
    printf("device: %s, %d SMs, L2 %d MB, %.0f GB\n", prop.name, prop.multiProcessorCount,
           prop.l2CacheSize >> 20, prop.totalGlobalMem / 1e9);
    b.flush_bytes = (size_t)256 << 20;
    CK(cudaMalloc(&b.flush, b.flush_bytes));

    const size_t tok = (size_t)BMAX * MMAX;
    b.ak = dalloc(&b, tok * H * 2); b.av = dalloc(&b, tok * H * 2);
    b.bk = dalloc(&b, tok * DH * 2); b.bv = dalloc(&b, tok * DH * 2);
    fill(&b, b.ak, tok * H, 1.0f); fill(&b, b.av, tok * H, 1.0f);
    fill(&b, b.bk, tok * DH, 1.0f); fill(&b, b.bv, tok * DH, 1.0f);
    size_t kvn = (size_t)BMAX * MMAX * (want[1] ? H : GQA_G) * DH;
    if (want[1] || want[2]) {
        b.k = dalloc(&b, kvn * 2); b.v = dalloc(&b, kvn * 2);
        fill(&b, b.k, kvn, 1.0f); fill(&b, b.v, kvn, 1.0f);
    }
    b.q = dalloc(&b, (size_t)BMAX * H * DH * 2); b.out = dalloc(&b, (size_t)BMAX * H * DH * 2);
    b.aq = dalloc(&b, (size_t)BMAX * H * RQ * 2); b.bq = dalloc(&b, (size_t)BMAX * RQ * DH * 2);
    fill(&b, b.q, (size_t)BMAX * H * DH, 1.5f);
    fill(&b, b.aq, (size_t)BMAX * H * RQ, 1.0f); fill(&b, b.bq, (size_t)BMAX * RQ * DH, 1.0f);
    if (want[M_MLA]) {
        const size_t nm = (size_t)BMAX * MMAX * (MLA_DC + MLA_DR);
        b.mla = dalloc(&b, nm * 2);
        fill(&b, b.mla, nm, 1.0f);
        b.mq = dalloc(&b, (size_t)BMAX * H * (MLA_DC + MLA_DR) * 2);
        b.mout = dalloc(&b, (size_t)BMAX * H * MLA_DC * 2);
        fill(&b, b.mq, (size_t)BMAX * H * (MLA_DC + MLA_DR), 0.1f);
    }
    b.lens = dalloc(&b, BMAX * sizeof(int32_t));
    b.pos = dalloc(&b, BMAX * sizeof(int32_t));
    printf("caches filled; device memory in use %.1f GB\n", t6_cuda_mem_used(b.be) / 1e9);

    const int Bs[3] = {1, 8, 16};
    if (!strcmp(mode, "tune")) {
        const int shapes[3][2] = {{8, 1 << 18}, {1, 1 << 12}, {16, 1 << 19}};
        const int chunks[] = {0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
        char extra[64];
        for (int s = 0; s < 3; s++)
            for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
                char v[16];
                snprintf(v, sizeof v, "%d", chunks[c]);
                setenv("T6_DECODE_CHUNK", v, 1);
                snprintf(extra, sizeof extra, " chunk=%d", chunks[c]);
                report(&b, M_TPA, shapes[s][0], shapes[s][1], time_call(&b, M_TPA, shapes[s][0], shapes[s][1]), extra);
            }
        unsetenv("T6_DECODE_CHUNK");
    } else if (!strcmp(mode, "sweep")) {
        sweep(&b, want);
    } else if (!strcmp(mode, "graph")) {
        graph_mode(&b);
    } else {
        for (int m = 0; m < M_N; m++) {
            if (!want[m]) continue;
            for (int bi = 0; bi < 3; bi++)
                for (int lm = 12; lm <= 19; lm++) {
                    if (m == M_QFORM && lm > 12) break;      /* independent of M */
                    report(&b, (method)m, Bs[bi], 1 << lm, time_call(&b, (method)m, Bs[bi], 1 << lm), NULL);
                }
        }
    }
    CK(cudaFree(b.flush));
    void *bufs[] = {b.ak, b.av, b.bk, b.bv, b.k, b.v, b.q, b.out, b.aq, b.bq, b.lens, b.pos, b.mla, b.mq, b.mout};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (bufs[i]) b.be->ops->free(b.be, bufs[i]);
    t6_backend_destroy(b.be);
    return 0;
}
