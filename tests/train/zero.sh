#!/bin/sh
# zero.sh -- issue #14: ZeRO-1 (train.zero), bucketed reduction (train.bucket_mb) and
# resume on another number of ranks, on the CPU backend over MPI.
#  1. 1 rank x accum 4, 2 ranks x accum 2, 4 ranks x accum 1 (the same 16 sequences
#     per step), each with zero 0 and 1: parameters after 10 steps within 1e-6
#     (relative, per tensor: tests/train/ckptcmp) of the 1-rank run; zero 0 and 1 on
#     the same ranks bitwise equal (parameters and the gathered moments), and so is a
#     run with another bucket size (the owner sums in rank order whatever the bucket).
#  2. The 2-rank zero = 1 run's step-5 checkpoint resumed on 1 and on 4 ranks: the
#     same parameters at step 10 as the uninterrupted run, the data stream at the same
#     position (data.next) and the same per-step losses (the same sequences).
#  3. Another global batch is refused, naming both; output.resume_force goes on.
#  4. kill -9 of one rank: the last checkpoint loads and the run resumes.
. "$(dirname "$0")/common.sh"

MPIRUN=$(command -v mpirun 2>/dev/null)
[ -n "$MPIRUN" ] || { echo "SKIP: mpirun not found (install openmpi-bin)"; exit 77; }
if command -v ldd >/dev/null 2>&1 && ! ldd "$T6" | grep -q libmpi; then
    echo "SKIP: this t6 was built without MPI (./configure --with-mpi)"; exit 77
fi
CMP="$T6_BUILDDIR/tests/train/ckptcmp"
[ -x "$CMP" ] || { echo "FAIL: $CMP not built"; exit 1; }
OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
export OMPI_MCA_btl_vader_single_copy_mechanism
STEPS=10
SET="--set train.eval_interval=0 --set output.checkpoint_interval=5 --set output.keep_last=5"

# run NAME RANKS ACCUM [--set ...]: STEPS steps of the tiny demo on RANKS processes
run() {
    _d="$TMP/$1"; _np=$2; _acc=$3; shift 3
    # shellcheck disable=SC2086
    $MPIRUN --allow-run-as-root --oversubscribe -np "$_np" -x OMP_NUM_THREADS=1 "$T6" "$DEMO" $TINY $SET \
        --set output.run_dir="$_d" --set train.max_steps=$STEPS --set train.grad_accum="$_acc" "$@" \
        >"$_d.log" 2>&1
}
ck() { echo "$TMP/$1/checkpoints/ckpt_$(printf '%08d' "$2").h5"; }
attr() { h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | head -1; }
# losses FILE: the per-step training losses, one a line (-y: no "(i):" indices)
losses() { h5dump -y -d /train/loss "$1" 2>/dev/null | sed -n '/DATA {/,/}/p' | sed '1d;$d' | tr ',' '\n' | tr -d ' ' | grep .; }

run one 1 4
rc=$?
if [ $rc -ne 0 ] && grep -q "not enough slots\|orte_init\|PMIx\|pmix" "$TMP/one.log"; then
    echo "SKIP: mpirun cannot start processes here:"; tail -5 "$TMP/one.log"; exit 77
fi
expect_eq "1 rank x accum 4 exits 0" "$rc" 0
REF=$(ck one $STEPS)
for cfg in "1 4 1" "2 2 0" "2 2 1" "4 1 0" "4 1 1"; do
    set -- $cfg
    name="w$1z$3"
    run "$name" "$1" "$2" --set train.zero="$3"
    expect_eq "$1 rank(s) x accum $2, zero $3 exits 0" "$?" 0
    if out=$("$CMP" "$REF" "$(ck "$name" $STEPS)" /params 1e-6); then ok "$name: parameters within 1e-6 of 1 x 4 ($out)"
    else bad "$name: parameters differ from 1 x 4"; echo "   $out"; fi
