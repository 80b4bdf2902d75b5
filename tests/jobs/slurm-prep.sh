#!/bin/bash
# tests/jobs/slurm-prep.sh -- jobs/prep_fineweb_edu.slurm on a real local Slurm
# (tools/slurm-local.sh): tokenizes two FineWeb Parquet files from the shared data
# folder with the real t6-prep into small shards, through the unchanged script (only
# variables and resource overrides on the sbatch line), then checks the job
# completed and the shards are t6-corpus files whose token counts add up to what
# t6-prep reported.
set -u

srcdir=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# The scripts report canonical paths (make check passes e.g. build/..).
srcdir=$(cd "$srcdir" && pwd) || exit 1
. "$srcdir/tests/jobs/cluster.sh"
builddir=${T6_BUILDDIR:-$srcdir}
data=${T6_DATA:-$srcdir/../shared/data}

in1=$data/text/fineweb-10BT-legal-parquet/batch_000001.parquet
in2=$data/text/fineweb-10BT-legal-parquet/batch_000002.parquet
[ -r "$in1" ] && [ -r "$in2" ] && [ -r "$data/gpt2/encoder.json" ] ||
    { echo "SKIP: T6_DATA missing ($data: text/fineweb-10BT-legal-parquet, gpt2/)"; exit 77; }
[ -x "$builddir/t6-prep" ] || fail "no t6-prep binary at $builddir/t6-prep (build first)"
command -v h5dump >/dev/null || { echo "SKIP: h5dump missing (hdf5-tools)"; exit 77; }

dump_on_failure() { tail -n 30 "$work"/*.out 2>/dev/null; }
jobs_test_workdir t6-jobs-prep
jobs_test_start_cluster

j=$(T6_HOME=$srcdir T6_PREP_BIN=$builddir/t6-prep T6_PREP_INPUT="$in1 $in2" T6_VOCAB_DIR=$data/gpt2 \
    T6_PREP_OUT=$work/corpus T6_PREP_ARGS="--shard-tokens 100000" \
    timeout 30 sbatch --parsable --cpus-per-task=1 --mem=0 --time=5 --output="$work/%x-%j.out" \
    "$srcdir/jobs/prep_fineweb_edu.slurm") || fail "sbatch rejected jobs/prep_fineweb_edu.slurm"

field() { timeout 20 scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
t=120
while :; do
    case "$(field "$j" JobState)" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) break ;; esac
    [ "$t" -gt 0 ] || fail "prep job $j did not end within 120 s ($(field "$j" JobState))"
    sleep 1
    t=$((t - 1))
done
[ "$(field "$j" JobState)" = COMPLETED ] && [ "$(field "$j" ExitCode)" = 0:0 ] ||
    fail "prep job $j ended $(field "$j" JobState) $(field "$j" ExitCode)"

attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | tr -d '"' | head -n 1; }
total=0
nval=0
ntrain=0
for f in "$work"/corpus/fineweb_edu_*.h5; do
    [ -f "$f" ] || fail "no shards in $work/corpus"
    [ "$(attr "$f" format)" = t6-corpus ] || fail "$f: format '$(attr "$f" format)'"
    [ "$(attr "$f" tokenizer)" = gpt2 ] || fail "$f: tokenizer '$(attr "$f" tokenizer)'"
    case "$(basename "$f")" in
    fineweb_edu_val_*) [ "$(attr "$f" split)" = val ] || fail "$f: split '$(attr "$f" split)'"; nval=$((nval + 1)) ;;
    fineweb_edu_train_*) [ "$(attr "$f" split)" = train ] || fail "$f: split '$(attr "$f" split)'"; ntrain=$((ntrain + 1)) ;;
    *) fail "unexpected shard $f" ;;
    esac
    total=$((total + $(attr "$f" n_tokens)))
done
[ "$nval" -ge 1 ] && [ "$ntrain" -ge 1 ] || fail "expected val and train shards, got $nval val, $ntrain train"
reported=$(sed -n 's/^t6-prep: [0-9,]* documents, \([0-9,]*\) tokens.*/\1/p' "$work"/*.out | tr -d , | tail -n 1)
[ -n "$reported" ] || fail "t6-prep's summary line not found in the job output"
[ "$total" = "$reported" ] || fail "shards hold $total tokens, t6-prep reported $reported"
echo "PASS: prep job wrote $nval val + $ntrain train shards, $total tokens"
