// qkv_emu_check.cpp -- kernels/tpa_qkv.cu's two kernels (TPA's fused rows -> Q, K, V and
// dQ, dK, dV -> the gradient of the fused rows) run on the host emulator (emu.h) against
// a double-precision reference of split + RoPE + products and their backward, in bf16
// (the 16-byte vector kernels and the generic ones) and fp32. The fused rows' pad
// columns are NaN (never read); outputs NaN-poisoned first; the gradient's pads must
// keep their value. Tolerance: bf16 1.5e-2 of the largest reference value (gpu_check's),
// fp32 2e-5. The v2 kernels (k_qkv_fwd2/k_qkv_bwd2) run too on the bf16 vector cases they
// take: against the reference, and their Q, K, V bitwise against v1's. Usage: qkv_emu_check (built by qkv-run.sh). Exit 0 when every check passes.
#include "emu.h"
#include <algorithm>
#include <string>

/* the CUDA vector types and conversions tpa_qkv.cu uses, on the host */
struct float2 { float x, y; };
struct float4 { float x, y, z, w; };
struct uint4 { unsigned x, y, z, w; };
struct uint2 { unsigned x, y; };
static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline float __bfloat162float(__nv_bfloat16 b) { return bf2f(b.x); }
static inline __nv_bfloat16 __float2bfloat16(float f) { __nv_bfloat16 b; b.x = f2bf(f); return b; }
static inline float2 __bfloat1622float2(__nv_bfloat162 v) { return {bf2f(v.x.x), bf2f(v.y.x)}; }
static inline float t6_ld(const float *p) { return *p; }
static inline float t6_ld(const __nv_bfloat16 *p) { return bf2f(p->x); }
static inline void t6_st(float *p, float v) { *p = v; }
static inline void t6_st(__nv_bfloat16 *p, float v) { p->x = f2bf(v); }
static inline void t6_st2(float *p, float a, float b) { p[0] = a; p[1] = b; }
static inline void t6_st2(__nv_bfloat16 *p, float a, float b) { p[0].x = f2bf(a); p[1].x = f2bf(b); }
static inline uint4 __ldcs(const uint4 *p) { return *p; }
static inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
#include "kern.inc"   /* qkv-run.sh's copy of the kernels */
void emu_register(const void *, size_t);
void emu_clear_buffers();

template <class F> static void launch(unsigned grid, size_t smem, F f, unsigned nthreads = 256) {
    gridDim = dim3(grid);
    for (unsigned x = 0; x < grid; x++) emu_block_n(dim3(x), nthreads, smem, f);
}
static int fails, checks;
static void cmp(const char *what, const std::string &cfg, const std::vector<double> &ref, const std::vector<double> &got,
                double tol) {
    double mx = 0, md = 0; bool nan = false;
    for (size_t i = 0; i < ref.size(); i++) {
        mx = fmax(mx, fabs(ref[i]));
        if (!std::isfinite(got[i])) nan = true; else md = fmax(md, fabs(got[i] - ref[i]));
    }
    double rel = md / (mx > 0 ? mx : 1);
    bool ok = !nan && rel <= tol;
    checks++;
    if (!ok) fails++;
    printf("%-4s %-4s %s rel %.2e%s\n", ok ? "ok" : "FAIL", what, cfg.c_str(), rel, nan ? " NaN" : "");
}

template <typename T> static T mk(float f);
template <> float mk<float>(float f) { return f; }
template <> __nv_bfloat16 mk<__nv_bfloat16>(float f) { return __float2bfloat16(f); }
static double val(float f) { return f; }
static double val(__nv_bfloat16 b) { return bf2f(b.x); }

