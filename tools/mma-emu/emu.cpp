// emu.cpp -- the fiber scheduler, block barrier and warp collectives of emu.h: one
// fiber per thread (128 for emu_block, up to 512 for emu_block_n), blocks run one
// after another.
#include "emu.h"
dim3 threadIdx, blockIdx, gridDim, blockDim;
unsigned char *emu_smem;
size_t emu_smem_size;

static const int MAXT = 512;
static int NT = 128;                 /* threads of the running block */
static ucontext_t sched_ctx, fib_ctx[MAXT];
static std::vector<char> stacks[MAXT];
static bool done[MAXT];
static int cur;
static std::function<void()> body;
static std::vector<std::pair<const unsigned char *, size_t>> gbufs;

void emu_register(const void *p, size_t n) { gbufs.push_back({(const unsigned char *)p, n}); }
void emu_clear_buffers() { gbufs.clear(); }
bool emu_in_global(const void *p, size_t n) {
    const unsigned char *q = (const unsigned char *)p;
    for (auto &b : gbufs) if (q >= b.first && q + n <= b.first + b.second) return true;
    return false;
}
void emu_fail(const char *what) {
    fprintf(stderr, "EMU FAIL: %s (block %u,%u,%u thread %u)\n", what, blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x);
    exit(2);
}
void emu_yield() { swapcontext(&fib_ctx[cur], &sched_ctx); }

static void entry() { body(); done[cur] = true; swapcontext(&fib_ctx[cur], &sched_ctx); }

/* block barrier */
static int bar_count, bar_gen;
void __syncthreads() {
    int g = bar_gen;
    if (++bar_count == NT) { bar_count = 0; bar_gen++; return; }
    while (bar_gen == g) emu_yield();
}

/* warp exchange: each lane posts, the last one completes (fn), all read the result */
struct Post { uint32_t a[4], b0, b1; float c[4]; const __nv_bfloat16 *p; float v; int m; };
struct Warp { Post buf[32]; int count, gen; float res[2][32][4]; uint32_t rres[2][32][4]; int kind[32]; };
static Warp warps[MAXT / 32];

template <typename F> static int collective(const Post &mine, int kind, F complete) {
    int lane = threadIdx.x & 31;
    Warp &W = warps[threadIdx.x >> 5];
    W.buf[lane] = mine;
    W.kind[lane] = kind;
    int g = W.gen;
    if (++W.count == 32) {
        for (int l = 0; l < 32; l++) if (W.kind[l] != kind) emu_fail("diverged warp collective");
        complete(W, g & 1);
        W.count = 0;
        W.gen++;
    } else {
        while (W.gen == g) emu_yield();
    }
    return g & 1;
}

static float bfl(uint32_t w, int hi) { return bf2f(hi ? (uint16_t)(w >> 16) : (uint16_t)(w & 0xffff)); }

void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    Post m{};
    memcpy(m.a, a, sizeof m.a); m.b0 = b0; m.b1 = b1; memcpy(m.c, c, sizeof m.c);
    int s = collective(m, 1, [](Warp &W, int s) {
        float A[16][16], Bm[16][8], C[16][8];
        for (int l = 0; l < 32; l++) {
            int g = l >> 2, cc = l & 3;
            const Post &P = W.buf[l];
            for (int hi = 0; hi < 2; hi++) {
                A[g][2 * cc + hi] = bfl(P.a[0], hi);
                A[g + 8][2 * cc + hi] = bfl(P.a[1], hi);
                A[g][2 * cc + 8 + hi] = bfl(P.a[2], hi);
                A[g + 8][2 * cc + 8 + hi] = bfl(P.a[3], hi);
                Bm[2 * cc + hi][g] = bfl(P.b0, hi);
                Bm[2 * cc + 8 + hi][g] = bfl(P.b1, hi);
            }
            C[g][2 * cc] = P.c[0]; C[g][2 * cc + 1] = P.c[1];
            C[g + 8][2 * cc] = P.c[2]; C[g + 8][2 * cc + 1] = P.c[3];
        }
        for (int r = 0; r < 16; r++)
            for (int n = 0; n < 8; n++) {
                float acc = C[r][n];
                for (int k = 0; k < 16; k++) acc += A[r][k] * Bm[k][n];
                C[r][n] = acc;
            }
        for (int l = 0; l < 32; l++) {
            int g = l >> 2, cc = l & 3;
            W.res[s][l][0] = C[g][2 * cc]; W.res[s][l][1] = C[g][2 * cc + 1];
            W.res[s][l][2] = C[g + 8][2 * cc]; W.res[s][l][3] = C[g + 8][2 * cc + 1];
        }
    });
    memcpy(c, warps[threadIdx.x >> 5].res[s][threadIdx.x & 31], 4 * sizeof(float));
}

