#!/usr/bin/env python3
"""bench/gpu/mla_ref_bench.py -- training throughput of the reference MLA model
(tensorgi/TPA model/llama-mla.py) in the reference recipe of ../shared/spec/anchors.md,
for the comparison with `gpu_bench mla_small|mla_medium` (bench/gpu/mla-compare.sh).

Recipe: bf16 autocast, torch.compile, AdamW (0.9, 0.95, weight decay 0.1, fused where
available), grad-norm clip 1.0, sequence length 1024, random GPT-2-range tokens, one
optimizer step per micro-batch; median step time over the timed steps after warm-up.
The released MLA configs (../shared/spec/mla.md): 13 / 23 heads, 12 / 24 layers,
d = 768 / 1024, the class's default ranks (q_lora_rank 512, kv_lora_rank 256, rope 32,
values 64); micro-batch 24 / 20 as the other models of each size in anchors.md.

The reference file is third party and never committed: pass its path (e.g. the
git-ignored .carry/ref/model/llama-mla.py). `transformers` is only its base classes, so
a stand-in is installed in its place (as tests/gpu/hf_reference_check.py does).

Usage: mla_ref_bench.py REF_PY [--models mla_small,mla_medium] [--steps 20] [--warmup 6]
                        [--batch N] [--no-compile]
Prints one line per model:
  REF model=mla_small params=123085824 B=24 T=1024 ms/step=... tokens/s=... mem_GiB=... loss=...
"""
import argparse
import importlib.util
import statistics
import sys
import time
import types

SIZES = {  # name: (n_layer, n_embd, n_head, micro-batch)
    "mla_small": (12, 768, 13, 24),
    "mla_medium": (24, 1024, 23, 20),
}


def install_transformers_standin(torch):
    """Always the stand-in, whether or not transformers is installed: the reference only
    subclasses these two, and the timing must not depend on a transformers version."""
    class PretrainedConfig:
        def __init__(self, **kwargs):
            for k, v in kwargs.items():
                setattr(self, k, v)

    class PreTrainedModel(torch.nn.Module):
        def __init__(self, config=None, *args, **kwargs):
            super().__init__()

    tf = types.ModuleType("transformers")
    cu = types.ModuleType("transformers.configuration_utils")
    mu = types.ModuleType("transformers.modeling_utils")
    tf.PretrainedConfig = cu.PretrainedConfig = PretrainedConfig
    tf.PreTrainedModel = mu.PreTrainedModel = PreTrainedModel
    tf.configuration_utils, tf.modeling_utils = cu, mu
    sys.modules.update({"transformers": tf, "transformers.configuration_utils": cu,
                        "transformers.modeling_utils": mu})


def load(path):
    spec = importlib.util.spec_from_file_location("t6ref_llama_mla", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bench(torch, mod, name, args):
    L, d, h, B = SIZES[name]
    if args.batch:
        B = args.batch
    T = 1024
    cfg = mod.GPTConfig(vocab_size=50304, n_layer=L, n_head=h, n_embd=d, head_dim=64, block_size=T,
                        q_lora_rank=512, kv_lora_rank=256, qk_rope_head_dim=32, v_head_dim=64)
    # the stand-in config keeps only the keyword arguments: fill the class defaults in
    for k in ("bias", "dropout", "using_groupnorm", "scale_attn_by_inverse_layer_idx", "q_rank", "rank"):
        if not hasattr(cfg, k):
            setattr(cfg, k, getattr(mod.GPTConfig, k))
    torch.manual_seed(1337)
    model = mod.GPT(cfg).cuda()
    n_params = sum(p.numel() for p in model.parameters())
    try:
        opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    except (TypeError, RuntimeError):
        opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1)
    step_model = model if args.no_compile else torch.compile(model)
    g = torch.Generator(device="cuda")
    g.manual_seed(42)
    times, loss = [], float("nan")
    torch.cuda.reset_peak_memory_stats()
    for it in range(args.warmup + args.steps):
        x = torch.randint(0, 50257, (B, T), device="cuda", generator=g)
        y = torch.randint(0, 50257, (B, T), device="cuda", generator=g)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            _, l = step_model(x, y)
        l.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) * 1e3
        if it >= args.warmup:
            times.append(dt)
        loss = l.item()
        if it < 2:
            print(f"# {name} step {it} {dt:.1f} ms loss {loss:.4f}", flush=True)
    med = statistics.median(times)
    mem = torch.cuda.max_memory_allocated() / 2**30
    print(f"REF model={name} params={n_params} B={B} T={T} ms/step={med:.1f} tokens/s={B * T / (med / 1e3):.0f} "
          f"mem_GiB={mem:.1f} loss={loss:.4f}", flush=True)
    del model, opt, step_model
    torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("ref", help="path of llama-mla.py")
    ap.add_argument("--models", default="mla_small,mla_medium")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=6)
    ap.add_argument("--batch", type=int, default=0, help="micro-batch (default: the size's)")
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    import torch
    install_transformers_standin(torch)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    mod = load(args.ref)
    print(f"# torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    for name in args.models.split(","):
        if name not in SIZES:
            sys.exit(f"mla_ref_bench.py: unknown model '{name}' (allowed: {', '.join(SIZES)})")
        bench(torch, mod, name, args)


if __name__ == "__main__":
    main()
