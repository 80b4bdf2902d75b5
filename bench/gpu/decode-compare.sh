#!/bin/sh
# bench/gpu/decode-compare.sh -- our decode attention (bench/gpu/decode_bench) and the
# reference Triton FlashTPA kernel (bench/gpu/decode_ref.py) back to back on one GPU,
# then the table of both and their ratio. On a GPU machine, from the source tree:
#   sh bench/gpu/decode-compare.sh [BUILD_DIR [OUT_DIR]]   (default build-cuda, .)
# Configures BUILD_DIR --with-cuda if it has no Makefile yet ($T6_CONFIGURE_ARGS are
# passed on, e.g. --with-cuda-arch=90), builds decode_bench, runs it, runs the
# reference, and writes decode_bench.log, decode_ref.log and decode_compare.txt to
# OUT_DIR, and (between the two runs) the per-layer cost of a generation step
# (decode_bench graph: 32 layers' calls in one CUDA graph, with and without forming q)
# to decode_graph.log; its rows join the table (graph us/layer). $DECODE_REF_ARGS go to decode_ref.py (default: --kernels bn). With
# $DECODE_BENCH naming a decode_bench already built (e.g. carried to the GPU machine),
# nothing is configured or built.
# The reference file is third-party and never committed; fetch it first into the
# git-ignored .carry/ref/, e.g. from a clone of https://github.com/tensorgi/TPA:
#   mkdir -p .carry/ref && cp TPA/decode/flashtpa_decode_triton.py .carry/ref/
set -e
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-cuda}
out=${2:-.}
mkdir -p "$out"
bench=${DECODE_BENCH:-}
if [ -z "$bench" ]; then
    mkdir -p "$build"
    if [ ! -f "$build/Makefile" ]; then
        [ -x "$here/configure" ] || (cd "$here" && autoreconf -fi)
        # shellcheck disable=SC2086
        (cd "$build" && "$here/configure" --with-cuda $T6_CONFIGURE_ARGS)
    fi
    make -C "$build" -j"$(nproc 2>/dev/null || echo 4)" bench/gpu/decode_bench >/dev/null
    bench=$build/bench/gpu/decode_bench
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$bench" table | tee "$out/decode_bench.log"
# the graph rows before the reference (which may use the rest of a step's time)
"$bench" graph | tee "$out/decode_graph.log"
# shellcheck disable=SC2086
python3 "$here/bench/gpu/decode_ref.py" ${DECODE_REF_ARGS:---kernels bn} | tee "$out/decode_ref.log"
python3 - "$out/decode_bench.log" "$out/decode_ref.log" "$out/decode_graph.log" <<'PY' | tee "$out/decode_compare.txt"
import re, sys
def read(path, tag):
    r = {}
    for line in open(path):
        if line.startswith(tag):
            f = dict(kv.split("=", 1) for kv in line.split()[1:])
            r[(f["method"], int(f["B"]), int(f["M"]))] = float(f["us"])
    return r
ours, ref, graph = read(sys.argv[1], "RESULT"), read(sys.argv[2], "REF"), read(sys.argv[3], "RESULT")
refm = sorted({m for m, _, _ in ref})
print("decode attention, one new token: h=32 dh=64 (R_Q,R_K,R_V)=(16,1,1) bf16; median us, L2 flushed")
print("ours TPA excludes forming q (tpa_qform, reported separately); the reference forms q from A_Q, B_Q in-kernel")
print("graph: us per layer of 32 layers' calls replayed as one CUDA graph (each layer its own cache; L2 flushed per replay), alone and with q formed (+q)")
print("MLA: decode_attention_mla over [c_kv, k_R] records, d_c 512 + d_R 64 (1152 B/token), absorbed projections excluded")
hdr = ["B", "M", "TPA us", "TPA GB/s", "+qform us"] + [f"ref {m} us" for m in refm] + ["ref/ours", "ref/(ours+q)", "graph us/layer", "graph+q us/layer", "MHA us", "GQA us", "MLA us"]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
for (m, B, M), us in sorted(ours.items(), key=lambda x: (x[0][1], x[0][2])):
    if m != "tpa":
        continue
    q = ours.get(("tpa_qform", B, 4096))
    rs = [ref.get((r, B, M)) for r in refm]
    best = min([x for x in rs if x is not None], default=None)
    cell = lambda x, f="%.1f": (f % x) if x is not None else "-"
    row = [str(B), str(M), cell(us), "%.0f" % (384.0 * B * M / us / 1e3), cell(us + q if q else None)]
    row += [cell(x) for x in rs]
    row += [cell(best / us if best else None, "%.2f"), cell(best / (us + q) if best and q else None, "%.2f")]
    row += [cell(graph.get(("tpa_graph", B, M))), cell(graph.get(("tpa_graph_q", B, M)))]
    row += [cell(ours.get(("mha", B, M))), cell(ours.get(("gqa", B, M))), cell(ours.get(("mla", B, M)))]
    print("| " + " | ".join(row) + " |")
PY
