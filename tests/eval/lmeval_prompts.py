"""lmeval_prompts.py -- an independent Python transcription of lm-evaluation-harness
0.4.x's doc_to_text / doc_to_choice / doc_to_target for the tasks t6 evaluates, applied
to the original files of T6_DATA/eval; compares every document with what t6 reads
(tests/eval/dumpdocs), and the few-shot request strings of SciQ (Python's own
random.Random(1234).sample over the train split) and MMLU (first_n over dev) with what
job eval builds. Usage: lmeval_prompts.py EVAL_DIR DUMPDOCS"""
import bz2
import csv
import glob
import json
import os
import random
import re
import subprocess
import sys

E, DUMP = sys.argv[1], sys.argv[2]


def jl(p):
    return [json.loads(line) for line in open(p, encoding="utf-8") if line.strip()]


def rec(gold, text, target, choices):
    return "\x1f".join([str(gold), text, target] + choices)


def arc(t, f):
    out = []
    for d in jl(f"{E}/{t}/original/{f}.jsonl"):
        labels = [c["label"] for c in d["question"]["choices"]]
        out.append(rec(labels.index(d["answerKey"]), f"Question: {d['question']['stem']}\nAnswer:", "",
                       [c["text"] for c in d["question"]["choices"]]))
    return out


def hellaswag_preprocess(text):
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def winogrande(d):
    i = d["sentence"].index("_")
    return rec({"1": 0, "2": 1}[d["answer"]], "", d["sentence"][i + 1:].strip(),
               [d["sentence"][:i] + d["option1"], d["sentence"][:i] + d["option2"]])


def mmlu():
    out = []
    files = sorted(glob.glob(f"{E}/mmlu/original/data/test/*_test.csv"))
    for p in files:
        with open(p, newline="", encoding="utf-8") as f:
            for q, a, b, c, d, ans in csv.reader(f):
                out.append(rec("ABCD".index(ans), f"{q.strip()}\nA. {a}\nB. {b}\nC. {c}\nD. {d}\nAnswer:", "",
                               ["A", "B", "C", "D"]))
    return out


def want(task):
    if task == "arc_easy":
        return arc(task, "ARC-Easy-Test")
    if task == "arc_challenge":
        return arc(task, "ARC-Challenge-Test")
    if task == "boolq":
        return [rec(1 if d["label"] in (True, "true", 1) else 0, f"{d['passage']}\nQuestion: {d['question']}?\nAnswer:",
                    "", ["no", "yes"]) for d in jl(f"{E}/boolq/original/val.jsonl")]
    if task == "piqa":
        labels = [int(x) for x in open(f"{E}/piqa/original/valid-labels.lst")]
        return [rec(l, f"Question: {d['goal']}\nAnswer:", "", [d["sol1"], d["sol2"]])
                for d, l in zip(jl(f"{E}/piqa/original/valid.jsonl"), labels)]
    if task == "sciq":
        return [rec(3, f"{d['support'].lstrip()}\nQuestion: {d['question']}\nAnswer:", "",
                    [d["distractor1"], d["distractor2"], d["distractor3"], d["correct_answer"]])
                for d in json.load(open(f"{E}/sciq/original/test.json", encoding="utf-8"))]
    if task == "winogrande":
        return [winogrande(d) for d in jl(f"{E}/winogrande/hf-arrow/validation.jsonl")]
    if task == "openbookqa":   # MosaicML test file: query = question_stem
        return [rec(d["gold"], d["query"], "", d["choices"]) for d in jl(f"{E}/openbookqa/mosaicml-icl/openbook_qa.jsonl")]
    if task == "hellaswag":    # klosax text: "activity_label: ctx", label, 4 endings
        lines = bz2.open(f"{E}/hellaswag/klosax-text/hellaswag_val_full.txt.bz2", "rt", encoding="utf-8").read().split("\n")
        return [rec(int(lines[i + 1]), hellaswag_preprocess(lines[i]), "",
                    [hellaswag_preprocess(x) for x in lines[i + 2:i + 6]]) for i in range(0, len(lines) - 5, 6)]
    if task == "mmlu":
        return mmlu()
    if task == "lambada_openai":
        return [rec(0, d["context"], " " + d["continuation"], [" " + d["continuation"]])
                for d in jl(f"{E}/lambada_openai/mosaicml-icl/lambada_openai.jsonl")]
    raise SystemExit(f"no transcription for {task}")


