// attn_emu_check.cpp -- kernels/attention_mma.cu's kernels run on the host emulator
// (emu.h) against a double-precision causal attention (forward, lse, and the dQ/dK/dV
// backward with D = rowsum(dO * O) from the kernel's bf16 output), at head dims 64
// (both forward tilings), 96 and 128, GQA/MQA groups and T not a multiple of any tile.
// Outputs are NaN-poisoned first; tolerance as gpu_check's bf16 ops (1.5e-2 of the
// largest reference value; lse 2e-5). The backward is the two-kernel path (k_fa_dkv,
// then k_fa_dq), the one launch_bwd takes. Usage: attn_emu_check [quick|all] (quick:
// three cases, seconds; all: minutes on 2 cores).
#include "kern.inc"   /* transform.py's output */
#include <string>
void emu_register(const void *, size_t);
void emu_clear_buffers();

template <class F> static void launch(dim3 grid, size_t smem, F f, int nthreads = 128) {
    gridDim = grid;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) emu_block_n(dim3(x, y, z), (unsigned)nthreads, smem, f);
}
static std::vector<bf16> rnd(size_t n, float a) {
    std::vector<bf16> v(n);
    for (auto &e : v) e.x = f2bf(a * (2.0f * rand() / RAND_MAX - 1.0f));
    return v;
}
static float F(bf16 b) { return bf2f(b.x); }
static int fails, checks;
static void cmp(const char *what, const std::string &cfg, const std::vector<double> &ref, const float *got, size_t n, double tol) {
    double mx = 0, md = 0; bool nan = false;
    for (size_t i = 0; i < n; i++) { mx = fmax(mx, fabs(ref[i])); if (!std::isfinite(got[i])) nan = true; else md = fmax(md, fabs(got[i] - ref[i])); }
    double rel = md / (mx > 0 ? mx : 1);
    bool ok = !nan && rel <= tol;
    checks++;
    if (!ok) fails++;
    printf("%-4s %-4s %s rel %.2e%s\n", ok ? "ok" : "FAIL", what, cfg.c_str(), rel, nan ? " NaN" : "");
}

