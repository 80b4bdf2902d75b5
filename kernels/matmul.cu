/* matmul.cu -- the linear layers through cuBLASLt. Row-major out[N,OC] = inp[N,C] @
 * w[OC,C]^T is, in cuBLAS's column-major view, out^T = w^T(op T) * inp^T, so no
 * transposes are ever materialised. bf16 precision: bf16 A/B, fp32 accumulation, bf16
 * activations out, and the weight gradient written straight into the fp32 gradient
 * buffer with beta = 1 (accumulation over micro-steps costs no extra pass). fp32
 * precision: everything float with plain fp32 compute (no TF32), for the parity tests.
 * Algorithms are chosen once per shape and cached, since the model calls the same
 * dozen shapes every step: the heuristic's top candidates are timed on the real inputs
 * (into a scratch output, so no result is disturbed) and the fastest kept;
 * T6_CUBLASLT_AUTOTUNE=0 keeps the heuristic's first choice. When the benchmark's
 * profiler is active every GEMM is timed per shape (t6_cuda_matmul_prof_report). */
#include "cuda_common.cuh"

#include <stdlib.h>
#include <string.h>

#include "profile.h"

#define LT_WORKSPACE (32u << 20)
#define LT_CACHE 128

typedef struct {
    int used;
    int m, n, k, ta, tb, lda, ldb, ldc;
    cudaDataType_t ab, cd;
    int beta_nonzero;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
    double prof_ms;       /* GPU time while profiling */
    long prof_calls;
} lt_plan;

#define LT_CANDIDATES 8
#define PROF_RING 4096
static struct { cudaEvent_t a, b; int plan; } g_ring[PROF_RING];
static int g_ring_used = 0, g_ring_init = 0;
static lt_plan *g_ring_plans = NULL;      /* plan array the ring indexes (one backend) */

typedef struct {
    lt_plan plans[LT_CACHE];
    int n_plans;
    void *pad[3];          /* padded copies of A, B, D (see gemm below) */
    size_t pad_bytes[3];
} lt_cache;

static lt_cache *cache_of(t6_backend *be) { return (lt_cache *)cu_impl(be)->lt_cache; }

void t6_cuda_matmul_init(t6_backend *be)
{
    t6_cuda_impl *im = cu_impl(be);
    CUBLAS_CHECK(cublasLtCreate(&im->lt));
    im->lt_workspace_bytes = LT_WORKSPACE;
    im->lt_workspace = t6_cuda_dev_alloc(be, im->lt_workspace_bytes);
    im->lt_cache = t6_calloc(1, sizeof(lt_cache));
}

void t6_cuda_matmul_destroy(t6_backend *be)
{
    t6_cuda_impl *im = cu_impl(be);
    lt_cache *c = cache_of(be);
    if (c) {
        for (int j = 0; j < c->n_plans; j++) {
            lt_plan *p = &c->plans[j];
            cublasLtMatmulDescDestroy(p->op);
            cublasLtMatrixLayoutDestroy(p->la);
            cublasLtMatrixLayoutDestroy(p->lb);
            cublasLtMatrixLayoutDestroy(p->lc);
        }
        for (int j = 0; j < 3; j++)
            t6_cuda_dev_free(be, c->pad[j]);
        free(c);
        im->lt_cache = NULL;
    }
    t6_cuda_dev_free(be, im->lt_workspace);
    if (im->lt) CUBLAS_CHECK(cublasLtDestroy(im->lt));
}

static void prof_flush(void)
{
    if (!g_ring_used) return;
    CUDA_CHECK(cudaEventSynchronize(g_ring[g_ring_used - 1].b));
    for (int i = 0; i < g_ring_used; i++) {
        float ms = 0.0f;
        CUDA_CHECK(cudaEventElapsedTime(&ms, g_ring[i].a, g_ring[i].b));
        g_ring_plans[g_ring[i].plan].prof_ms += ms;
        g_ring_plans[g_ring[i].plan].prof_calls++;
    }
    g_ring_used = 0;
}

static int autotune_enabled(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("T6_CUBLASLT_AUTOTUNE");
        on = !(e && e[0] == '0');
    }
    return on;
}

/* Times each candidate (1 warm-up + 3 runs, beta = 0 into a scratch D) and returns the
 * index of the fastest; candidates that fail to run are skipped. */
