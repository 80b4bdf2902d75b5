/* matmul.cu -- the linear layers through cuBLASLt. Row-major out[N,OC] = inp[N,C] @
 * w[OC,C]^T is, in cuBLAS's column-major view, out^T = w^T(op T) * inp^T, so no
 * transposes are ever materialised. bf16 precision: bf16 A/B, fp32 accumulation, bf16
 * activations out, and the weight gradient written straight into the fp32 gradient
 * buffer with beta = 1 (accumulation over micro-steps costs no extra pass). fp32
 * precision: everything float with plain fp32 compute (no TF32), for the parity tests.
 * Algorithms from the heuristic are cached per shape, since the model calls the same
 * dozen shapes every step. */
#include "cuda_common.cuh"

#include <string.h>

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
} lt_plan;

typedef struct {
    lt_plan plans[LT_CACHE];
    int n_plans;
} lt_cache;

static lt_cache *cache_of(t6_backend *be) { return (lt_cache *)cu_impl(be)->lt_cache; }

void t6_cuda_matmul_init(t6_backend *be)
{
    t6_cuda_impl *im = cu_impl(be);
    CUBLAS_CHECK(cublasLtCreate(&im->lt));
    im->lt_workspace_bytes = LT_WORKSPACE;
    CUDA_CHECK(cudaMalloc(&im->lt_workspace, im->lt_workspace_bytes));
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
        free(c);
        im->lt_cache = NULL;
    }
    if (im->lt_workspace) CUDA_CHECK(cudaFree(im->lt_workspace));
    if (im->lt) CUBLAS_CHECK(cublasLtDestroy(im->lt));
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
        cublasLtMatmulHeuristicResult_t res;
        int nres = 0;
        CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(im->lt, p->op, p->la, p->lb, p->lc, p->lc, pref, 1,
                                                    &res, &nres));
        cublasLtMatmulPreferenceDestroy(pref);
        if (nres == 0)
            t6_fatal("cuBLASLt has no algorithm for m=%d n=%d k=%d (ta=%d tb=%d lda=%d ldb=%d ldc=%d)",
                     m, n, k, ta, tb, lda, ldb, ldc);
        p->algo = res.algo;
        p->used = 1;
        c->n_plans++;
    }
    float alpha = 1.0f;
    CUBLAS_CHECK(cublasLtMatmul(im->lt, p->op, &alpha, A, p->la, B, p->lb, &beta, D, p->lc, D, p->lc,
                                &p->algo, im->lt_workspace, im->lt_workspace_bytes, im->stream));
}

void t6_cuda_matmul_fwd(t6_backend *be, void *out, const void *inp, const void *w,
                        int N, int C, int OC, int accumulate)
{
    cudaDataType_t t = cu_bf16(be) ? CUDA_R_16BF : CUDA_R_32F;
    /* out^T (OC x N) = w (col-major C x OC, op T) * inp^T (C x N) */
    lt_gemm(be, 1, 0, OC, N, C, w, C, inp, C, out, OC, t, t, accumulate ? 1.0f : 0.0f);
}

void t6_cuda_matmul_bwd(t6_backend *be, void *dinp, float *dw, const void *dout, const void *inp,
                        const void *w, int N, int C, int OC, int accumulate_dinp)
{
    cudaDataType_t t = cu_bf16(be) ? CUDA_R_16BF : CUDA_R_32F;
    if (dinp) /* dinp^T (C x N) = w^T (C x OC) * dout^T (OC x N) */
        lt_gemm(be, 0, 0, C, N, OC, w, C, dout, OC, dinp, C, t, t, accumulate_dinp ? 1.0f : 0.0f);
    if (dw)   /* dw^T (C x OC) += inp^T (C x N) * dout (N x OC) */
        lt_gemm(be, 0, 1, C, OC, N, inp, C, dout, OC, dw, C, t, CUDA_R_32F, 1.0f);
}
