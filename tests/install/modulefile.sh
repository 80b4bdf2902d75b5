#!/bin/sh
# modulefile.sh -- the installed modulefile loads with Environment Modules' modulecmd
# and sets PATH and MANPATH to where make install put t6 and its pages, T6_SHARE to its
# shared folder; unloading restores PATH; whatis and help answer. An unset MANPATH
# keeps man's default search path (a trailing ':').
. "$(dirname "$0")/../deck/common.sh"
. "$T6_SRCDIR/tests/install/common.sh"
MODULECMD=${MODULECMD:-$(command -v modulecmd)}
[ -n "$MODULECMD" ] || { echo "SKIP: modulecmd missing (environment-modules; tools/install-deps.sh)"; exit 77; }
stage_install "$TMP/stage"
version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$T6_SRCDIR/configure.ac")
MP=$STAGE$SHARE/modulefiles
[ -f "$MP/t6/$version" ] || { echo "FAIL: no modulefile $MP/t6/$version"; exit 1; }
head -n 1 "$MP/t6/$version" | grep -q '^#%Module' && ok "modulefile starts with #%Module" || bad "no #%Module line"

# module load t6, evaluated in a subshell that prints what it set.
loaded() { # loaded [VAR=VALUE...]: environment after `module load t6`
    env -u LOADEDMODULES -u _LMFILES_ "$@" MODULEPATH="$MP" sh -c '
        eval "$("$0" sh load t6)" || exit 1
        echo "PATH=$PATH"; echo "MANPATH=${MANPATH-<unset>}"; echo "T6_SHARE=${T6_SHARE:-}"
        echo "LOADEDMODULES=${LOADEDMODULES:-}"
        eval "$("$0" sh unload t6)" || exit 1
        echo "UNLOADED_PATH=$PATH"' "$MODULECMD" 2>"$TMP/load.err"
}
# A PATH without the bindir (modulecmd does not move an element already present).
P0=/usr/bin:/bin
loaded PATH="$P0" MANPATH=/opt/other/man >"$TMP/env" || bad "module load t6 failed: $(cat "$TMP/load.err")"
expect_eq "PATH: the installed bindir first" "$(sed -n 's/^PATH=//p' "$TMP/env")" "$BINDIR:$P0"
expect_eq "MANPATH starts with the installed mandir" "$(sed -n 's/^MANPATH=//p' "$TMP/env")" "$MANDIR:/opt/other/man"
expect_eq "T6_SHARE is the installed share folder" "$(sed -n 's/^T6_SHARE=//p' "$TMP/env")" "$SHARE"
expect_eq "LOADEDMODULES" "$(sed -n 's/^LOADEDMODULES=//p' "$TMP/env")" "t6/$version"
expect_eq "unload restores PATH" "$(sed -n 's/^UNLOADED_PATH=//p' "$TMP/env")" "$P0"
loaded -u MANPATH PATH="$P0" >"$TMP/env2" || bad "module load t6 (MANPATH unset) failed: $(cat "$TMP/load.err")"
expect_eq "unset MANPATH: installed mandir, then man's default path" "$(sed -n 's/^MANPATH=//p' "$TMP/env2")" "$MANDIR:"

MODULEPATH="$MP" "$MODULECMD" sh whatis t6 >/dev/null 2>"$TMP/whatis"
grep -q "t6 $version: Tensor Product Attention" "$TMP/whatis" && ok "module whatis t6" ||
    bad "module whatis: $(cat "$TMP/whatis")"
MODULEPATH="$MP" "$MODULECMD" sh help t6 >/dev/null 2>"$TMP/help"
grep -q 'cp \$T6_SHARE/input/t6_small.cfg' "$TMP/help" && ok "module help t6 shows the copy-a-deck path" ||
    bad "module help: $(cat "$TMP/help")"
finish
