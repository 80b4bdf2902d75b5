#!/usr/bin/env python3
"""st_edit.py -- makes damaged copies of a t6 Hugging Face export for tests/hf/errors.sh
(standard library only). Edits a file in place:

  st_edit.py FILE shape NAME D0 [D1...]   set the header shape of tensor NAME
  st_edit.py FILE dtype NAME DTYPE        set its dtype (the byte range is left alone)
  st_edit.py FILE rename NAME NEW         rename a tensor in the header
  st_edit.py FILE offsets NAME B E        set its data_offsets
  st_edit.py FILE flip NAME               flip one bit of NAME's first value
  st_edit.py FILE nan NAME K              set NAME's K-th value (F32) to NaN
  st_edit.py FILE fill NAME V             set every value of NAME (F32) to V
  st_edit.py FILE hdrlen N                overwrite the 8-byte header length with N
  st_edit.py FILE config KEY JSONVALUE    set a key of a config.json (FILE) ("null" deletes)

The header is rewritten with space padding to keep the data 8-byte aligned."""
import json
import struct
import sys


def load(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + n].decode()), blob[8 + n:]


def save(path, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def main():
    path, op, *a = sys.argv[1:]
    if op == "config":
        cfg = json.load(open(path))
        v = json.loads(a[1])
        if v is None:
            cfg.pop(a[0], None)
        else:
            cfg[a[0]] = v
        json.dump(cfg, open(path, "w"), indent=2)
        return 0
    if op == "hdrlen":
        blob = bytearray(open(path, "rb").read())
        blob[:8] = struct.pack("<Q", int(a[0]))
        open(path, "wb").write(blob)
        return 0
    header, data = load(path)
    if op == "shape":
        header[a[0]]["shape"] = [int(x) for x in a[1:]]
    elif op == "dtype":
        header[a[0]]["dtype"] = a[1]
    elif op == "rename":
        header[a[1]] = header.pop(a[0])
    elif op == "offsets":
        header[a[0]]["data_offsets"] = [int(a[1]), int(a[2])]
    elif op == "flip":
        b = header[a[0]]["data_offsets"][0]
        data = bytearray(data)
        data[b + 1] ^= 0x01
        data = bytes(data)
    elif op == "nan":
        b = header[a[0]]["data_offsets"][0] + 4 * int(a[1])
        data = bytearray(data)
        data[b:b + 4] = struct.pack("<f", float("nan"))
        data = bytes(data)
    elif op == "fill":
        b, e = header[a[0]]["data_offsets"]
        data = bytearray(data)
        data[b:e] = struct.pack("<f", float(a[1])) * ((e - b) // 4)
        data = bytes(data)
    else:
        print("st_edit.py: unknown operation " + op)
        return 2
    save(path, header, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
