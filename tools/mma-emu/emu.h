// emu.h -- host emulation of the CUDA features kernels/attention_mma.cu uses, so its
// fragment and tile indexing can be checked on a machine without a GPU (run.sh here).
// One fiber per thread (ucontext), scheduled cooperatively in one OS thread; warp
// collectives (mma.sync m16n8k16 bf16 with fp32 accumulation, ldmatrix x4 [.trans],
// shfl.xor) complete when all 32 lanes of the warp have arrived, a lane whose warp
// calls another collective fails; __syncthreads is a block barrier; cp.async copies at
// once (so it cannot show a missing wait), with the zero fill; every shared address
// (ldmatrix rows, cp.async targets) and every cp.async source is range-checked.
// It checks indices and data flow, not timing, bank conflicts or register counts.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <functional>
#include <vector>
#include <ucontext.h>

struct dim3 { unsigned x, y, z; dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {} };
extern dim3 threadIdx, blockIdx, gridDim, blockDim;
extern unsigned char *emu_smem;
extern size_t emu_smem_size;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)

struct __nv_bfloat16 { uint16_t x; };
struct __nv_bfloat162 { __nv_bfloat16 x, y; };
static inline uint16_t f2bf(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0;
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
static inline float bf2f(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
static inline __nv_bfloat162 __floats2bfloat162_rn(float lo, float hi) {
    __nv_bfloat162 v; v.x.x = f2bf(lo); v.y.x = f2bf(hi); return v;
}

void emu_yield();
void emu_fail(const char *what);
void __syncthreads();
void __syncwarp(unsigned mask = 0xffffffffu);   /* a warp collective */
void emu_block_n(dim3 b, unsigned nthreads, size_t smem, const std::function<void()> &fn);
void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1);
void ldsm_x4(uint32_t r[4], const __nv_bfloat16 *p);
void ldsm_x4_t(uint32_t r[4], const __nv_bfloat16 *p);
float __shfl_xor_sync(unsigned mask, float v, int m);
static inline float ex2(float x) { return exp2f(x); }
static inline void cp_commit() {}
template <int N> static inline void cp_wait() {}
bool emu_in_global(const void *p, size_t n);
static inline void emu_cp(void *dst, const void *src, int srcsize, int size) {
    unsigned char *d = (unsigned char *)dst;
    if (d < emu_smem || d + size > emu_smem + emu_smem_size) emu_fail("cp.async dst outside shared memory");
    if (((uintptr_t)d) % size) emu_fail("cp.async dst misaligned");
    if (srcsize && !emu_in_global(src, srcsize)) emu_fail("cp.async src outside the buffers");
    memset(d, 0, size);
    if (srcsize) memcpy(d, src, srcsize);
}
