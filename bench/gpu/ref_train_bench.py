#!/usr/bin/env python3
"""bench/gpu/ref_train_bench.py -- the reference PyTorch models' training throughput in
the reference recipe (../shared/spec/anchors.md), the column our gpu_bench is compared
with (bench/gpu/compare-train.sh runs both in one device call).

    python3 ref_train_bench.py REF_MODEL_DIR MODEL [B] [steps] [warmup]

REF_MODEL_DIR holds the reference's model/T6.py and model/llama-mha.py (tensorgi/TPA;
third-party, kept out of the repository, e.g. .carry/ref/model). MODEL is one of
t6_small t6_medium mha_small mha_medium with gpu_bench's shapes and micro-batches.
Recipe: bf16 autocast, torch.compile of the model, fused AdamW (0.9, 0.95, wd 0.1),
grad-norm clipping at 1.0, one optimizer step per micro-batch of B x 1024 random
GPT-2-range tokens (random offsets into a token array), median step time of the timed
steps after the warm-up (each step synchronised, as gpu_bench's are).
Prints one line in gpu_bench's RESULT format with model=ref_MODEL; mem_GiB is
torch.cuda.max_memory_allocated (the peak the program allocated, context excluded).

The reference files import `transformers` only for the PreTrainedModel /
PretrainedConfig base classes; the GPU machine has no transformers, so a stand-in
module (a config that stores its keyword arguments, a model that is a plain nn.Module)
is registered first. The computation is the reference's own.
"""
import importlib.util
import math
import os
import statistics
import sys
import time
import types

import torch
import torch.nn as nn

SHAPES = {  # name: (file, n_layer, n_embd, n_head, micro-batch) as gpu_bench.c
    "t6_small": ("T6.py", 12, 768, 34, 24),
    "t6_medium": ("T6.py", 24, 1024, 47, 20),
    "mha_small": ("llama-mha.py", 12, 768, 12, 24),
    "mha_medium": ("llama-mha.py", 24, 1024, 16, 20),
}


def stand_in_transformers():
    class PretrainedConfig:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

        def save_pretrained(self, *a, **k):
            raise NotImplementedError("stand-in config")

    class PreTrainedModel(nn.Module):
        def __init__(self, config=None, *a, **k):
            super().__init__()

    tf = types.ModuleType("transformers")
    cu = types.ModuleType("transformers.configuration_utils")
    mu = types.ModuleType("transformers.modeling_utils")
    tf.PreTrainedModel = mu.PreTrainedModel = PreTrainedModel
    tf.PretrainedConfig = cu.PretrainedConfig = PretrainedConfig
    tf.configuration_utils, tf.modeling_utils = cu, mu
    sys.modules.update({"transformers": tf, "transformers.configuration_utils": cu,
                        "transformers.modeling_utils": mu})


def load(path):
    spec = importlib.util.spec_from_file_location("ref_" + os.path.basename(path).replace("-", "_")[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in SHAPES:
        sys.exit("usage: ref_train_bench.py REF_MODEL_DIR t6_small|t6_medium|mha_small|mha_medium [B] [steps] [warmup]")
    refdir, name = sys.argv[1], sys.argv[2]
    fname, L, d, h, B = SHAPES[name]
    B = int(sys.argv[3]) if len(sys.argv) > 3 else B
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    warmup = int(sys.argv[5]) if len(sys.argv) > 5 else 6
    path = os.path.join(refdir, fname)
    if not os.path.exists(path):
        sys.exit(f"ref_train_bench.py: {path}: no such file (the reference's model files)")
    stand_in_transformers()
    mod = load(path)
    T, V = 1024, 50304
    cfg = mod.GPTConfig(vocab_size=V, n_layer=L, n_head=h, head_dim=64, n_embd=d, rank=2, q_rank=6,
                        block_size=T, bias=False, dropout=0.0, scale_attn_by_inverse_layer_idx=False,
                        using_groupnorm=False)
    torch.manual_seed(1234)
    dev = torch.device("cuda")
    model = mod.GPT(cfg).to(dev)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    nodecay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95), eps=1e-8, fused=True)
    cmodel = torch.compile(model)
    g = torch.Generator(device="cpu").manual_seed(42)
    data = torch.randint(0, 50257, (1 << 22,), generator=g, dtype=torch.int64)

    def batch():
        off = torch.randint(0, data.numel() - T - 1, (B,), generator=g)
        x = torch.stack([data[o:o + T] for o in off.tolist()])
        y = torch.stack([data[o + 1:o + T + 1] for o in off.tolist()])
        return x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)

    torch.cuda.reset_peak_memory_stats()
    times, loss = [], float("nan")
    for s in range(warmup + steps):
        x, y = batch()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            _, l = cmodel(x, y)
        l.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        loss = l.item()
        if s >= warmup:
            times.append(dt)
        print(f"step {s} loss {loss:.4f} {dt * 1e3:.1f} ms", file=sys.stderr)
    ms = statistics.median(times) * 1e3
    tps = B * T / (ms * 1e-3)
    flop_tok = 6.0 * n_params + 12.0 * L * h * 64 * T
    mem = torch.cuda.max_memory_allocated() / 2**30
    print(f"RESULT model=ref_{name} params={n_params} B={B} T={T} ms/step={ms:.1f} tokens/s={tps:.0f} "
          f"TFLOP/s={flop_tok * tps / 1e12:.1f} mem_GiB={mem:.1f} loss={loss:.4f}")
    sys.stdout.flush()
    if not math.isfinite(loss):
        sys.exit(1)


if __name__ == "__main__":
    main()