/* one case: forward with MT m-tiles per warp, then the two-kernel backward */
template <int DH, int MT>
static void run(int B, int T, int h, int G) {
    typedef DkvShape<DH> S;
    char cb[160];
    snprintf(cb, sizeof cb, "B%d T%d h%d G%d dh%d MT%d", B, T, h, G, DH, MT);
    std::string cfg = cb;
    size_t nq = (size_t)B * T * h * DH, nk = (size_t)B * T * G * DH, nl = (size_t)B * h * T;
    auto q = rnd(nq, 1.5f), k = rnd(nk, 1.5f), v = rnd(nk, 1.0f), dout = rnd(nq, 1.0f);
    std::vector<bf16> out(nq), dq(nq), dk(nk), dv(nk);
    for (auto *x : {&out, &dq, &dk, &dv}) for (auto &e : *x) e.x = 0x7fc0;     /* NaN poison */
    std::vector<float> lse(nl, NAN), D(nl);
    emu_clear_buffers();
    emu_register(q.data(), nq * 2); emu_register(k.data(), nk * 2); emu_register(v.data(), nk * 2);
    emu_register(dout.data(), nq * 2); emu_register(lse.data(), nl * 4); emu_register(D.data(), nl * 4);
    const float scale = 1.0f / sqrtf((float)DH);
    launch(dim3((T + MT * FT - 1) / (MT * FT), h, B), 4 * FT * lds_of<DH>() * 2,
           [&] { k_fa_fwd<DH, MT>(out.data(), lse.data(), q.data(), k.data(), v.data(), T, h, G, scale); });
    for (size_t r = 0; r < (size_t)B * T * h; r++) {    /* D = rowsum(dO * O), (B,h,T) */
        size_t b = r / ((size_t)T * h), t = (r / h) % T, i = r % h;
        float s = 0; for (int j = 0; j < DH; j++) s += F(dout[r * DH + j]) * F(out[r * DH + j]);
        D[(b * h + i) * T + t] = s;
    }
    launch(dim3((T + S::KW - 1) / S::KW, G, B), S::SMEM,
           [&] { k_fa_dkv<DH>(dk.data(), dv.data(), dout.data(), lse.data(), D.data(), q.data(), k.data(), v.data(), T, h, G, scale); });
    launch(dim3((T + FT - 1) / FT, h, B), 4 * FT * lds_of<DH>() * 2,
           [&] { k_fa_dq<DH>(dq.data(), dout.data(), lse.data(), D.data(), q.data(), k.data(), v.data(), T, h, G, scale); });
    /* reference in double */
    std::vector<double> ro(nq), rl(nl), rdq(nq), rdk(nk, 0.0), rdv(nk, 0.0);
    std::vector<double> p(T), dp(T);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++) {
            int gk = i / (h / G);
            for (int t = 0; t < T; t++) {
                const bf16 *qr = &q[(((size_t)b * T + t) * h + i) * DH];
                double mx = -1e300;
                for (int j = 0; j <= t; j++) {
                    const bf16 *kr = &k[(((size_t)b * T + j) * G + gk) * DH];
                    double s = 0; for (int d = 0; d < DH; d++) s += (double)F(qr[d]) * F(kr[d]);
                    p[j] = s * scale; mx = fmax(mx, p[j]);
                }
                double sum = 0; for (int j = 0; j <= t; j++) { p[j] = exp(p[j] - mx); sum += p[j]; }
                rl[((size_t)b * h + i) * T + t] = mx + log(sum);
                double *o = &ro[(((size_t)b * T + t) * h + i) * DH];
                for (int d = 0; d < DH; d++) o[d] = 0;
                for (int j = 0; j <= t; j++) {
                    p[j] /= sum;
                    const bf16 *vr = &v[(((size_t)b * T + j) * G + gk) * DH];
                    for (int d = 0; d < DH; d++) o[d] += p[j] * F(vr[d]);
                }
                const bf16 *dor = &dout[(((size_t)b * T + t) * h + i) * DH];
                double Dt = 0; for (int d = 0; d < DH; d++) Dt += F(dor[d]) * o[d];
                double *dqr = &rdq[(((size_t)b * T + t) * h + i) * DH];
                for (int d = 0; d < DH; d++) dqr[d] = 0;
                for (int j = 0; j <= t; j++) {
                    const bf16 *vr = &v[(((size_t)b * T + j) * G + gk) * DH], *kr = &k[(((size_t)b * T + j) * G + gk) * DH];
                    double s = 0; for (int d = 0; d < DH; d++) s += (double)F(dor[d]) * F(vr[d]);
                    double ds = p[j] * (s - Dt);
                    double *dkr = &rdk[(((size_t)b * T + j) * G + gk) * DH], *dvr = &rdv[(((size_t)b * T + j) * G + gk) * DH];
                    for (int d = 0; d < DH; d++) {
                        dqr[d] += scale * ds * F(kr[d]);
                        dkr[d] += scale * ds * F(qr[d]);
                        dvr[d] += p[j] * F(dor[d]);
                    }
                }
            }
        }
    std::vector<float> f(nq);
    for (size_t j = 0; j < nq; j++) f[j] = F(out[j]);
    cmp("out", cfg, ro, f.data(), nq, 1.5e-2);
    cmp("lse", cfg, rl, lse.data(), nl, 2e-5);
    for (size_t j = 0; j < nq; j++) f[j] = F(dq[j]);
    cmp("dq", cfg, rdq, f.data(), nq, 1.5e-2);
    for (size_t j = 0; j < nk; j++) f[j] = F(dk[j]);
    cmp("dk", cfg, rdk, f.data(), nk, 1.5e-2);
    for (size_t j = 0; j < nk; j++) f[j] = F(dv[j]);
    cmp("dv", cfg, rdv, f.data(), nk, 1.5e-2);
    fflush(stdout);
}

int main(int argc, char **argv) {
    std::string w = argc > 1 ? argv[1] : "all";
    srand(1);
    if (w == "quick") {                 /* make check: dh 96 and 64, GQA, T not a multiple of 64 */
        run<96, 1>(1, 77, 2, 1);
        run<64, 2>(1, 150, 4, 2);
        run<64, 1>(2, 77, 2, 1);
        printf("%d passed, %d failed\n", checks - fails, fails);
        return fails != 0;
    }
    run<64, 2>(2, 77, 6, 2);
    run<64, 1>(1, 150, 3, 3);
    run<64, 2>(1, 300, 2, 1);
    run<64, 2>(1, 20, 2, 1);
    run<96, 1>(2, 77, 6, 2);
    run<96, 1>(1, 20, 2, 1);
    run<96, 1>(1, 300, 3, 3);
    run<96, 1>(1, 200, 4, 1);
    run<128, 1>(2, 77, 6, 2);
    run<128, 1>(1, 20, 2, 1);
    run<128, 1>(1, 150, 4, 2);
    printf("%d passed, %d failed\n", checks - fails, fails);
    return fails != 0;
}
