// rms_emu_check.cpp -- kernels/rmsnorm.cu's bf16 vector kernels run on the host
// emulator (emu.h) against double-precision references: the forward (out, rstd), the
// forward fused with the residual add (x must become bf16(x + y) exactly, the norm is
// of that), and the accumulating backward, for every vectors-per-lane count the
// dispatch uses (d = 8 .. 2048: one vector a row, partial last vectors, eight per
// lane) and row counts that leave a block's last warps without a row. Outputs are
// NaN-poisoned first and a guard row past N must come back untouched. Tolerances as
// gpu_check's bf16 ops (1.5e-2 of the largest reference value; rstd 1e-5).
// Usage: rms_emu_check (exit 0 when every check passes).
#include "kern_rms.inc"   /* rms_transform.py's output */
#include <functional>
#include <string>
#include <vector>

typedef __nv_bfloat16 bf16;
static int fails, checks;

template <class F> static void launch(int N, F f)
{
    const unsigned grid = (unsigned)((N + (RMS_THREADS >> 5) - 1) / (RMS_THREADS >> 5));
    gridDim = dim3(grid);
    for (unsigned x = 0; x < grid; x++) emu_block_n(dim3(x), RMS_THREADS, 0, f);
}

template <int NV> static void run_nv(int which, int N, int d, uint4 *out, float *rstd, uint4 *x, const uint4 *y,
                                     uint4 *dinp, const uint4 *dy)
{
    if (which == 0) launch(N, [&] { k_rmsnorm_fwd8<NV, false>(out, rstd, x, y, N, d); });
    if (which == 1) launch(N, [&] { k_rmsnorm_fwd8<NV, true>(out, rstd, x, y, N, d); });
    if (which == 2) launch(N, [&] { k_rmsnorm_bwd8<NV>(dinp, dy, x, rstd, N, d); });
}
static void run(int which, int N, int d, uint4 *out, float *rstd, uint4 *x, const uint4 *y, uint4 *dinp,
                const uint4 *dy)
{
    switch ((d / 8 + 31) / 32) {
    case 1: run_nv<1>(which, N, d, out, rstd, x, y, dinp, dy); break;
    case 2: run_nv<2>(which, N, d, out, rstd, x, y, dinp, dy); break;
    case 3: run_nv<3>(which, N, d, out, rstd, x, y, dinp, dy); break;
    case 4: run_nv<4>(which, N, d, out, rstd, x, y, dinp, dy); break;
    case 5: run_nv<5>(which, N, d, out, rstd, x, y, dinp, dy); break;
    case 6: run_nv<6>(which, N, d, out, rstd, x, y, dinp, dy); break;
    case 7: run_nv<7>(which, N, d, out, rstd, x, y, dinp, dy); break;
    case 8: run_nv<8>(which, N, d, out, rstd, x, y, dinp, dy); break;
    default: emu_fail("d past the vector path");
    }
}

static void check(bool ok, const std::string &what)
{
    checks++;
    if (!ok) fails++;
    printf("%-4s %s\n", ok ? "ok" : "FAIL", what.c_str());
}
static void cmp(const std::string &what, const std::vector<double> &ref, const bf16 *got, double tol)
{
    double mx = 0, md = 0;
    bool nan = false;
    for (size_t i = 0; i < ref.size(); i++) {
        double g = bf2f(got[i].x);
        if (!std::isfinite(g)) nan = true;
        mx = fmax(mx, fabs(ref[i]));
        md = fmax(md, fabs(g - ref[i]));
    }
    char buf[160];
    snprintf(buf, sizeof buf, "%s rel_err=%.2e%s", what.c_str(), md / fmax(mx, 1e-30), nan ? " (non-finite)" : "");
    check(!nan && md <= tol * mx, buf);
}

static float frand() { return 2.0f * (float)rand() / (float)RAND_MAX - 1.0f; }

