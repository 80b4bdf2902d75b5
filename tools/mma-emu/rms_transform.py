# rms_transform.py -- kernels/rmsnorm.cu's bf16 vector kernels (k_rmsnorm_fwd8 with and
# without the residual add, k_rmsnorm_bwd8) -> a host-compilable copy for the emulator
# (emu.h, rms_emu.h): the block-per-row kernels and the host launch code are cut, and
# the empty asm that hides a vector from ptxas becomes nothing. Fails loudly (assert)
# when the kernel file no longer has the shapes it cuts.
# Usage: python3 rms_transform.py rmsnorm.cu OUT
import sys
s = open(sys.argv[1]).read()
a = s.index('/* ---- bf16 vector path')
b = s.index('static int rms_vec_ok(')
s = '#include "rms_emu.h"\n#include <float.h>\n' + s[a:b]
old = 'asm volatile("" : "+r"(u.x), "+r"(u.y), "+r"(u.z), "+r"(u.w));'
assert s.count(old) == 1
s = s.replace(old, '')
open(sys.argv[2], 'w').write(s)
