#!/usr/bin/env python3
"""hf_reference_check.py -- does the reference PyTorch model (tensorgi/TPA model/T6.py,
T6_kvonly.py, llama-mha.py, llama-gqa.py) compute what t6 computes, from a directory that
`t6 --export-hf` wrote? Run by tests/gpu/hf_reference_check.sh on the GPU machine (PyTorch
there, no `transformers`, no network); never part of make check.

  hf_reference_check.py --hf DIR --ref REFDIR --logits-bin HF_LOGITS --out OUT
                        [--eval-results RESULTS.h5 --eval-precision fp32|bf16
                         --eval-limit N | --eval-per-task K]
                        [--device cuda|cpu] [--dry-run]

(a) logits: a few random token sequences (seeded); t6's fp32 CPU logits come from
    HF_LOGITS (tests/hf/hf_logits, built beside t6), the reference's from GPT(config) with
    the safetensors weights loaded strictly, in fp32 (TF32 off). The reference rounds its
    RoPE cos/sin tables to bf16; t6 keeps them fp32 (doc/model.md), so the tight comparison
    patches the reference's Rotary to fp32 tables computed as t6 does (angle in double,
    rounded once) and must agree to 1e-4 relative (max |diff| / max |logit|); the spread
    with the tables as shipped is reported too (INFO).
(b) eval results (optional): the first N requests (or the first K documents of every
    task, --eval-per-task) of t6's eval results HDF5 (helper E's
    format, doc/formats/eval-results.md: /requests/tokens, offsets, cont_len, loglik,
    task, doc, choice, is_greedy), rescored by the reference: loglik = sum of the
    continuation tokens' log-softmax over the full vocabulary, input = tokens[:-1]. fp32
    results must agree to 1e-4 relative per request; bf16 results are reported (spread).
    For every document whose choices are all among the rescored requests, the predicted
    choice (argmax loglik, first on ties, as numpy) must be the same: then acc is the
    same whatever the gold answers; acc_norm and the accuracy values themselves are
    compared where the file carries the choice lengths / gold answers.

Without torch (or with --dry-run) it checks what it can without it (files, config,
safetensors framing, t6's logits) and prints DRY-RUN; the exit status is then 0 unless
something it could check failed. Output: OUT/hf_reference_check.log, OUT/summary.json,
and the last line "HF REFERENCE CHECK: PASS|FAIL|DRY-RUN"."""
import argparse
import importlib.util
import json
import math
import os
import random
import struct
import subprocess
import sys
import time
import types

LOG = None
RESULTS = []   # (name, status, detail); status PASS / FAIL / INFO / SKIP


def say(msg):
    print(msg, flush=True)
    if LOG:
        LOG.write(msg + "\n")
        LOG.flush()


def record(name, status, detail):
    RESULTS.append((name, status, detail))
    say("%-5s %s: %s" % (status, name, detail))


# ---- the export, read without torch ----------------------------------------------------
def read_safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    return header, 8 + n


def find_reference_file(ref, cfg):
    rel = cfg.get("t6_reference_model", "model/T6.py")
    for cand in (os.path.join(ref, rel), os.path.join(ref, os.path.basename(rel))):
        if os.path.isfile(cand):
            return cand
    return None


# ---- the reference model with a stand-in `transformers` ---------------------------------
def install_transformers_standin(torch):
    """transformers is only the base classes for the reference: PretrainedConfig keeps its
    keyword arguments as attributes, PreTrainedModel is an nn.Module that takes the config."""
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


