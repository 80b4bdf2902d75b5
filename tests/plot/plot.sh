#!/bin/bash
# tests/plot/plot.sh -- t6-plot end to end: PNG and SVG of the demo run and of two runs
# of different attention types, the data points equal the metrics rows (x in steps,
# tokens and wall time), --logy, a resumed and a rolled-back run drawn as one monotonic
# curve, a run that is still being written, summaries (checked against h5dump), and the
# errors (missing / corrupt metrics, gnuplot missing, bad options). Needs gnuplot (gnuplot-nox) and python3 (to check the pictures).
. "$(dirname "$0")/../train/common.sh"
PLOT="$T6_BUILDDIR/t6-plot"
[ -x "$PLOT" ] || { echo "FAIL: $PLOT not built"; exit 1; }
command -v gnuplot >/dev/null || { echo "SKIP: gnuplot not installed (tools/install-deps.sh installs gnuplot-nox)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

# two short runs of different attention types
tiny "$TMP/tpa" 30 || { bad "training the tpa run"; cat "$TMP/tpa.log"; finish; }
tiny "$TMP/mha" 20 --set model.attention=mha || { bad "training the mha run"; cat "$TMP/mha.log"; finish; }

# ---- PNG: signature and the requested size
"$PLOT" "$TMP/tpa" -o "$TMP/one.png" --size 900x700 >"$TMP/p1.log" 2>&1
expect_eq "png of one run exits 0" "$?" 0
python3 - "$TMP/one.png" >"$TMP/png.txt" 2>&1 <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
assert b[:8] == b'\x89PNG\r\n\x1a\n', 'signature'
assert b[12:16] == b'IHDR', 'IHDR first'
w, h = struct.unpack('>II', b[16:24])
print(f'{w}x{h}')
PY
expect_eq "png signature and size 900x700" "$(cat "$TMP/png.txt")" "900x700"

# ---- SVG of two runs: valid XML, one titled series group per series, each with a path
"$PLOT" "$TMP/tpa" "$TMP/mha" -o "$TMP/two.svg" --what train_loss,val_loss,grad_norm --keep-script \
    >"$TMP/p2.log" 2>&1
expect_eq "svg of two runs exits 0" "$?" 0
python3 - "$TMP/two.svg" >"$TMP/svg.txt" 2>&1 <<'PY'
import sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
series = []
for g in root.iter(ns + 'g'):
    if g.get('id', '').startswith('gnuplot_plot_'):
        t = g.find(ns + 'title')
        paths = list(g.iter(ns + 'path'))
        series.append((t.text if t is not None else '', len(paths)))
# train_loss: raw + EMA per run; val_loss and grad_norm: one per run
titles = [s[0] for s in series]
print(len(series), all(n >= 1 for _, n in series))
print('|'.join(titles))
PY
expect_eq "svg: 8 series groups, each with a path" "$(head -1 "$TMP/svg.txt")" "8 True"
expect_eq "svg: legends name run and attention type" "$(sed -n 2p "$TMP/svg.txt")" \
    "tpa (tpa) raw|tpa (tpa) EMA 0.9|mha (mha) raw|mha (mha) EMA 0.9|tpa (tpa)|mha (mha)|tpa (tpa)|mha (mha)"
[ -f "$TMP/two.gp" ] && ok "--keep-script keeps the gnuplot script" || bad "--keep-script: no $TMP/two.gp"

# ---- the data file's points are the metrics rows (h5dump as the independent reader)
dump() { h5dump -y -w 0 -m '%.17g' -d "$2" "$1" | sed -n '/DATA {/,/}/p' | sed '1d;$d' | tr -d ' \n' | tr ',' '\n'; }
dump "$TMP/tpa/metrics.h5" /train/step >"$TMP/h5.step"
dump "$TMP/tpa/metrics.h5" /train/loss >"$TMP/h5.loss"
grep -v '^#' "$TMP/two.run0.train.dat" | awk '{print $2}' >"$TMP/dat.step"
grep -v '^#' "$TMP/two.run0.train.dat" | awk '{print $3}' >"$TMP/dat.loss"
expect_eq "data file has one point per /train row (30)" "$(wc -l <"$TMP/dat.step")" 30
if python3 - "$TMP/h5.step" "$TMP/dat.step" "$TMP/h5.loss" "$TMP/dat.loss" <<'PY'
import sys
f = [[float(x) for x in open(p).read().split()] for p in sys.argv[1:]]
assert f[0] == f[1], ('steps', f[0][:5], f[1][:5])
assert f[2] == f[3], ('loss', f[2][:5], f[3][:5])
PY
then ok "data file steps and losses equal /train/step and /train/loss exactly"
else bad "data file differs from the metrics rows"; fi
dump "$TMP/tpa/metrics.h5" /eval/val_loss >"$TMP/h5.val"
grep -v '^#' "$TMP/two.run0.eval.dat" | awk '{print $3}' >"$TMP/dat.val"
if python3 -c 'import sys; a,b=[[float(x) for x in open(p).read().split()] for p in sys.argv[1:]]; assert a==b and len(a)>=2' \
    "$TMP/h5.val" "$TMP/dat.val"; then ok "eval data equal /eval/val_loss"; else bad "eval data differ"; fi

# ---- x in tokens: x column = /train/tokens_seen
"$PLOT" "$TMP/tpa" -o "$TMP/tok.png" --x tokens --keep-script --since 2000 --until 3000 >"$TMP/p3.log" 2>&1
expect_eq "--x tokens --since/--until exits 0" "$?" 0
expect_eq "--since/--until keep x in [2000,3000] (tokens 128/step: steps 16..23)" \
    "$(grep -v '^#' "$TMP/tok.run0.train.dat" | awk '{printf "%s/%s ", $1, $2}')" \
    "2048/16 2176/17 2304/18 2432/19 2560/20 2688/21 2816/22 2944/23 "

# ---- x in wall time: x column = running sum of /train/step_time_s (seconds: a short run);
# --logy: the loss panels on a log scale, the others not (gradient norm always)
"$PLOT" "$TMP/tpa" -o "$TMP/time.svg" --x time --logy --keep-script >"$TMP/p6.log" 2>&1
expect_eq "--x time --logy exits 0" "$?" 0
dump "$TMP/tpa/metrics.h5" /train/step_time_s >"$TMP/h5.st"
grep -v '^#' "$TMP/time.run0.train.dat" | awk '{print $1}' >"$TMP/dat.t"
if python3 - "$TMP/h5.st" "$TMP/dat.t" <<'PY'
import sys
st, x = [[float(v) for v in open(p).read().split()] for p in sys.argv[1:]]
acc, want = 0.0, []
for s in st:
    acc += s if s > 0 else 0.0
    want.append(acc)
assert len(x) == len(want) == 30, (len(x), len(want))
assert all(abs(a - b) <= 1e-12 * max(1.0, b) for a, b in zip(x, want)), (x[:3], want[:3])
PY
then ok "--x time: x = running sum of /train/step_time_s"
else bad "--x time: x column is not the running sum of the step times"; fi
expect_grep "--x time: axis label in seconds" 'set xlabel "wall time of steps (s)"' "$TMP/time.gp"
logpanels=$(awk '/^# ---- panel/ { p = $4 } /^set logscale y/ { printf "%s ", p }' "$TMP/time.gp")
expect_eq "--logy: log scale on the loss panels and the gradient norm only" "$logpanels" \
    "train_loss val_loss grad_norm "
"$PLOT" "$TMP/tpa" -o "$TMP/lin.svg" --keep-script >"$TMP/p7.log" 2>&1
logpanels=$(awk '/^# ---- panel/ { p = $4 } /^set logscale y/ { printf "%s ", p }' "$TMP/lin.gp")
expect_eq "without --logy only the gradient norm is on a log scale" "$logpanels" "grad_norm "

# ---- a resumed run and a rolled-back run each draw one monotonic curve (steps 1..N once)
tiny "$TMP/res" 10 --set output.checkpoint_interval=5 --set output.keep_last=5 &&
    tiny "$TMP/res" 20 --set output.checkpoint_interval=5 --set output.keep_last=5
expect_eq "run of 10 steps resumed to 20 exits 0" "$?" 0
expect_grep "the second part resumed" "resuming from" "$TMP/res.log"
"$PLOT" "$TMP/res" -o "$TMP/res.png" --keep-script >"$TMP/p8.log" 2>&1
expect_eq "resumed run: steps 1..20 once each" \
    "$(grep -v '^#' "$TMP/res.run0.train.dat" | awk '{printf "%s ", $2}')" "$(seq -s ' ' 1 20) "
# roll back to the checkpoint of step 10 and stop at 15: the curve ends at 15
tiny "$TMP/res" 15 --set output.checkpoint_interval=5 --set output.keep_last=5 \
    --set output.resume="$TMP/res/checkpoints/ckpt_00000010.h5"
expect_eq "rolled back to step 10, run to 15, exits 0" "$?" 0
"$PLOT" "$TMP/res" -o "$TMP/res.png" --keep-script >"$TMP/p9.log" 2>&1
expect_eq "rolled-back run: steps 1..15 once each" \
    "$(grep -v '^#' "$TMP/res.run0.train.dat" | awk '{printf "%s ", $2}')" "$(seq -s ' ' 1 15) "
expect_eq "rolled-back run: evaluations at 0, 5, 10, 15" \
    "$(grep -v '^#' "$TMP/res.run0.eval.dat" | awk '{printf "%s ", $2}')" "0 5 10 15 "

# ---- PDF
"$PLOT" "$TMP/tpa" -o "$TMP/one.pdf" >"$TMP/p4.log" 2>&1
expect_eq "pdf starts with %PDF" "$(head -c 4 "$TMP/one.pdf" 2>/dev/null)" "%PDF"

# ---- summary
"$PLOT" --summary "$TMP/tpa" "$TMP/mha" >"$TMP/sum.txt" 2>&1
expect_eq "--summary exits 0" "$?" 0
expect_grep "summary: status" "status:     finished 30" "$TMP/sum.txt"
expect_grep "summary: model line" "model:      mha, 2 layers, n_embd 64, 4 heads" "$TMP/sum.txt"
expect_grep "summary: progress" "progress:   20 steps, 2,560 tokens" "$TMP/sum.txt"
expect_grep "summary: peak memory" "memory:     peak " "$TMP/sum.txt"
# best and last validation loss with their steps, against h5dump of /eval (tpa run: 30 steps,
# an evaluation every 5), and the training loss of the last row
dump "$TMP/tpa/metrics.h5" /eval/step >"$TMP/h5.estep"
want=$(python3 - "$TMP/h5.estep" "$TMP/h5.val" "$TMP/h5.step" "$TMP/h5.loss" <<'PY'
import sys
es, ev, ts, tl = [[float(v) for v in open(p).read().split()] for p in sys.argv[1:]]
b = min(range(len(ev)), key=lambda i: (ev[i], i))
print("  train loss: last %.4f at step %.0f" % (tl[-1], ts[-1]))
print("  val loss:   best %.4f at step %.0f, last %.4f at step %.0f (%d evaluations)" % (ev[b], es[b], ev[-1], es[-1], len(ev)))
PY
)
got=$(sed -n '/^run tpa /,/^run /p' "$TMP/sum.txt" | grep -E '^  (train|val) loss:' | sed 's/ (EMA [0-9.]*)$//')
[ "$(echo "$want" | wc -l)" -eq 2 ] && ok "summary: the expected lines computed from h5dump" ||
    bad "summary: could not compute the expected lines from h5dump"
expect_eq "summary: last training loss, best and last validation loss with their steps" "$got" "$want"

# ---- a run that is still being written
"$T6" "$DEMO" $TINY --set output.run_dir="$TMP/live" --set train.max_steps=100000 \
    --set train.log_interval=1 >"$TMP/live.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    n=$(rows "$TMP/live/metrics.h5" train/step)
    [ -n "$n" ] && [ "$n" -ge 10 ] && break
    sleep 0.2
done
"$PLOT" "$TMP/live" -o "$TMP/live.png" >"$TMP/p5.log" 2>&1
rc=$?
kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
expect_eq "plot of a running job exits 0" "$rc" 0
[ -s "$TMP/live.png" ] && ok "running job: picture written" || { bad "running job: no picture"; cat "$TMP/p5.log"; }

# ---- errors
"$PLOT" "$TMP/nope" -o "$TMP/x.png" >"$TMP/e1.log" 2>&1
expect_eq "missing run dir exits 1" "$?" 1
expect_grep "missing run dir: named" "t6-plot: error: '$TMP/nope'" "$TMP/e1.log"
mkdir -p "$TMP/empty"
"$PLOT" "$TMP/empty" -o "$TMP/x.png" >"$TMP/e2.log" 2>&1
expect_grep "run dir without metrics: named" "metrics file '$TMP/empty/metrics.h5': cannot open" "$TMP/e2.log"
mkdir -p "$TMP/corrupt"
head -c 3000 "$TMP/tpa/metrics.h5" >"$TMP/corrupt/metrics.h5"
"$PLOT" "$TMP/corrupt" -o "$TMP/x.png" >"$TMP/e3.log" 2>&1
expect_eq "truncated metrics exits 1" "$?" 1
expect_grep "truncated metrics: named" "metrics file '$TMP/corrupt/metrics.h5'" "$TMP/e3.log"
echo "not hdf5" >"$TMP/corrupt/metrics.h5"
"$PLOT" "$TMP/corrupt" -o "$TMP/x.png" >"$TMP/e4.log" 2>&1
expect_grep "garbage metrics: not an HDF5 file" "not an HDF5 file" "$TMP/e4.log"
"$PLOT" "$TMP/tpa" -o "$TMP/x.jpg" >"$TMP/e6.log" 2>&1
expect_grep "bad extension" "the extension must be .png, .svg or .pdf" "$TMP/e6.log"
"$PLOT" "$TMP/tpa" -o "$TMP/x.png" --what loss >"$TMP/e7.log" 2>&1
expect_grep "unknown panel" "unknown panel 'loss'" "$TMP/e7.log"

# gnuplot missing: a PATH with everything but gnuplot
mkdir -p "$TMP/bin"
env -u T6_GNUPLOT PATH="$TMP/bin" "$PLOT" "$TMP/tpa" -o "$TMP/nog.png" >"$TMP/e8.log" 2>&1
expect_eq "gnuplot missing exits 1" "$?" 1
expect_grep "gnuplot missing names the package" "install the package gnuplot-nox" "$TMP/e8.log"
[ ! -e "$TMP/nog.png" ] && ok "gnuplot missing: no picture left" || bad "gnuplot missing: a picture appeared"

finish
