#!/bin/bash
# bench/gpu/build-dev.sh BUILD_DIR -- on the development machine (no GPU needed): the
# binaries the device calls run (bench/gpu/verify-all.sh --list-binaries), built from a
# clean copy of the committed tree (git archive HEAD: uncommitted changes are not in it,
# and a warning says so) out of tree with --with-cuda --with-cuda-arch=90, stripped, and
# laid out at their build-tree paths under BUILD_DIR (which it empties first). Then:
#  - .carry/commit.txt: the commit built (verify-all.sh writes it into env.txt);
#  - .devlibs-rt/: the shared libraries the GPU machine lacks (bench/gpu/carry-libs.sh,
#    the large ones xz-compressed), remade for these binaries;
#  - the total the device call carries: BUILD_DIR + .devlibs-rt + .carry (and the
#    tracked tree, which travels too); exit 1 when the carried paths pass 60 MiB
#    (the call's limit is 64 MiB with the tree).
# BUILD_DIR and .carry/.devlibs-rt live in the source tree's root (the device call ships
# that tree and the git-ignored paths named in `carry`): e.g., in the checkout the device
# tool sends,
#   bash bench/gpu/build-dev.sh build-dev
#   run: bash bench/gpu/verify-all.sh build-dev   carry: ["build-dev", ".devlibs-rt", ".carry"]
# Environment: T6_DEV_OBJDIR (the object folder, default BUILD_DIR.obj: kept, so that a
# second run with T6_DEV_KEEP=1 brings it to HEAD and remakes only what changed; without
# it, the folder is made afresh), T6_CONFIGURE_ARGS (more configure arguments),
# MAKE_JOBS (default: the number of cores).
set -eu
[ $# -eq 1 ] || { echo "usage: build-dev.sh BUILD_DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
dest=$(cd "$1" && pwd)
case "$dest/" in
    "$here"/*) ;;
    *) echo "build-dev.sh: warning: $dest is outside the source tree $here: the device call carries only paths inside it" >&2 ;;
esac
case "$here/" in
    "$dest"/*) echo "build-dev.sh: BUILD_DIR $dest holds the source tree: it is emptied, so it must be a folder of its own" >&2; exit 2 ;;
esac
obj=${T6_DEV_OBJDIR:-$dest.obj}
jobs=${MAKE_JOBS:-$(nproc 2>/dev/null || echo 2)}
progs=$(bash "$here/bench/gpu/verify-all.sh" --list-binaries)
[ -n "$progs" ] || { echo "build-dev.sh: verify-all.sh --list-binaries named no program" >&2; exit 1; }
commit=$(git -C "$here" rev-parse HEAD)
if [ -n "$(git -C "$here" status --porcelain --untracked-files=no)" ]; then
    echo "build-dev.sh: warning: uncommitted changes in $here are not built (HEAD $commit is)" >&2
fi

# the clean copy and its configured build; with T6_DEV_KEEP=1 a kept one is brought to
# HEAD by extracting only the files changed since its commit (touched: make rebuilds
# what depends on them, automake's rules rerun what the Makefile fragments need)
old=$(cat "$obj/commit" 2>/dev/null || true)
if [ -n "${T6_DEV_KEEP:-}" ] && [ -f "$obj/build/Makefile" ] && [ -n "$old" ] &&
   git -C "$here" cat-file -e "$old^{commit}" 2>/dev/null; then
    changed=$(git -C "$here" diff --name-only --diff-filter=AMRT "$old" "$commit")
    echo "build-dev.sh: kept $obj (at $(echo "$old" | cut -c1-7)): $(echo "$changed" | grep -c .) file(s) changed since"
    # shellcheck disable=SC2086
    [ -z "$changed" ] || git -C "$here" archive --format=tar "$commit" -- $changed | tar -x --touch -C "$obj/src"
    echo "$commit" >"$obj/commit"
else
    rm -rf "$obj"
    mkdir -p "$obj/src" "$obj/build"
    git -C "$here" archive --format=tar HEAD | tar -x -C "$obj/src"
    echo "$commit" >"$obj/commit"
    echo "build-dev.sh: autoreconf + configure in $obj ($(date -u +%T))"
    (cd "$obj/src" && autoreconf -fi) >"$obj/autoreconf.log" 2>&1 ||
        { tail -20 "$obj/autoreconf.log"; echo "build-dev.sh: autoreconf failed ($obj/autoreconf.log)" >&2; exit 1; }
    # shellcheck disable=SC2086
    (cd "$obj/build" && ../src/configure --with-cuda --with-cuda-arch=90 ${T6_CONFIGURE_ARGS:-}) >"$obj/configure.log" 2>&1 ||
        { tail -20 "$obj/configure.log"; echo "build-dev.sh: configure failed ($obj/configure.log)" >&2; exit 1; }
fi
echo "build-dev.sh: make -j$jobs $(echo $progs) ($(date -u +%T))"
# shellcheck disable=SC2086
make -C "$obj/build" -j"$jobs" $progs >"$obj/make.log" 2>&1 ||
    { grep -E "error|Error" "$obj/make.log" | head -20; echo "build-dev.sh: make failed ($obj/make.log)" >&2; exit 1; }

# the stripped binaries at their build-tree paths, nothing else
find "$dest" -mindepth 1 -delete
for p in $progs; do
    mkdir -p "$dest/$(dirname "$p")"
    strip -o "$dest/$p" "$obj/build/$p"
done
mkdir -p "$here/.carry"
echo "$commit" >"$here/.carry/commit.txt"
rm -rf "$here/.devlibs-rt"
# shellcheck disable=SC2046
sh "$here/bench/gpu/carry-libs.sh" "$here/.devlibs-rt" $(for p in $progs; do echo "$dest/$p"; done)

# what the device call carries (sizes in bytes, shown in MiB)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
size() { [ -e "$1" ] && du -sb "$1" | cut -f1 || echo 0; }
total=0
for d in "$dest" "$here/.devlibs-rt" "$here/.carry"; do
    s=$(size "$d"); total=$((total + s))
    echo "carry: $(mib "$s") MiB ${d#"$here"/}"
done
tree=$(git -C "$here" ls-files -z | (cd "$here" && xargs -0 du -cb 2>/dev/null) | tail -1 | cut -f1)
echo "carried: $(mib "$total") MiB (limit 60 MiB); with the tracked tree ($(mib "$tree") MiB): $(mib $((total + tree))) MiB of the call's 64 MiB"
if [ "$total" -gt $((60 * 1048576)) ]; then
    echo "build-dev.sh: FAIL: the carried paths are over 60 MiB" >&2
    exit 1
fi
echo "build-dev.sh: done ($(date -u +%T)): ${dest#"$here"/} at $commit"
