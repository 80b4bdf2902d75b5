#!/bin/sh
# install.sh -- `make install` into a temporary DESTDIR, then used as a user would from
# an empty folder outside the checkout: every deck, job script, document and page of
# the source tree is installed; the installed t6 finds a paper deck by name (the
# installed input folder, $T6_DECK_PATH before it, a file in the current folder before
# both) and says which commit it was built from; the installed job scripts know their
# installed folder; `make uninstall` leaves no file behind.
. "$(dirname "$0")/../deck/common.sh"
. "$T6_SRCDIR/tests/install/common.sh"
stage_install "$TMP/stage"
S=$STAGE
echo "installed: bindir $BINDIR, share $SHARE, mandir $MANDIR, docdir $DOCDIR"

# ---- what is installed --------------------------------------------------------------
has() { # has KIND PATH
    if [ -f "$S$2" ]; then ok "installed $1 ${2#"$SHARE/"}"; else bad "not installed: $1 $2"; fi
}
has program "$BINDIR/t6"
has program "$BINDIR/t6-prep"
has program "$BINDIR/t6-plot"
for f in "$T6_SRCDIR"/input/*.cfg; do has deck "$SHARE/input/$(basename "$f")"; done
for f in "$T6_SRCDIR"/jobs/*.slurm "$T6_SRCDIR"/jobs/*.pbs; do
    n=$(basename "$f")
    has "job script" "$SHARE/jobs/$n"
    [ -x "$S$SHARE/jobs/$n" ] && ok "$n is executable" || bad "$n installed without execute permission"
    # The batch system runs a spooled copy: the installed folder must be in the script.
    grep -q "^t6_installed='$SHARE'" "$S$SHARE/jobs/$n" && ok "$n knows its installed folder" ||
        bad "$n: no line t6_installed='$SHARE' ($(grep '^t6_installed=' "$S$SHARE/jobs/$n"))"
done
has "job helper" "$SHARE/jobs/lib/t6-job.sh"
has tool "$SHARE/tools/fetch-gpt2-vocab.sh"
has doc "$DOCDIR/README.md"
for f in "$T6_SRCDIR"/doc/*.md; do has doc "$DOCDIR/doc/$(basename "$f")"; done
for f in "$T6_SRCDIR"/doc/formats/*.md; do has doc "$DOCDIR/doc/formats/$(basename "$f")"; done
has picture "$DOCDIR/doc/img/demo-curves.png"
# every relative markdown link of the installed documents resolves in the installed tree
# (the layout mirrors the source tree's: README.md beside doc/)
for f in "$S$DOCDIR/README.md" "$S$DOCDIR"/doc/*.md "$S$DOCDIR"/doc/formats/*.md; do
    for l in $(grep -o '](\([^)#]*\)' "$f" | sed 's/^](//' | grep -v '^[a-z]*:'); do
        if [ -e "$(dirname "$f")/$l" ]; then ok "link $l of ${f#"$S$DOCDIR/"} resolves"
        else bad "link $l of ${f#"$S$DOCDIR/"} does not resolve in the installed docs"; fi
    done
done
has page "$MANDIR/man1/t6.1"
has page "$MANDIR/man1/t6-prep.1"
has page "$MANDIR/man1/t6-plot.1"
has page "$MANDIR/man5/t6-deck.5"
version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$T6_SRCDIR/configure.ac")
has modulefile "$SHARE/modulefiles/t6/$version"

# ---- the installed t6, from an empty folder outside the checkout ---------------------
mkdir "$TMP/user" "$TMP/decks"
T6I=$S$BINDIR/t6
inuser() { (cd "$TMP/user" && env -u T6_DECK_PATH PATH="$S$BINDIR:$PATH" "$@"); }
inuser t6 --check t6_small >"$TMP/check" 2>&1
expect_eq "t6 --check t6_small exit status" "$?" 0
expect_eq "t6 --check t6_small reads the installed deck" "$(sed -n 's/^deck: //p' "$TMP/check")" \
    "$S$SHARE/input/t6_small.cfg"
"$T6" --check "$INPUT/t6_small.cfg" >"$TMP/check.src" 2>&1
expect_eq "same parameter count as the checkout's deck" "$(grep '^parameters:' "$TMP/check")" \
    "$(grep '^parameters:' "$TMP/check.src")"
inuser t6 --check t6_small.cfg >/dev/null 2>&1
expect_eq "t6 --check t6_small.cfg exit status" "$?" 0
expect_eq "t6 --deck-path: the installed input folder (found beside the staged t6)" \
    "$(inuser t6 --deck-path)" "$S$SHARE/input"
# $T6_DECK_PATH comes before the installed folder, empty elements are ignored.
sed 's/^job = .*/job = "train"; # site copy/' "$S$SHARE/input/demo.cfg" >"$TMP/decks/t6_small.cfg"
out=$(cd "$TMP/user" && T6_DECK_PATH="$TMP/nowhere::$TMP/decks" PATH="$S$BINDIR:$PATH" t6 --check t6_small 2>&1)
expect_eq "T6_DECK_PATH is searched first" "$(printf '%s\n' "$out" | sed -n 's/^deck: //p')" "$TMP/decks/t6_small.cfg"
expect_eq "t6 --deck-path with T6_DECK_PATH" \
    "$(cd "$TMP/user" && T6_DECK_PATH="$TMP/nowhere::$TMP/decks" "$T6I" --deck-path | tr '\n' ' ')" \
    "$TMP/nowhere $TMP/decks $S$SHARE/input "
