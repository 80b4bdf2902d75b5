"""recompute.py -- recomputes every task's metrics of a t6 eval results file
(doc/formats/eval-results.md, version >= 3) from its /requests records alone, with
lm-eval's definitions (doc/eval.md): acc = argmax of loglik (first on ties) is gold;
acc_norm = argmax of loglik / choice_chars; LAMBADA acc = is_greedy, perplexity =
exp(-mean loglik); stderr = sample std / sqrt(n); MMLU = size-weighted over subjects;
and compares them with /metrics and with the JSON summary. Python standard library
only; the datasets are read through `h5dump -b`.
With LOG (t6's stdout), every row of the printed table must equal the file's value,
stderr and n to the 4 decimals printed.
Usage: recompute.py RESULTS.h5 RESULTS.json [LOG]; prints "mismatches: N"."""
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

H5, JS = sys.argv[1], sys.argv[2]


def nums(name, fmt):
    fd, p = tempfile.mkstemp()
    os.close(fd)
    subprocess.run(["h5dump", "-d", name, "-b", "LE", "-o", p, H5], stdout=subprocess.DEVNULL, check=True)
    b = open(p, "rb").read()
    os.unlink(p)
    n = len(b) // struct.calcsize("<" + fmt)
    return list(struct.unpack("<%d%s" % (n, fmt), b))


def strings(name):
    out = subprocess.run(["h5dump", "-d", name, H5], capture_output=True, text=True, check=True).stdout
    return re.findall(r'"([^"]*)"', out.split("DATA {", 1)[1])


task, doc, choice = nums("/requests/task", "i"), nums("/requests/doc", "q"), nums("/requests/choice", "i")
ll, greedy = nums("/requests/loglik", "d"), nums("/requests/is_greedy", "b")
nch, gold = nums("/requests/choice_chars", "i"), nums("/requests/gold", "i")
tnames = strings("/requests/task_names")
mt, mm = strings("/metrics/task"), strings("/metrics/metric")
mv, ms, mn = nums("/metrics/value", "d"), nums("/metrics/stderr", "d"), nums("/metrics/n", "q")
H = {(mt[i], mm[i]): (mv[i], ms[i], mn[i]) for i in range(len(mv))}
J = json.load(open(JS))["tasks"]
bad = 0


def same(what, a, b):
    global bad
    if not ((math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-12 * max(1.0, abs(a))):
        bad += 1
        print("MISMATCH %s: recomputed %r, file %r" % (what, a, b))


def mean_stderr(x):
    n = len(x)
    if n < 2:
        return float("nan")
    m = sum(x) / n
    return math.sqrt(sum((v - m) ** 2 for v in x) / (n - 1)) / math.sqrt(n)


def argmax(v):
    return max(range(len(v)), key=lambda k: (v[k], -k))


for ti, t in enumerate(tnames):
    docs = {}
    for i in range(len(task)):
        if task[i] == ti:
            docs.setdefault(doc[i], []).append(i)
    if not docs:
        continue
    acc, accn, lls = [], [], []
    for d, rq in docs.items():
        if [choice[i] for i in rq] != list(range(len(rq))):
            bad += 1
            print("MISMATCH %s doc %d: choices %r" % (t, d, [choice[i] for i in rq]))
        g = gold[rq[0]]
        if t == "lambada_openai":
            acc.append(1.0 if greedy[rq[0]] else 0.0)
            lls.append(ll[rq[0]])
            continue
        lv = [ll[i] for i in rq]
        acc.append(1.0 if argmax(lv) == g else 0.0)
        if nch[rq[0]] > 0:
            accn.append(1.0 if argmax([lv[k] / nch[rq[k]] for k in range(len(rq))]) == g else 0.0)
    same(t + " acc", sum(acc) / len(acc), H[(t, "acc")][0])
    same(t + " acc (JSON)", sum(acc) / len(acc), J[t]["acc"])
    same(t + " n", len(acc), H[(t, "acc")][2])
    if t != "mmlu":   # MMLU's stderr is pooled over subjects and categories (doc/eval.md)
        same(t + " acc stderr", mean_stderr(acc), H[(t, "acc")][1])
    if (t, "acc_norm") in H:
        same(t + " acc_norm", sum(accn) / len(accn), H[(t, "acc_norm")][0])
        same(t + " acc_norm (JSON)", sum(accn) / len(accn), J[t]["acc_norm"])
        same(t + " acc_norm stderr", mean_stderr(accn), H[(t, "acc_norm")][1])
    if lls:
        ppl = math.exp(-sum(lls) / len(lls))
        same(t + " perplexity", ppl, H[(t, "perplexity")][0])
        same(t + " perplexity (JSON)", ppl, J[t]["perplexity"])
        same(t + " perplexity stderr", ppl * mean_stderr(lls), H[(t, "perplexity")][1])
    print("%s: %d documents, acc %.4f" % (t, len(acc), sum(acc) / len(acc)))
if len(sys.argv) > 3:
    rows = 0
    for line in open(sys.argv[3], encoding="utf-8"):
        f = line.split()
        if len(f) != 5 or f[1] not in ("acc", "acc_norm", "perplexity") or f[0] == "task":
            continue
        name = f[0] if f[0] in tnames else None
        if name is None:
            continue
        v, se, n = H[(name, f[1])]
        rows += 1
        if abs(float(f[2]) - v) > 5.1e-5 * max(1.0, abs(v)) or int(f[4]) != n or \
           (f[3] == "n/a") != math.isnan(se) or (f[3] != "n/a" and abs(float(f[3]) - se) > 5.1e-5 * max(1.0, se)):
            bad += 1
            print("MISMATCH table row %r vs file %r" % (line.strip(), (v, se, n)))
    print("table rows compared: %d" % rows)
    if rows == 0:
        bad += 1
print("mismatches: %d" % bad)
sys.exit(1 if bad else 0)
