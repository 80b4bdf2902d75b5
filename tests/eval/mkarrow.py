#!/usr/bin/env python3
"""mkarrow.py OUTDIR -- writes small Arrow IPC stream files from the format
specification (Message.fbs / Schema.fbs, the columnar layout), independently of t6's
reader, for tests/eval/arrow-synth.sh:

  all.arrow, all.jsonl      every column type t6 supports (int8..uint64, float32/64,
                            bool, null, utf8, large_utf8, list, large_list, struct,
                            nested), nulls in each, empty and non-ASCII strings, three
                            record batches; all.jsonl = the rows the reader must give
  old.arrow                 the same rows in the pre-0.15 framing (no 0xFFFFFFFF
                            continuation marker, 4-byte end-of-stream marker)
  noeos.arrow               the same rows, the stream ended without its marker
  file.arrow                the same rows in the IPC *file* format (ARROW1 magic)
  bad-NAME.arrow, bad-NAME.msg   files the reader must refuse, with the message it
                            must give (one per line: .msg holds a fixed string)

mkarrow.py check WANT.jsonl GOT.jsonl -- strict comparison (types, key order)."""
import json
import os
import struct
import sys

from arrow_compare import same   # strict equality (types, key order): one definition

# ---- a minimal flatbuffer writer: objects are laid out front to back, so every
# uoffset points forward as the format requires; vtables precede their tables.


class Table:
    def __init__(self, fields):
        self.fields = fields        # list of (index, kind, value); kind: b B h i q ref


class Vec:
    def __init__(self, kind, items):
        self.kind = kind            # 'tables' or 'structs16' (pairs of int64)
        self.items = items


class Str:
    def __init__(self, s):
        self.b = s.encode() if isinstance(s, str) else s


def align(buf, n):
    while len(buf) % n:
        buf.append(0)


def write(buf, obj):
    """appends obj to buf, returns its position"""
    if isinstance(obj, Str):
        align(buf, 4)
        pos = len(buf)
        buf += struct.pack("<I", len(obj.b)) + obj.b + b"\0"
        return pos
    if isinstance(obj, Vec):
        if obj.kind == "structs16":
            while len(buf) % 8 != 4:
                buf.append(0)
            pos = len(buf)
            buf += struct.pack("<I", len(obj.items))
            for a, b in obj.items:
                buf += struct.pack("<qq", a, b)
            return pos
        align(buf, 4)
        pos = len(buf)
        buf += struct.pack("<I", len(obj.items))
        slots = []
        for _ in obj.items:
            slots.append(len(buf))
            buf += b"\0\0\0\0"
        for slot, item in zip(slots, obj.items):
            at = write(buf, item)
            struct.pack_into("<I", buf, slot, at - slot)
        return pos
    # table: inline layout first (soffset, then each field at its natural alignment)
    sizes = {"b": 1, "B": 1, "h": 2, "i": 4, "q": 8, "ref": 4}
    layout, off = [], 4
    for idx, kind, val in sorted(obj.fields, key=lambda f: -sizes[f[1]]):
        n = sizes[kind]
        while off % n:
            off += 1
        layout.append((idx, kind, val, off))
        off += n
    tlen = off
    nslots = 1 + max([f[0] for f in obj.fields], default=-1)
    vt = [4 + 2 * nslots, tlen] + [0] * nslots
    for idx, _, _, o in layout:
        vt[2 + idx] = o
    align(buf, 2)
    vpos = len(buf)
    buf += struct.pack("<%dH" % len(vt), *vt)
    align(buf, 8)
    tpos = len(buf)
    buf += bytes(tlen)
    struct.pack_into("<i", buf, tpos, tpos - vpos)
    refs = []
    for idx, kind, val, o in layout:
        if kind == "ref":
            refs.append((tpos + o, val))
        else:
            struct.pack_into("<" + kind, buf, tpos + o, val)
    for slot, val in refs:
        at = write(buf, val)
        struct.pack_into("<I", buf, slot, at - slot)
    return tpos


def flatbuffer(root):
    buf = bytearray(b"\0\0\0\0")
    at = write(buf, root)
    struct.pack_into("<I", buf, 0, at)
    align(buf, 8)
    return bytes(buf)

# ---- Arrow schema ------------------------------------------------------------------
# a column type: (tag, type-table fields, children); tags of Schema.fbs's Type union


TYPES = {"null": 1, "int": 2, "float": 3, "binary": 4, "utf8": 5, "bool": 6, "list": 12, "struct": 13,
         "large_utf8": 20, "large_list": 21}


def ty(name, bits=0, signed=True, children=()):
    return {"name": name, "bits": bits, "signed": signed, "children": list(children)}


def field_table(col_name, t, dictionary=False, tag=None):
    tfields = []
    if t["name"] == "int":
        tfields = [(0, "i", t["bits"]), (1, "B", 1 if t["signed"] else 0)]
    elif t["name"] == "float":
        tfields = [(0, "h", {16: 0, 32: 1, 64: 2}[t["bits"]])]
    fields = [(0, "ref", Str(col_name)), (1, "B", 1), (2, "B", tag if tag is not None else TYPES[t["name"]]),
              (3, "ref", Table(tfields)),
              (5, "ref", Vec("tables", [field_table(n, c) for n, c in t["children"]]))]
    if dictionary:
        fields.append((4, "ref", Table([(0, "q", 0)])))
    return Table(fields)


