// dec_emu.h -- what kernels/decode.cu's tensor-core kernel and combine need beyond
// emu.h: vector types, cache-hinted loads (plain loads here, range-checked), byte_perm,
// the kernel's inline-asm helpers (mma, shared loads, cp.async) as emulated calls,
// atomics and fences (blocks run one after another, so plain operations), and the
// block reductions of cuda_common.cuh. dec_transform.py puts this in place of
// cuda_common.cuh in the host copy of the kernels.
#pragma once
#include "emu.h"
#include <cmath>
#include <algorithm>
using std::min;
using std::max;

#define __maxnreg__(n)
#define __align__(n)
typedef __nv_bfloat16 bf16;
struct uint4 { unsigned x, y, z, w; };
struct uint2 { unsigned x, y; };
struct float2 { float x, y; };
static inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
static inline uint2 make_uint2(unsigned a, unsigned b) { return {a, b}; }
static inline float2 make_float2(float a, float b) { return {a, b}; }

/* global loads: the address must lie in a registered buffer (the kernel's guards) */
template <typename T> static inline T emu_ld(const T *p) {
    if (!emu_in_global(p, sizeof(T))) emu_fail("global load outside the buffers");
    if ((uintptr_t)p % sizeof(T)) emu_fail("misaligned global load");
    return *p;
}
template <typename T> static inline T __ldcs(const T *p) { return emu_ld(p); }
template <typename T> static inline T __ldcg(const T *p) { return emu_ld(p); }

static inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    uint64_t v = (uint64_t)x | ((uint64_t)y << 32);
    unsigned r = 0;
    for (int i = 0; i < 4; i++) r |= (unsigned)((v >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
    return r;
}
static inline float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
static inline __nv_bfloat16 __float2bfloat16(float f) { __nv_bfloat16 b; b.x = f2bf(f); return b; }
#define __expf(x) expf(x)
#define __shared__ static   /* one copy for the block's fibers */
static inline void __threadfence() {}
static inline unsigned atomicAdd(unsigned *p, unsigned v) { unsigned o = *p; *p += v; return o; }

/* the kernel's asm helpers */
static inline void dec_mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) { mma16816(c, a, b0, b1); }
static inline void emu_check_shared(const void *p, size_t n) {
    const unsigned char *q = (const unsigned char *)p;
    if (q < emu_smem || q + n > emu_smem + emu_smem_size) emu_fail("shared load outside shared memory");
    if ((uintptr_t)q % n) emu_fail("misaligned shared load");
}
static inline void dec_lds(uint32_t r[4], const uint4 *p) { emu_check_shared(p, 16); memcpy(r, p, 16); }
static inline void dec_lds_w(uint32_t *r, const void *p, int n) { emu_check_shared(p, 4 * n); memcpy(r, p, 4 * n); }
/* an L2 prefetch reads nothing, but it must stay inside the cache (registered buffers) */
static inline void dec_pf_l2(const void *p) { if (!emu_in_global(p, 1)) emu_fail("L2 prefetch outside the buffers"); }
static inline void dec_sts_p2(void *p, const bf16 *x, const bf16 *y) {
    emu_check_shared(p, 16);
    memcpy(p, &x, 8); memcpy((char *)p + 8, &y, 8);
}
static inline void dec_lds_p2(const void *p, const bf16 *&x, const bf16 *&y) {
    emu_check_shared(p, 16);
    memcpy(&x, p, 8); memcpy(&y, (const char *)p + 8, 8);
}
static inline void dec_cp16(void *dst, const void *src, bool ok) { emu_cp(dst, src, ok ? 16 : 0, 16); }
static inline void dec_cp_commit(void) {}
template <int N> static inline void dec_cp_wait(void) {}

/* cuda_common.cuh's block reductions and stores, for the combine kernel */
static float emu_red[512];
static inline float t6_block_sum(float v) {
    emu_red[threadIdx.x] = v;
    __syncthreads();
    float s = 0.0f;
    for (unsigned i = 0; i < blockDim.x; i++) s += emu_red[i];
    __syncthreads();
    return s;
}
static inline float t6_block_max(float v) {
    emu_red[threadIdx.x] = v;
    __syncthreads();
    float m = -INFINITY;
    for (unsigned i = 0; i < blockDim.x; i++) m = fmaxf(m, emu_red[i]);
    __syncthreads();
    return m;
}
static inline void t6_st(bf16 *p, float v) { *p = __float2bfloat16(v); }
