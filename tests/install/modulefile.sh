#!/bin/sh
# modulefile.sh -- the installed modulefile loads with Environment Modules' modulecmd
# and sets PATH and MANPATH to where make install put t6 and its pages, T6_SHARE to its
# shared folder; unloading restores PATH; whatis and help answer. An unset MANPATH
# keeps man's default search path (a trailing ':'). Where Lmod is installed instead
# (Debian's lmod and environment-modules conflict), the same load is checked with it.
. "$(dirname "$0")/../deck/common.sh"
. "$T6_SRCDIR/tests/install/common.sh"
MODULECMD=${MODULECMD:-$(command -v modulecmd)}
LMOD=${LMOD_CMD:-/usr/share/lmod/lmod/libexec/lmod}
[ -x "$LMOD" ] || LMOD=
[ -n "$MODULECMD" ] || [ -n "$LMOD" ] ||
    { echo "SKIP: modulecmd missing (environment-modules; tools/install-deps.sh)"; exit 77; }
stage_install "$TMP/stage"
version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$T6_SRCDIR/configure.ac")
MP=$STAGE$SHARE/modulefiles
[ -f "$MP/t6/$version" ] || { echo "FAIL: no modulefile $MP/t6/$version"; exit 1; }
head -n 1 "$MP/t6/$version" | grep -q '^#%Module' && ok "modulefile starts with #%Module" || bad "no #%Module line"

# A PATH without the bindir (modulecmd does not move an element already present).
P0=/usr/bin:/bin
if [ -n "$MODULECMD" ]; then
    # module load t6, evaluated in a subshell that prints what it set.
    loaded() { # loaded [VAR=VALUE...]: environment after `module load t6`
        env -u LOADEDMODULES -u _LMFILES_ "$@" MODULEPATH="$MP" sh -c '
            eval "$("$0" sh load t6)" || exit 1
            echo "PATH=$PATH"; echo "MANPATH=${MANPATH-<unset>}"; echo "T6_SHARE=${T6_SHARE:-}"
            echo "LOADEDMODULES=${LOADEDMODULES:-}"
            eval "$("$0" sh unload t6)" || exit 1
            echo "UNLOADED_PATH=$PATH"' "$MODULECMD" 2>"$TMP/load.err"
    }
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
else
    echo "note: modulecmd (Environment Modules) not installed: only Lmod checked"
fi

# Lmod reads the same Tcl file; checked where it is installed (Debian package lmod,
# not among the test packages: Environment Modules is the one required).
if [ -n "$LMOD" ]; then
    env -i HOME="$TMP" PATH="$P0" MODULEPATH="$MP" sh -c '
        eval "$("$0" sh load t6)" || exit 1
        echo "PATH=$PATH"; echo "MANPATH=${MANPATH-<unset>}"; echo "T6_SHARE=${T6_SHARE:-}"' "$LMOD" \
        >"$TMP/lmod" 2>"$TMP/lmod.err" || bad "Lmod: load t6 failed: $(cat "$TMP/lmod.err")"
    expect_eq "Lmod: PATH" "$(sed -n 's/^PATH=//p' "$TMP/lmod")" "$BINDIR:$P0"
    case "$(sed -n 's/^MANPATH=//p' "$TMP/lmod")" in
    "$MANDIR:"*) ok "Lmod: MANPATH starts with the installed mandir, keeps the default" ;;
    *) bad "Lmod: MANPATH is '$(sed -n 's/^MANPATH=//p' "$TMP/lmod")'" ;;
    esac
    expect_eq "Lmod: T6_SHARE" "$(sed -n 's/^T6_SHARE=//p' "$TMP/lmod")" "$SHARE"
else
    echo "note: Lmod not installed: only Environment Modules checked"
fi
finish