# A file of that name in the current folder wins.
cp "$S$SHARE/input/demo.cfg" "$TMP/user/t6_small.cfg"
expect_eq "a deck in the current folder comes first" "$(inuser t6 --check t6_small.cfg | sed -n 's/^deck: //p')" \
    "t6_small.cfg"
rm -f "$TMP/user/t6_small.cfg"
# Not found: one error line naming every folder looked in.
inuser t6 --check no_such_deck >/dev/null 2>"$TMP/err"
expect_eq "unknown deck exit status" "$?" 1
grep -q "^t6: error: deck 'no_such_deck' not found: .*no_such_deck.cfg.* $S$SHARE/input (installed input folder)" "$TMP/err" &&
    ok "unknown deck: the error names the installed folder" || bad "unknown deck: $(cat "$TMP/err")"
inuser t6 --check sub/no_such.cfg >/dev/null 2>"$TMP/err"
grep -q "^t6: error: sub/no_such.cfg: cannot read the deck" "$TMP/err" &&
    ok "a missing path is not searched for" || bad "missing path: $(cat "$TMP/err")"

# t6-plot, installed beside t6, runs from there too (its libraries found, no checkout)
inuser t6-plot --version >"$TMP/plotv" 2>&1
expect_eq "the installed t6-plot runs" "$?" 0
grep -q "t6-plot" "$TMP/plotv" && ok "t6-plot --version names it" || bad "t6-plot --version: $(cat "$TMP/plotv")"

# --version: the commit of the checkout it was built from, or "unknown" from a tarball.
inuser t6 --version >"$TMP/version"
expect_eq "--version first line" "$(head -n 1 "$TMP/version")" "t6 (T6-C) $version"
commit=$(sed -n 's/^commit: //p' "$TMP/version")
if [ -e "$T6_SRCDIR/.git" ] && command -v git >/dev/null; then
    head=$(git -C "$T6_SRCDIR" rev-parse --short=12 HEAD)
    case "$commit" in "$head" | "$head-dirty") ok "--version commit $commit is HEAD" ;;
    *) bad "--version commit '$commit', HEAD is $head" ;; esac
else
    expect_eq "--version commit without .git" "$commit" unknown
fi
for k in features cuda mpi blas hdf5 libconfig configure prefix decks; do
    grep -q "^$k: ." "$TMP/version" && ok "--version has $k" || bad "--version lacks a '$k:' line"
done
expect_eq "--version names the installed deck folder" "$(sed -n 's/^decks: //p' "$TMP/version")" "$S$SHARE/input"

# ---- make uninstall --------------------------------------------------------------------
stage_uninstall
left=$(find "$S" ! -type d | head -n 5)
[ -z "$left" ] && ok "make uninstall removed every installed file" || bad "left after make uninstall: $left"
finish