static void check_row(const __nv_bfloat16 *p) {
    const unsigned char *q = (const unsigned char *)p;
    if (q < emu_smem || q + 16 > emu_smem + emu_smem_size) emu_fail("ldmatrix row outside shared memory");
    if (((uintptr_t)q) & 15) emu_fail("ldmatrix row misaligned");
}
static void ldsm(uint32_t r[4], const __nv_bfloat16 *p, bool trans) {
    check_row(p);
    Post m{}; m.p = p;
    int s = collective(m, trans ? 3 : 2, [trans](Warp &W, int s) {
        for (int l = 0; l < 32; l++)
            for (int j = 0; j < 4; j++) {
                int row = l >> 2, col = 2 * (l & 3);
                uint16_t e0, e1;
                if (!trans) { e0 = W.buf[8 * j + row].p[col].x; e1 = W.buf[8 * j + row].p[col + 1].x; }
                else { e0 = W.buf[8 * j + col].p[row].x; e1 = W.buf[8 * j + col + 1].p[row].x; }
                W.rres[s][l][j] = (uint32_t)e0 | ((uint32_t)e1 << 16);
            }
    });
    memcpy(r, warps[threadIdx.x >> 5].rres[s][threadIdx.x & 31], 16);
}
void ldsm_x4(uint32_t r[4], const __nv_bfloat16 *p) { ldsm(r, p, false); }
void ldsm_x4_t(uint32_t r[4], const __nv_bfloat16 *p) { ldsm(r, p, true); }

float __shfl_xor_sync(unsigned, float v, int m) {
    Post P{}; P.v = v; P.m = m;
    int s = collective(P, 4, [](Warp &W, int s) {
        for (int l = 0; l < 32; l++) {
            if (W.buf[l].m != W.buf[0].m) emu_fail("shfl masks differ");
            W.res[s][l][0] = W.buf[l ^ W.buf[l].m].v;
        }
    });
    return warps[threadIdx.x >> 5].res[s][threadIdx.x & 31][0];
}

void __syncwarp(unsigned) {
    Post P{};
    collective(P, 5, [](Warp &, int) {});
}

/* run fn as one block of 128 threads with `smem` bytes of dynamic shared memory */
void emu_block(dim3 b, size_t smem, const std::function<void()> &fn) { emu_block_n(b, 128, smem, fn); }

/* ... of nthreads (a multiple of 32, at most 512) threads */
void emu_block_n(dim3 b, unsigned nthreads, size_t smem, const std::function<void()> &fn) {
    if (nthreads % 32 || nthreads == 0 || nthreads > MAXT) emu_fail("block size");
    NT = (int)nthreads;
    blockDim = dim3(nthreads, 1, 1);
    static std::vector<unsigned char> sm;
    sm.assign(smem + 64, 0xAB);
    emu_smem = sm.data() + 16 - ((uintptr_t)sm.data() & 15);   /* 16-byte aligned */
    emu_smem_size = smem;
    for (size_t i = 0; i < smem; i++) emu_smem[i] = (unsigned char)(rand() & 255);   /* garbage, as on a GPU */
    blockIdx = b;
    body = fn;
    bar_count = bar_gen = 0;
    memset(warps, 0, sizeof warps);
    for (int t = 0; t < NT; t++) {
        stacks[t].resize(256 * 1024);
        getcontext(&fib_ctx[t]);
        fib_ctx[t].uc_stack.ss_sp = stacks[t].data();
        fib_ctx[t].uc_stack.ss_size = stacks[t].size();
        fib_ctx[t].uc_link = &sched_ctx;
        makecontext(&fib_ctx[t], entry, 0);
        done[t] = false;
    }
    for (;;) {
        int live = 0;
        for (int t = 0; t < NT; t++) {
            if (done[t]) continue;
            live++;
            cur = t;
            threadIdx = dim3(t, 0, 0);
            swapcontext(&sched_ctx, &fib_ctx[t]);
        }
        if (!live) break;
    }
    if (bar_count) emu_fail("threads ended inside a barrier");
}
