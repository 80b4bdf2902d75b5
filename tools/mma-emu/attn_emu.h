// attn_emu.h -- what kernels/attention_mma.cu's host copy (transform.py) needs beyond
// emu.h: the fused dQ's global-memory helpers (float2 loads and stores through L2, the
// fence, and the counter wait / release that transform.py drops as inline asm).
// decode's emulator (dec_emu.h) has its own set. A counter wait yields to the other
// emulated threads; past attn_emu_wait_cap yields it fails as a deadlock (blocks run
// one after another in launch order must never wait; attn_emu_check.cpp raises the
// cap when it runs a whole grid at once).
#pragma once
#include "emu.h"
struct float2 { float x, y; };
static inline float2 make_float2(float a, float b) { return {a, b}; }
static inline float2 __ldcg(const float2 *p) {
    const volatile float *f = (const volatile float *)p;
    return {f[0], f[1]};
}
static inline void __stcg(float2 *p, float2 v) { *p = v; }
static inline void __threadfence() {}
static long attn_emu_wait_cap = 1000;
static long attn_emu_waited;      /* counter waits that had to yield (the grid runs report it) */
static inline void wait_count(const int *p, int want) {
    for (long n = 0; *(volatile const int *)p != want; n++) {
        if (n > attn_emu_wait_cap) emu_fail("fused dQ: a counter wait never ended (add order / deadlock)");
        if (n == 0) attn_emu_waited++;
        emu_yield();
    }
}
static inline void st_release(int *p, int v) { *(volatile int *)p = v; }
