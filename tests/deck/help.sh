#!/bin/sh
# help.sh -- `t6 --help` lists every option t6 accepts and t6 accepts every option it
# lists; --version and bad command lines behave.
. "$(dirname "$0")/common.sh"
DECK="$INPUT/demo.cfg"
"$T6" --help >"$TMP/help" 2>&1
expect_eq "--help exit status" "$?" 0
grep -q '^Usage: t6 DECK' "$TMP/help" && ok "usage line" || bad "--help has no usage line"
grep -q 'doc/deck.md' "$TMP/help" && ok "points to doc/deck.md" || bad "--help does not point to doc/deck.md"
for s in job model data train optim output backend; do
    grep -q "$s = " "$TMP/help" && ok "section $s in --help" || bad "--help does not name deck section $s"
done
# Options listed: lines "  --name [ARG]" of the Options block.
sed -n '/^Options:/,/^$/p' "$TMP/help" | grep -E '^  --[a-z-]+' | awk '{print $1, $2}' >"$TMP/listed"
[ -s "$TMP/listed" ] || bad "no options listed"
while read -r opt arg; do
    case "$opt" in
        --check|--print-deck) set -- "$opt" "$DECK" ;;
        --set) set -- --check "$DECK" --set train.max_steps=5 ;;
        --ranks) set -- --check "$DECK" --ranks 2 ;;
        --export-hf|--dtype|--vocab)   # one 1-step checkpoint of the demo to export
            ck="$TMP/ck/checkpoints/ckpt_00000001.h5"
            [ -f "$ck" ] || "$T6" "$DECK" --set output.run_dir="$TMP/ck" --set train.max_steps=1 \
                --set train.eval_interval=0 --set train.micro_batch=2 >/dev/null 2>&1
            set -- --export-hf "$ck" "$TMP/hf" --dtype bf16 --vocab none ;;
        *) case "$arg" in [A-Z]*) bad "$opt: no test invocation for argument $arg"; continue ;; esac
           set -- "$opt" ;;
    esac
    if "$T6" "$@" >"$TMP/o" 2>&1; then ok "listed option $opt accepted"; else
        bad "listed option $opt refused: $(head -1 "$TMP/o")"; fi
done <"$TMP/listed"
# Options accepted: the "--..." literals the command line parser compares against.
grep -o 'strcmp(a, "--[a-z-]*")' "$T6_SRCDIR/src/main.c" | sed 's/.*"\(--[a-z-]*\)".*/\1/' | sort -u >"$TMP/accepted"
[ -s "$TMP/accepted" ] || bad "found no option literals in src/main.c"
cut -d' ' -f1 "$TMP/listed" | sort -u >"$TMP/listed1"
for o in $(comm -23 "$TMP/accepted" "$TMP/listed1"); do bad "option $o is accepted but not listed by --help"; done
for o in $(comm -13 "$TMP/accepted" "$TMP/listed1"); do bad "option $o is listed by --help but not parsed in src/main.c"; done
# Unknown options, no deck, --version.
"$T6" --bogus >/dev/null 2>"$TMP/err"
expect_eq "--bogus exit status" "$?" 1
grep -q '^t6: error: unknown option --bogus' "$TMP/err" && ok "--bogus refused by name" || bad "--bogus: $(cat "$TMP/err")"
"$T6" >/dev/null 2>"$TMP/err"
expect_eq "no deck exit status" "$?" 1
grep -q '^Usage: t6' "$TMP/err" && ok "no deck prints usage" || bad "no deck: no usage on stderr"
"$T6" "$DECK" "$DECK" >/dev/null 2>"$TMP/err"
expect_eq "two decks exit status" "$?" 1
version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$T6_SRCDIR/configure.ac")
expect_eq "--version" "$("$T6" --version | head -1)" "t6 (T6-C) $version"
finish
