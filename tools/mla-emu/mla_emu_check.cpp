// mla_emu_check.cpp -- the index logic of kernels/mla_split.cu (mla_split, mla_join) and
// of kernels/mla.cu's weight-gradient passes and 16-byte row copy, on a machine without a
// GPU (run.sh here): the kernels (fp32 instantiation) run on the host, blocks one after
// another; a block with a barrier runs its threads as std::threads meeting at a
// std::barrier (__syncthreads), the others run their threads in turn (they do not talk).
// The launch shapes are the host wrappers' (rows_grid, dw_chunks, 256-thread copies).
// References: the ops' definitions (backend.h) written out directly; the split, join and
// copy must match exactly (same table, same float expressions), dw within 1e-5 of double.
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>
#include <algorithm>
using std::min;
struct dim3 { unsigned x, y, z; dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {} };
struct uint4 { unsigned x, y, z, w; };
struct float2 { float x, y; };
thread_local dim3 threadIdx, blockIdx;
dim3 gridDim, blockDim;
static std::barrier<> *g_bar;
static void __syncthreads() { g_bar->arrive_and_wait(); }
#define __global__
#define __device__
#define __launch_bounds__(...)
#define __shared__ static   /* one block runs at a time: a static is its shared memory */
static inline float t6_ld(const float *p) { return *p; }
static inline void t6_st(float *p, float v) { *p = v; }
#include "kern.inc"

static void launch(dim3 g, dim3 b, bool threads, const std::function<void()> &f)
{
    gridDim = g; blockDim = b;
    const unsigned nt = b.x * b.y;
    for (unsigned by = 0; by < g.y; by++)
        for (unsigned bx = 0; bx < g.x; bx++) {
            if (!threads) {
                for (unsigned t = 0; t < nt; t++) { blockIdx = dim3(bx, by); threadIdx = dim3(t % b.x, t / b.x); f(); }
                continue;
            }
            std::barrier<> bar(nt);
            g_bar = &bar;
            std::vector<std::thread> ts;
            for (unsigned t = 0; t < nt; t++)
                ts.emplace_back([&, t] { blockIdx = dim3(bx, by); threadIdx = dim3(t % b.x, t / b.x); f(); });
            for (auto &t : ts) t.join();
        }
}

static unsigned seed = 1;
static float urnd() { seed = seed * 1664525u + 1013904223u; return (float)((seed >> 8) / 16777216.0 * 2 - 1); }
static std::vector<float> rv(size_t n) { std::vector<float> v(n); for (auto &x : v) x = urnd(); return v; }
static int fails = 0;
static void check(bool ok, const char *what, double e) { printf("%s %s (%.3g)\n", ok ? "ok  " : "FAIL", what, e); fails += !ok; }

static void t_split(int B, int T, int h, int dn, int dr, int dv, int ld, int off)
{
    const int N = B * T, dha = dn + dr, dkvh = dn + dv, half = dr / 2;
    const double base = 10000.0;
    std::vector<float2> tab((size_t)T * half);
    for (int t = 0; t < T; t++) for (int i = 0; i < half; i++) {
        double a = (double)t * pow(base, -2.0 * i / dr); tab[t * half + i] = {(float)cos(a), (float)sin(a)}; }
    auto q0 = rv((size_t)N * h * dha), kv = rv((size_t)N * h * dkvh), ckv = rv((size_t)N * ld);
    auto q = q0; std::vector<float> k((size_t)N * h * dha, NAN), v((size_t)N * h * dha, NAN);
    launch(dim3(rows_grid(N)), dim3(256), false, [&] { k_mla_split<float>(q.data(), k.data(), v.data(), kv.data(), ckv.data() + off, ld, tab.data(), N, T, h, dn, dr, dv); });
    double e = 0; int nan = 0;
    for (int n = 0; n < N; n++) { int t = n % T;
        for (int i = 0; i < h; i++) for (int c = 0; c < dha; c++) {
            size_t o = ((size_t)n * h + i) * dha + c;
            float wq, wk, wv = c < dv ? kv[((size_t)n * h + i) * dkvh + dn + c] : 0.0f;
            if (c < dn) { wq = q0[o]; wk = kv[((size_t)n * h + i) * dkvh + c]; }
            else { int p = c - dn, pp = p < half ? p : p - half; float co = tab[t*half+pp].x, si = tab[t*half+pp].y;
                const float *qq = &q0[((size_t)n * h + i) * dha + dn], *kk = &ckv[(size_t)n * ld + off];
                if (p < half) { wq = qq[p]*co + qq[p+half]*si; wk = kk[p]*co + kk[p+half]*si; }
                else { wq = -qq[pp]*si + qq[p]*co; wk = -kk[pp]*si + kk[p]*co; } }
            if (std::isnan(q[o]) || std::isnan(k[o]) || std::isnan(v[o])) nan++;
            e = std::max({e, (double)fabsf(q[o]-wq), (double)fabsf(k[o]-wk), (double)fabsf(v[o]-wv)});
        } }
    char nm[128]; snprintf(nm, sizeof nm, "mla_split B%d T%d h%d %d+%d/%d ld%d off%d", B, T, h, dn, dr, dv, ld, off);
    check(e == 0 && !nan, nm, e);
    // join
    auto dq0 = rv(q0.size()), dk = rv(q0.size()), dvv = rv(q0.size()), dc0 = rv(ckv.size());
    auto dq = dq0, dc = dc0; std::vector<float> dkv((size_t)N * h * dkvh, NAN);
    launch(dim3(rows_grid(N)), dim3(256), false, [&] { k_mla_join<float>(dq.data(), dkv.data(), dc.data() + off, ld, dk.data(), dvv.data(), tab.data(), N, T, h, dn, dr, dv); });
    e = 0; nan = 0;
    for (int n = 0; n < N; n++) { int t = n % T;
        for (int i = 0; i < h; i++) {
            for (int c = 0; c < dkvh; c++) { float w = c < dn ? dk[((size_t)n*h+i)*dha + c] : dvv[((size_t)n*h+i)*dha + c - dn];
                float g = dkv[((size_t)n*h+i)*dkvh + c]; if (std::isnan(g)) nan++; e = std::max(e, (double)fabsf(g - w)); }
            for (int c = 0; c < dha; c++) { size_t o = ((size_t)n*h+i)*dha + c; float w;
                if (c < dn) w = dq0[o]; else { int p = c - dn, pp = p < half ? p : p - half; float co = tab[t*half+pp].x, si = -tab[t*half+pp].y;
                    const float *x = &dq0[((size_t)n*h+i)*dha + dn];
                    w = p < half ? x[p]*co + x[p+half]*si : -x[pp]*si + x[p]*co; }
                e = std::max(e, (double)fabsf(dq[o] - w)); } }
        float s[64] = {0};
        for (int i = 0; i < h; i++) for (int p = 0; p < dr; p++) s[p] = i ? s[p] + dk[((size_t)n*h+i)*dha + dn + p] : dk[((size_t)n*h+i)*dha + dn + p];
        for (int j = 0; j < ld; j++) { float w, g = dc[(size_t)n*ld + j];
            if (j < off || j >= off + dr) w = dc0[(size_t)n*ld + j];
            else { int p = j - off, pp = p < half ? p : p - half; float co = tab[t*half+pp].x, si = -tab[t*half+pp].y;
                w = p < half ? s[p]*co + s[p+half]*si : -s[pp]*si + s[p]*co; }
            e = std::max(e, (double)fabsf(g - w)); } }
    snprintf(nm, sizeof nm, "mla_join  B%d T%d h%d %d+%d/%d ld%d off%d", B, T, h, dn, dr, dv, ld, off);
    check(e == 0 && !nan, nm, e);
}

