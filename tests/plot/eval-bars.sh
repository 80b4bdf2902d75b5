#!/bin/bash
# tests/plot/eval-bars.sh -- t6-plot --eval: the bar chart of evaluation results files
# (doc/formats/eval-results.md). A tiny GPT-2-vocabulary model is trained for a step and
# scored on three tasks (a few documents each); the chart's data are the file's
# /metrics values (x 100, the paper's metric per task), the SVG has one titled bar
# series per file, and a file that is not a results file is refused by name.
. "$(dirname "$0")/../train/common.sh"
PLOT="$T6_BUILDDIR/t6-plot"
DATA=${T6_DATA:-$T6_SRCDIR/../shared/data}
[ -d "$DATA/eval" ] && [ -d "$DATA/gpt2" ] || { echo "SKIP: T6_DATA missing ($DATA/eval, $DATA/gpt2)"; exit 77; }
command -v gnuplot >/dev/null || { echo "SKIP: gnuplot not installed (tools/install-deps.sh installs gnuplot-nox)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

GPT="--set model.vocab_size=50304"
tiny "$TMP/m" 1 $GPT --set output.checkpoint_interval=1 || { bad "training"; cat "$TMP/m.log"; finish; }
for lim in 3 5; do
    "$T6" "$DEMO" $TINY $GPT --set job=eval --set output.run_dir="$TMP/m" --set 'data.val=[]' \
        --set train.eval_interval=0 --set 'eval.tasks=arc_easy,boolq,mmlu' --set data.eval_dir="$DATA/eval" \
        --set data.vocab_dir="$DATA/gpt2" --set eval.limit=$lim --set eval.results="$TMP/r$lim.h5" \
        >"$TMP/eval$lim.log" 2>&1 || { bad "eval limit $lim"; tail "$TMP/eval$lim.log"; finish; }
done
"$PLOT" --label "three docs" --eval "$TMP/r3.h5" --eval "$TMP/r5.h5" -o "$TMP/bars.svg" --keep-script >"$TMP/p.log" 2>&1
expect_eq "bar chart of two results files exits 0" "$?" 0
# the data file: ARC-E acc_norm, BoolQ acc, MMLU acc of r3, x 100, against h5dump of the file
h5dump -y -w 0 -d /metrics/task -d /metrics/metric -d /metrics/value "$TMP/r3.h5" >"$TMP/dump.txt" 2>&1
python3 - "$TMP/dump.txt" "$TMP/bars.eval0.dat" >"$TMP/cmp.txt" 2>&1 <<'PY'
import re, sys
txt = open(sys.argv[1]).read()
blocks = re.findall(r'DATASET "/metrics/(\w+)".*?DATA \{(.*?)\}', txt, re.S)
col = {name: body for name, body in blocks}
tasks = re.findall(r'"([^"]*)"', col["task"]); metrics = re.findall(r'"([^"]*)"', col["metric"])
values = [float(v) for v in re.split(r'[,\s]+', col["value"].strip()) if v]
want = {("arc_easy", "acc_norm"): "ARC-E", ("boolq", "acc"): "BoolQ", ("mmlu", "acc"): "MMLU"}
got = {}
for line in open(sys.argv[2]):
    if line.startswith("#"): continue
    m = re.match(r'"([^"]*)" (\S+)', line)
    got[m.group(1)] = m.group(2)
ok = True
for (t, mname), label in want.items():
    v = [values[i] for i in range(len(tasks)) if tasks[i] == t and metrics[i] == mname][0]
    if abs(float(got[label]) - 100 * v) > 1e-4 * max(1, 100 * v): ok = False; print("differs", label, got[label], v)
# tasks not scored are missing ('?'), and so is the Avg of an incomplete nine
ok &= got["PIQA"] == "?" and got["Avg"] == "?"
print("match" if ok else "differ")
PY
expect_eq "bar data = /metrics values x 100 (paper metric), missing tasks and Avg '?'" "$(tail -1 "$TMP/cmp.txt")" match
python3 - "$TMP/bars.svg" >"$TMP/svg.txt" 2>&1 <<'PY'
import sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
print('|'.join((g.find(ns + 'title').text if g.find(ns + 'title') is not None else '')
               for g in root.iter(ns + 'g') if g.get('id', '').startswith('gnuplot_plot_')))
PY
expect_eq "svg: one titled bar series per results file" "$(cat "$TMP/svg.txt")" "three docs|r5"
"$PLOT" --eval "$TMP/m/metrics.h5" -o "$TMP/x.png" >"$TMP/e.log" 2>&1
expect_eq "a metrics file given as --eval exits 1" "$?" 1
expect_grep "... and is named" "eval results '$TMP/m/metrics.h5': attribute format is 't6-metrics'" "$TMP/e.log"
finish