static int autotune(t6_backend *be, lt_plan *p, const cublasLtMatmulHeuristicResult_t *res, int nres,
                    const void *A, const void *B, size_t dbytes)
{
    t6_cuda_impl *im = cu_impl(be);
    void *D = t6_cuda_dev_alloc_async(be, dbytes);
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    float alpha = 1.0f, beta = 0.0f, best_ms = 1e30f;
    int best = 0;
    for (int r = 0; r < nres; r++) {
        if (cublasLtMatmul(im->lt, p->op, &alpha, A, p->la, B, p->lb, &beta, D, p->lc, D, p->lc, &res[r].algo,
                           im->lt_workspace, im->lt_workspace_bytes, im->stream) != CUBLAS_STATUS_SUCCESS)
            continue;
        CUDA_CHECK(cudaEventRecord(e0, im->stream));
        for (int it = 0; it < 3; it++)
            CUBLAS_CHECK(cublasLtMatmul(im->lt, p->op, &alpha, A, p->la, B, p->lb, &beta, D, p->lc, D, p->lc,
                                        &res[r].algo, im->lt_workspace, im->lt_workspace_bytes, im->stream));
        CUDA_CHECK(cudaEventRecord(e1, im->stream));
        CUDA_CHECK(cudaEventSynchronize(e1));
        float ms = 0.0f;
        CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        if (ms < best_ms) { best_ms = ms; best = r; }
    }
    CUDA_CHECK(cudaEventDestroy(e0));
    CUDA_CHECK(cudaEventDestroy(e1));
    t6_cuda_dev_free_async(be, D);
    return best;
}

extern "C" void t6_cuda_matmul_prof_report(t6_backend *be, FILE *f, int steps)
{
    lt_cache *c = cache_of(be);
    if (!c) return;
    if (g_ring_plans == c->plans) prof_flush();
    if (steps < 1) steps = 1;
    fprintf(f, "  GEMM shapes (column-major m x n x k, cuBLASLt):\n");
    for (int i = 0; i < c->n_plans; i++) {
        lt_plan *p = &c->plans[i];
        if (!p->prof_calls) continue;
        double flop = 2.0 * p->m * p->n * p->k * (double)p->prof_calls;
        fprintf(f, "    m=%6d n=%6d k=%6d op%c%c out=%s beta=%d  %8.3f ms/step %4ld calls/step %6.1f TFLOP/s\n",
                p->m, p->n, p->k, p->ta ? 'T' : 'N', p->tb ? 'T' : 'N', p->cd == CUDA_R_32F ? "f32" : "bf16",
                p->beta_nonzero, p->prof_ms / steps, p->prof_calls / steps, flop / (p->prof_ms * 1e-3) / 1e12);
        p->prof_ms = 0.0;
        p->prof_calls = 0;
    }
}

