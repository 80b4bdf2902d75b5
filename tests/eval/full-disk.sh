#!/bin/sh
# full-disk.sh -- job eval writing its results onto a file system that is full: t6 exits
# 1 naming the key, the .tmp file, "No space left on device" and the free space; the
# previous results file and JSON at those paths stay byte for byte as they were (the
# JSON was written in place and left truncated before), and no .tmp file is left to
# fill the disk further. The file system is a 64 KB tmpfs (root), a tmpfs in a
# user+mount namespace (unshare -rm), or a loop-mounted ext2 image, as
# tests/train/full-disk.sh does; the test skips only when none can be mounted.
. "$(dirname "$0")/common.sh"

small_fs_begin "$@"
small_fs 64

evtrain
EVDATA="$EVDATA --set data.val=[]"
# a first, small result on the small file system; then fill it to the last block
evrun "$TMP/first.log" --set eval.tasks=boolq --set eval.limit=2 --set eval.results="$MNT/r.h5" --set eval.json="$MNT/r.json"
expect_eq "first results on the small file system: exit 0" "$?" 0
cp "$MNT/r.h5" "$TMP/r.h5.before"; cp "$MNT/r.json" "$TMP/r.json.before"
dd if=/dev/zero of="$MNT/filler" bs=1024 >/dev/null 2>&1
sync

# the HDF5 results do not fit
evrun "$TMP/h5.log" --set eval.tasks=boolq,piqa --set eval.limit=8 --set eval.results="$MNT/r.h5"
expect_eq "results on a full disk: exit 1" "$?" 1
# (a disk full to the last block fails HDF5's create already: "cannot create", not "writing")
expect_grep "names the key" "eval.results = \"$MNT/r.h5\": " "$TMP/h5.log"
expect_grep "names the .tmp file" " $MNT/r.h5.tmp." "$TMP/h5.log"
expect_grep "gives the cause" "No space left on device" "$TMP/h5.log"
expect_grep "gives the free space" "free on its file system); the previous file, if any, is unchanged" "$TMP/h5.log"
expect_grep "the table was still printed" "paper metric" "$TMP/h5.log"
cmp -s "$MNT/r.h5" "$TMP/r.h5.before" && ok "previous results file unchanged" || bad "previous results file changed"
! ls "$MNT" | grep -q "^r\.h5\.tmp" && ok "no r.h5.tmp.* left" || bad "r.h5.tmp.* left on the full disk"

# the JSON does not fit (the HDF5 goes to the ordinary disk)
evrun "$TMP/js.log" --set eval.tasks=boolq,piqa,arc_easy,mmlu --set eval.limit=4 --set eval.results="$TMP/ok.h5" \
    --set eval.json="$MNT/r.json"
expect_eq "JSON on a full disk: exit 1" "$?" 1
expect_grep "names eval.json and the cause" "eval.json = \"$MNT/r.json\": writing $MNT/r.json.tmp." "$TMP/js.log"
cmp -s "$MNT/r.json" "$TMP/r.json.before" && ok "previous JSON unchanged (not truncated)" || bad "previous JSON changed"
! ls "$MNT" | grep -q "^r\.json\.tmp" && ok "no r.json.tmp.* left" || bad "r.json.tmp.* left on the full disk"
[ -s "$TMP/ok.h5" ] && ok "the HDF5 results elsewhere are complete" || bad "no HDF5 results"
finish
