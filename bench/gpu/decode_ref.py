#!/usr/bin/env python3
"""decode_ref.py -- the reference Triton FlashTPA decode kernel (tensorgi/TPA,
decode/flashtpa_decode_triton.py) timed on decode_bench's shapes: 32 heads, d_h 64,
(R_Q, R_K, R_V) = (16, 1, 1), bf16, one new token, B in {1, 8, 16}, M = 2^12 .. 2^19.

The reference file is third-party code and never committed: fetch it into the
git-ignored .carry/ref/ (bench/gpu/decode-compare.sh says how) or pass --ref PATH.
Timing: triton.testing.do_bench (L2 flushed before each call, median), after one
untimed call that runs the kernel's autotuning for the shape. The reference forms
the query from its factors (A_Q, B_Q) inside the kernel; its scales are its defaults
(1/sqrt(d_h), 1/R_Q). "GBps" counts the same cache bytes as decode_bench (384 B per
token). Prints one line per point:
  REF method=flashtpa_<kernel> B=.. M=.. us=.. GBps=..
Usage: decode_ref.py [--kernels bn,bh,b] [--quick | --points B:M,...] [--budget SECONDS] [--ref PATH]
"""
import argparse
import importlib.util
import os
import sys
import time

import torch
import triton

H, D, RQ = 32, 64, 16


def load_ref(path):
    spec = importlib.util.spec_from_file_location("flashtpa_ref", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", default=os.path.join(here, "..", "..", ".carry", "ref", "flashtpa_decode_triton.py"))
    ap.add_argument("--kernels", default="bn", help="comma list of the reference's grids: b, bh, bn (split-K)")
    ap.add_argument("--quick", action="store_true", help="M in {4K, 16K, 64K, 256K, 512K} only")
    ap.add_argument("--points", default="", help="only these shapes, in this order: comma list of B:M")
    ap.add_argument("--budget", type=float, default=1e9, help="stop starting new points after this many seconds")
    args = ap.parse_args()
    if not os.path.exists(args.ref):
        sys.exit(f"decode_ref.py: reference kernel not found at {args.ref} (see bench/gpu/decode-compare.sh)")
    ref = load_ref(args.ref)
    fns = {"b": ref.tpa_decode_parallel_b_triton, "bh": ref.tpa_decode_parallel_bh_triton,
           "bn": ref.tpa_decode_parallel_bn_triton}
    kernels = [k for k in args.kernels.split(",") if k]
    for k in kernels:
        if k not in fns:
            sys.exit(f"decode_ref.py: unknown kernel '{k}' (b, bh, bn)")
    dev = "cuda"
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, triton {triton.__version__}", flush=True)
    t_start = time.time()
    logms = [12, 14, 16, 18, 19] if args.quick else list(range(12, 20))
    g = torch.Generator(device=dev).manual_seed(0)

    def rnd(*shape):
        return (torch.rand(*shape, device=dev, generator=g) * 2 - 1).to(torch.bfloat16)

    points = [(B, 1 << lm) for B in (1, 8, 16) for lm in logms]
    if args.points:
        try:
            points = [tuple(int(x) for x in p.split(":")) for p in args.points.split(",") if p]
        except ValueError:
            sys.exit(f"decode_ref.py: --points '{args.points}': expected a comma list of B:M")
    for B, M in points:
        if time.time() - t_start > args.budget:
            print(f"decode_ref.py: budget of {args.budget:.0f} s spent, stopping before B={B} M={M}", flush=True)
            return
        aq, bq = rnd(B, 1, H, RQ), rnd(B, 1, RQ, D)
        ak, av, bk, bv = rnd(B, M, H), rnd(B, M, H), rnd(B, M, D), rnd(B, M, D)
        for k in kernels:
            fn = fns[k]
            fn(aq, ak, av, bq, bk, bv)                     # autotune outside the timing
            torch.cuda.synchronize()
            us = triton.testing.do_bench(lambda: fn(aq, ak, av, bq, bk, bv), return_mode="median") * 1000.0
            gbps = 2.0 * 2 * (H + D) * B * M / us / 1e3
            print(f"REF method=flashtpa_{k} B={B} M={M} us={us:.2f} GBps={gbps:.1f}", flush=True)
        del aq, bq, ak, av, bk, bv
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
