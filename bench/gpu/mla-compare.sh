#!/bin/sh
# bench/gpu/mla-compare.sh -- MLA training throughput of ours (bench/gpu/gpu_bench
# mla_small, mla_medium) and of the reference PyTorch model (tensorgi/TPA
# model/llama-mla.py, timed by bench/gpu/mla_ref_bench.py: bf16 autocast, torch.compile)
# back to back on one GPU, then the table of both and their ratio. On a GPU machine,
# from the source tree:
#   sh bench/gpu/mla-compare.sh [BUILD_DIR [OUT_DIR]]   (default build-cuda, .)
# Configures BUILD_DIR --with-cuda if it has no Makefile yet ($T6_CONFIGURE_ARGS are
# passed on, e.g. --with-cuda-arch=90), builds gpu_bench, runs it, runs the reference,
# and writes mla_bench.log, mla_ref.log and mla_compare.txt to OUT_DIR.
# $MLA_MODELS (default "mla_small mla_medium") picks the sizes; $MLA_REF_ARGS go to
# mla_ref_bench.py (e.g. --steps 10 --warmup 4). $GPU_BENCH (a built gpu_bench) skips
# the build. The reference file is third-party and never committed: $MLA_REF (default
# .carry/ref/model/llama-mla.py, git-ignored), e.g. from a clone of
# https://github.com/tensorgi/TPA:  mkdir -p .carry/ref/model && cp TPA/model/llama-mla.py .carry/ref/model/
set -e
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-cuda}
out=${2:-.}
models=${MLA_MODELS:-mla_small mla_medium}
ref=${MLA_REF:-$here/.carry/ref/model/llama-mla.py}
[ -f "$ref" ] || { echo "mla-compare.sh: reference model '$ref' not found (set MLA_REF)" >&2; exit 1; }
mkdir -p "$out"
bench=${GPU_BENCH:-$build/bench/gpu/gpu_bench}
if [ -z "$GPU_BENCH" ]; then
    mkdir -p "$build"
    if [ ! -f "$build/Makefile" ]; then
        [ -x "$here/configure" ] || (cd "$here" && autoreconf -fi)
        # shellcheck disable=SC2086
        (cd "$build" && "$here/configure" --with-cuda $T6_CONFIGURE_ARGS)
    fi
    make -C "$build" -j"$(nproc 2>/dev/null || echo 4)" bench/gpu/gpu_bench >/dev/null
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
: > "$out/mla_bench.log"
for m in $models; do
    "$bench" "$m" | tee -a "$out/mla_bench.log"
done
list=$(echo $models | tr ' ' ',')
# shellcheck disable=SC2086
python3 "$here/bench/gpu/mla_ref_bench.py" "$ref" --models "$list" $MLA_REF_ARGS | tee "$out/mla_ref.log"
python3 - "$out/mla_bench.log" "$out/mla_ref.log" <<'PY' | tee "$out/mla_compare.txt"
import sys
def read(path, tag):
    r = {}
    for line in open(path):
        if line.startswith(tag):
            f = dict(kv.split("=", 1) for kv in line.split()[1:])
            r[f["model"]] = f
    return r
ours, ref = read(sys.argv[1], "RESULT"), read(sys.argv[2], "REF")
print("MLA training throughput, reference recipe (bf16, seq 1024, AdamW + clip, one step per micro-batch); median step")
print("| model | params ours / ref | B | ours ms/step | ours tokens/s | ours GiB | ref ms/step | ref tokens/s | ref GiB | ours/ref |")
print("|---|---|---|---|---|---|---|---|---|---|")
for m in sorted(set(ours) | set(ref)):
    o, r = ours.get(m, {}), ref.get(m, {})
    ratio = "%.2f" % (float(o["tokens/s"]) / float(r["tokens/s"])) if o and r else "-"
    print("| %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        m, o.get("params", "-"), r.get("params", "-"), o.get("B", r.get("B", "-")), o.get("ms/step", "-"),
        o.get("tokens/s", "-"), o.get("mem_GiB", "-"), r.get("ms/step", "-"), r.get("tokens/s", "-"),
        r.get("mem_GiB", "-"), ratio))
PY
