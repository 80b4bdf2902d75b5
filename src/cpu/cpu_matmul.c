/* cpu_matmul.c -- the linear layers of the CPU backend: out = inp @ W^T and its
 * backward, either through OpenBLAS (when configure found it; the default, see
 * doc/model.md for the measurements behind that choice) or through hand-written
 * cache-blocked loops that are always compiled (builds without BLAS, and the
 * comparison in bench/cpu). Both paths compute every output element in one thread
 * with a summation order fixed by the shapes, so thread count never changes results. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cpu_ops.h"
#include "util.h"

#ifdef T6_HAVE_BLAS
#include <cblas.h>
#endif

/* Tile sizes of the blocked path: a 64x64 output tile of fp32 (16 KiB) plus the packed
 * A (KB x MB) and B (KB x NB) panels (64 KiB each) stay in L2; the 8x16 micro-tile of
 * accumulators (one AVX-512 register per row) stays in registers. */
enum { MB = 64, NB = 64, KB = 256, MR = 8, NR = 16 };
typedef float v16 __attribute__((vector_size(NR * sizeof(float))));   /* GCC/Clang vector extension */

/* Below ~4M multiply-adds waking a second thread costs more than it saves (and much
 * more on a loaded machine). The tiling never depends on this: only who runs the tiles. */
#define PARALLEL_WORTH(M, Nn, K) ((double)(M) * (double)(Nn) * (double)(K) >= 4.0e6)

/* One MB x NB output tile, all of K: packs panels of A and B, then runs the register
 * micro-kernel. Every Ct element accumulates k = 0..K-1 in increasing order. Compiled
 * for several instruction sets (chosen at load time by the CPU); the choice may change
 * rounding between MACHINES (FMA contraction) but never between runs or thread counts. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))   /* by CPU feature, not model */
#endif
static void gemm_tile(int m0, int n0, int mb, int nb, int K, const float *A, long a_rs, long a_cs,
                      const float *B, long b_rs, long b_cs, float *Ap, float *Bp, float *Ct)
{
    memset(Ct, 0, sizeof(float) * MB * NB);
    for (int k0 = 0; k0 < K; k0 += KB) {
        const int kb = K - k0 < KB ? K - k0 : KB;
        /* pack A as Ap[kk][i] (zero rows beyond mb) */
        if (mb < MB) memset(Ap, 0, sizeof(float) * KB * MB);
        if (a_cs == 1) {
            for (int i = 0; i < mb; i++) {
                const float *src = A + (long)(m0 + i) * a_rs + k0;
                for (int kk = 0; kk < kb; kk++) Ap[kk * MB + i] = src[kk];
            }
        } else {
            for (int kk = 0; kk < kb; kk++) {
                const float *src = A + (long)(k0 + kk) * a_cs + (long)m0 * a_rs;
                for (int i = 0; i < mb; i++) Ap[kk * MB + i] = src[(long)i * a_rs];
            }
        }
        /* pack B as Bp[kk][j] (zero columns beyond nb) */
        if (nb < NB) memset(Bp, 0, sizeof(float) * KB * NB);
        if (b_cs == 1) {
            for (int kk = 0; kk < kb; kk++)
                memcpy(Bp + kk * NB, B + (long)(k0 + kk) * b_rs + n0, sizeof(float) * nb);
        } else {
            for (int j = 0; j < nb; j++) {
                const float *src = B + (long)(n0 + j) * b_cs + (long)k0 * b_rs;
                for (int kk = 0; kk < kb; kk++) Bp[kk * NB + j] = src[(long)kk * b_rs];
            }
        }
        /* micro-kernel: MR rows x NR columns of accumulators in vector registers (one
         * 16-float vector per row: a zmm with AVX-512, two ymm with AVX2, four xmm on
         * baseline x86-64); 8 independent chains hide the FMA latency. */
        for (int i0 = 0; i0 < mb; i0 += MR) {
            for (int j0 = 0; j0 < nb; j0 += NR) {
                v16 acc[MR];
                for (int r = 0; r < MR; r++) memcpy(&acc[r], Ct + (i0 + r) * NB + j0, sizeof(v16));
                for (int kk = 0; kk < kb; kk++) {
                    v16 b;
                    memcpy(&b, Bp + kk * NB + j0, sizeof b);
                    const float *ap = Ap + kk * MB + i0;
                    for (int r = 0; r < MR; r++) acc[r] += ap[r] * b;
                }
                for (int r = 0; r < MR; r++) memcpy(Ct + (i0 + r) * NB + j0, &acc[r], sizeof(v16));
            }
        }
    }
}

/* Per-thread packing buffers of the blocked GEMM (64-byte aligned for vector loads). */
typedef struct {
    float *Ap, *Bp, *Ct;
} tile_scratch;

static tile_scratch tile_scratch_alloc(void)
{
    tile_scratch sc = {NULL, NULL, NULL};
    T6_CHECK(posix_memalign((void **)&sc.Ap, 64, sizeof(float) * KB * MB) == 0 &&
             posix_memalign((void **)&sc.Bp, 64, sizeof(float) * KB * NB) == 0 &&
             posix_memalign((void **)&sc.Ct, 64, sizeof(float) * MB * NB) == 0,
             NULL, "out of memory in the blocked matmul");
    return sc;
}