done
expect_grep "2-rank zero 1 says so" "ZeRO-1: AdamW moments sharded over the ranks" "$TMP/w2z1.log"
expect_grep "4-rank run reports 4 ranks" "4 rank(s) x 1 micro-steps" "$TMP/w4z1.log"
for w in 2 4; do
    h5same "$w ranks: zero 0 and 1 bitwise equal (parameters)" "$(ck w${w}z0 $STEPS)" "$(ck w${w}z1 $STEPS)" /params
    h5same "$w ranks: zero 0 and 1 bitwise equal (moments gathered into the checkpoint)" \
        "$(ck w${w}z0 $STEPS)" "$(ck w${w}z1 $STEPS)" /optim
done
# the comparison can fail: the 1-rank run moved its parameters from the step-5 state
if "$CMP" "$(ck one 5)" "$REF" /params 1e-6 >/dev/null; then bad "ckptcmp sees no change from step 5 to 10"
else ok "ckptcmp tells step 5 from step 10"; fi
# bucket size and overlap do not change a bit: one pass after the backward, and
# buckets of 0.05 MB (13107 floats: 11 buckets over the 131840 parameters, cutting
# through tensors and through the shard boundary, launched layer by layer)
run w2z1b0 2 2 --set train.zero=1 --set train.bucket_mb=0
expect_eq "bucket_mb 0 exits 0" "$?" 0
expect_grep "bucket_mb 0 reduces after the backward" "one pass after the backward" "$TMP/w2z1b0.log"
h5same "bucket_mb 0 and 25 bitwise equal" "$(ck w2z1 $STEPS)" "$(ck w2z1b0 $STEPS)" /params
run w2z1bs 2 2 --set train.zero=1 --set train.bucket_mb=0.05
expect_eq "bucket_mb 0.05 exits 0" "$?" 0
expect_grep "small buckets during the backward" "buckets of 0.05 MB during the backward" "$TMP/w2z1bs.log"
h5same "bucket_mb 0.05 and 25 bitwise equal" "$(ck w2z1 $STEPS)" "$(ck w2z1bs $STEPS)" /params
h5same "bucket_mb 0.05 and 25 bitwise equal (moments)" "$(ck w2z1 $STEPS)" "$(ck w2z1bs $STEPS)" /optim

# 2. resume the 2-rank zero 1 run's step-5 checkpoint on 1 and on 4 ranks
for cfg in "1 4" "4 1"; do
    set -- $cfg
    name="res$1"
    mkdir -p "$TMP/$name/checkpoints"
    cp "$(ck w2z1 5)" "$TMP/$name/checkpoints/"
    run "$name" "$1" "$2" --set train.zero=1
    expect_eq "resume on $1 rank(s) exits 0" "$?" 0
    expect_grep "resume on $1 rank(s) starts at step 5" "(step 5)" "$TMP/$name.log"
    expect_grep "resume on $1 rank(s) says what moved" "resuming a 2-rank checkpoint on $1 rank(s)" "$TMP/$name.log"
    if out=$("$CMP" "$(ck w2z1 $STEPS)" "$(ck "$name" $STEPS)" /params 1e-6); then
        ok "resumed on $1: parameters at step 10 within 1e-6 of the uninterrupted 2-rank run ($out)"
    else bad "resumed on $1: parameters differ from the uninterrupted run"; echo "   $out"; fi
    if out=$("$CMP" "$(ck w2z1 $STEPS)" "$(ck "$name" $STEPS)" /optim/v 1e-5); then
        ok "resumed on $1: re-sharded moments continue ($out)"
    else bad "resumed on $1: moments differ"; echo "   $out"; fi
    expect_eq "resumed on $1: data stream position at step 10" "$(attr "$(ck "$name" $STEPS)" data.next)" \
        "$(attr "$(ck w2z1 $STEPS)" data.next)"
    expect_eq "resumed on $1: world_size recorded" "$(attr "$(ck "$name" $STEPS)" world_size)" "$1"
    # steps 6..10 saw the same sequences: the same losses (to float order)
    losses "$TMP/w2z1/metrics.h5" | tail -n 5 >"$TMP/l.ref"
    losses "$TMP/$name/metrics.h5" >"$TMP/l.res"
    if [ "$(wc -l <"$TMP/l.res")" -eq 5 ] &&
        paste "$TMP/l.ref" "$TMP/l.res" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 * $1) exit 1 }'; then
        ok "resumed on $1: losses of steps 6-10 equal the uninterrupted run's"
    else bad "resumed on $1: losses of steps 6-10 differ"; paste "$TMP/l.ref" "$TMP/l.res" | sed 's/^/   | /'; fi
