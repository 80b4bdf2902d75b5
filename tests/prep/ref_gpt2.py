#!/usr/bin/env python3
"""ref_gpt2.py -- an independent, deliberately plain reference of tiktoken's "gpt2"
encode_ordinary, used to derive the expected ids of tests/prep/hard_cases.json
(tiktoken itself cannot be installed here). Shares no code with prep/bpe.c:

  * pre-tokenization: Python's `re` (backtracking, like tiktoken's fancy-regex) with
    \\p{L} and \\p{N} spelled out as explicit ranges built from `unicodedata`
    (Unicode 14.0 in Python 3.11, the same version as PCRE2 10.42's tables), and \\s as
    the Unicode White_Space property (what Rust's regex crate uses);
  * merges: tiktoken's rule -- repeatedly merge the adjacent pair whose concatenated
    bytes have the lowest rank, leftmost first -- with ranks = encoder.json ids;
  * cross-check: the original GPT-2 encoder.py rule (merge by vocab.bpe pair rank,
    all occurrences of the best bigram at once) must give the same ids.

Usage: ref_gpt2.py VOCAB_DIR gen CASES.txt OUT.json   (cases: one JSON string per line)
       ref_gpt2.py VOCAB_DIR check FILE...            (both rules agree; prints ids count)
       ref_gpt2.py VOCAB_DIR stream FILE...           (fineweb layout: <|endoftext|> + text of
           each document -- a .jsonl line's "text", or a whole text file; prints the token
           count and the sha256 of the little-endian uint32 stream, as corpus_sum does)
"""
import json
import re
import sys
import unicodedata

WHITE_SPACE = [(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
               (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
               (0x3000, 0x3000)]


def ranges_where(pred):
    out, start = [], None
    for cp in range(0x110000):
        ok = pred(cp)
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            out.append((start, cp - 1))
            start = None
    if start is not None:
        out.append((start, 0x10FFFF))
    return out


def cls(ranges):
    return "".join("\\U%08x" % a if a == b else "\\U%08x-\\U%08x" % (a, b) for a, b in ranges)


def build_regex():
    def cat(cp):
        if 0xD800 <= cp <= 0xDFFF:
            return "Cs"
        return unicodedata.category(chr(cp))
    L = cls(ranges_where(lambda cp: cat(cp).startswith("L")))
    N = cls(ranges_where(lambda cp: cat(cp).startswith("N")))
    S = cls(WHITE_SPACE)
    pat = (r"'(?:[sdmt]|ll|ve|re)| ?[%s]+| ?[%s]+| ?[^%s%s%s]+|[%s]+(?![^%s])|[%s]+"
           % (L, N, S, L, N, S, S, S))
    return re.compile(pat)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Ref:
    def __init__(self, d):
        enc = json.load(open(d + "/encoder.json", encoding="utf-8"))
        inv = {c: b for b, c in bytes_to_unicode().items()}
        self.ranks = {}
        for k, v in enc.items():
            if k == "<|endoftext|>":
                continue
            self.ranks[bytes(inv[c] for c in k)] = v
        lines = open(d + "/vocab.bpe", encoding="utf-8").read().split("\n")[1:]
        self.pair_rank = {}
        for i, l in enumerate(x for x in lines if x):
            a, b = l.split(" ")
            self.pair_rank[(bytes(inv[c] for c in a), bytes(inv[c] for c in b))] = i
        self.rx = build_regex()

    def bpe_tiktoken(self, piece):
        if piece in self.ranks:
            return [self.ranks[piece]]
        parts = [piece[i:i + 1] for i in range(len(piece))]
        while True:
            best, bi = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            parts[bi:bi + 2] = [parts[bi] + parts[bi + 1]]
        return [self.ranks[p] for p in parts]

    def bpe_gpt2(self, piece):
        word = [piece[i:i + 1] for i in range(len(piece))]
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda p: self.pair_rank.get(p, float("inf")))
            if bigram not in self.pair_rank:
                break
            new, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == bigram:
                    new.append(word[i] + word[i + 1])
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = new
        return [self.ranks[p] for p in word]

    def encode(self, text, rule="tiktoken"):
        f = self.bpe_tiktoken if rule == "tiktoken" else self.bpe_gpt2
        out = []
        for m in self.rx.finditer(text):
            out += f(m.group().encode("utf-8"))
        return out


def main():
    ref = Ref(sys.argv[1])
    if sys.argv[2] == "gen":
        vecs = []
        for line in open(sys.argv[3], encoding="utf-8"):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            text = json.loads(line)
            a, b = ref.encode(text), ref.encode(text, "gpt2")
            assert a == b, ("rules disagree", text)
            vecs.append({"text": text, "ids": a, "allow_special_endoftext": False,
                         "source": "tests/prep/ref_gpt2.py (independent reference; see doc/prep.md)"})
        json.dump({"description": "GPT-2 hard cases; ids from tests/prep/ref_gpt2.py, an independent "
                   "reference of tiktoken's gpt2 encode_ordinary (Python re + unicodedata 14.0); "
                   "both merge rules agree on every case", "vectors": vecs},
                  open(sys.argv[4], "w", encoding="utf-8"), ensure_ascii=True, indent=0)
        print("wrote %d vectors" % len(vecs))
    elif sys.argv[2] == "stream":
        import hashlib
        h, n, docs = hashlib.sha256(), 0, 0
        for path in sys.argv[3:]:
            if path.endswith(".jsonl"):
                texts = (json.loads(l)["text"] for l in open(path, encoding="utf-8") if l.strip())
            else:
                texts = [open(path, "rb").read().decode("utf-8", errors="replace")]
            for t in texts:
                ids = [50256] + ref.encode(t)
                h.update(b"".join(i.to_bytes(4, "little") for i in ids))
                n += len(ids)
                docs += 1
        print("total %d tokens %d documents sha256 %s" % (n, docs, h.hexdigest()))
    else:
        for path in sys.argv[3:]:
            text = open(path, encoding="utf-8", errors="replace").read()
            a = ref.encode(text)
            b = ref.encode(text, "gpt2")
            print(path, len(a), "rules agree" if a == b else "RULES DISAGREE")


if __name__ == "__main__":
    main()
