// dec_emu_check.cpp -- kernels/decode.cu's tensor-core decode kernel (k_dec_mma) run on
// the host emulator (emu.h, dec_emu.h) against a double-precision single-query
// attention over a TPA factor cache (and a plain K/V cache), on the two paths the host
// side of decode.cu can choose: one-warp splits + combine kernel, and blocks of W warps
// merging in shared memory + combine. The launch sizes are given here (decode.cu's
// sizing needs a GPU's SM counts); rows of different lengths, an empty row and lengths
// past M_max included. Outputs are NaN-poisoned first, partials too; tolerance as
// gpu_check's bf16 ops (1.5e-2 of the largest reference value). The L2 prefetch
// (a.pf tiles ahead, T6_DECODE_PREFETCH) is a hint: every prefetched address must lie
// in the cache (dec_emu.h checks), and the outputs with a.pf = 1, 2 and 5 must equal
// those without, bit for bit. Each check prints an FNV-1a hash of its output bits, so
// two versions of the kernel can be compared bit for bit (diff the logs).
// Usage: dec_emu_check [quick|all]
#include "kern.inc"   /* dec_transform.py's output */
#include <string>
void emu_register(const void *, size_t);
void emu_clear_buffers();

template <class F> static void launch(dim3 grid, unsigned nthr, size_t smem, F f) {
    gridDim = grid;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) emu_block_n(dim3(x, y, z), nthr, smem, f);
}
/* the data's own generator: rand() also fills the emulated shared memory (emu.cpp), so
 * with it the data would depend on the kernel's shared-memory size */
static unsigned long long g_rng = 12345;
static std::vector<bf16> rnd(size_t n, float a) {
    std::vector<bf16> v(n);
    for (auto &e : v) {
        g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
        e.x = f2bf(a * (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0));
    }
    return v;
}
static float F(bf16 b) { return bf2f(b.x); }
static int fails, checks;
static void cmp(const std::string &cfg, const std::vector<double> &ref, const std::vector<bf16> &got, double tol) {
    double mx = 0, md = 0; bool nan = false;
    for (size_t i = 0; i < ref.size(); i++) {
        mx = fmax(mx, fabs(ref[i]));
        float g = F(got[i]);
        if (!std::isfinite(g)) nan = true; else md = fmax(md, fabs(g - ref[i]));
    }
    double rel = md / (mx > 0 ? mx : 1);
    bool ok = !nan && rel <= tol;
    checks++;
    if (!ok) fails++;
    printf("%-4s %s rel %.2e%s\n", ok ? "ok" : "FAIL", cfg.c_str(), rel, nan ? " NaN" : "");
}

/* One path: W warps per block, S blocks per row, chunk tokens per warp, pf tiles of L2
 * prefetch. Fills out (rows, nh, DH). */
template <int DH, int MT, bool HASA, bool FULL>
static void run_path(DecArgs a, int rows, int W, int S, int chunk, int pf, std::vector<bf16> &out) {
    a.S = S; a.chunk = chunk; a.merge = W > 1; a.fuse = 0; a.pf = pf;
    for (auto &e : out) e.x = 0x7fc0;
    a.out = out.data();
    std::vector<float> po((size_t)rows * S * a.nh * DH, NAN), pl((size_t)rows * S * a.nh, NAN);
    a.po = po.data();
    a.plse = pl.data();
    emu_register(po.data(), po.size() * 4);
    emu_register(pl.data(), pl.size() * 4);
    const DecSmem L = dec_smem(DH, MT, W, 0);
    launch(dim3(S, rows), 32 * W, L.total, [&] { k_dec_mma<DH, MT, HASA, FULL, 0>(a); });
    const float *cp = po.data(), *cl = pl.data();
    bf16 *o = out.data();
    const int nh = a.nh;
    launch(dim3(nh, rows, (DH + 15) / 16), 256, 0, [&] { k_dec_combine<bf16>(o, cp, cl, S, nh, DH); });
}
static unsigned long long fnv(const std::vector<bf16> &v) {
    unsigned long long h = 1469598103934665603ull;
    for (auto &e : v) {
        h = (h ^ (e.x & 0xff)) * 1099511628211ull;
        h = (h ^ (e.x >> 8)) * 1099511628211ull;
    }
    return h;
}
static void same_bits(const std::string &cfg, const std::vector<bf16> &x, const std::vector<bf16> &y) {
    size_t diff = 0;
    for (size_t k = 0; k < x.size(); k++) diff += x[k].x != y[k].x;
    checks++;
    if (diff) fails++;
    printf("%-4s %s: %zu of %zu differ\n", diff ? "FAIL" : "ok", cfg.c_str(), diff, x.size());
}

