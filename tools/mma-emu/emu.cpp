// emu.cpp -- the fiber scheduler, block barrier and warp collectives of emu.h: one
// fiber per thread (128 for emu_block, up to 512 for emu_block_n), each block with its
// own shared memory filled with garbage, so a read before a write shows.
#include "emu.h"
dim3 threadIdx, blockIdx, gridDim, blockDim;
unsigned char *emu_smem;
size_t emu_smem_size;

static const int MAXT = 512;
static const size_t STACK = 256 * 1024;
static int NT = 128;                 /* threads per block of the running launch */
static ucontext_t sched_ctx;
static std::vector<ucontext_t> fib_ctx;   /* fiber f = block * NT + thread */
static std::vector<char *> stacks;        /* malloc'd, never touched whole: lazily committed */
static std::vector<char> done;
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

static void entry() { body(); done[cur] = 1; swapcontext(&fib_ctx[cur], &sched_ctx); }

/* warp exchange: each lane posts, the last one completes (fn), all read the result */
struct Post { uint32_t a[4], b0, b1; float c[4]; const __nv_bfloat16 *p; float v; int m; };
struct Warp { Post buf[32]; int count, gen; float res[2][32][4]; uint32_t rres[2][32][4]; int kind[32]; };

/* one block's state: barrier, warps, shared memory; cb is the running fiber's block */
struct Blk { int bar_count, bar_gen; Warp warps[MAXT / 32]; std::vector<unsigned char> sm; unsigned char *smem; dim3 idx; };
static std::vector<Blk> blks;
static Blk *cb;

/* block barrier */
void __syncthreads() {
    int g = cb->bar_gen;
    if (++cb->bar_count == NT) { cb->bar_count = 0; cb->bar_gen++; return; }
    while (cb->bar_gen == g) emu_yield();
}

template <typename F> static int collective(const Post &mine, int kind, F complete) {
    int lane = threadIdx.x & 31;
    Warp &W = cb->warps[threadIdx.x >> 5];
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
    memcpy(c, cb->warps[threadIdx.x >> 5].res[s][threadIdx.x & 31], 4 * sizeof(float));
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
    memcpy(r, cb->warps[threadIdx.x >> 5].rres[s][threadIdx.x & 31], 16);
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
    return cb->warps[threadIdx.x >> 5].res[s][threadIdx.x & 31][0];
}

void __syncwarp(unsigned) {
    Post P{};
    collective(P, 5, [](Warp &, int) {});
}

/* run fn as the blocks `idx` at once, nthreads each (a multiple of 32, at most 512),
 * `smem` bytes of dynamic shared memory each (garbage, as on a GPU) */
static void run_blocks(const std::vector<dim3> &idx, unsigned nthreads, size_t smem, const std::function<void()> &fn) {
    if (nthreads % 32 || nthreads == 0 || nthreads > MAXT) emu_fail("block size");
    NT = (int)nthreads;
    blockDim = dim3(nthreads, 1, 1);
    emu_smem_size = smem;
    body = fn;
    const size_t nb = idx.size(), nf = nb * NT;
    blks.clear();
    blks.resize(nb);
    for (size_t b = 0; b < nb; b++) {
        Blk &B = blks[b];
        B.bar_count = B.bar_gen = 0;
        memset(B.warps, 0, sizeof B.warps);
        B.sm.resize(smem + 64);
        B.smem = B.sm.data() + 16 - ((uintptr_t)B.sm.data() & 15);   /* 16-byte aligned */
        for (size_t i = 0; i < smem; i++) B.smem[i] = (unsigned char)(rand() & 255);
        B.idx = idx[b];
    }
    fib_ctx.resize(nf);
    done.assign(nf, 0);
    while (stacks.size() < nf) stacks.push_back((char *)malloc(STACK));
    for (size_t f = 0; f < nf; f++) {
        getcontext(&fib_ctx[f]);
        fib_ctx[f].uc_stack.ss_sp = stacks[f];
        fib_ctx[f].uc_stack.ss_size = STACK;
        fib_ctx[f].uc_link = &sched_ctx;
        makecontext(&fib_ctx[f], entry, 0);
    }
    /* blocks run at different speeds (block b in one round of b % 4 + 1), so that a
     * block that reads what another writes without waiting for it sees the gap */
    for (unsigned long round = 0;; round++) {
        int live = 0;
        for (size_t f = 0; f < nf; f++) {
            if (done[f]) continue;
            live++;
            if (round % (f / NT % 4 + 1)) continue;
            cur = (int)f;
            cb = &blks[f / NT];
            blockIdx = cb->idx;
            emu_smem = cb->smem;
            threadIdx = dim3((unsigned)(f % NT), 0, 0);
            swapcontext(&sched_ctx, &fib_ctx[f]);
        }
        if (!live) break;
    }
    for (auto &B : blks) if (B.bar_count) emu_fail("threads ended inside a barrier");
}

/* run fn as one block of 128 threads with `smem` bytes of dynamic shared memory */
void emu_block(dim3 b, size_t smem, const std::function<void()> &fn) { emu_block_n(b, 128, smem, fn); }

/* ... of nthreads threads */
void emu_block_n(dim3 b, unsigned nthreads, size_t smem, const std::function<void()> &fn) {
    run_blocks(std::vector<dim3>{b}, nthreads, smem, fn);
}
