# cli_lib.sh — sourced by the command-line tests (tests/cli_*.sh).
#
# Each check runs a command and asserts its exit status and, optionally, a
# pattern in its stderr or stdout.  The script ends with the line
# "N passed, N failed" and a non-zero status if anything failed.

: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
B=$top_builddir
S=$top_srcdir
T=$(mktemp -d "${TMPDIR:-/tmp}/nglm-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "PASS: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; [ -n "${2-}" ] && printf '%s\n' "$2" | sed 's/^/    /'; }

# expect STATUS DESC PATTERN CMD... : CMD exits with STATUS and its combined
# output matches the extended regex PATTERN (empty pattern: anything).
expect() {
    want=$1 desc=$2 pat=$3
    shift 3
    "$@" >"$T/out" 2>&1
    got=$?
    if [ "$got" != "$want" ]; then
        bad "$desc (exit $got, wanted $want)" "$(head -c 2000 "$T/out")"
    elif [ -n "$pat" ] && ! grep -Eq -- "$pat" "$T/out"; then
        bad "$desc (output does not match /$pat/)" "$(head -c 2000 "$T/out")"
    else
        ok "$desc"
    fi
}

# expect_error DESC PATTERN CMD... : non-zero exit, exactly one line on
# stderr, matching PATTERN.
expect_error() {
    desc=$1 pat=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    lines=$(wc -l <"$T/err")
    if [ "$got" = 0 ]; then
        bad "$desc (exit 0, wanted an error)" "$(head -c 2000 "$T/err")"
    elif [ "$lines" != 1 ]; then
        bad "$desc ($lines lines on stderr, wanted 1)" "$(head -c 2000 "$T/err")"
    elif [ -n "$pat" ] && ! grep -Eq -- "$pat" "$T/err"; then
        bad "$desc (stderr does not match /$pat/)" "$(head -c 2000 "$T/err")"
    else
        ok "$desc"
    fi
}

# check DESC CONDITION... : a plain assertion evaluated by test/[ ].
check() {
    desc=$1
    shift
    if "$@"; then ok "$desc"; else bad "$desc"; fi
}

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
}