def install_old_torch_shims(torch):
    """For CPU dry runs with an old PyTorch (e.g. Debian's 1.13): the reference calls
    F.rms_norm (PyTorch >= 2.4) and F.scaled_dot_product_attention (>= 2.0). The stand-ins
    compute the same functions in plain ops; a recent PyTorch (the GPU machine's) never
    uses them."""
    F = torch.nn.functional
    missing = []
    if not hasattr(F, "rms_norm"):
        def rms_norm(x, normalized_shape, weight=None, eps=None):
            eps = torch.finfo(x.dtype).eps if eps is None else eps
            y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
            return y * weight if weight is not None else y
        F.rms_norm = rms_norm
        missing.append("rms_norm")
    if not hasattr(F, "scaled_dot_product_attention"):
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
            s = (q @ k.transpose(-2, -1)) * (scale or 1.0 / math.sqrt(q.shape[-1]))
            if is_causal:
                T, S = q.shape[-2], k.shape[-2]
                s = s.masked_fill(torch.ones(T, S, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
            return torch.softmax(s, -1) @ v
        F.scaled_dot_product_attention = sdpa
        missing.append("scaled_dot_product_attention")
    if missing:
        record("old torch", "INFO", "torch %s lacks F.%s: plain-op stand-ins used" %
               (torch.__version__, ", F.".join(missing)))


def load_reference_module(path):
    name = "t6ref_" + os.path.basename(path).replace("-", "_").replace(".py", "")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def patch_rope_fp32(torch, mod, base):
    """The reference's Rotary with fp32 tables, computed as t6 computes them."""
    def forward(self, x):
        T = x.shape[1]
        dim = self.inv_freq.numel() * 2
        if getattr(self, "_t6_T", None) != T or self._t6_cos.device != x.device:
            i = torch.arange(0, dim, 2, dtype=torch.float64)
            inv = base ** (-i / dim)
            ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
            self._t6_T = T
            self._t6_cos = ang.cos().float().to(x.device)
            self._t6_sin = ang.sin().float().to(x.device)
        return self._t6_cos[None, :, None, :], self._t6_sin[None, :, None, :]
    mod.Rotary.forward = forward


def load_state_dict(torch, path):
    header, start = read_safetensors_header(path)
    header.pop("__metadata__", None)
    dt = {"F32": torch.float32, "BF16": torch.bfloat16}
    blob = open(path, "rb").read()
    sd = {}
    for name, e in header.items():
        b, en = e["data_offsets"]
        buf = bytearray(blob[start + b:start + en])
        sd[name] = torch.frombuffer(buf, dtype=dt[e["dtype"]]).reshape(e["shape"]).clone()
    return sd


def build_reference(torch, mod, cfg, st_path, device):
    # config.json's keys go to GPTConfig as from_pretrained would pass them
    conf = mod.GPTConfig(**cfg)
    model = mod.GPT(conf)
    sd = load_state_dict(torch, st_path)
    sd = {k: v.float() for k, v in sd.items()}
    model.load_state_dict(sd, strict=True)   # every name, every shape, nothing extra
    if model.lm_head.weight.data_ptr() != model.transformer.wte.weight.data_ptr():
        raise RuntimeError("reference model: lm_head is not tied to wte after loading")
    return model.float().to(device).eval()


# ---- (a) logits ---------------------------------------------------------------------------
def make_tokens(cfg, path, B=4, T=None, seed=1234):
    T = T or min(cfg["block_size"], 256)
    V = min(cfg["vocab_size"], 50257)
    r = random.Random(seed)
    seqs = [[r.randrange(V) for _ in range(T)] for _ in range(B)]
    with open(path, "w") as f:
        for s in seqs:
            f.write(" ".join(map(str, s)) + "\n")
    return seqs


def ours_logits(bin_path, hf, tok_path, out_path, device="cpu"):
    cmd = [bin_path, "hf:" + hf, tok_path, out_path] + ([device] if device != "cpu" else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    say("$ " + " ".join(cmd) + "\n" + (p.stdout + p.stderr).strip())
    if p.returncode != 0:
        return None
    B, T, V = map(int, p.stdout.split()[1:4])
    try:
        import numpy as np
    except ImportError:   # dry run without numpy: the file's size and values, via array
        import array
        a = array.array("f")
        with open(out_path, "rb") as f:
            a.frombytes(f.read())
        ok = len(a) == B * T * V and all(math.isfinite(x) for x in a)
        record("t6 logits", "PASS" if ok else "FAIL", "%d x %d x %d floats, all finite: %s" % (B, T, V, ok))
        return None
    return np.fromfile(out_path, dtype="<f4").reshape(B, T, V)


def compare_logits(torch, np, model, seqs, ours, tag, tol):
    with torch.no_grad():
        idx = torch.tensor(seqs, dtype=torch.long, device=next(model.parameters()).device)
        ref, _ = model(idx, output_all_seq=True)
        ref = ref.float().cpu().numpy()
    scale = float(np.abs(ref).max())
    diff = float(np.abs(ours - ref).max())
    rel = diff / scale
    # next-token log-likelihoods, the quantity evaluation sums
    def ll(x):
        x = x.astype(np.float64)
        m = x.max(-1, keepdims=True)
        lse = (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))[..., 0]
        tgt = np.array(seqs)[:, 1:]
        return np.take_along_axis(x[:, :-1], tgt[..., None], -1)[..., 0] - lse[:, :-1]
    dll = float(np.abs(ll(ours) - ll(ref)).max())
    status = "PASS" if tol is not None and rel <= tol else ("FAIL" if tol is not None else "INFO")
    record("logits " + tag, status, "max |ours - ref| = %.3g, max |ref| = %.3g, relative %.3g%s; next-token "
           "loglik max |diff| %.3g" % (diff, scale, rel, " (tol %g)" % tol if tol is not None else "", dll))
    return rel


# ---- (b) eval results ---------------------------------------------------------------------
def read_requests(path, limit, per_task=0):
    import h5py
    import numpy as np
    f = h5py.File(path, "r")
    g = f["requests"]
    R = {k: g[k][()] for k in ("tokens", "offsets", "cont_len", "loglik", "task", "doc", "choice") if k in g}
    for k in ("is_greedy", "choice_chars", "cont_chars", "gold"):
        if k in g:
            R[k] = g[k][()]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in g["task_names"][()]] if "task_names" in g else None
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    f.close()
    n = len(R["loglik"])
    keep = []
    if per_task:
        # the first per_task documents of every task in the file (whole documents), so that
        # the tasks late in the file (SciQ, LAMBADA) are compared too
        docs = {}
        for i in range(n):
            t, d = int(R["task"][i]), int(R["doc"][i])
            if d in docs.setdefault(t, set()) or len(docs[t]) < per_task:
                docs[t].add(d)
                keep.append(i)
        return R, np.array(keep), names, attrs
    # whole documents only: take requests in file order up to limit, then finish the last document
    seen = set()
    for i in range(n):
        key = (int(R["task"][i]), int(R["doc"][i]))
        if limit and len(keep) >= limit and key not in seen:
            break
        seen.add(key)
        keep.append(i)
    return R, np.array(keep), names, attrs


def rescore(torch, np, model, R, keep, device):
    out_ll, out_greedy = [], []
    t0 = time.time()
    with torch.no_grad():
        for i in keep:
            a, b = int(R["offsets"][i]), int(R["offsets"][i + 1])
            tok = R["tokens"][a:b].astype(np.int64)
            c = int(R["cont_len"][i])
            inp = torch.tensor(tok[None, :-1], device=device)
            logits, _ = model(inp, output_all_seq=True)
            lp = torch.log_softmax(logits[0].double(), -1)
            n = len(tok)
            pos = torch.arange(n - 1 - c, n - 1, device=device)
            tgt = torch.tensor(tok[n - c:], device=device)
            out_ll.append(float(lp[pos, tgt].sum()))
            out_greedy.append(bool((lp[pos].argmax(-1) == tgt).all()))
    say("rescored %d requests in %.1f s" % (len(keep), time.time() - t0))
    return np.array(out_ll), np.array(out_greedy)


def predictions(R, keep, ll, norm=None):
    """(task, doc) -> argmax choice (first on ties), for documents whose every choice is kept."""
    docs = {}
    for j, i in enumerate(keep):
        docs.setdefault((int(R["task"][i]), int(R["doc"][i])), []).append((int(R["choice"][i]), j))
    pred = {}
    for key, lst in docs.items():
        lst.sort()
        if [c for c, _ in lst] != list(range(len(lst))) or len(lst) < 2:
            continue   # not a multiple-choice document, or cut by the limit
        vals = [ll[j] / (norm[j] if norm is not None else 1.0) for _, j in lst]
        pred[key] = max(range(len(vals)), key=lambda k: (vals[k], -k))
    return pred


def check_eval(torch, np, model, args, device):
    R, keep, names, attrs = read_requests(args.eval_results, args.eval_limit, args.eval_per_task)
    say("eval results %s: %d requests, checking %d (whole documents); attributes %s" %
        (args.eval_results, len(R["loglik"]), len(keep), {k: attrs[k] for k in list(attrs)[:8]}))
    ref_ll, ref_greedy = rescore(torch, np, model, R, keep, device)
    ours = R["loglik"][keep].astype(np.float64)
    rel = np.abs(ours - ref_ll) / np.maximum(1.0, np.abs(ref_ll))
    worst = int(rel.argmax())
    tol = 1e-4 if args.eval_precision == "fp32" else None
    detail = ("%d requests, max relative |ours - ref| / max(1, |ref|) = %.3g (request %d: %.6f vs %.6f), "
              "median %.3g" % (len(keep), rel.max(), int(keep[worst]), ours[worst], ref_ll[worst], float(np.median(rel))))
    record("eval logliks (%s results)" % args.eval_precision,
           "PASS" if tol is not None and rel.max() <= tol else ("FAIL" if tol is not None else "INFO"), detail)
    if "is_greedy" in R:
        same = int((R["is_greedy"][keep].astype(bool) == ref_greedy).sum())
        record("eval is_greedy", "PASS" if same == len(keep) else ("FAIL" if tol is not None else "INFO"),
               "%d of %d requests agree" % (same, len(keep)))
    po, pr = predictions(R, keep, ours), predictions(R, keep, ref_ll)
    differ = sorted(k for k in po if po[k] != pr.get(k))
    by_task = {}
    for k in po:
        t = names[k[0]] if names else str(k[0])
        by_task.setdefault(t, [0, 0])
        by_task[t][0] += 1
        by_task[t][1] += po[k] != pr[k]
    # bf16 results: a document whose two best choices the reference separates by less than
    # the largest loglik difference seen is a near-tie that bf16 rounding may flip; such
    # flips are reported (INFO), any other difference fails. fp32: every argmax must agree.
    ties = []
    if tol is None and differ:
        spread = float(np.abs(ours - ref_ll).max())
        idx = {}
        for j, i in enumerate(keep):
            idx[(int(R["task"][i]), int(R["doc"][i]), int(R["choice"][i]))] = j
        for k in differ:
            margin = ref_ll[idx[k + (pr[k],)]] - ref_ll[idx[k + (po[k],)]]
            if margin <= spread:
                ties.append((k, float(margin)))
    hard = len(differ) - len(ties)
    record("eval predictions (acc)", "PASS" if not differ else ("INFO" if hard == 0 else "FAIL"),
           "%d multiple-choice documents, %d with another argmax (%d near-ties within the bf16 loglik spread: "
           "%s); per task (docs, differing): %s" % (len(po), len(differ), len(ties), ties[:5], by_task))
    chars = R.get("choice_chars", R.get("cont_chars"))
    if chars is not None:
        norm = chars[keep].astype(np.float64)
        pno, pnr = predictions(R, keep, ours, norm), predictions(R, keep, ref_ll, norm)
        d2 = sum(pno[k] != pnr.get(k) for k in pno)
        record("eval predictions (acc_norm)", "PASS" if d2 == 0 else "FAIL", "%d documents, %d differ" % (len(pno), d2))
    else:
        record("eval predictions (acc_norm)", "SKIP", "the results file has no per-request choice lengths")
    if "gold" in R:
        gold = {}
        for j, i in enumerate(keep):
            gold[(int(R["task"][i]), int(R["doc"][i]))] = int(R["gold"][i])
        acc_o = sum(po[k] == gold[k] for k in po) / max(1, len(po))
        acc_r = sum(pr[k] == gold[k] for k in pr) / max(1, len(pr))
        record("eval acc", "PASS" if acc_o == acc_r else "FAIL", "ours %.6f, reference %.6f" % (acc_o, acc_r))


# ---- main -----------------------------------------------------------------------------------
def main():
    global LOG
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hf", required=True, help="directory written by t6 --export-hf (fp32 for the tight check)")
    ap.add_argument("--ref", required=True, help="folder with the reference model files (model/T6.py, ...)")
    ap.add_argument("--logits-bin", help="tests/hf/hf_logits of a t6 build")
    ap.add_argument("--ours-cuda", action="store_true", help="also t6's bf16 CUDA logits (CUDA build), INFO only")
    ap.add_argument("--out", default=os.environ.get("OUT", "hf-check-out"))
    ap.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    ap.add_argument("--eval-results", help="t6 eval results HDF5 (helper E's format)")
    ap.add_argument("--eval-precision", choices=["fp32", "bf16"], default="fp32",
                    help="precision the eval results were computed in: fp32 is held to 1e-4, bf16 only reported")
    ap.add_argument("--eval-limit", type=int, default=400, help="requests to rescore (whole documents; 0 = all)")
    ap.add_argument("--eval-per-task", type=int, default=0,
                    help="rescore the first K documents of every task instead (whole documents; overrides --eval-limit)")
    ap.add_argument("--tag", default="", help="label for this model in the summary")
    ap.add_argument("--dry-run", action="store_true", help="do not use torch even when it is there")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    LOG = open(os.path.join(args.out, "hf_reference_check%s.log" % ("_" + args.tag if args.tag else "")), "w")
    tag = (args.tag + ": ") if args.tag else ""

    cfg = json.load(open(os.path.join(args.hf, "config.json")))
    st = os.path.join(args.hf, "model.safetensors")
    header, _ = read_safetensors_header(st)
    meta = header.pop("__metadata__", {})
    dtypes = sorted({e["dtype"] for e in header.values()})
    record(tag + "export", "PASS" if meta.get("format") == "pt" and "lm_head.weight" in header else "FAIL",
           "%s: %d tensors %s, attention %s, reference file %s" % (args.hf, len(header), dtypes,
                                                                 cfg.get("t6_attention"), cfg.get("t6_reference_model")))
    ref_file = find_reference_file(args.ref, cfg)
    record(tag + "reference model file", "PASS" if ref_file else "FAIL",
           ref_file or "%s not found under %s (fill .carry/ref with tensorgi/TPA's model/ folder)" %
           (cfg.get("t6_reference_model"), args.ref))

    tok_path = os.path.join(args.out, "tokens%s.txt" % ("_" + args.tag if args.tag else ""))
    seqs = make_tokens(cfg, tok_path)
    ours = None
    try:
        import numpy as np
    except ImportError:
        np = None
    if args.logits_bin:
        ours = ours_logits(args.logits_bin, args.hf, tok_path, tok_path + ".logits.bin")
        if np is not None:
            record(tag + "t6 logits", "PASS" if ours is not None and np.isfinite(ours).all() else "FAIL",
                   "shape %s" % (None if ours is None else ours.shape,))

    torch = None
    if not args.dry_run:
        try:
            import torch
        except ImportError:
            say("SKIP: torch is not installed here: dry run only")
    if torch is None or np is None or ref_file is None:
        return finish(args, dry=True)

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    install_transformers_standin(torch)
    install_old_torch_shims(torch)
    mod = load_reference_module(ref_file)
    try:
        model = build_reference(torch, mod, cfg, st, device)
        record(tag + "reference loads the export", "PASS",
               "GPT(GPTConfig(**config.json)).load_state_dict(strict=True), %d parameters, tied lm_head" %
               sum(p.numel() for p in model.parameters()))
    except Exception as e:  # the message is the result
        record(tag + "reference loads the export", "FAIL", "%s: %s" % (type(e).__name__, e))
        return finish(args)

    if ours is not None:
        compare_logits(torch, np, model, seqs, ours, tag + "(reference RoPE tables bf16, as shipped)", None)
        patch_rope_fp32(torch, mod, float(cfg.get("rope_base", 10000.0)))
        # both sides compute in fp32 from the same weights (a BF16 export is widened exactly
        # by both), so the tolerance holds for either export dtype
        compare_logits(torch, np, model, seqs, ours, tag + "(RoPE tables fp32 as t6)", 1e-4)
        if args.ours_cuda:
            oc = ours_logits(args.logits_bin, args.hf, tok_path, tok_path + ".cuda.bin", "cuda")
            if oc is not None:
                compare_logits(torch, np, model, seqs, oc, tag + "t6 CUDA bf16 vs reference fp32", None)
    else:
        patch_rope_fp32(torch, mod, float(cfg.get("rope_base", 10000.0)))
    if args.eval_results:
        check_eval(torch, np, model, args, device)
    return finish(args)


def finish(args, dry=False):
    fails = [r for r in RESULTS if r[1] == "FAIL"]
    verdict = "FAIL" if fails else ("DRY-RUN" if dry else "PASS")
    with open(os.path.join(args.out, "summary%s.json" % ("_" + args.tag if args.tag else "")), "w") as f:
        json.dump({"verdict": verdict, "checks": [dict(name=n, status=s, detail=d) for n, s, d in RESULTS]}, f,
                  indent=1)
    say("%d checks: %d PASS, %d FAIL, %d INFO, %d SKIP" % (len(RESULTS), sum(r[1] == "PASS" for r in RESULTS),
                                                           len(fails), sum(r[1] == "INFO" for r in RESULTS),
                                                           sum(r[1] == "SKIP" for r in RESULTS)))
    say("HF REFERENCE CHECK: %s" % verdict)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
