# extract.py -- the kernels tools/mla-emu/mla_emu_check.cpp runs, cut out of
# kernels/mla.cu and kernels/mla_split.cu by name (a template line above included), with
# the host launch code left behind (g++ cannot read <<<>>>). Fails (ValueError) when a
# kernel is no longer there.
# Usage: python3 extract.py kernels/mla.cu kernels/mla_split.cu OUT
import sys, re
out = []
def grab(src, sig):
    i = src.index(sig)
    # include a preceding "template <...>" line
    ls = src.rfind('\n', 0, i)          # end of the previous line
    ps = src.rfind('\n', 0, ls) + 1
    if src[ps:ls].startswith('template'):
        i = ps
    j = src.index('{', src.index(sig)); d = 0
    while True:
        if src[j] == '{': d += 1
        elif src[j] == '}':
            d -= 1
            if d == 0: break
        j += 1
    return src[i:j + 1]
mla = open(sys.argv[1]).read(); spl = open(sys.argv[2]).read()
out.append('#define DW_LANES 8\n#define DW_MAX_CHUNKS 128\n')
for sig in ['__global__ void k_copy_rows16(', '__global__ void k_copy_rows(', 'static int dw_chunks(',
            '__global__ void k_rmsnorm_w_dw_part(', '__global__ void k_rmsnorm_w_dw_sum(']:
    out.append(grab(mla, sig))
for sig in ['k_mla_split(T *q', 'k_mla_join(T *dq', 'static unsigned rows_grid(']:
    out.append(grab(spl, sig))
open(sys.argv[3], 'w').write('\n\n'.join(out) + '\n')