static void tile_scratch_free(tile_scratch *sc)
{
    free(sc->Ap);
    free(sc->Bp);
    free(sc->Ct);
}

/* One (mb x nb) tile of C computed in scratch, then stored (=) or added (+=) into C. */
static void tile_into(tile_scratch *sc, int m0, int n0, int mb, int nb, int K, const float *A, long a_rs,
                      long a_cs, const float *B, long b_rs, long b_cs, float *Cm, long ldc, int accumulate)
{
    gemm_tile(m0, n0, mb, nb, K, A, a_rs, a_cs, B, b_rs, b_cs, sc->Ap, sc->Bp, sc->Ct);
    for (int i = 0; i < mb; i++) {
        float *dst = Cm + (long)(m0 + i) * ldc + n0;
        const float *src = sc->Ct + i * NB;
        if (accumulate)
            for (int j = 0; j < nb; j++) dst[j] += src[j];
        else
            memcpy(dst, src, sizeof(float) * nb);
    }
}

void t6_cpu_gemm_blocked(int M, int Nn, int K, const float *A, long a_rs, long a_cs,
                         const float *B, long b_rs, long b_cs, float *Cm, long ldc, int accumulate)
{
    const int tiles_m = (M + MB - 1) / MB, tiles_n = (Nn + NB - 1) / NB;
    const long n_tiles = (long)tiles_m * tiles_n;
#pragma omp parallel if (n_tiles > 1 && PARALLEL_WORTH(M, Nn, K))
    {
        tile_scratch sc = tile_scratch_alloc();
#pragma omp for schedule(dynamic, 1)
        for (long tile = 0; tile < n_tiles; tile++) {
            const int m0 = (int)(tile / tiles_n) * MB, n0 = (int)(tile % tiles_n) * NB;
            const int mb = M - m0 < MB ? M - m0 : MB;
            const int nb = Nn - n0 < NB ? Nn - n0 : NB;
            tile_into(&sc, m0, n0, mb, nb, K, A, a_rs, a_cs, B, b_rs, b_cs, Cm, ldc, accumulate);
        }
        tile_scratch_free(&sc);
    }
}

/* Serial C[M,Nn] (=|+=) A(m,k) B(k,n) for callers already inside a parallel region
 * (the attention): single-threaded OpenBLAS when the backend uses it, else the
 * blocked tiles on this thread. Strided views as in t6_cpu_gemm_blocked; with BLAS one
 * of each pair of strides must be 1. */
void t6_cpu_gemm_serial(const t6_backend *be, int M, int Nn, int K, const float *A, long a_rs, long a_cs,
                        const float *B, long b_rs, long b_cs, float *Cm, long ldc, int accumulate)
{
    if (M <= 0 || Nn <= 0) return;
#ifdef T6_HAVE_BLAS
    const t6_cpu_impl *impl = be->impl;
    if (impl->use_blas && !impl->blas_threaded && (a_cs == 1 || a_rs == 1) && (b_cs == 1 || b_rs == 1)) {
        if (K <= 0) {
            if (!accumulate)
                for (int i = 0; i < M; i++) memset(Cm + (long)i * ldc, 0, sizeof(float) * Nn);
            return;
        }
        const CBLAS_TRANSPOSE ta = a_cs == 1 ? CblasNoTrans : CblasTrans;
        const CBLAS_TRANSPOSE tb = b_cs == 1 ? CblasNoTrans : CblasTrans;
        const long lda = a_cs == 1 ? a_rs : a_cs, ldb = b_cs == 1 ? b_rs : b_cs;
        cblas_sgemm(CblasRowMajor, ta, tb, M, Nn, K, 1.0f, A, (int)(lda > 0 ? lda : 1), B, (int)(ldb > 0 ? ldb : 1),
                    accumulate ? 1.0f : 0.0f, Cm, (int)ldc);
        return;
    }
#endif
    tile_scratch sc = tile_scratch_alloc();
    for (int m0 = 0; m0 < M; m0 += MB)
        for (int n0 = 0; n0 < Nn; n0 += NB) {
            const int mb = M - m0 < MB ? M - m0 : MB, nb = Nn - n0 < NB ? Nn - n0 : NB;
            tile_into(&sc, m0, n0, mb, nb, K, A, a_rs, a_cs, B, b_rs, b_cs, Cm, ldc, accumulate);
        }
    tile_scratch_free(&sc);
}

void t6_cpu_set_use_blas(t6_backend *be, int use_blas)
{
    t6_cpu_impl *impl = be->impl;
#ifdef T6_HAVE_BLAS
    impl->use_blas = use_blas;
#else
    T6_CHECK(!use_blas, "reconfigure with --with-blas (OpenBLAS: apt-get install libopenblas-dev)",
             "BLAS matmuls requested but this build has no BLAS");
    impl->use_blas = 0;
#endif
}

#ifdef T6_HAVE_BLAS
static int use_blas(const t6_backend *be) { return ((const t6_cpu_impl *)be->impl)->use_blas; }

