#!/bin/sh
# cli_gen.sh — command-line tests of nglm-gen: the corpus files appear with
# the promised contents, the same seed gives the same bytes, and every bad
# input or unwritable destination is one line on stderr and a non-zero exit.
. "$(dirname "$0")/cli_lib.sh"
G=$B/nglm-gen

# ---------------------------------------------------------------- happy path
expect 0 "writes a corpus and reports the oracle" \
    'oracle perplexity [0-9]+\.[0-9]+' "$G" --tokens 5000 --seed 3 --prefix "$T/c"
check "stdout mentions the unigram perplexity" grep -Eq 'unigram perplexity [0-9]' "$T/out"
for f in train.txt valid.txt test.txt oracle; do
    check "writes c.$f" test -s "$T/c.$f"
done
check "no temporaries left" test -z "$(ls "$T" | grep '\.tmp$')"
check "oracle file has oracle_ppl" grep -Eq '^oracle_ppl [0-9]+\.[0-9]+$' "$T/c.oracle"
check "oracle file has unigram_ppl" grep -Eq '^unigram_ppl [0-9]+\.[0-9]+$' "$T/c.oracle"
tokens=$(cat "$T/c.train.txt" "$T/c.valid.txt" "$T/c.test.txt" | wc -lw | awk '{print $1 + $2}')
check "about 5000 tokens in all ($tokens)" test "$tokens" -ge 5000 -a "$tokens" -le 5300
check "one sentence per line, single spaces" \
    test -z "$(grep -En '^ | $|  |^$|[^a-z ]' "$T/c.train.txt" | head -1)"
test_tokens=$(wc -lw <"$T/c.test.txt" | awk '{print $1 + $2}')
check "oracle's test_tokens matches the text" grep -q "^test_tokens $test_tokens\$" "$T/c.oracle"

expect 0 "--quiet prints nothing" '' "$G" --quiet --tokens 5000 --seed 3 --prefix "$T/d"
check "--quiet output is empty" test ! -s "$T/out"
check "same seed, same train text" cmp -s "$T/c.train.txt" "$T/d.train.txt"
check "same seed, same oracle" cmp -s "$T/c.oracle" "$T/d.oracle"
"$G" --quiet --tokens 5000 --seed 4 --prefix "$T/e"
check "another seed, another text" sh -c "! cmp -s '$T/c.train.txt' '$T/e.train.txt'"
expect 0 "order 4 and a K suffix" 'oracle perplexity' "$G" --tokens 4K --order 4 --prefix "$T/f"
check "K is 1000 in a count: at most three sentences over 4000 tokens" awk '
    /^wrote / { split($3, n, "[()/]"); t = n[2] + n[3] + n[4]; exit !(t >= 4000 && t < 4100) }' "$T/out"
expect 0 "short options" 'oracle perplexity' "$G" -n 2000 -s 9 -p "$T/g"

expect 0 "--help" '^Usage: nglm-gen' "$G" --help
expect 0 "--version" '^nglm-gen .*[0-9]+\.[0-9]+' "$G" --version

# ---------------------------------------------------------------- bad usage
expect_error "tokens not a number" "--tokens: 'many' is not" "$G" --tokens many --prefix "$T/x"
expect_error "too few tokens" "--tokens: '999' is out of range" "$G" --tokens 999 --prefix "$T/x"
expect_error "absurdly many tokens" "--tokens: .* is out of range" \
    "$G" --tokens 99999999999999 --prefix "$T/x"
expect_error "negative tokens" "--tokens" "$G" --tokens -5000 --prefix "$T/x"
expect_error "missing --prefix" "--prefix is required" "$G" --tokens 5000
expect_error "missing --tokens" "--tokens is required" "$G" --prefix "$T/x"
expect_error "empty prefix" "--prefix: the prefix is empty" "$G" --tokens 5000 --prefix ''
expect_error "option without its value" "needs a value" "$G" --prefix "$T/x" --tokens
expect_error "unknown option" "unknown option '--frobnicate'" "$G" --frobnicate
expect_error "stray argument" "unexpected argument 'extra'" \
    "$G" --tokens 5000 --prefix "$T/x" extra
expect_error "bad seed" "--seed: '-1' is not" "$G" --tokens 5000 --seed -1 --prefix "$T/x"
expect_error "bad order" "--order: '5' is out of range" \
    "$G" --tokens 5000 --order 5 --prefix "$T/x"
expect_error "bad vocabulary size" "--vocab" "$G" --tokens 5000 --vocab 3 --prefix "$T/x"
"$G" --tokens many --prefix "$T/x" 2>/dev/null
check "bad usage exits 2" test $? = 2
check "bad usage writes nothing" test ! -e "$T/x.train.txt"

# ---------------------------------------------------------------- unwritable
expect_error "prefix in a missing directory" "/nonexistent/dir/x\.train\.txt: cannot create a file in /nonexistent/dir" \
    "$G" --tokens 5000 --prefix /nonexistent/dir/x
"$G" --tokens 5000 --prefix /nonexistent/dir/x 2>/dev/null
check "failure exits 1" test $? = 1
if [ -w /dev/full ]; then
    ln -s /dev/full "$T/full.test.txt.tmp"
    expect_error "disk full" "cannot write '.*full\.test\.txt\.tmp'" \
        "$G" --tokens 5000 --prefix "$T/full"
    check "disk full leaves no files" test -z "$(ls "$T" | grep '^full')"
fi
if [ "$(id -u)" != 0 ]; then
    mkdir "$T/ro" && chmod a-w "$T/ro"
    expect_error "read-only directory" "cannot create .*Permission denied" \
        "$G" --tokens 5000 --prefix "$T/ro/x"
    chmod u+w "$T/ro"
fi
if [ -w /dev/full ]; then
    expect_error "stdout full" "cannot write the report" \
        sh -c "'$G' --tokens 5000 --prefix '$T/h' >/dev/full"
fi
finish