static void case_(int N, int d)
{
    const size_t n = (size_t)N * d, ng = n + d;   /* one guard row */
    const uint16_t sentinel = 0x3f81;
    std::vector<uint4> xb(ng / 8), yb(ng / 8), ob(ng / 8), db(ng / 8), gb(ng / 8);
    bf16 *x = (bf16 *)xb.data(), *y = (bf16 *)yb.data(), *o = (bf16 *)ob.data(), *di = (bf16 *)db.data(),
         *g = (bf16 *)gb.data();
    for (size_t i = 0; i < ng; i++) {
        float s = i < n ? (float)(1 + (i / d) % 5) : 0.0f;   /* row scales 1..5 */
        x[i].x = i < n ? f2bf(s * frand()) : sentinel;
        y[i].x = f2bf(frand());
        di[i].x = i < n ? f2bf(frand()) : sentinel;
        g[i].x = f2bf(frand());
        o[i].x = i < n ? 0xffff : sentinel;   /* NaN poison */
    }
    std::vector<float> rstd(N + 1, NAN);
    rstd[N] = 7.0f;
    std::vector<bf16> x0(x, x + ng), di0(di, di + ng);
    char tag[64];
    snprintf(tag, sizeof tag, "N=%d d=%d", N, d);

    /* forward */
    run(0, N, d, ob.data(), rstd.data(), xb.data(), yb.data(), db.data(), gb.data());
    std::vector<double> ref(n), rref(N);
    bool rs_ok = rstd[N] == 7.0f;
    for (int r = 0; r < N; r++) {
        double ss = 0;
        for (int j = 0; j < d; j++) { double v = bf2f(x[(size_t)r * d + j].x); ss += v * v; }
        rref[r] = 1.0 / sqrt(ss / d + (double)FLT_EPSILON);
        rs_ok &= fabs(rstd[r] - rref[r]) <= 1e-5 * rref[r];
        for (int j = 0; j < d; j++) ref[(size_t)r * d + j] = bf2f(x[(size_t)r * d + j].x) * rref[r];
    }
    cmp(std::string("fwd8 out ") + tag, ref, o, 1.5e-2);
    check(rs_ok, std::string("fwd8 rstd (and the guard's) ") + tag);
    bool guard = true;
    for (int j = 0; j < d; j++) guard &= o[n + j].x == sentinel && x[n + j].x == sentinel;
    check(guard && !memcmp(x, x0.data(), ng * 2), std::string("fwd8 writes out's N rows only, x untouched ") + tag);

    /* backward, accumulating into di, with the forward's rstd */
    run(2, N, d, ob.data(), rstd.data(), xb.data(), yb.data(), db.data(), gb.data());
    for (int r = 0; r < N; r++) {
        double dot = 0, rr = rstd[r];
        for (int j = 0; j < d; j++) dot += (double)bf2f(g[(size_t)r * d + j].x) * bf2f(x[(size_t)r * d + j].x);
        for (int j = 0; j < d; j++) {
            size_t i = (size_t)r * d + j;
            ref[i] = bf2f(di0[i].x) + rr * bf2f(g[i].x) - bf2f(x[i].x) * rr * rr * rr * dot / d;
        }
    }
    cmp(std::string("bwd8 dinp (accumulating) ") + tag, ref, di, 1.5e-2);
    guard = true;
    for (int j = 0; j < d; j++) guard &= di[n + j].x == sentinel;
    check(guard, std::string("bwd8 leaves the guard row ") + tag);

    /* the fused residual add */
    for (size_t i = 0; i < n; i++) o[i].x = 0xffff;
    for (int r = 0; r < N; r++) rstd[r] = NAN;
    run(1, N, d, ob.data(), rstd.data(), xb.data(), yb.data(), db.data(), gb.data());
    bool sum_ok = true;
    for (size_t i = 0; i < n; i++) sum_ok &= x[i].x == f2bf(bf2f(x0[i].x) + bf2f(y[i].x));
    for (int j = 0; j < d; j++) sum_ok &= x[n + j].x == sentinel;
    check(sum_ok, std::string("fwd8+add x = bf16(x + y) exactly, guard untouched ") + tag);
    rs_ok = rstd[N] == 7.0f;
    for (int r = 0; r < N; r++) {
        double ss = 0;
        for (int j = 0; j < d; j++) { double v = bf2f(x[(size_t)r * d + j].x); ss += v * v; }
        double rr = 1.0 / sqrt(ss / d + (double)FLT_EPSILON);
        rs_ok &= fabs(rstd[r] - rr) <= 1e-5 * rr;
        for (int j = 0; j < d; j++) ref[(size_t)r * d + j] = bf2f(x[(size_t)r * d + j].x) * rr;
    }
    cmp(std::string("fwd8+add out (the norm of the stored sum) ") + tag, ref, o, 1.5e-2);
    check(rs_ok, std::string("fwd8+add rstd ") + tag);
}

int main()
{
    srand(12345);
    static const int shapes[][2] = {{1, 8}, {13, 136}, {67, 768}, {9, 1024}, {10, 1032}, {3, 1536}, {5, 2048}};
    for (auto &s : shapes) case_(s[0], s[1]);
    printf("rms_emu_check: %d of %d checks failed\n", fails, checks);
    return fails ? 1 : 0;
}
