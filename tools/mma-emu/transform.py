# transform.py -- kernels/attention_mma.cu -> a host-compilable copy for the emulator
# (emu.h): the dispatch (host launch code) is cut, the inline-asm helpers are dropped
# (emu.h provides them), the two cp.async statements become emu_cp calls and the
# dynamic shared array a pointer to the emulated block's. Fails loudly (assert) when
# the kernel file no longer has the shapes it rewrites.
# Usage: python3 transform.py attention_mma.cu OUT
import re, sys
s = open(sys.argv[1]).read()
s = s[:s.index('/* ---------------------------------------------------------------- dispatch */')]
s = s.replace('#include "cuda_common.cuh"', '#include "emu.h"')
def drop(s, sig):
    i = s.index(sig)
    j = s.index('{', i); depth = 0
    while True:
        if s[j] == '{': depth += 1
        elif s[j] == '}':
            depth -= 1
            if depth == 0: break
        j += 1
    return s[:i] + s[j + 1:]
for sig in ['__device__ __forceinline__ void mma16816(', '__device__ __forceinline__ uint32_t smem_u32(',
            '__device__ __forceinline__ void ldsm_x4(', '__device__ __forceinline__ void ldsm_x4_t(',
            '__device__ __forceinline__ float ex2(']:
    s = drop(s, sig)
s = s.replace('__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\\n"); }', '')
s = s.replace('template <int N> __device__ __forceinline__ void cp_wait() { asm volatile("cp.async.wait_group %0;\\n" :: "n"(N)); }', '')
pat = re.compile(r'asm volatile\("cp\.async\.\w+\.shared\.global \[%0\], \[%1\], (\d+), %2;\\n"\s*::\s*"r"\(smem_u32\((.*?)\)\),\s*"l"\((.*?)\),\s*"r"\((.*?)\)\);', re.S)
s, n = pat.subn(lambda m: 'emu_cp(%s, %s, %s, %s);' % (m.group(2), m.group(3), m.group(4), m.group(1)), s)
assert n == 2, n
s = s.replace('extern __shared__ __align__(16) unsigned char smem_raw[];', 'unsigned char *smem_raw = emu_smem;')
assert 'asm volatile' not in s and 'smem_u32' not in s, 'inline asm left'
open(sys.argv[2], 'w').write(s)
