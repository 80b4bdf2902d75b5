#!/usr/bin/env python3
"""st_check.py -- an independent reader of a t6 Hugging Face export (standard library
only: json + struct), written from the safetensors specification and the reference
model files, not from src/: checks DIR/model.safetensors' framing (8-byte little-endian
header length, JSON header, data 8-byte aligned, "__metadata__": {"format": "pt"},
tensors packed from byte 0 without holes, the file exactly as long as they need), that
the tensor names and shapes are those the reference GPT class has for config.json
(T6.py, T6_kvonly.py, llama-mha.py, llama-gqa.py), and that the tied keys
transformer.wte.weight and lm_head.weight hold the same bytes.

  st_check.py DIR [--bf16-of FP32DIR]

With --bf16-of, DIR must be a BF16 export and every value must be the round-to-nearest-
even bf16 of the same value in the F32 export FP32DIR. Prints "st_check: OK ..." and
exits 0, or prints every problem and exits 1."""
import json
import math
import os
import struct
import sys

problems = []


def bad(msg):
    problems.append(msg)
    print("st_check: FAIL: " + msg)


def read_st(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        bad("%s: shorter than 8 bytes" % path)
        return None, None
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        bad("%s: header length %d beyond the file" % (path, n))
        return None, None
    if (8 + n) % 8:
        bad("%s: data starts at byte %d, not 8-byte aligned" % (path, 8 + n))
    raw = blob[8:8 + n]
    if not raw.rstrip(b" ").endswith(b"}"):
        bad("%s: header padding is not spaces after the JSON" % path)
    header = json.loads(raw.decode("utf-8"))
    return header, blob[8 + n:]


def expected_tensors(cfg):
    """name -> shape, from config.json the way the reference model files build the model."""
    d, L, V = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"]
    h = cfg["n_head"]
    att = cfg.get("t6_attention")
    if att is None:
        att = "gqa" if "group_size" in cfg else "tpa"
    dh = d // h if att == "mha" else cfg["head_dim"]
    rk = cfg.get("k_rank", cfg["rank"])
    rv = cfg.get("v_rank", cfg["rank"])
    rq = cfg["q_rank"]
    hid = math.floor(8 / 3 * d)
    out = {"transformer.wte.weight": [V, d], "lm_head.weight": [V, d]}
    for l in range(L):
        p = "transformer.h.%d." % l
        if att == "tpa":
            out[p + "attn.c_qkv.W_A_q.weight"] = [h * rq, d]
        if att in ("tpa", "tpa_kvonly"):
            if att == "tpa_kvonly":
                out[p + "attn.c_qkv.c_q.weight"] = [h * dh, d]
            out[p + "attn.c_qkv.W_A_k.weight"] = [h * rk, d]
            out[p + "attn.c_qkv.W_A_v.weight"] = [h * rv, d]
            if att == "tpa":
                out[p + "attn.c_qkv.W_B_q.weight"] = [rq * dh, d]
            out[p + "attn.c_qkv.W_B_k.weight"] = [rk * dh, d]
            out[p + "attn.c_qkv.W_B_v.weight"] = [rv * dh, d]
        else:
            g = h // cfg["group_size"] if att in ("mqa", "gqa") else h
            out[p + "attn.c_q.weight"] = [h * dh, d]
            out[p + "attn.c_k.weight"] = [g * dh, d]
            out[p + "attn.c_v.weight"] = [g * dh, d]
        out[p + "attn.c_proj.weight"] = [d, h * dh]
        out[p + "mlp.c_fc1.weight"] = [hid, d]
        out[p + "mlp.c_fc2.weight"] = [hid, d]
        out[p + "mlp.c_proj.weight"] = [d, hid]
    return out


def rne_bf16(u32):
    """fp32 bits -> bf16 bits, round to nearest even (NaN: any NaN accepted by the caller)."""
    lo, rest = u32 >> 16, u32 & 0xFFFF
    if rest > 0x8000 or (rest == 0x8000 and (lo & 1)):
        lo += 1
    return lo & 0xFFFF


def is_nan32(u):
    return (u & 0x7F800000) == 0x7F800000 and (u & 0x7FFFFF) != 0


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    d = args[0]
    fp32dir = args[2] if len(args) >= 3 and args[1] == "--bf16-of" else None
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    header, data = read_st(os.path.join(d, "model.safetensors"))
    if header is None:
        return 1
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or meta.get("format") != "pt":
        bad("__metadata__ is %r, want an object with format \"pt\"" % (meta,))
    want = expected_tensors(cfg)
    if set(header) != set(want):
        bad("tensor names differ from the reference model's: missing %s, extra %s" %
            (sorted(set(want) - set(header))[:5], sorted(set(header) - set(want))[:5]))
    size = {"F32": 4, "BF16": 2}
    pos = 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if e.get("dtype") not in size:
            bad("%s: dtype %r (want F32 or BF16)" % (name, e.get("dtype")))
            continue
        b, en = e["data_offsets"]
        if b != pos:
            bad("%s: starts at %d, previous tensor ended at %d" % (name, b, pos))
        n = 1
        for s in e["shape"]:
            n *= s
        if en - b != n * size[e["dtype"]]:
            bad("%s: %d bytes for shape %s %s" % (name, en - b, e["shape"], e["dtype"]))
        if name in want and e["shape"] != want[name]:
            bad("%s: shape %s, the reference model has %s" % (name, e["shape"], want[name]))
        pos = en
    if pos != len(data):
        bad("tensors cover %d data bytes, the file has %d" % (pos, len(data)))
    dtypes = {e["dtype"] for e in header.values()}
    torch_dtype = {"F32": "float32", "BF16": "bfloat16"}.get(next(iter(dtypes)) if len(dtypes) == 1 else "", "?")
    if cfg.get("torch_dtype") != torch_dtype:
        bad("config.json torch_dtype %r, tensors are %s" % (cfg.get("torch_dtype"), sorted(dtypes)))

    def raw(hdr, blob, name):
        b, en = hdr[name]["data_offsets"]
        return blob[b:en]

    if "lm_head.weight" in header and "transformer.wte.weight" in header:
        if raw(header, data, "lm_head.weight") != raw(header, data, "transformer.wte.weight"):
            bad("lm_head.weight and transformer.wte.weight differ (they are tied)")
    if fp32dir:
        h32, d32 = read_st(os.path.join(fp32dir, "model.safetensors"))
        h32.pop("__metadata__", None)
        nvals = 0
        for name, e in header.items():
            if e["dtype"] != "BF16" or h32.get(name, {}).get("dtype") != "F32":
                bad("%s: want BF16 here and F32 in %s" % (name, fp32dir))
                continue
            a = raw(h32, d32, name)
            b = raw(header, data, name)
            xs = struct.unpack("<%dI" % (len(a) // 4), a)
            ys = struct.unpack("<%dH" % (len(b) // 2), b)
            for i, (x, y) in enumerate(zip(xs, ys)):
                if is_nan32(x):
                    ok = (y & 0x7F80) == 0x7F80 and (y & 0x7F) != 0
                else:
                    ok = rne_bf16(x) == y
                if not ok:
                    bad("%s[%d]: fp32 %08x -> bf16 %04x, want %04x" % (name, i, x, y, rne_bf16(x)))
                    break
            nvals += len(ys)
        print("st_check: %d bf16 values are the round-to-nearest-even of the fp32 export" % nvals)
    if problems:
        return 1
    print("st_check: OK %d tensors, %d data bytes, %s" % (len(header), len(data), sorted(dtypes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