/* TPA (HASA) or K/V (G kv heads, nh = h / G per row) at B rows of up to M tokens */
template <int DH, int MT, bool HASA, bool FULL>
static void run(int B, int M, std::vector<int> lens, int h, int RK, int RV, int G, int W, int S) {
    char cb[160];
    snprintf(cb, sizeof cb, "%s B%d M%d h%d R%d/%d G%d dh%d", HASA ? "tpa" : "kv ", B, M, h, RK, RV, G, DH);
    const std::string cfg = cb;
    const int nh = HASA ? h : h / G, rows = HASA ? B : B * G;
    std::vector<bf16> q = rnd((size_t)B * h * DH, 1.5f), ak, av, bk, bv;
    if (HASA) {
        ak = rnd((size_t)B * M * RK * h, 1.0f); av = rnd((size_t)B * M * RV * h, 1.0f);
        bk = rnd((size_t)B * M * RK * DH, 1.5f); bv = rnd((size_t)B * M * RV * DH, 1.0f);
    } else {
        bk = rnd((size_t)B * M * G * DH, 1.5f); bv = rnd((size_t)B * M * G * DH, 1.0f);
    }
    std::vector<int32_t> ln(lens.begin(), lens.end());
    emu_clear_buffers();
    emu_register(q.data(), q.size() * 2); emu_register(bk.data(), bk.size() * 2); emu_register(bv.data(), bv.size() * 2);
    if (HASA) { emu_register(ak.data(), ak.size() * 2); emu_register(av.data(), av.size() * 2); }
    emu_register(ln.data(), ln.size() * 4);
    DecArgs a;
    memset(&a, 0, sizeof a);
    a.q = q.data(); a.bk = bk.data(); a.bv = bv.data(); a.lens = ln.data(); a.M = M; a.dh = DH;
    if (HASA) {
        a.ak = ak.data(); a.av = av.data();
        a.row_ak = (long long)M * RK * h; a.row_av = (long long)M * RV * h;
        a.row_bk = (long long)M * RK * DH; a.row_bv = (long long)M * RV * DH;
        a.tok_ak = RK * h; a.tok_av = RV * h; a.tok_bk = RK * DH; a.tok_bv = RV * DH;
        a.ha = h; a.G = 1; a.nh = h; a.RK = RK; a.RV = RV;
        a.sc2 = (float)(1.0 / sqrt((double)DH) / RK) * DEC_LOG2E; a.vscale = 1.0f / RV;
    } else {
        a.row_bk = a.row_bv = (long long)M * G * DH; a.g_b = DH; a.tok_bk = a.tok_bv = G * DH;
        a.G = G; a.nh = nh; a.RK = a.RV = 1;
        a.sc2 = (float)(1.0 / sqrt((double)DH)) * DEC_LOG2E; a.vscale = 1.0f;
    }
    /* reference in double: out (B, h, DH) */
    std::vector<double> ref((size_t)B * h * DH, 0.0), p(M);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++) {
            const int len = std::min(lens[b], M), gk = HASA ? 0 : i / nh, RKk = HASA ? RK : 1, RVv = HASA ? RV : 1;
            if (len <= 0) continue;                       /* len 0: zeros */
            double mx = -1e300;
            for (int t = 0; t < len; t++) {
                double s = 0;
                for (int r = 0; r < RKk; r++) {
                    const bf16 *kr = HASA ? &bk[(((size_t)b * M + t) * RK + r) * DH] : &bk[(((size_t)b * M + t) * G + gk) * DH];
                    double d = 0;
                    for (int e = 0; e < DH; e++) d += (double)F(q[((size_t)b * h + i) * DH + e]) * F(kr[e]);
                    s += (HASA ? F(ak[(((size_t)b * M + t) * RK + r) * h + i]) : 1.0) * d;
                }
                p[t] = s / sqrt((double)DH) / RKk;
                mx = fmax(mx, p[t]);
            }
            double sum = 0;
            for (int t = 0; t < len; t++) { p[t] = exp(p[t] - mx); sum += p[t]; }
            double *o = &ref[((size_t)b * h + i) * DH];
            for (int t = 0; t < len; t++)
                for (int r = 0; r < RVv; r++) {
                    const bf16 *vr = HASA ? &bv[(((size_t)b * M + t) * RV + r) * DH] : &bv[(((size_t)b * M + t) * G + gk) * DH];
                    const double w = p[t] / sum / RVv * (HASA ? F(av[(((size_t)b * M + t) * RV + r) * h + i]) : 1.0);
                    for (int e = 0; e < DH; e++) o[e] += w * F(vr[e]);
                }
        }
    std::vector<bf16> o1(ref.size()), o2(ref.size()), o3(ref.size());
    char hb[40];
    /* split + combine of one-warp blocks, S*W splits per row */
    const int n1 = S * W, c1 = ((M + n1 - 1) / n1 + 15) / 16 * 16;
    run_path<DH, MT, HASA, FULL>(a, rows, 1, (M + c1 - 1) / c1, c1, 0, o1);
    snprintf(hb, sizeof hb, " [%016llx]", fnv(o1));
    cmp(cfg + " split+combine W1" + hb, ref, o1, 1.5e-2);
    /* blocks of W warps merging, S blocks per row, + combine */
    const int sw = (M + c1 - 1) / c1;
    run_path<DH, MT, HASA, FULL>(a, rows, W, (sw + W - 1) / W, c1, 0, o2);
    snprintf(hb, sizeof hb, " [%016llx]", fnv(o2));
    cmp(cfg + " merge W" + std::to_string(W) + " + combine" + hb, ref, o2, 1.5e-2);
    /* the L2 prefetch changes no bit, on either path */
    for (int pf : {1, 2, 5}) {
        run_path<DH, MT, HASA, FULL>(a, rows, 1, (M + c1 - 1) / c1, c1, pf, o3);
        same_bits(cfg + " W1 prefetch " + std::to_string(pf) + " == none", o1, o3);
        run_path<DH, MT, HASA, FULL>(a, rows, W, (sw + W - 1) / W, c1, pf, o3);
        same_bits(cfg + " W" + std::to_string(W) + " prefetch " + std::to_string(pf) + " == none", o2, o3);
    }
}

