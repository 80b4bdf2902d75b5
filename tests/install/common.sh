# tests/install/common.sh -- sourced by the install tests: `make install` of this build
# tree into a temporary DESTDIR ("the stage"), and where it put things.
#   stage_install DIR   installs into DIR and sets
#     STAGE    DIR
#     BINDIR   the bindir as installed (without DIR), where t6, t6-prep and t6-plot are
#     SHARE    $(datadir)/t6 as installed (input/, jobs/, tools/, modulefiles/)
#     MANDIR   the mandir as installed (man1/, man5/)
#     DOCDIR   the docdir as installed (README.md, doc/)
#   stage_uninstall     `make uninstall` of the same stage
# The folders are read off the installed files, not off configure's values, so that
# the modulefile and t6's compiled-in folders are checked against what make did.
T6_SRCDIR=${T6_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T6_SRCDIR=$(cd "$T6_SRCDIR" && pwd)
T6_BUILDDIR=${T6_BUILDDIR:-$(pwd)}
T6_BUILDDIR=$(cd "$T6_BUILDDIR" && pwd)

# The tests' own make runs in the build tree with a clean slate: no jobserver or
# command-line variables (TESTS=...) of the `make check` that runs the test.
install_make() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${T6_MAKE:-make} -s -C "$T6_BUILDDIR" "$@"
}

stage_install() {
    STAGE=$1
    install_make install DESTDIR="$STAGE" >"$STAGE.install.log" 2>&1 ||
        { cat "$STAGE.install.log"; echo "FAIL: make install DESTDIR=$STAGE failed"; exit 1; }
    local f
    f=$(find "$STAGE" -type f -path '*/bin/t6' | head -n 1)
    [ -n "$f" ] || { echo "FAIL: make install put no bin/t6 under $STAGE"; exit 1; }
    BINDIR=${f#"$STAGE"}; BINDIR=${BINDIR%/t6}
    f=$(find "$STAGE" -type d -path '*/t6/input' | head -n 1)
    [ -n "$f" ] || { echo "FAIL: make install put no t6/input folder under $STAGE"; exit 1; }
    SHARE=${f#"$STAGE"}; SHARE=${SHARE%/input}
    f=$(find "$STAGE" -type f -path '*/man1/t6.1' | head -n 1)
    [ -n "$f" ] || { echo "FAIL: make install put no man1/t6.1 under $STAGE"; exit 1; }
    MANDIR=${f#"$STAGE"}; MANDIR=${MANDIR%/man1/t6.1}
    f=$(find "$STAGE" -type f -name README.md | head -n 1)
    [ -n "$f" ] || { echo "FAIL: make install put no README.md under $STAGE"; exit 1; }
    DOCDIR=${f#"$STAGE"}; DOCDIR=${DOCDIR%/README.md}
}

stage_uninstall() {
    install_make uninstall DESTDIR="$STAGE" >"$STAGE.uninstall.log" 2>&1 ||
        { cat "$STAGE.uninstall.log"; echo "FAIL: make uninstall DESTDIR=$STAGE failed"; exit 1; }
}
