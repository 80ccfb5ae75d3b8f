#!/bin/sh
# cli_man.sh — the manual pages in doc/: each program has one, it renders
# without warnings (groff, or man, when installed), and it mentions every
# long option that the program's --help prints; and the page's option list
# (the .TP items) is the options of --help, which every program prints
# from its option table (nglm/options.h): an option added to a
# table and not to the page, or left on the page after it is removed, fails.
. "$(dirname "$0")/cli_lib.sh"

for p in nglm-train nglm-eval nglm-export nglm-sample nglm-gen nglm-kn nglm-cluster nglm-prune; do
    page=$S/doc/$p.1
    check "$p.1 exists" test -s "$page"
    if command -v groff >/dev/null 2>&1; then
        expect 0 "$p.1 renders without warnings (groff)" '' \
            sh -c "groff -man -Tascii -ww -z '$page' 2>&1 | grep . >&2; test \$? = 1"
    elif command -v man >/dev/null 2>&1; then
        expect 0 "$p.1 renders without warnings (man)" '' \
            sh -c "man --warnings -l '$page' 2>&1 >/dev/null | grep . >&2; test \$? = 1"
    fi
    check "$p.1 names the program" grep -q "^\.TH $(echo "$p" | tr a-z A-Z) 1" "$page"
    # the page's text with groff's escapes for '-' and fonts removed
    sed 's/\\-/-/g; s/\\f[BIRP]//g' "$page" >"$T/page"
    "$B/$p" --help >"$T/help" 2>&1
    opts=$(grep -oE -- '--[a-z][a-z0-9-]*' "$T/help" | sort -u)
    check "$p --help lists long options" test -n "$opts"
    "$B/$p" -h >"$T/h" 2>&1
    check "$p -h is --help" test $? = 0 -a -n "$(head -c 1 "$T/h")" -a "$(cat "$T/h")" = "$(cat "$T/help")"
    for o in $opts; do
        check "$p.1 documents $o" grep -Eq -- "$o([^a-z0-9-]|\$)" "$T/page"
    done
    # the options --help lists (its option column) and the page's items
    sed -n 's/^ \{2,6\}\(-[^ ].*\)/\1/p' "$T/help" | sed 's/  .*//' |
        grep -oE -- '--[a-z][a-z0-9-]*' | sort -u >"$T/help-items"
    awk 'prev == ".TP" { print } { prev = $0 }' "$T/page" |
        grep -oE -- '--[a-z][a-z0-9-]*' | sort -u >"$T/page-items"
    if ! cmp -s "$T/help-items" "$T/page-items"; then
        echo "$p: options of --help (<) and of the page's items (>) differ:"
        diff "$T/help-items" "$T/page-items"
    fi
    check "$p.1's option items are --help's options" cmp -s "$T/help-items" "$T/page-items"
    for s in 0 1 2; do
        check "$p.1 documents exit status $s" grep -q "^\.B $s\$" "$T/page"
    done
    check "$p.1 has examples" grep -q '^\.SH EXAMPLES' "$T/page"
done
finish
