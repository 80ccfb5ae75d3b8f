#!/bin/sh
# cli_exports.sh — libnglm exports exactly its public API: the symbols of
# the shared library, the list it is linked with (src/libnglm.sym) and the
# functions and objects declared in include/nglm/*.h (less the static
# inline ones and the macros) are the same three sets; and the API stays
# small (fewer than 90 functions: what a C user needs; the programs and the
# tests link the internals statically).
. "$(dirname "$0")/cli_lib.sh"
so=$B/.libs/libnglm.so
if [ ! -f "$so" ]; then
    echo "SKIP: no shared library (configured --disable-shared)"
    exit 77
fi
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }

nm -D --defined-only "$so" | awk '$3 ~ /^nglm_/ { print $3 }' | sort -u >"$T/exported"
sort -u "$S/src/libnglm.sym" >"$T/listed"
# declared: an identifier nglm_* followed by '(' or '[' in a declaration,
# and not defined in the header (static inline) or by #define
cat "$S"/include/nglm/*.h |
    awk '/^#define/ { next } { print }' |
    grep -oE '\bnglm_[a-z0-9_]+ *[([]' | sed 's/ *[([]$//' | sort -u >"$T/mentioned"
cat "$S"/include/nglm/*.h |
    grep -oE '(static inline [^(]*\b|#define +)nglm_[a-z0-9_]+' |
    grep -oE 'nglm_[a-z0-9_]+$' | sort -u >"$T/inline"
# types used as return types of function pointers, e.g. "nglm_progress (*f)(...)"
cat "$S"/include/nglm/*.h | grep -oE '\bnglm_[a-z0-9_]+ *\(\*' | grep -oE 'nglm_[a-z0-9_]+' |
    sort -u >"$T/fnptr_types"
sort -u "$T/inline" "$T/fnptr_types" >"$T/not_symbols"
comm -23 "$T/mentioned" "$T/not_symbols" >"$T/declared"

check "src/libnglm.sym lists what the library exports" cmp "$T/listed" "$T/exported"
comm -3 "$T/listed" "$T/exported" | head -20
check "the public headers declare what src/libnglm.sym lists" cmp "$T/declared" "$T/listed"
comm -3 "$T/declared" "$T/listed" | head -20
n=$(wc -l <"$T/exported")
check "an internal function is not exported" sh -c "! grep -qx nglm_batch_forward '$T/exported'"
check "the pipeline's stages are not exported" sh -c "! grep -qx nglm_pipeline_run '$T/exported'"
check "a public function is exported ($n in all)" grep -qx nglm_pipeline_fit "$T/exported"
check "fewer than 90 functions are exported ($n)" test "$n" -lt 90
check "include/nglm/ holds the public header only" test "$(ls "$S/include/nglm")" = nglm.h
# documented: every declaration at the start of a line belongs to a block
# of lines (no blank line between) in which a comment ends before it
awk '/^[ \t]*$/ { doc = 0; next } /\*\// { doc = 1 }
     /^[a-z].*[^a-z0-9_]nglm_[a-z0-9_]+\(/ && !doc { print FILENAME ":" FNR ": " $0 }' \
    "$S"/include/nglm/*.h >"$T/undocumented"
check "every public declaration has its comment" test ! -s "$T/undocumented"
cat "$T/undocumented"
finish