int main(int argc, char **argv) {
    const std::string what = argc > 1 ? argv[1] : "all";
    srand(12345);
    /* the paper's decode shape (32 heads, ranks 1/1, dh 64): full tiles */
    run<64, 2, true, true>(2, 1000, {1000, 333}, 32, 1, 1, 1, 9, 3);
    run<64, 3, true, false>(3, 300, {300, 0, 7000}, 34, 2, 2, 1, 4, 2);   /* 3 m-tiles, empty row, len > M */
    if (what == "all") {
        run<64, 2, true, true>(1, 4096, {4096}, 32, 1, 1, 1, 9, 29);      /* decode_bench's B=1 M=4K: the H200 grid */
        run<64, 2, true, true>(2, 8192, {8192, 5000}, 32, 1, 1, 1, 3, 4); /* B=8-like: W=3, 8 splits of 352 per row */
        run<16, 1, true, false>(2, 200, {200, 17}, 5, 3, 2, 1, 3, 2);    /* dh 16, 5 heads */
        run<64, 1, false, false>(2, 500, {500, 250}, 8, 1, 1, 2, 5, 2);  /* GQA: 4 query heads per kv head */
        run<64, 1, false, false>(1, 40, {40}, 6, 1, 1, 6, 1, 1);         /* MHA, one warp */
    }
    printf("%d of %d decode emulator checks passed\n", checks - fails, checks);
    return fails ? 1 : 0;
}
