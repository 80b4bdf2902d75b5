/* gpu_test.h -- what the GPU test programs (gpu_check.c, gen_check.c) share: the
 * deterministic test-data RNG (xorshift64; each program seeds it with
 * GPU_TEST_RNG_SEED, defined before this header, so its data stay what they were) and
 * the bf16 rounding of host values, through the project's one conversion
 * (t6_f32_to_bf16, round to nearest even). */
#ifndef T6_GPU_TEST_H
#define T6_GPU_TEST_H

#include <stdint.h>

#include "safetensors.h"

#ifndef GPU_TEST_RNG_SEED
#error "define GPU_TEST_RNG_SEED before including gpu_test.h"
#endif

static uint64_t g_rng = GPU_TEST_RNG_SEED;

/* uniform in [0, 1) */
static double urand(void)
{
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

/* x rounded to the nearest bf16 value, as fp32 */
static float bf16_round(float x) { return t6_bf16_to_f32(t6_f32_to_bf16(x)); }

#endif
