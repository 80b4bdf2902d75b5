/* graph_steps.c -- the decode step's graph logic (decode_run in src/model.c, doc/generate.md
 * "CUDA graphs") without a GPU: the CPU backend with its graph_* slots replaced by fakes
 * that count calls (recording on the CPU runs the ops at once, so the fakes record
 * nothing; this test checks when the model records, replays and falls back, not the
 * numbers, which tests/gpu/gen_check.sh compares on the GPU):
 *  - after a prefill the first step runs unrecorded, the second is recorded and
 *    replayed, every later one replayed: S steps, 1 recording, S - 1 replays;
 *  - a replay refused as stale: the graph is freed, one unrecorded step, then recorded again;
 *  - a new prefill: the next step runs unrecorded and the one after is recorded again;
 *  - a recording that fails (graph_end NULL): no graphs for that cache from then on;
 *  - use_graphs off: the graph ops are never called. */
#include "../model/tmodel.h"

#include "kvcache.h"

static int n_begin, n_end, n_launch, n_free, stale, fail_end, recording;
static int f_begin(t6_backend *be) { (void)be; n_begin++; recording = 1; return 1; }
static void *f_end(t6_backend *be)
{
    (void)be;
    n_end++;
    recording = 0;
    return fail_end ? NULL : (void *)&n_end;
}
static int f_launch(t6_backend *be, void *g)
{
    (void)be; (void)g;
    if (stale) { stale = 0; return -1; }
    n_launch++;
    return 0;
}
static void f_free(t6_backend *be, void *g) { (void)be; (void)g; n_free++; }

static void counts(const char *what, int b, int e, int l, int f)
{
    tm_check(n_begin == b && n_end == e && n_launch == l && n_free == f,
             "%s: recordings %d/%d, ends %d/%d, replays %d/%d, frees %d/%d", what, n_begin, b, n_end, e, n_launch, l,
             n_free, f);
}

int main(void)
{
    const t6_model_config c = tm_tiny_config(T6_ATTN_TPA);
    t6_backend *be = tm_cpu_backend(1);
    static t6_ops fake;
    fake = *be->ops;
    fake.graph_begin = f_begin;
    fake.graph_end = f_end;
    fake.graph_launch = f_launch;
    fake.graph_free = f_free;
    be->ops = &fake;

    t6_model *m = t6_model_create_inference(&c, be, 1, 8, 1);
    float *host = t6_malloc(t6_model_layout(m)->n_params * sizeof(float));
    tm_random_params(m, 3, 0.4f, host);
    t6_kvcache *kv = t6_kvcache_create(m, 1, 16);
    float *lg = t6_malloc(sizeof(float) * c.vocab_size);
    const int32_t prompt[4] = {1, 2, 3, 4};
    const int len[1] = {4};
    int pos = 4;
#define STEP() do { int32_t t = 5, p = pos++; t6_model_decode_step(m, kv, &t, &p, lg); } while (0)

    /* off: never called */
    t6_kvcache_prefill(kv, m, prompt, len, 1, 4, lg);
    STEP(); STEP(); STEP();
    counts("use_graphs off: no graph calls", 0, 0, 0, 0);

    kv->use_graphs = 1;
    pos = 4;
    t6_kvcache_prefill(kv, m, prompt, len, 1, 4, lg);
    STEP();
    counts("after a prefill: the first step unrecorded", 0, 0, 0, 0);
    STEP(); STEP(); STEP(); STEP();
    counts("5 steps: one recording, 4 replays", 1, 1, 4, 0);
    tm_check(kv->graph_steps == 4, "graph_steps counts the replays (%ld)", kv->graph_steps);

    stale = 1;
    STEP();
    counts("a stale graph: freed, the step unrecorded", 1, 1, 4, 1);
    STEP(); STEP();
    counts("then recorded again and replayed", 2, 2, 6, 1);

    pos = 4;
    t6_kvcache_prefill(kv, m, prompt, len, 1, 4, lg);
    STEP();
    counts("after a new prefill: the graph freed, the step unrecorded", 2, 2, 6, 2);
    STEP();
    counts("and the next step recorded again", 3, 3, 7, 2);

    pos = 4;
    t6_kvcache_prefill(kv, m, prompt, len, 1, 4, lg);
    fail_end = 1;
    STEP(); STEP(); STEP(); STEP();
    counts("a failed recording: one attempt, then no graphs", 4, 4, 7, 3);
    tm_check(!kv->use_graphs && !recording, "a failed recording turns graphs off for the cache");

    free(lg);
    free(host);
    t6_kvcache_destroy(kv);
    t6_model_destroy(m);
    t6_backend_destroy(be);
    return tm_finish("graph_steps");
}
