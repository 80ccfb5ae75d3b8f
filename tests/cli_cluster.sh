#!/bin/sh
# cli_cluster.sh — nglm-cluster: the class file it writes (every word but
# <s> once, </s> alone in class 0), the same file for 1 to 4 threads, the
# mkcls form, --init from each readable form, and bad input: each a clear
# one-line error.
. "$(dirname "$0")/cli_lib.sh"
P=$B/nglm-cluster
TRAIN=$B/corpus/default.train.txt
head -n 3000 "$TRAIN" >"$T/train.txt"

expect 0 "clusters into 20 classes" 'class bigram perplexity .* -> .* in [0-9]+ pass' \
    "$P" -c 20 --threads 1 --train "$T/train.txt" -o "$T/c1"
words=$( (tr ' ' '\n' <"$T/train.txt"; printf '</s>\n<unk>\n') | grep -v '^$' | sort -u | wc -l)
check "one line per word, </s> and <unk>" test "$(wc -l <"$T/c1")" = "$words"
check "</s> alone in class 0" test "$(awk -F '\t' '$2 == 0' "$T/c1")" = "$(printf '</s>\t0')"
check "classes 1..19" test "$(cut -f 2 "$T/c1" | sort -n | uniq | sed -n '2p;$p' | tr '\n' ' ')" = "1 19 "
check "no word twice" test -z "$(cut -f 1 "$T/c1" | sort | uniq -d)"
for t in 2 3 4; do
    "$P" -c 20 --threads $t --quiet --train "$T/train.txt" -o "$T/c$t"
    check "the same classes on $t threads" cmp -s "$T/c1" "$T/c$t"
done
expect 0 "prints each pass" 'pass 1: [0-9]+ words moved, class bigram perplexity' \
    "$P" -c 20 --passes 2 --train "$T/train.txt" -o "$T/p2"
expect 0 "--min-gain stops early" 'in [1-5] pass' \
    "$P" -c 20 --min-gain 0.5 --train "$T/train.txt" -o "$T/mg"
expect_error "--min-gain out of range" "--min-gain" "$P" -c 20 --min-gain 2 --train "$T/train.txt"
"$P" -c 20 --quiet --threads 2 <"$T/train.txt" >"$T/stdin.txt"
check "stdin to stdout" cmp -s "$T/c1" "$T/stdin.txt"

# --init: our own file comes back as it is, in 0 passes, with its perplexity
ppl=$("$P" -c 20 --threads 1 --train "$T/train.txt" -o "$T/x" 2>&1 | sed -n 's/.*-> \([0-9.]*\) in.*/\1/p')
expect 0 "--init --passes 0 reports the file's perplexity" "perplexity $ppl -> $ppl in 0 passes" \
    "$P" --init "$T/c1" --passes 0 --train "$T/train.txt" -o "$T/again"
check "--init --passes 0 keeps the classes" cmp -s "$T/c1" "$T/again"
# mkcls form, read back
"$P" --init "$T/c1" --passes 0 --format mkcls --quiet --train "$T/train.txt" -o "$T/mk"
check "mkcls form: no </s>, classes from 1" test -z "$(awk -F '\t' '$1 == "</s>" || $2 == 0' "$T/mk")"
expect 0 "reads mkcls's form" "perplexity $ppl -> $ppl" \
    "$P" --init "$T/mk" --init-format mkcls --passes 0 --train "$T/train.txt" -o "$T/mk2"
# Brown paths with the same classes, and names
awk -F '\t' '{ b = ""; for (i = 0; i < 6; i++) b = (int($2 / 2^i) % 2) b; print b "\t" $1 "\t1" }' \
    "$T/c1" >"$T/paths"
expect 0 "reads Brown clustering's paths" "perplexity $ppl -> $ppl" \
    "$P" --init "$T/paths" --passes 0 --train "$T/train.txt" -o "$T/br"
awk -F '\t' '{ print $1 "\tC" $2 }' "$T/c1" >"$T/names"
expect 0 "reads class names" "perplexity $ppl -> $ppl" \
    "$P" --init "$T/names" --passes 0 --train "$T/train.txt" -o "$T/nm"
expect 0 "more passes from --init" '' "$P" --init "$T/names" --train "$T/train.txt" -o "$T/nm2"

# bad usage and bad input: one line each
expect_error "-c 0" "'0' is out of range" "$P" -c 0 --train "$T/train.txt"
expect_error "-c 1" "'1' is out of range" "$P" -c 1 --train "$T/train.txt"
expect_error "no -c" "-c N" "$P" --train "$T/train.txt"
expect_error "-c and --init" "--init" "$P" -c 3 --init "$T/c1" --train "$T/train.txt"
printf 'a b\nb a c\n' >"$T/tiny.txt"
expect_error "more classes than words" "6 classes for 4 words: at most 5" \
    "$P" -c 6 --train "$T/tiny.txt"
expect 0 "as many classes as words (<unk> included)" '' "$P" -c 5 --train "$T/tiny.txt" -o "$T/tiny.c"
: >"$T/empty.txt"
expect_error "an empty text" "no sentences" "$P" -c 2 --train "$T/empty.txt"
printf '\n\n' >"$T/blank.txt"
expect_error "a blank text" "no sentences" "$P" -c 2 --train "$T/blank.txt"
printf 'a\t1\nb\t1\n' >"$T/miss"
expect_error "a class file that misses a word" "miss: 1 word of the vocabulary is not listed, the first 'c'" \
    "$P" --init "$T/miss" --train "$T/tiny.txt"
printf 'a\t1\nb\t1\nc\t2\nzebra\t2\n' >"$T/unk"
expect_error "a class file with an unknown word" "unk:4: 'zebra' is not in the vocabulary" \
    "$P" --init "$T/unk" --train "$T/tiny.txt"
expect 0 "--skip-unknown" '' "$P" --init "$T/unk" --skip-unknown --train "$T/tiny.txt" -o "$T/u.c"
printf 'a\t1\nb\t1\na\t2\nc\t2\n' >"$T/dup"
expect_error "a class file with a word twice" "dup:3: 'a' is listed twice" \
    "$P" --init "$T/dup" --train "$T/tiny.txt"
printf 'a\t1\nb\tx\nc\t2\n' >"$T/nonint"
expect_error "a non-integer class" "nonint:2: class 'x' is not an integer" \
    "$P" --init "$T/nonint" --train "$T/tiny.txt"
printf 'a\t1\nb\377\t1\nc\t2\n' >"$T/bad8"
expect_error "a class file that is not UTF-8" "bad8:2: invalid UTF-8" \
    "$P" --init "$T/bad8" --train "$T/tiny.txt"
expect_error "a missing class file" "nothere" "$P" --init "$T/nothere" --train "$T/tiny.txt"
expect_error "an unknown --format" "--format: 'brown' is not tab or mkcls" \
    "$P" -c 2 --format brown --train "$T/tiny.txt"
printf 'x\n' >"$T/other.txt"
expect_error "an output that is not a class file" "" "$P" -c 2 --train "$T/tiny.txt" -o "$T/other.txt"
expect 0 "replaces its own class file" '' "$P" -c 2 --train "$T/tiny.txt" -o "$T/tiny.c"
finish
