// rms_emu.h -- what kernels/rmsnorm.cu's vector kernels use beyond emu.h: uint4,
// float2, bf16 pair unpacking, the streaming load (a plain load here) and the warp sum
// of cuda_common.cuh (the same xor butterfly, over emu.h's shuffle).
#pragma once
#include "emu.h"

struct __attribute__((aligned(16))) uint4 { unsigned x, y, z, w; };
struct float2 { float x, y; };
static inline float2 __bfloat1622float2(__nv_bfloat162 v) { return float2{bf2f(v.x.x), bf2f(v.y.x)}; }
static inline uint4 __ldcs(const uint4 *p) { return *p; }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline float t6_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