/* Column-major D(m x n, ldc) = alpha op(A) op(B) + beta D. */
static void lt_gemm(t6_backend *be, int ta, int tb, int m, int n, int k,
                    const void *A, int lda, const void *B, int ldb, void *D, int ldc,
                    cudaDataType_t ab, cudaDataType_t cd, float beta)
{
    if (m <= 0 || n <= 0) return;
    t6_cuda_impl *im = cu_impl(be);
    lt_cache *c = cache_of(be);
    int bnz = beta != 0.0f;
    lt_plan *p = NULL;
    for (int i = 0; i < c->n_plans; i++) {
        lt_plan *q = &c->plans[i];
        if (q->m == m && q->n == n && q->k == k && q->ta == ta && q->tb == tb && q->lda == lda &&
            q->ldb == ldb && q->ldc == ldc && q->ab == ab && q->cd == cd && q->beta_nonzero == bnz) {
            p = q;
            break;
        }
    }
    if (!p) {
        if (c->n_plans == LT_CACHE) {
            if (g_ring_plans == c->plans) prof_flush();
            /* evict everything: shapes changed wholesale (tests with many sizes) */
            for (int j = 0; j < c->n_plans; j++) {
                cublasLtMatmulDescDestroy(c->plans[j].op);
                cublasLtMatrixLayoutDestroy(c->plans[j].la);
                cublasLtMatrixLayoutDestroy(c->plans[j].lb);
                cublasLtMatrixLayoutDestroy(c->plans[j].lc);
            }
            c->n_plans = 0;
        }
        p = &c->plans[c->n_plans];
        memset(p, 0, sizeof *p);
        p->m = m; p->n = n; p->k = k; p->ta = ta; p->tb = tb;
        p->lda = lda; p->ldb = ldb; p->ldc = ldc; p->ab = ab; p->cd = cd; p->beta_nonzero = bnz;
        cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb));
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->la, ab, ta ? k : m, ta ? m : k, lda));
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lb, ab, tb ? n : k, tb ? k : n, ldb));
        CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lc, cd, m, n, ldc));
        cublasLtMatmulPreference_t pref;
        CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
        size_t ws = im->lt_workspace_bytes;
        CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                          &ws, sizeof ws));
        cublasLtMatmulHeuristicResult_t res[LT_CANDIDATES];
        int nres = 0;
        int want = autotune_enabled() && ab == CUDA_R_16BF ? LT_CANDIDATES : 1;
        CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(im->lt, p->op, p->la, p->lb, p->lc, p->lc, pref, want,
                                                    res, &nres));
        cublasLtMatmulPreferenceDestroy(pref);
        if (nres == 0)
            t6_fatal("cuBLASLt has no algorithm for m=%d n=%d k=%d (ta=%d tb=%d lda=%d ldb=%d ldc=%d)",
                     m, n, k, ta, tb, lda, ldb, ldc);
        int pick = 0;
        if (nres > 1) {
            size_t esz = cd == CUDA_R_32F ? 4 : 2;
            pick = autotune(be, p, res, nres, A, B, (size_t)ldc * n * esz);
        }
        p->algo = res[pick].algo;
        p->used = 1;
        c->n_plans++;
    }
    float alpha = 1.0f;
    int prof = t6_cuda_prof_active();
    if (prof) {
        if (!g_ring_init) {
            for (int i = 0; i < PROF_RING; i++) {
                CUDA_CHECK(cudaEventCreate(&g_ring[i].a));
                CUDA_CHECK(cudaEventCreate(&g_ring[i].b));
            }
            g_ring_init = 1;
        }
        if (g_ring_plans != c->plans) { prof_flush(); g_ring_plans = c->plans; }
        if (g_ring_used == PROF_RING) prof_flush();
        g_ring[g_ring_used].plan = (int)(p - c->plans);
        CUDA_CHECK(cudaEventRecord(g_ring[g_ring_used].a, im->stream));
    }
    CUBLAS_CHECK(cublasLtMatmul(im->lt, p->op, &alpha, A, p->la, B, p->lb, &beta, D, p->lc, D, p->lc,
                                &p->algo, im->lt_workspace, im->lt_workspace_bytes, im->stream));
    if (prof) CUDA_CHECK(cudaEventRecord(g_ring[g_ring_used++].b, im->stream));
}

/* cuBLASLt's fast Hopper kernels want every dimension a multiple of 8 and 16-byte
 * aligned pointers and leading dimensions. The model has dimensions that are not
 * (SwiGLU hidden 2730 at d = 1024, TPA A-factor widths h*R such as 204, 68, 282, 94),
 * and those GEMMs ran at a third of the speed of their neighbours (bench/gpu results
 * v4). In bf16 precision such a product is computed on zero-padded copies: each
 * operand that needs it is copied into a buffer whose extents are rounded up to 8 with
 * zeros outside the matrix (zeros add nothing to the products), and a padded output is
 * copied back. The copies cost a fraction of what the slow kernels lost. */
static int misaligned(const void *p, int ld, size_t esz) { return ((uintptr_t)p & 15) || ((size_t)ld * esz) % 16; }
static int up8(int x) { return (x + 7) & ~7; }

static void *pad_buf(t6_backend *be, int slot, size_t bytes)
{
    lt_cache *c = cache_of(be);
    if (bytes > c->pad_bytes[slot]) {
        t6_cuda_buffers_changed(be);
        t6_cuda_dev_free(be, c->pad[slot]);    /* synchronising: earlier users done */
        c->pad[slot] = t6_cuda_dev_alloc(be, bytes);
        c->pad_bytes[slot] = bytes;
    }
    return c->pad[slot];
}

/* dst (col-major, rows_p x cols_p, ld rows_p) = src (rows x cols, ld lds) padded with
 * zeros. Blocks walk columns (y) and rows (x) so there is no per-element division, in
 * units U of 2 or 4 bytes (4 whenever the extents and pointers allow: bf16 pairs). */