/* one case: B, T, h, ranks, dh, row stride ld; VEC = the bf16 16-byte kernels */
template <typename E, int VEC>
static void run(int B, int T, int h, int RQ, int RK, int RV, int dh, int ld) {
    char cb[160];
    snprintf(cb, sizeof cb, "%s%s B%d T%d h%d R%d/%d/%d dh%d ld%d", sizeof(E) == 2 ? "bf16" : "fp32",
             VEC ? " vec" : "", B, T, h, RQ, RK, RV, dh, ld);
    const std::string cfg = cb;
    const int N = B * T, R[3] = {RQ, RK, RV}, Rs = RQ + RK + RV, na = h * Rs, nb = Rs * dh, W = na + nb, half = dh / 2;
    const size_t nf = (size_t)N * ld, no = (size_t)N * h * dh;
    std::vector<E> fac(nf), dfac(nf), q[3], g[3];
    for (size_t e = 0; e < nf; e++) {
        fac[e] = mk<E>((e % ld) >= (size_t)W ? NAN : 2.0f * rand() / RAND_MAX - 1.0f);
        dfac[e] = mk<E>(-7.25f);
    }
    for (int p = 0; p < 3; p++) {
        q[p].assign(no, mk<E>(NAN));
        g[p].resize(no);
        for (auto &x : g[p]) x = mk<E>(2.0f * rand() / RAND_MAX - 1.0f);
    }
    std::vector<float2> tab((size_t)T * half);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            const double a = (double)t * pow(10000.0, -2.0 * i / dh);
            tab[(size_t)t * half + i] = {(float)cos(a), (float)sin(a)};
        }
    qkv_dims d;
    d.N = N; d.T = T; d.h = h; d.dh = dh; d.ld = ld;
    d.R[0] = RQ; d.R[1] = RK; d.R[2] = RV; d.rb[0] = 0; d.rb[1] = RQ; d.rb[2] = RQ + RK;
    d.na = na; d.nb = nb; d.nrot = RQ + RK;
    emu_clear_buffers();
    emu_register(fac.data(), nf * sizeof(E)); emu_register(dfac.data(), nf * sizeof(E));
    emu_register(tab.data(), tab.size() * sizeof(float2));
    for (int p = 0; p < 3; p++) { emu_register(q[p].data(), no * sizeof(E)); emu_register(g[p].data(), no * sizeof(E)); }
    /* the launch arithmetic of t6_cuda_tpa_qkv_fwd / _bwd */
    size_t per = (size_t)W * 4;
    int tok = std::max(1, std::min(8, (int)((44u * 1024u) / (per + 16))));
    launch((N + tok - 1) / tok, per * tok + 16,
           [&] { k_qkv_fwd<E, VEC>(q[0].data(), q[1].data(), q[2].data(), fac.data(), d, tab.data(), tok, 1); });
    const int P = VEC ? dh + 4 : dh + 1;
    per = (size_t)(na + Rs * P + h * P) * 4;
    tok = std::max(1, std::min(8, (int)((44u * 1024u) / (per + 16))));
    launch((N + tok - 1) / tok, per * tok + 16,
           [&] { k_qkv_bwd<E, VEC>(dfac.data(), g[0].data(), g[1].data(), g[2].data(), fac.data(), d, tab.data(), tok); });

    /* v2 (the warp-per-token kernels) where the shape takes them: own outputs */
    std::vector<E> q2[3], dfac2(nf, mk<E>(-7.25f));
    int lcpr = -1;
    for (int l = 1; l <= 5; l++) if (dh == 8 << l) lcpr = l;
    const bool v2 = sizeof(E) == 2 && VEC && lcpr > 0 && ld % 8 == 0 && std::max(RQ, std::max(RK, RV)) <= 8;
    if constexpr (sizeof(E) == 2 && VEC) {
        if (v2) {
            for (int p = 0; p < 3; p++) { q2[p].assign(no, mk<E>(NAN)); emu_register(q2[p].data(), no * sizeof(E)); }
            emu_register(dfac2.data(), nf * sizeof(E));
            const size_t row16 = (size_t)(W + 7) / 8 * 16;
            launch((N + QKV2_FWD_W - 1) / QKV2_FWD_W, QKV2_FWD_W * row16,
                   [&] { k_qkv_fwd2(q2[0].data(), q2[1].data(), q2[2].data(), fac.data(), d, tab.data(), lcpr); },
                   32 * QKV2_FWD_W);
            launch((N + QKV2_BWD_W - 1) / QKV2_BWD_W, 2 * QKV2_BWD_W * row16, [&] {
                k_qkv_bwd2(dfac2.data(), g[0].data(), g[1].data(), g[2].data(), fac.data(), d, tab.data(), lcpr);
            }, 32 * QKV2_BWD_W);
        }
    }
    /* reference in double: rotated factors, products, their backward, the inverse rotation */
    std::vector<double> rq[3], gq[3], rd(nf), gd(nf);
    for (int p = 0; p < 3; p++) { rq[p].assign(no, 0.0); gq[p].resize(no); }
    for (int n = 0; n < N; n++) {
        const int t = n % T;
        std::vector<double> A(na), Bf(nb), dA(na, 0.0), dB(nb, 0.0);
        for (int c = 0; c < na; c++) A[c] = val(fac[(size_t)n * ld + c]);
        for (int c = 0; c < nb; c++) Bf[c] = val(fac[(size_t)n * ld + na + c]);
        for (int r = 0; r < RQ + RK; r++)
            for (int i = 0; i < half; i++) {
                const double x1 = Bf[r * dh + i], x2 = Bf[r * dh + i + half], co = tab[(size_t)t * half + i].x,
                             si = tab[(size_t)t * half + i].y;
                Bf[r * dh + i] = x1 * co + x2 * si;
                Bf[r * dh + i + half] = -x1 * si + x2 * co;
            }
        int oa = 0, rb = 0;
        for (int p = 0; p < 3; p++) {
            for (int i = 0; i < h; i++)
                for (int j = 0; j < dh; j++) {
                    double s = 0.0;
                    const double gij = val(g[p][((size_t)n * h + i) * dh + j]);
                    for (int r = 0; r < R[p]; r++) {
                        s += A[oa + i * R[p] + r] * Bf[(rb + r) * dh + j];
                        dA[oa + i * R[p] + r] += gij * Bf[(rb + r) * dh + j] / R[p];
                        dB[(rb + r) * dh + j] += gij * A[oa + i * R[p] + r] / R[p];
                    }
                    rq[p][((size_t)n * h + i) * dh + j] = s / R[p];
                }
            oa += h * R[p];
            rb += R[p];
        }
        for (int r = 0; r < RQ + RK; r++)
            for (int i = 0; i < half; i++) {
                const double x1 = dB[r * dh + i], x2 = dB[r * dh + i + half], co = tab[(size_t)t * half + i].x,
                             si = tab[(size_t)t * half + i].y;
                dB[r * dh + i] = x1 * co - x2 * si;
                dB[r * dh + i + half] = x1 * si + x2 * co;
            }
        for (int c = 0; c < ld; c++) {
            rd[(size_t)n * ld + c] = c < na ? dA[c] : c < W ? dB[c - na] : -7.25;
            gd[(size_t)n * ld + c] = val(dfac[(size_t)n * ld + c]);
        }
    }
    const double tol = sizeof(E) == 2 ? 1.5e-2 : 2e-5;
    static const char *nm[3] = {"Q", "K", "V"};
    for (int p = 0; p < 3; p++) {
        for (size_t e = 0; e < no; e++) gq[p][e] = val(q[p][e]);
        cmp(nm[p], cfg, rq[p], gq[p], tol);
    }
    cmp("dfac", cfg, rd, gd, tol);
    if (v2) {
        const std::string c2 = cfg + " v2";
        for (int p = 0; p < 3; p++) {
            bool same = true;
            for (size_t e = 0; e < no; e++) { gq[p][e] = val(q2[p][e]); same &= memcmp(&q2[p][e], &q[p][e], sizeof(E)) == 0; }
            cmp(nm[p], c2, rq[p], gq[p], tol);
            checks++;
            if (!same) fails++;
            printf("%-4s %s %s: bitwise equal to v1\n", same ? "ok" : "FAIL", nm[p], c2.c_str());
        }
        std::vector<double> g2(nf);
        bool pads2 = true;
        for (size_t e = 0; e < nf; e++) g2[e] = val(dfac2[e]);
        for (int n = 0; n < N; n++)
            for (int c = W; c < ld; c++) pads2 &= g2[(size_t)n * ld + c] == -7.25;
        cmp("dfac", c2, rd, g2, tol);
        checks++;
        if (!pads2) fails++;
        printf("%-4s pads %s: the gradient's pad columns kept\n", pads2 ? "ok" : "FAIL", c2.c_str());
    }
    bool pads = true;
    for (int n = 0; n < N; n++)
        for (int c = W; c < ld; c++) pads &= gd[(size_t)n * ld + c] == -7.25;
    checks++;
    if (!pads) fails++;
    printf("%-4s pads %s: the gradient's pad columns kept\n", pads ? "ok" : "FAIL", cfg.c_str());
    fflush(stdout);
}

