#!/bin/sh
# prompts.sh -- every document of every task as t6 reads it (tests/eval/dumpdocs) equals
# what an independent Python transcription of lm-eval's task templates gives from the
# same original files (tests/eval/lmeval_prompts.py): MMLU through Python's csv module;
# and the few-shot request strings (SciQ 2-shot drawn by Python's own random.Random(1234),
# MMLU 2- and 5-shot from dev) equal what job eval builds (dumpdocs ... requests K LIMIT).
exe="${T6_BUILDDIR:-.}/tests/eval/dumpdocs"
src="${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
data="${T6_DATA:-$src/../shared/data}"
[ -x "$exe" ] || { echo "FAIL: $exe not built"; exit 1; }
[ -d "$data/eval" ] || { echo "SKIP: T6_DATA missing ($data/eval)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found (the reference transcription is Python)"; exit 77; }
python3 "$src/tests/eval/lmeval_prompts.py" "$data/eval" "$exe"