/* C[M,Nn] = A' B' + beta C (row-major, A' = A or A^T, B' = B or B^T) through OpenBLAS.
 * OpenBLAS's own threading splits work by the thread count, which changes the rounding
 * of some products (measured: 1 vs 2 threads differ in the last bits). So OpenBLAS
 * runs single-threaded and we split C into FIXED tiles, one sgemm each, spread over
 * OpenMP threads: every element is computed by the same call whatever the thread count. */
enum { BLAS_TM = 256, BLAS_TN = 512 };

static void blas_gemm(t6_backend *be, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int Nn, int K,
                      const float *A, int lda, const float *B, int ldb, float beta, float *Cm, int ldc)
{
    const t6_cpu_impl *impl = be->impl;
    if (impl->blas_threaded) {   /* OpenBLAS's own threads (benchmarks only: not bitwise across thread counts) */
        cblas_sgemm(CblasRowMajor, ta, tb, M, Nn, K, 1.0f, A, lda, B, ldb, beta, Cm, ldc);
        return;
    }
    const int tiles_m = (M + BLAS_TM - 1) / BLAS_TM, tiles_n = (Nn + BLAS_TN - 1) / BLAS_TN;
    const int n_tiles = tiles_m * tiles_n;
#pragma omp parallel for schedule(dynamic, 1) if (n_tiles > 1 && PARALLEL_WORTH(M, Nn, K))
    for (int tile = 0; tile < n_tiles; tile++) {
        const int m0 = (tile / tiles_n) * BLAS_TM, n0 = (tile % tiles_n) * BLAS_TN;
        const int mb = M - m0 < BLAS_TM ? M - m0 : BLAS_TM;
        const int nb = Nn - n0 < BLAS_TN ? Nn - n0 : BLAS_TN;
        const float *As = ta == CblasNoTrans ? A + (size_t)m0 * lda : A + m0;
        const float *Bs = tb == CblasNoTrans ? B + n0 : B + (size_t)n0 * ldb;
        cblas_sgemm(CblasRowMajor, ta, tb, mb, nb, K, 1.0f, As, lda, Bs, ldb, beta, Cm + (size_t)m0 * ldc + n0, ldc);
    }
}
#endif

/* Row strides (ld_*) apply to the activations only; w and dw are dense (row stride C).
 * Neither path reads or writes a column beyond the width (the pads of backend.h), and
 * both compute every element exactly as with dense rows: the blocked path packs its
 * panels and OpenBLAS's kernels work on packed copies, so the stride never changes a
 * summation order. */
void t6_cpu_matmul_fwd(t6_backend *be, void *out_, int ld_out, const void *inp_, int ld_inp, const void *w_,
                       int N, int C, int OC, int accumulate)
{
    float *out = out_;
    const float *inp = inp_, *w = w_;
    T6_CHECK(ld_out >= OC && ld_inp >= C, NULL, "matmul_fwd: row strides %d, %d below widths %d, %d",
             ld_out, ld_inp, OC, C);
#ifdef T6_HAVE_BLAS
    if (use_blas(be)) {
        blas_gemm(be, CblasNoTrans, CblasTrans, N, OC, C, inp, ld_inp, w, C, accumulate ? 1.0f : 0.0f, out, ld_out);
        return;
    }
#endif
    /* out(n,o) = sum_c inp(n,c) w(o,c) */
    t6_cpu_gemm_blocked(N, OC, C, inp, ld_inp, 1, w, 1, C, out, ld_out, accumulate);
}

void t6_cpu_matmul_bwd(t6_backend *be, void *dinp_, int ld_dinp, float *dw, const void *dout_, int ld_dout,
                       const void *inp_, int ld_inp, const void *w_, int N, int C, int OC, int accumulate_dinp)
{
    float *dinp = dinp_;
    const float *dout = dout_, *inp = inp_, *w = w_;
    T6_CHECK(ld_dout >= OC && (!dinp || ld_dinp >= C) && (!dw || ld_inp >= C), NULL,
             "matmul_bwd: row strides (dinp %d, dout %d, inp %d) below widths C %d / OC %d",
             ld_dinp, ld_dout, ld_inp, C, OC);
#ifdef T6_HAVE_BLAS
    if (use_blas(be)) {
        if (dinp)
            blas_gemm(be, CblasNoTrans, CblasNoTrans, N, C, OC, dout, ld_dout, w, C,
                      accumulate_dinp ? 1.0f : 0.0f, dinp, ld_dinp);
        if (dw) blas_gemm(be, CblasTrans, CblasNoTrans, OC, C, N, dout, ld_dout, inp, ld_inp, 1.0f, dw, C);
        return;
    }
#endif
    /* dinp(n,c) = sum_o dout(n,o) w(o,c) */
    if (dinp) t6_cpu_gemm_blocked(N, C, OC, dout, ld_dout, 1, w, C, 1, dinp, ld_dinp, accumulate_dinp);
    /* dw(o,c) += sum_n dout(n,o) inp(n,c) */
    if (dw) t6_cpu_gemm_blocked(OC, C, N, dout, 1, ld_dout, inp, ld_inp, 1, dw, C, 1);
}