template <typename U>
__global__ void k_pad(U *dst, const U *src, int lds, int rows, int cols, int rows_p, int cols_p)
{
    for (int col = blockIdx.y; col < cols_p; col += gridDim.y) {
        U *d = dst + (size_t)col * rows_p;
        const U *s = src + (size_t)col * lds;
        const bool cv = col < cols;
        for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < rows_p; r += gridDim.x * blockDim.x)
            d[r] = (cv && r < rows) ? s[r] : (U)0;
    }
}
/* dst (rows x cols, ld ldd) = the top-left corner of src (ld lds) */
template <typename U>
__global__ void k_unpad(U *dst, int ldd, const U *src, int lds, int rows, int cols)
{
    for (int col = blockIdx.y; col < cols; col += gridDim.y) {
        U *d = dst + (size_t)col * ldd;
        const U *s = src + (size_t)col * lds;
        for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += gridDim.x * blockDim.x) d[r] = s[r];
    }
}

static dim3 copy_grid(int rows_u, int cols)
{
    int gx = (rows_u + 255) / 256;
    if (gx > 16) gx = 16;
    int gy = cols < 16384 ? cols : 16384;
    return dim3(gx < 1 ? 1 : gx, gy < 1 ? 1 : gy);
}

/* 4-byte units when every extent and pointer is a whole number of them */
static int units4(size_t esz, const void *a, const void *b, int x, int y, int z)
{
    if (esz == 4) return 1;
    return !((uintptr_t)a & 3) && !((uintptr_t)b & 3) && !(x & 1) && !(y & 1) && !(z & 1);
}

static void pad_copy(t6_backend *be, void *dst, const void *src, int lds, int rows, int cols, int rows_p, int cols_p,
                     size_t esz)
{
    if (units4(esz, dst, src, lds, rows, rows_p)) {
        int f = (int)(4 / esz);
        k_pad<uint32_t><<<copy_grid(rows_p / f, cols_p), 256, 0, cu_stream(be)>>>(
            (uint32_t *)dst, (const uint32_t *)src, lds / f, rows / f, cols, rows_p / f, cols_p);
    } else {
        k_pad<uint16_t><<<copy_grid(rows_p, cols_p), 256, 0, cu_stream(be)>>>(
            (uint16_t *)dst, (const uint16_t *)src, lds, rows, cols, rows_p, cols_p);
    }
    CUDA_CHECK_LAUNCH();
}

static void unpad_copy(t6_backend *be, void *dst, int ldd, const void *src, int lds, int rows, int cols, size_t esz)
{
    if (units4(esz, dst, src, ldd, lds, rows)) {
        int f = (int)(4 / esz);
        k_unpad<uint32_t><<<copy_grid(rows / f, cols), 256, 0, cu_stream(be)>>>(
            (uint32_t *)dst, ldd / f, (const uint32_t *)src, lds / f, rows / f, cols);
    } else {
        k_unpad<uint16_t><<<copy_grid(rows, cols), 256, 0, cu_stream(be)>>>(
            (uint16_t *)dst, ldd, (const uint16_t *)src, lds, rows, cols);
    }
    CUDA_CHECK_LAUNCH();
}

static int pad_enabled(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("T6_GEMM_PAD");
        on = !(e && e[0] == '0');
    }
    return on;
}

/* An operand of a bf16 GEMM, column-major rows x cols with leading dimension ld, that
 * the padded product wants as rows_p x cols_p (both rounded up to 8). It is used in
 * place when it is 16-byte aligned and only its rows (the leading dimension) need the
 * padding, which the buffer already has: rows_p <= ld. The pad entries it then brings
 * (the row-major pad columns of backend.h) are finite by contract and are multiplied
 * only by the zero pad of a copied operand, or land in pad entries of a copied output.
 * This is how the model's SwiGLU activations, kept at a row stride of round_up(2730,
 * 8), take part without being copied. Otherwise it is copied (zero-filled pads). */
static int usable_in_place(const void *p, int ld, int cols, int rows_p, int cols_p, size_t esz)
{
    return !misaligned(p, ld, esz) && cols == cols_p && ld >= rows_p;
}

