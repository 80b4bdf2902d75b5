# tests/hf/common.sh -- sourced by the export/import tests: the training tests' helpers
# (tiny demo runs, ok/bad/expect_*, finish), python3 for the independent safetensors
# reader, and one tiny trained checkpoint to export.
. "$(dirname "$0")/../train/common.sh"
HF="$T6_SRCDIR/tests/hf"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed (the independent reader needs it)"; exit 77; }

# fails WHAT LOG PATTERN...: the last command failed (exit status in $rc), did not
# crash, and its output holds every PATTERN
fails() {
    _what=$1; _log=$2; shift 2
    if [ "$rc" -eq 0 ]; then bad "$_what: exit status 0"; sed 's/^/   | /' "$_log" | tail -5; return; fi
    if grep -q "Segmentation\|Aborted\|core dumped" "$_log"; then bad "$_what: crashed"; return; fi
    for _p in "$@"; do expect_grep "$_what" "$_p" "$_log"; done
}

# Three training steps of the tiny demo: $CKPT is the checkpoint to export.
tiny "$TMP/run" 3 --set train.eval_interval=0 || { echo "FAIL: tiny training run"; cat "$TMP/run.log"; exit 1; }
CKPT="$TMP/run/checkpoints/ckpt_00000003.h5"
[ -f "$CKPT" ] || { echo "FAIL: no $CKPT"; exit 1; }

# GPT-2 tokenizer files: the real ones when the shared data is there, else stand-ins
# (the export copies bytes; it does not read them)
VOCAB="$T6_DATA/gpt2"
if [ ! -f "$VOCAB/encoder.json" ]; then
    VOCAB="$TMP/vocab"; mkdir -p "$VOCAB"
    printf '{"!": 0, "\\"": 1}\n' >"$VOCAB/encoder.json"
    printf '#version: 0.2\nĠ t\n' >"$VOCAB/vocab.bpe"
fi