def fewshot_requests(task, k, limit):
    """lm-eval's request strings with k few-shot examples (ConfigurableTask.fewshot_context:
    description + (doc_to_text + " " + target + "\n\n") per example + doc_to_text; the
    sampler's random.Random(1234) is seeded once per task and draws for each document in
    order; MMLU: first_n over its subject's dev split, no draw)."""
    out = []
    if task == "sciq":
        import zipfile
        with zipfile.ZipFile(f"{E}/sciq/original/SciQ.zip") as z:
            train = json.loads(z.read("SciQ dataset-2 3/train.json").decode("utf-8"))
        test = json.load(open(f"{E}/sciq/original/test.json", encoding="utf-8"))
        test = test[:limit] if limit else test
        text = lambda d: f"{d['support'].lstrip()}\nQuestion: {d['question']}\nAnswer:"
        rnd = random.Random(1234)
        for d in test:
            prefix = "".join(text(e) + " " + e["correct_answer"] + "\n\n" for e in rnd.sample(train, k))
            for c in [d["distractor1"], d["distractor2"], d["distractor3"], d["correct_answer"]]:
                out.append(prefix + text(d) + "\x1f " + c)
        return out
    if task == "mmlu":
        def rows(split, subject):
            with open(f"{E}/mmlu/original/data/{split}/{subject}_{split}.csv", newline="", encoding="utf-8") as f:
                return list(csv.reader(f))
        text = lambda r: f"{r[0].strip()}\nA. {r[1]}\nB. {r[2]}\nC. {r[3]}\nD. {r[4]}\nAnswer:"
        for p in sorted(glob.glob(f"{E}/mmlu/original/data/test/*_test.csv")):
            subject = os.path.basename(p)[:-len("_test.csv")]
            desc = f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
            prefix = desc + "".join(text(e) + " " + e[5] + "\n\n" for e in rows("dev", subject)[:k])
            test = rows("test", subject)
            for r in (test[:limit] if limit else test):
                out += [prefix + text(r) + "\x1f " + c for c in "ABCD"]
        return out
    raise SystemExit(f"no few-shot transcription for {task}")


fails = 0
# few-shot: the two tasks whose few-shot split is in the data folder (doc/eval.md)
for task, k, limit in [("sciq", 2, 0), ("mmlu", 2, 3), ("mmlu", 5, 1)]:
    got = subprocess.run([DUMP, E, task, "requests", str(k), str(limit)], capture_output=True,
                         check=True).stdout.decode("utf-8").split("\x1e")[:-1]
    w = fewshot_requests(task, k, limit)
    bad = [i for i, (x, y) in enumerate(zip(w, got)) if x != y]
    if len(w) != len(got) or bad:
        fails += 1
        print(f"FAIL: {task} {k}-shot: {len(got)} requests (want {len(w)}), {len(bad)} differ, first {bad[:3]}")
        if bad:
            print("   t6:     ", repr(got[bad[0]][:300]))
            print("   lm-eval:", repr(w[bad[0]][:300]))
    else:
        print(f"ok: {task} {k}-shot: all {len(w)} requests (few-shot prefix, context, continuation) as lm-eval builds them")
for task in ["arc_easy", "arc_challenge", "boolq", "hellaswag", "openbookqa", "piqa", "winogrande", "mmlu", "sciq",
             "lambada_openai"]:
    got = subprocess.run([DUMP, E, task], capture_output=True, check=True).stdout.decode("utf-8").split("\x1e")[:-1]
    w = want(task)
    bad = [i for i, (x, y) in enumerate(zip(w, got)) if x != y]
    if len(w) != len(got) or bad:
        fails += 1
        print(f"FAIL: {task}: {len(got)} documents (want {len(w)}), {len(bad)} differ, first {bad[:3]}")
        if bad:
            print("   t6:     ", repr(got[bad[0]][:300]))
            print("   lm-eval:", repr(w[bad[0]][:300]))
    else:
        print(f"ok: {task}: all {len(w)} documents (text, choices, gold, target) as lm-eval's templates give them")
sys.exit(1 if fails else 0)