done
expect_eq "data.next at step 5 and 10 (16 sequences per step)" \
    "$(attr "$(ck w2z1 5)" data.next) $(attr "$(ck res4 $STEPS)" data.next)" "80 160"

# 3. another global batch: refused, naming both; forced, it runs on
mkdir -p "$TMP/gb/checkpoints"
cp "$(ck w2z1 5)" "$TMP/gb/checkpoints/"
run gb 1 2 --set train.zero=1
[ $? -ne 0 ] && ok "resume with 8 instead of 16 sequences per step fails" || bad "another global batch was accepted"
expect_grep "the error names both batches" "16 sequences per optimizer step (2 rank(s)), this run has 8" "$TMP/gb.log"
# the hint is one the user can paste: this deck gives grad_accum, so --set
# train.global_batch would be refused; it names the grad_accum that keeps 16 on 1 rank,
# and where none does (3 ranks x micro_batch 4) the global batch and the condition
expect_grep "the hint names the grad_accum that keeps the batch" "hint: keep the global batch (--set train.grad_accum=4 on 1 rank(s))" "$TMP/gb.log"
mkdir -p "$TMP/gb3/checkpoints"
cp "$(ck w2z1 5)" "$TMP/gb3/checkpoints/"
run gb3 3 1 --set train.zero=1
[ $? -ne 0 ] && ok "resume with 12 instead of 16 sequences per step fails" || bad "another global batch was accepted (3 ranks)"
expect_grep "no grad_accum fits 3 ranks: the hint names the global batch" \
    "a deck without train.grad_accum and --set train.global_batch=16, on a number of ranks that divides it" "$TMP/gb3.log"
run gb 1 2 --set train.zero=1 --set output.resume_force=true
expect_eq "output.resume_force continues" "$?" 0
expect_grep "forced resume says what changes" "the global batch changes from 16 to 8" "$TMP/gb.log"
expect_eq "forced: the stream continues from sequence 80 at 8 per step" "$(attr "$(ck gb $STEPS)" data.next)" "120"

# 4. kill -9 of one rank in the middle of a run (slowed down so that it is mid-run)
K="$TMP/kill"
# shellcheck disable=SC2086
$MPIRUN --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1 -x T6_TEST_STEP_DELAY_MS=300 "$T6" "$DEMO" \
    $TINY --set train.eval_interval=0 --set output.checkpoint_interval=2 --set output.run_dir="$K" \
    --set train.max_steps=40 --set train.grad_accum=2 --set train.zero=1 >"$K.log" 2>&1 &
mpid=$!
i=0
while [ $i -lt 300 ] && [ ! -f "$K/checkpoints/ckpt_00000004.h5" ]; do
    kill -0 $mpid 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
done
# the ranks are mpirun's children; kill the second one (rank order of start-up is not
# guaranteed, either rank will do)
victim=$(ps -o pid= --ppid $mpid 2>/dev/null | tail -n 1 | tr -d ' ')
if [ -n "$victim" ] && [ -f "$K/checkpoints/ckpt_00000004.h5" ]; then
    kill -9 "$victim" && ok "killed one rank (pid $victim) after the step-4 checkpoint"
else bad "the 2-rank run never reached its step-4 checkpoint"; tail -5 "$K.log"; fi
wait $mpid 2>/dev/null
last=$(ls "$K/checkpoints" | grep '^ckpt_.*\.h5$' | sort | tail -n 1)
[ -n "$last" ] && ok "a checkpoint remains ($last)" || bad "no checkpoint after the kill"
# shellcheck disable=SC2086
OMP_NUM_THREADS=1 "$T6" "$DEMO" $TINY --set train.eval_interval=0 --set output.run_dir="$K" \
    --set train.max_steps=12 --set train.grad_accum=4 --set train.zero=1 >"$K.res.log" 2>&1
expect_eq "the last checkpoint resumes on 1 rank after the kill" "$?" 0
expect_grep "resumed from the last checkpoint" "resuming from $K/checkpoints/$last" "$K.res.log"
finish
