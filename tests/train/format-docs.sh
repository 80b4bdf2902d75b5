#!/bin/sh
# format-docs.sh -- doc/formats/checkpoint.md and doc/formats/metrics.md describe what
# t6 writes: every root attribute of a checkpoint and of a metrics file, and every
# dataset of the metrics file, is named in its format document, and the documents'
# lists of attention types hold every value model.attention accepts (t6 --help-deck).
# A tiny MLA run supplies the files (MLA's own attributes are written for every type).
. "$(dirname "$0")/common.sh"
CK_DOC="$T6_SRCDIR/doc/formats/checkpoint.md"
MX_DOC="$T6_SRCDIR/doc/formats/metrics.md"
tiny "$TMP/r" 2 --set model.attention=mla --set model.q_lora_rank=24 --set model.kv_lora_rank=12 \
    --set model.qk_rope_head_dim=8 --set model.v_head_dim=16 --set output.checkpoint_interval=2
expect_eq "tiny mla run exits 0" "$?" 0
CK="$TMP/r/checkpoints/ckpt_00000002.h5"
attrs() { h5dump -A -g / "$1" 2>/dev/null | sed -n 's/^ *ATTRIBUTE "\([^"]*\)".*/\1/p'; }
n=0
for a in $(attrs "$CK"); do
    n=$((n + 1))
    grep -qF "\`$a\`" "$CK_DOC" || bad "checkpoint attribute $a is not in doc/formats/checkpoint.md"
done
[ "$n" -gt 20 ] && ok "checkpoint: $n root attributes checked against the document" || bad "checkpoint: only $n attributes read"
n=0
for a in $(attrs "$TMP/r/metrics.h5") $(h5ls -r "$TMP/r/metrics.h5" | awk '$2 == "Dataset" { sub(".*/", "", $1); print $1 }'); do
    n=$((n + 1))
    grep -qF "\`$a\`" "$MX_DOC" || bad "metrics attribute or dataset $a is not in doc/formats/metrics.md"
done
[ "$n" -gt 20 ] && ok "metrics: $n attributes and datasets checked against the document" || bad "metrics: only $n names read"
# the attention types: the allowed values of model.attention in --help-deck
types=$("$T6" --help-deck 2>/dev/null | grep '^model\.attention[[:space:]]' | head -1)
for t in tpa tpa_kvonly mha mqa gqa mla; do
    case "$types" in *"$t"*) ;; *) bad "--help-deck does not list attention type $t"; continue ;; esac
    grep '`model.attention`' "$CK_DOC" | grep -q "\`$t\`" && ok "checkpoint.md lists attention $t" ||
        bad "checkpoint.md: model.attention does not list $t"
    grep '`attention` (string:' "$MX_DOC" | grep -qw "$t" && ok "metrics.md lists attention $t" ||
        bad "metrics.md: the attention attribute does not list $t"
done
finish