static void gemm(t6_backend *be, int ta, int tb, int m, int n, int k, const void *A, int lda, const void *B, int ldb,
                 void *D, int ldc, cudaDataType_t ab, cudaDataType_t cd, float beta)
{
    if (m <= 0 || n <= 0) return;
    if (ab != CUDA_R_16BF || !pad_enabled() || k <= 0) {
        lt_gemm(be, ta, tb, m, n, k, A, lda, B, ldb, D, ldc, ab, cd, beta);
        return;
    }
    const size_t ea = 2, ec = cd == CUDA_R_16BF ? 2 : 4;
    const int m8 = up8(m), n8 = up8(n), k8 = up8(k);
    const int ar = ta ? k : m, ac = ta ? m : k, arp = ta ? k8 : m8, acp = ta ? m8 : k8;
    const int br = tb ? n : k, bc = tb ? k : n, brp = tb ? n8 : k8, bcp = tb ? k8 : n8;
    int a_in = usable_in_place(A, lda, ac, arp, acp, ea);
    int b_in = usable_in_place(B, ldb, bc, brp, bcp, ea);
    /* A padded k (k8 > k) must be zero in at least one operand: if both would bring
     * their own (finite, but not necessarily zero) pads, copy the smaller one */
    if (k8 > k && a_in && b_in) {
        if ((size_t)arp * acp <= (size_t)brp * bcp) a_in = 0;
        else b_in = 0;
    }
    /* the output in place: only its rows may be padded (n8 == n), within its leading
     * dimension, and the pad rows of the product must come out 0 — i.e. A's padded m
     * rows are zeros of a copy (an in-place A over m brings its own pad values) */
    const int a_pads_m_in_place = a_in && !ta && m8 > m;
    const int d_in = n8 == n && !misaligned(D, ldc, ec) && ldc >= m8 && !a_pads_m_in_place;
    if (!a_in) {
        void *P = pad_buf(be, 0, (size_t)arp * acp * ea);
        pad_copy(be, P, A, lda, ar, ac, arp, acp, ea);
        A = P;
        lda = arp;
    }
    if (!b_in) {
        void *P = pad_buf(be, 1, (size_t)brp * bcp * ea);
        pad_copy(be, P, B, ldb, br, bc, brp, bcp, ea);
        B = P;
        ldb = brp;
    }
    if (d_in) {
        /* rows m..m8-1 of D (the alignment pad) get 0, or stay as they were + 0 */
        lt_gemm(be, ta, tb, m8, n, k8, A, lda, B, ldb, D, ldc, ab, cd, beta);
        return;
    }
    void *P = pad_buf(be, 2, (size_t)m8 * n8 * ec);
    if (beta != 0.0f) pad_copy(be, P, D, ldc, m, n, m8, n8, ec);
    lt_gemm(be, ta, tb, m8, n8, k8, A, lda, B, ldb, P, m8, ab, cd, beta);
    unpad_copy(be, D, ldc, P, m8, m, n, ec);
}

/* Row-major activations with row strides (backend.h): a row-major (rows x width,
 * stride ld) matrix is the column-major (width x rows, ld) one, so the strides are
 * cuBLASLt's leading dimensions as they are. */
void t6_cuda_matmul_fwd(t6_backend *be, void *out, int ld_out, const void *inp, int ld_inp, const void *w,
                        int N, int C, int OC, int accumulate)
{
    cudaDataType_t t = cu_bf16(be) ? CUDA_R_16BF : CUDA_R_32F;
    T6_CHECK(ld_out >= OC && ld_inp >= C, NULL, "matmul_fwd: row strides %d, %d below widths %d, %d",
             ld_out, ld_inp, OC, C);
    /* out^T (OC x N) = w (col-major C x OC, op T) * inp^T (C x N) */
    gemm(be, 1, 0, OC, N, C, w, C, inp, ld_inp, out, ld_out, t, t, accumulate ? 1.0f : 0.0f);
}

void t6_cuda_matmul_bwd(t6_backend *be, void *dinp, int ld_dinp, float *dw, const void *dout, int ld_dout,
                        const void *inp, int ld_inp, const void *w, int N, int C, int OC, int accumulate_dinp)
{
    cudaDataType_t t = cu_bf16(be) ? CUDA_R_16BF : CUDA_R_32F;
    T6_CHECK(ld_dout >= OC && (!dinp || ld_dinp >= C) && (!dw || ld_inp >= C), NULL,
             "matmul_bwd: row strides (dinp %d, dout %d, inp %d) below widths C %d / OC %d",
             ld_dinp, ld_dout, ld_inp, C, OC);
    if (dinp) /* dinp^T (C x N) = w^T (C x OC) * dout^T (OC x N) */
        gemm(be, 0, 0, C, N, OC, w, C, dout, ld_dout, dinp, ld_dinp, t, t, accumulate_dinp ? 1.0f : 0.0f);
    if (dw)   /* dw^T (C x OC) += inp^T (C x N) * dout (N x OC) */
        gemm(be, 0, 1, C, OC, N, inp, ld_inp, dout, ld_dout, dw, C, t, CUDA_R_32F, 1.0f);
}