int main() {
    srand(1);
    run<__nv_bfloat16, 1>(1, 9, 34, 6, 2, 2, 64, 984);   /* T6 small's widths */
    run<__nv_bfloat16, 1>(2, 5, 5, 3, 1, 2, 16, 131);    /* odd heads and ranks, odd stride */
    /* shapes for the v2 kernels: N not a multiple of 8 warps, ranks over one bwd group
     * of 4 (7 and 5), dh 16, 32 and 128 (CPR 2, 4, 16), W not a multiple of 8 */
    run<__nv_bfloat16, 1>(2, 5, 5, 3, 1, 2, 16, 136);
    run<__nv_bfloat16, 1>(1, 11, 3, 7, 5, 1, 32, 464);
    run<__nv_bfloat16, 1>(3, 3, 2, 2, 2, 2, 128, 784);
    run<__nv_bfloat16, 1>(1, 19, 47, 6, 2, 2, 64, 1112); /* T6 medium's widths */
    run<__nv_bfloat16, 0>(2, 5, 5, 3, 1, 2, 16, 131);
    run<__nv_bfloat16, 0>(1, 7, 3, 1, 5, 4, 10, 143);    /* dh % 8 != 0 */
    run<float, 0>(1, 9, 34, 6, 2, 2, 64, 984);
    run<float, 0>(3, 4, 5, 3, 3, 1, 6, 83);
    printf("%d passed, %d failed\n", checks - fails, fails);
    return fails != 0;
}
