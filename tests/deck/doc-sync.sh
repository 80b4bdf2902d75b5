#!/bin/sh
# doc-sync.sh -- doc/deck.md documents exactly the keys the parser accepts: every row
# of `t6 --help-deck` (the parser's key table) must appear in a doc table with the same
# type, default, allowed values and meaning, and every key row of the doc must be a
# key of the parser.
. "$(dirname "$0")/common.sh"
DOC="$T6_SRCDIR/doc/deck.md"
[ -f "$DOC" ] || { echo "FAIL: $DOC missing"; exit 1; }
"$T6" --help-deck >"$TMP/parser.tsv" || { echo "FAIL: t6 --help-deck failed"; exit 1; }
# Doc rows look like: | `section.key` | type | default | allowed | meaning |
grep '^| `' "$DOC" | awk -F'|' '{
    for (i = 2; i <= 6; i++) { gsub(/^ +| +$/, "", $i) }
    k = $2; gsub(/`/, "", k)
    printf "%s\t%s\t%s\t%s\t%s\n", k, $3, $4, $5, $6 }' >"$TMP/doc.tsv"
[ -s "$TMP/doc.tsv" ] || bad "no key rows found in doc/deck.md"
cut -f1 "$TMP/parser.tsv" | sort >"$TMP/pk"
cut -f1 "$TMP/doc.tsv" | sort >"$TMP/dk"
for k in $(comm -23 "$TMP/pk" "$TMP/dk"); do bad "key $k is accepted by the parser but not documented in doc/deck.md"; done
for k in $(comm -13 "$TMP/pk" "$TMP/dk"); do bad "key $k is documented in doc/deck.md but unknown to the parser"; done
dups=$(sort "$TMP/dk" | uniq -d)
[ -z "$dups" ] || bad "keys documented twice: $dups"
# Same columns for every key.
while IFS= read -r row; do
    k=$(printf '%s\n' "$row" | cut -f1)
    d=$(awk -F'\t' -v k="$k" '$1 == k' "$TMP/doc.tsv" | head -1)
    [ -n "$d" ] || continue
    if [ "$d" = "$row" ]; then ok "$k"; else
        bad "$k: doc/deck.md row differs from the parser's table"
        echo "   parser: $row"; echo "   doc:    $d"
    fi
done <"$TMP/parser.tsv"
# The order of the doc is the order of the table (the canonical deck order).
cut -f1 "$TMP/doc.tsv" >"$TMP/do"; cut -f1 "$TMP/parser.tsv" >"$TMP/po"
cmp -s "$TMP/do" "$TMP/po" && ok "same key order" || bad "doc/deck.md lists the keys in another order than the parser"
finish