static void t_dw(int N, int d)
{
    auto dy = rv((size_t)N * d), x = rv((size_t)N * d), r = rv(N), dw0 = rv(d);
    auto dw = dw0;
    const int chunks = dw_chunks(N), rpc = (N + chunks - 1) / chunks;
    std::vector<float> part((size_t)chunks * d, NAN);
    launch(dim3((d + 31) / 32, chunks), dim3(32, DW_LANES), true, [&] { k_rmsnorm_w_dw_part<float>(part.data(), dy.data(), x.data(), r.data(), N, d, rpc); });
    launch(dim3((d + 127) / 128), dim3(128), false, [&] { k_rmsnorm_w_dw_sum(dw.data(), part.data(), chunks, d); });
    double e = 0, m = 0;
    for (int j = 0; j < d; j++) { double s = dw0[j]; for (int n = 0; n < N; n++) s += (double)dy[(size_t)n*d+j] * x[(size_t)n*d+j] * r[n];
        e = std::max(e, fabs(s - dw[j])); m = std::max(m, fabs(s)); }
    char nm[96]; snprintf(nm, sizeof nm, "rmsnorm_w dw N%d d%d (%d chunks of %d)", N, d, chunks, rpc);
    check(e / m < 1e-5 && !std::isnan(e), nm, e / m);
}

static void t_copy16(int rows, int width, int ldd, int lds)   // fp32: es 4
{
    auto src = rv((size_t)rows * lds), d0 = rv((size_t)rows * ldd); auto dst = d0;
    const int w16 = width * 4 / 16; size_t total = (size_t)rows * w16;
    unsigned g = (unsigned)std::min<size_t>((total + 255) / 256, 65535u * 8);
    launch(dim3(g), dim3(256), false, [&] { k_copy_rows16((uint4 *)dst.data(), ldd * 4 / 16, (const uint4 *)src.data(), lds * 4 / 16, rows, w16); });
    double e = 0;
    for (int r = 0; r < rows; r++) for (int j = 0; j < ldd; j++) {
        float w = j < width ? src[(size_t)r*lds + j] : d0[(size_t)r*ldd + j]; e = std::max(e, (double)fabsf(dst[(size_t)r*ldd+j] - w)); }
    char nm[96]; snprintf(nm, sizeof nm, "copy_rows16 %dx%d ld %d <- %d", rows, width, ldd, lds);
    check(e == 0, nm, e);
}

int main()
{
    t_split(2, 5, 3, 5, 6, 7, 17, 9);
    t_split(1, 9, 2, 0, 4, 3, 4, 0);
    t_split(2, 7, 13, 64, 32, 64, 288, 256);
    t_dw(1001, 99);
    t_dw(300, 40);
    t_dw(40000, 33);
    t_copy16(101, 64, 64, 96);
    t_copy16(77, 256, 288, 256);
    t_copy16(5, 4, 8, 12);
    printf("%s\n", fails ? "FAILED" : "all passed");
    return fails != 0;
}
