# dec_transform.py -- kernels/decode.cu -> a host-compilable copy of its tensor-core
# decode kernel, block merge and combine for the emulator (dec_emu.h): DecArgs and the
# tensor-core section up to the host side are kept (rope, cache_scatter, the generic
# kernel and the launch code are cut), the inline-asm helpers are dropped (dec_emu.h
# provides them) and the dynamic shared array becomes the emulated block's. Fails
# loudly (assert) when decode.cu no longer has the shapes it cuts.
# Usage: python3 dec_transform.py decode.cu OUT
import sys
s = open(sys.argv[1]).read()
a = s.index('struct DecArgs {')
b = s.index('/* ---- generic path')
c = s.index('/* ---- tensor-core path ---- */')
d = s.index('/* ---- host side ---- */')
s = s[a:b] + s[c:d]
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
for sig in ['__device__ __forceinline__ void dec_mma(', '__device__ __forceinline__ void dec_pf_l2(',
            '__device__ __forceinline__ void dec_sts_p2(', '__device__ __forceinline__ void dec_lds_p2(', '__device__ __forceinline__ void dec_lds(',
            '__device__ __forceinline__ void dec_cp16(', '__device__ __forceinline__ void dec_cp_commit(',
            '__device__ __forceinline__ void dec_cp_wait(', '__device__ __forceinline__ void dec_lds_w(']:
    s = drop(s, sig)
s = s.replace('template <int N>\n\n', '')
n = s.count('extern __shared__ __align__(16) unsigned char dsm[];')
assert n == 2, n
s = s.replace('extern __shared__ __align__(16) unsigned char dsm[];', 'unsigned char *dsm = emu_smem;')
assert 'asm volatile' not in s.replace('asm volatile("griddepcontrol.wait;\\n" ::: "memory");', ''), 'inline asm left'
open(sys.argv[2], 'w').write('#include "dec_emu.h"\n' + s)
