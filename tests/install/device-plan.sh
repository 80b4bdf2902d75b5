#!/bin/sh
# device-plan.sh -- the device plan cannot rot: bench/gpu/verify-all.sh's step table
# names only files of the source tree (src:) and programs the Makefile fragments declare
# (bin:; bench/gpu/build-dev.sh builds exactly `verify-all.sh --list-binaries`), every
# step has its step_ function, and bench/gpu/README.md's calls (VERIFY_STEPS="...") name
# only real steps, cover every step, and each fits 540 s of expected duration (the
# budget of one call). Needs no GPU and builds nothing. The checker is also run on
# doctored copies (a missing script, an undeclared program, an unknown step, a call over
# budget) and must report each: a checker that cannot fail would prove nothing.
set -u
T6_SRCDIR=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v bash >/dev/null 2>&1 || { echo "SKIP: no bash (verify-all.sh is a bash script)"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t6-device-plan.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
VA=$T6_SRCDIR/bench/gpu/verify-all.sh
README=$T6_SRCDIR/bench/gpu/README.md
BUILD_DEV=$T6_SRCDIR/bench/gpu/build-dev.sh
for f in "$VA" "$README" "$BUILD_DEV"; do [ -f "$f" ] || { echo "FAIL: $f missing"; exit 1; }; done

# the programs the build can make: every *_PROGRAMS assignment of Makefile.am and the
# fragments it includes (followed down), continuation lines joined
frags=Makefile.am all=""
while [ -n "$frags" ]; do
    next=""
    for f in $frags; do
        [ -f "$T6_SRCDIR/$f" ] || { echo "FAIL: $f, included by the Makefile, is missing"; exit 1; }
        all="$all $T6_SRCDIR/$f"
        next="$next $(sed -n 's/^include[[:space:]]*//p' "$T6_SRCDIR/$f")"
    done
    frags=$(echo $next)
done
# shellcheck disable=SC2086
cat $all |
    sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' |
    grep -E '^[A-Za-z_]*PROGRAMS[[:space:]]*\+?=' | sed 's/^[^=]*=//' | tr ' \t' '\n\n' | grep -v '^$' |
    sort -u >"$TMP/programs"
[ -s "$TMP/programs" ] || { echo "FAIL: no *_PROGRAMS found in the Makefile fragments"; exit 1; }

# check VERIFY_ALL README: one "problem: ..." line per problem found (none: the plan holds)
check() {
    va=$1 readme=$2
    bash "$va" --list-steps >"$TMP/steps" 2>&1 || { echo "problem: $va --list-steps failed"; return; }
    bash "$va" --list-needs >"$TMP/needs" 2>&1 || { echo "problem: $va --list-needs failed"; return; }
    bash "$va" --plan | awk '{ print $1, $(NF - 1) }' >"$TMP/expected"
    [ -s "$TMP/steps" ] || echo "problem: $va lists no steps"
    bash -n "$va" || echo "problem: $va does not parse"
    while read -r step need; do
        p=${need#*:}
        case $need in
            src:*.sh) if [ -f "$T6_SRCDIR/$p" ]; then bash -n "$T6_SRCDIR/$p" 2>/dev/null ||
                          echo "problem: step $step: script $p does not parse"
                      else echo "problem: step $step: script $p is not in the tree"; fi ;;
            src:*) [ -e "$T6_SRCDIR/$p" ] || echo "problem: step $step: file $p is not in the tree" ;;
            bin:*) grep -qx "$p" "$TMP/programs" || echo "problem: step $step: program $p is declared by no Makefile fragment" ;;
            opt:*) case $p in /*|*..*) echo "problem: step $step: optional file $p is not a tree path" ;; esac ;;
            carry:*) case $p in ref/*|data/*) ;; *) echo "problem: step $step: carried path $p is neither ref/ nor data/" ;; esac ;;
            *) echo "problem: step $step: need '$need' of unknown kind (bin: src: opt: carry:)" ;;
        esac
    done <"$TMP/needs"
    while read -r step; do
        grep -q "^step_$step()" "$va" || echo "problem: step $step has no step_$step function"
    done <"$TMP/steps"
    # the calls of the plan
    grep -o 'VERIFY_STEPS="[^"]*"' "$readme" | sed 's/^VERIFY_STEPS="//; s/"$//' >"$TMP/calls"
    [ -s "$TMP/calls" ] || echo "problem: $readme names no call (VERIFY_STEPS=\"...\")"
    n=0
    while read -r call; do
        n=$((n + 1)) sum=0
        for s in $call; do
            e=$(awk -v s="$s" '$1 == s { print $2 }' "$TMP/expected")
            if [ -z "$e" ]; then echo "problem: call $n of the plan names step '$s', not in verify-all.sh"; continue; fi
            sum=$((sum + e))
        done
        [ "$sum" -le 540 ] || echo "problem: call $n of the plan ($call) expects $sum s, over the 540 s of one call"
    done <"$TMP/calls"
    while read -r step; do
        tr ' ' '\n' <"$TMP/calls" | grep -qx "$step" || echo "problem: step $step is in no call of the plan"
    done <"$TMP/steps"
    grep -q 'verify-all.sh" --list-binaries' "$BUILD_DEV" ||
        echo "problem: build-dev.sh does not build verify-all.sh --list-binaries"
}

fails=0
check "$VA" "$README" >"$TMP/real.txt"
if [ -s "$TMP/real.txt" ]; then
    cat "$TMP/real.txt"; echo "FAIL: the device plan of the tree has $(wc -l <"$TMP/real.txt") problem(s)"; fails=1
else
    echo "ok: $(wc -l <"$TMP/steps") steps, $(wc -l <"$TMP/needs") needs, $(wc -l <"$TMP/calls") calls in the plan"
fi

# the checker must catch what it is for: each doctored copy, one problem it must name
expect() {   # expect WHAT PATTERN: the last check's report must have a line matching PATTERN
    if grep -q "$2" "$TMP/doctored.txt"; then echo "ok: caught $1"
    else echo "FAIL: not caught: $1 (report: $(cat "$TMP/doctored.txt"))"; fails=1; fi
}
sed '/^zero1 /s|$| src:bench/gpu/no-such-script.sh bin:tests/gpu/no_such_program|' "$VA" >"$TMP/va-bad.sh"
check "$TMP/va-bad.sh" "$README" >"$TMP/doctored.txt"
expect "a script not in the tree" "script bench/gpu/no-such-script.sh is not in the tree"
expect "a program no fragment declares" "program tests/gpu/no_such_program is declared"
sed 's|VERIFY_STEPS="gpu_check |VERIFY_STEPS="gpu_check no_such_step |' "$README" >"$TMP/readme-bad.md"
check "$VA" "$TMP/readme-bad.md" >"$TMP/doctored.txt"
expect "a call naming an unknown step" "names step 'no_such_step'"
grep -v 'VERIFY_STEPS="gen ' "$README" | sed 's|VERIFY_STEPS="recompute |VERIFY_STEPS="recompute gen mla |' >"$TMP/readme-bad.md"
check "$VA" "$TMP/readme-bad.md" >"$TMP/doctored.txt"
expect "a call over the budget" "over the 540 s of one call"
expect "a step in no call" "step decode is in no call"
exit $fails
