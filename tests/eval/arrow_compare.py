#!/usr/bin/env python3
"""arrow_compare.py EVAL_DIR ARROWDUMP -- for every Hugging Face save_to_disk folder
EVAL_DIR/*/hf-arrow/validation/, the rows that t6's Arrow reader gives (ARROWDUMP
prints them as JSON, the files taken in the order state.json lists them) equal the
rows of the JSONL export beside the folder (validation.jsonl): same number and order
of rows, same keys in the same order, same values with the same JSON types (Python's
True == 1 is not accepted as equal), and as many rows as dataset_info.json gives
the split. Prints one ok/FAIL line per task and exits 1 on any difference."""
import json
import os
import subprocess
import sys


def same(a, b):
    """strict equality: types must match exactly, dict key order too"""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def main():
    eval_dir, exe = sys.argv[1], sys.argv[2]
    failures = tasks = 0
    for task in sorted(os.listdir(eval_dir)):
        folder = os.path.join(eval_dir, task, "hf-arrow", "validation")
        if not os.path.isfile(os.path.join(folder, "state.json")):
            continue
        tasks += 1
        with open(os.path.join(folder, "state.json")) as f:
            state = json.load(f)
        got = []
        for entry in state["_data_files"]:
            out = subprocess.run([exe, os.path.join(folder, entry["filename"])], capture_output=True, check=False)
            if out.returncode != 0:
                print("FAIL: %s: arrowdump exit %d: %s" % (task, out.returncode, out.stderr.decode()))
                failures += 1
                break
            got += [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
        with open(os.path.join(eval_dir, task, "hf-arrow", "validation.jsonl"), encoding="utf-8") as f:
            want = [json.loads(line) for line in f if line.strip()]
        with open(os.path.join(folder, "dataset_info.json")) as f:
            n_split = json.load(f)["splits"][state["_split"]]["num_examples"]
        bad = [i for i, (g, w) in enumerate(zip(got, want)) if not same(g, w)]
        if len(got) != len(want) or bad or len(got) != n_split:
            failures += 1
            print("FAIL: %s: %d rows read, %d in validation.jsonl, %d in dataset_info.json; %d rows differ"
                  % (task, len(got), len(want), n_split, len(bad)))
            for i in bad[:2]:
                print("   row %d\n   got:  %s\n   want: %s" % (i + 1, json.dumps(got[i])[:300], json.dumps(want[i])[:300]))
        else:
            cols = ", ".join(want[0]) if want else ""
            print("ok: %s: %d rows x (%s) equal validation.jsonl" % (task, len(got), cols))
    if tasks == 0:
        print("FAIL: no */hf-arrow/validation/state.json under %s" % eval_dir)
        failures += 1
    print("%d tasks compared, %d failed" % (tasks, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