def message(header_type, header, body_len, version=4):
    return flatbuffer(Table([(0, "h", version), (1, "B", header_type), (2, "ref", header), (3, "q", body_len)]))


def schema_message(cols, endian=0, dictionary=False, tag=None, version=4):
    fields = [field_table(n, t, dictionary and i == 0, tag if i == 0 else None) for i, (n, t) in enumerate(cols)]
    return message(1, Table([(0, "h", endian), (1, "ref", Vec("tables", fields))]), 0, version)

# ---- columnar data -----------------------------------------------------------------


def bitmap(bits):
    out = bytearray((len(bits) + 7) // 8)
    for i, b in enumerate(bits):
        if b:
            out[i >> 3] |= 1 << (i & 7)
    return bytes(out)


def encode(t, values, nodes, bufs):
    """pre-order FieldNodes and buffers of one column for the values (None = null)"""
    n, nulls = len(values), sum(v is None for v in values)
    nodes.append((n, nulls))
    name = t["name"]
    if name == "null":
        return
    bufs.append(bitmap([v is not None for v in values]) if nulls else b"")
    if name == "bool":
        bufs.append(bitmap([bool(v) for v in values]))
    elif name == "int":
        code = {8: "b", 16: "h", 32: "i", 64: "q"}[t["bits"]]
        code = code if t["signed"] else code.upper()
        bufs.append(b"".join(struct.pack("<" + code, v or 0) for v in values))
    elif name == "float":
        bufs.append(b"".join(struct.pack("<" + ("f" if t["bits"] == 32 else "d"), v or 0.0) for v in values))
    elif name in ("utf8", "large_utf8", "binary"):
        w = "q" if name == "large_utf8" else "i"
        data, offs = b"", [0]
        for v in values:
            data += (v.encode() if isinstance(v, str) else v) if v is not None else b""
            offs.append(len(data))
        bufs.append(b"".join(struct.pack("<" + w, o) for o in offs))
        bufs.append(data)
    elif name in ("list", "large_list"):
        w = "q" if name == "large_list" else "i"
        flat, offs = [], [0]
        for v in values:
            flat += v or []
            offs.append(len(flat))
        bufs.append(b"".join(struct.pack("<" + w, o) for o in offs))
        encode(t["children"][0][1], flat, nodes, bufs)
    elif name == "struct":
        for cname, ct in t["children"]:
            encode(ct, [None if v is None else v[cname] for v in values], nodes, bufs)


def batch_message(cols, rows, compressed=False, tweak=None):
    nodes, bufs = [], []
    for name, t in cols:
        encode(t, [r[name] for r in rows], nodes, bufs)
    if tweak:
        tweak(nodes, bufs)
    body, spans = b"", []
    for b in bufs:
        spans.append((len(body), len(b)))
        body += b + bytes(-len(b) % 8)
    fields = [(0, "q", len(rows)), (1, "ref", Vec("structs16", nodes)), (2, "ref", Vec("structs16", spans))]
    if compressed:
        fields.append((3, "ref", Table([(0, "b", 0), (1, "b", 0)])))   # LZ4_FRAME, BUFFER
    return message(3, Table(fields), len(body)), body


def frame(meta, body=b"", old=False):
    pad = bytes(-(len(meta) + (4 if old else 8)) % 8)
    head = struct.pack("<I", len(meta) + len(pad)) if old else struct.pack("<iI", -1, len(meta) + len(pad))
    return head + meta + pad + body


def stream(cols, batches, old=False, eos=True, **kw):
    out = frame(schema_message(cols, **{k: v for k, v in kw.items() if k in ("endian", "dictionary", "tag", "version")}),
                old=old)
    for rows in batches:
        meta, body = batch_message(cols, rows, **{k: v for k, v in kw.items() if k in ("compressed", "tweak")})
        out += frame(meta, body, old)
    if eos:
        out += b"\0\0\0\0" if old else struct.pack("<iI", -1, 0)
    return out

# ---- the test files ----------------------------------------------------------------


COLS = [
    ("i8", ty("int", 8)), ("i16", ty("int", 16)), ("i32", ty("int", 32)), ("i64", ty("int", 64)),
    ("u8", ty("int", 8, False)), ("u64", ty("int", 64, False)),
    ("f32", ty("float", 32)), ("f64", ty("float", 64)), ("flag", ty("bool")), ("nothing", ty("null")),
    ("s", ty("utf8")), ("ls", ty("large_utf8")),
    ("tags", ty("list", children=[("item", ty("utf8"))])),
    ("nums", ty("large_list", children=[("item", ty("int", 32))])),
    ("choices", ty("struct", children=[("text", ty("list", children=[("item", ty("utf8"))])),
                                       ("label", ty("list", children=[("item", ty("utf8"))]))])),
    ("deep", ty("list", children=[("item", ty("struct", children=[("k", ty("utf8")), ("v", ty("bool"))]))])),
]


def row(k):
    """row k: every column, with nulls and edge values at varying places"""
    return {
        "i8": None if k % 5 == 1 else (-128 if k == 0 else k - 3), "i16": -32768 + k, "i32": None if k == 2 else 2 ** 31 - 1 - k,
        "i64": -(2 ** 63) if k == 0 else k * 10 ** 12, "u8": 255 - k, "u64": None if k == 3 else 2 ** 63 - 1 - k,
        "f32": [0.5, -2.25, 1024.0, 0.0][k % 4], "f64": None if k == 4 else k / 8.0,
        "flag": None if k == 6 else k % 3 == 0, "nothing": None,
        "s": None if k == 1 else ["", "caf\u00e9", "plain", "line\nbreak \"q\" \u20ac \U0001F600"][k % 4],
        "ls": "large " * k, "tags": None if k == 5 else [str(i) for i in range(k % 4)],
        "nums": [k, -k] if k % 2 else [], "choices": None if k == 7 else {"text": ["a%d" % k, "b"], "label": ["A", "B"]},
        "deep": [{"k": "x", "v": True}, None, {"k": None, "v": False}] if k % 2 == 0 else None,
    }


def main():
    if sys.argv[1] == "check":
        want = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
        got = [json.loads(l) for l in open(sys.argv[3], encoding="utf-8") if l.strip()]

        bad = [i for i in range(min(len(want), len(got))) if not same(want[i], got[i])]
        for i in bad[:3]:
            print("row %d\n  want %s\n  got  %s" % (i + 1, json.dumps(want[i]), json.dumps(got[i])))
        if len(want) != len(got):
            print("%d rows wanted, %d read" % (len(want), len(got)))
        sys.exit(1 if bad or len(want) != len(got) else 0)
    out = sys.argv[1]
    rows = [row(k) for k in range(12)]
    batches = [rows[:5], rows[5:6], rows[6:]]
    with open(os.path.join(out, "all.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({c: r[c] for c, _ in COLS}, ensure_ascii=False) + "\n")
    files = {"all": stream(COLS, batches), "old": stream(COLS, batches, old=True),
             "noeos": stream(COLS, batches, eos=False)}
    s = stream(COLS, batches)
    files["file"] = b"ARROW1\0\0" + s + b"footer-not-read" + struct.pack("<i", 15) + b"ARROW1"
    one = [("s", ty("utf8"))]
    few = [{"s": "ab"}, {"s": None}, {"s": "c"}]

    def nulls_without_bitmap(nodes, bufs):
        bufs[0] = b""

    def decreasing(nodes, bufs):
        bufs[1] = struct.pack("<4i", 0, 2, 1, 3)

    def huge_length(nodes, bufs):
        nodes[0] = (2 ** 62, 0)

    def short_data(nodes, bufs):
        bufs[2] = b"a"
    bad = {
        "compressed": (stream(one, [few], compressed=True), "the record batch body is compressed (LZ4/ZSTD): not supported"),
        "dictionary": (stream(one, [few], dictionary=True), "field \"s\" is dictionary-encoded: not supported"),
        "bigendian": (stream(one, [few], endian=1), "the schema is big-endian: not supported"),
        "binary": (stream(one, [], tag=TYPES["binary"]), "field \"s\" has Arrow type Binary (union tag 4): not supported"),
        "version": (stream(one, [few], version=2), "metadata version V3 is not supported (V4 or V5 expected)"),
        "nobitmap": (stream(one, [few], tweak=nulls_without_bitmap), "column \"s\": 1 nulls but a validity bitmap of 0 bytes"),
        "offsets": (stream(one, [few], tweak=decreasing), "column \"s\": offset 1 of value 2 is negative or decreasing"),
        "shortdata": (stream(one, [few], tweak=short_data), "column \"s\": string offsets reach byte 3 of a 1-byte data buffer"),
        "utf8": (stream(one, [[{"s": b"\xff\xfe"}]]), "column \"s\", value 0 is not valid UTF-8"),
        "list-children": (stream([("l", ty("list", children=[]))], []), "field \"l\": a list has 0 child fields (1 expected)"),
        "int-width": (stream([("i", ty("int", 24))], []), "field \"i\": integer bit width 24 (8, 16, 32 or 64 expected)"),
        "huge-length": (stream([("i", ty("int", 64))], [[{"i": 1}, {"i": 2}]], tweak=huge_length),
                        "column \"i\": values buffer of 16 bytes is too short for 4611686018427387904 values"),
        "duplicate": (stream([("s", ty("utf8")), ("s", ty("utf8"))], []), "the schema has two columns named \"s\""),
        "no-schema": (struct.pack("<iI", -1, 0), "Arrow stream ends before its schema"),
    }
    for name, data in files.items():
        with open(os.path.join(out, name + ".arrow"), "wb") as f:
            f.write(data)
    for name, (data, msg) in bad.items():
        with open(os.path.join(out, "bad-%s.arrow" % name), "wb") as f:
            f.write(data)
        with open(os.path.join(out, "bad-%s.msg" % name), "w") as f:
            f.write(msg + "\n")


if __name__ == "__main__":
    main()
