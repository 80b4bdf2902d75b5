#!/bin/bash
# tests/train/gpu-train.sh -- the training loop on the CUDA backend, on the GPU machine
# (not part of make check; needs 2 GPUs, mpirun and python3 with h5py). From the
# source tree:  bash tests/train/gpu-train.sh [T6_BINARY]   (default build-cuda/t6)
# Checks: 1 GPU x accumulation 2 == 2 GPUs (NCCL all-reduce through src/dist.c) x 1
# within 1e-3 relative; exact resume on the GPU (15 + 15 == 30 steps, bitwise);
# then prints T6 small bf16 throughput through the whole loop on 1 and 2 GPUs.
cd "$(dirname "$0")/../.."
[ -f .devlibs-config/env.sh ] && . .devlibs-config/env.sh
export NCCL_NVLS_ENABLE=0 OMP_NUM_THREADS=4   # never NVLink multicast on shared hosts
T=$(cd "$(dirname "${1:-build-cuda/t6}")" && pwd)/$(basename "${1:-build-cuda/t6}")
OUT=${OUT:-/tmp}
# cmpds A B DATASET [rtol]: exact (no rtol) or relative comparison with h5py
cmpds() { python3 -c '
import h5py, numpy as np, sys
a = h5py.File(sys.argv[1], "r"); b = h5py.File(sys.argv[2], "r"); name = sys.argv[3]
def grab(f):
    o = f[name]
    if isinstance(o, h5py.Group):
        out = []
        o.visititems(lambda k, v: out.append(np.asarray(v[...]).ravel()) if isinstance(v, h5py.Dataset) else None)
        return np.concatenate(out)
    return np.asarray(o[...]).ravel()
x, y = grab(a), grab(b)
if x.shape != y.shape: print("SHAPES DIFFER", x.shape, y.shape); sys.exit(1)
if len(sys.argv) > 4:
    r = float(np.max(np.abs(x - y) / (np.abs(y) + 1e-12))); print("max rel diff %.3e" % r); sys.exit(0 if r <= float(sys.argv[4]) else 1)
d = int(np.sum(x != y)); print("differing elements:", d, "of", x.size); sys.exit(0 if d == 0 else 1)
' "$@"; }
ldd $T | grep "not found"
MPI="mpirun --allow-run-as-root --oversubscribe -np 2 -x NCCL_NVLS_ENABLE -x LD_LIBRARY_PATH -x OMP_NUM_THREADS"
CU="--set backend.device=\"cuda\""
SMALL="--set train.micro_batch=8 --set train.seq_len=64 --set train.eval_interval=10 --set train.eval_iters=4 --set train.log_interval=10 --set optim.warmup_steps=5 --set optim.decay_steps=60 --set output.checkpoint_interval=0"
echo "== 1 GPU fp32 demo, accum 2, 30 steps"
$T input/demo.cfg $CU $SMALL --set train.grad_accum=2 --set train.max_steps=30 --set output.run_dir=/tmp/g1 2>&1 | tail -6
echo "== 2 GPUs (NCCL) fp32 demo, accum 1, 30 steps"
$MPI $T input/demo.cfg $CU $SMALL --set train.grad_accum=1 --set train.max_steps=30 --set output.run_dir=/tmp/g2 2>&1 | tail -6
cmpds /tmp/g1/metrics.h5 /tmp/g2/metrics.h5 /train/loss 1e-3 && echo "LOSSES 1GPUx2 == 2GPUx1 within 1e-3 rel"
python3 -c "import h5py; print(h5py.File('/tmp/g1/metrics.h5','r')['train/loss'][:6]); print(h5py.File('/tmp/g2/metrics.h5','r')['train/loss'][:6])"
echo "== exact resume on GPU: 30 straight vs 15 + 15"
$T input/demo.cfg $CU $SMALL --set train.grad_accum=2 --set train.max_steps=15 --set output.run_dir=/tmp/g3 > /tmp/g3a.log 2>&1
$T input/demo.cfg $CU $SMALL --set train.grad_accum=2 --set train.max_steps=30 --set output.run_dir=/tmp/g3 > /tmp/g3b.log 2>&1
grep resuming /tmp/g3b.log
cmpds /tmp/g1/checkpoints/ckpt_00000030.h5 /tmp/g3/checkpoints/ckpt_00000030.h5 /params && echo "GPU RESUME PARAMS BITWISE EQUAL"
cmpds /tmp/g1/metrics.h5 /tmp/g3/metrics.h5 /train/loss && echo "GPU RESUME LOSSES BITWISE EQUAL"
echo "== T6 small bf16 throughput through the loop (builtin demo data), 1 and 2 GPUs"
TS="--set data.train=[\"builtin:demo-train\"] --set data.val=[\"builtin:demo-val\"] --set train.micro_batch=16 --set train.global_batch=32 --set train.max_steps=15 --set train.eval_interval=0 --set train.log_interval=5 --set optim.warmup_steps=10 --set optim.decay_steps=1000 --set output.checkpoint_interval=0"
$T input/t6_small.cfg $TS --set output.run_dir=/tmp/s1 2>&1 | grep -E "^t6:|step (5|10|15)/|checkpoint|error"
$MPI $T input/t6_small.cfg $TS --set output.run_dir=/tmp/s2 2>&1 | grep -E "^t6:|step (5|10|15)/|checkpoint|error"
cp /tmp/g1/metrics.h5 $OUT/g1_metrics.h5; cp /tmp/g2/metrics.h5 $OUT/g2_metrics.h5; cp /tmp/s1/metrics.h5 $OUT/s1_metrics.h5; cp /tmp/s2/metrics.h5 $OUT/s2_metrics.h5 2>/dev/null
