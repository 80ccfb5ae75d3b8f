#!/bin/sh
# cli_sample.sh — command-line tests of nglm-sample: N sentences of known
# words, the same seed gives the same text and another seed another, the
# length cap holds, a low temperature is nearly deterministic, and bad
# options or models are one line on stderr and a non-zero exit.
. "$(dirname "$0")/cli_lib.sh"
X=$B/nglm-sample
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/small"
M=$T/m.nglm
# (from zero: a Kneser-Ney start keeps its ties between equally counted
# successors, which a near-argmax sampler would break at random)
"$B/nglm-train" --quiet --order 3 --epochs 2 --features ngram --threads 1 --init zero \
    --train "$T/small.train.txt" --valid "$T/small.valid.txt" --model "$M" \
    --write-vocab "$T/vocab.txt" >/dev/null
check "trained a model to sample from" test -s "$M"

# ---------------------------------------------------------------- happy path
expect 0 "samples 50 sentences" '' "$X" --model "$M" -n 50 --seed 7
cp "$T/out" "$T/a.out"
check "50 lines" test "$(wc -l <"$T/a.out")" = 50
# an ARPA file (here the model's own export, plain and gzipped) samples the
# same sentences from the same seed
"$B/nglm-export" --model "$M" -o "$T/m.arpa"
"$B/nglm-export" --model "$M" -o "$T/m.arpa.gz"
expect 0 "samples from an ARPA file" '' "$X" --model "$T/m.arpa" -n 50 --seed 7
check "an ARPA file: the model's sentences" cmp -s "$T/out" "$T/a.out"
expect 0 "samples from a gzipped ARPA file" '' "$X" --model "$T/m.arpa.gz" -n 50 --seed 7
check "a gzipped ARPA file: the same sentences" cmp -s "$T/out" "$T/a.out"
check "single spaces, no blank ends" test -z "$(grep -En '^ | $|  ' "$T/a.out" | head -1)"
check "every word is in the vocabulary, never <s> or </s>" \
    awk -F '\t' 'NR == FNR { if ($1 != "<s>" && $1 != "</s>") v[$1] = 1; next }
        { for (i = 1; i <= NF; i++) if (!($i in v)) exit 1 }' "$T/vocab.txt" FS=' ' "$T/a.out"
check "sentences of various lengths" test "$(awk '{ print NF }' "$T/a.out" | sort -u | wc -l)" -gt 5
expect 0 "the same seed again" '' "$X" --model "$M" --sentences 50 --seed 7
check "the same seed gives the same sentences" cmp -s "$T/out" "$T/a.out"
expect 0 "another seed" '' "$X" --model "$M" -n 50 --seed 8
check "another seed gives other sentences" sh -c "! cmp -s '$T/out' '$T/a.out'"
"$X" --model "$M" -n 3 >"$T/d1.out"
"$X" --model "$M" -n 3 --seed 1 >"$T/d2.out"
check "the default seed is 1" cmp -s "$T/d1.out" "$T/d2.out"
check "the default is 10 sentences" test "$("$X" --model "$M" | wc -l)" = 10
expect 0 "-n 0" '' "$X" --model "$M" -n 0
check "-n 0 prints nothing" test ! -s "$T/out"
expect 0 "--max-length 3" '' "$X" --model "$M" -n 200 --max-length 3
check "no sentence longer than 3 words" awk 'NF > 3 { exit 1 }' "$T/out"
check "some sentences cut at 3 words" grep -Eq '^[^ ]+ [^ ]+ [^ ]+$' "$T/out"
# T = 0.01 draws nearly the argmax: the sentences of two seeds nearly agree
"$X" --model "$M" -n 20 --seed 1 --temperature 0.01 >"$T/t1.out"
"$X" --model "$M" -n 20 --seed 2 --temperature 0.01 >"$T/t2.out"
check "--temperature 0.01 is nearly deterministic" \
    test "$(paste -d '|' "$T/t1.out" "$T/t2.out" | awk -F '|' '$1 == $2' | wc -l)" -ge 18
# T = 1e3 is nearly uniform: many more distinct first words than at T = 1
"$X" --model "$M" -n 300 --max-length 1 >"$T/f1.out"
"$X" --model "$M" -n 300 --max-length 1 --temperature 1000 >"$T/f2.out"
check "--temperature 1000 flattens the distribution" \
    test "$(sort -u "$T/f2.out" | wc -l)" -gt "$(sort -u "$T/f1.out" | wc -l)"
expect 0 "--help" '^Usage: nglm-sample' "$X" --help
expect 0 "--version" '^nglm-sample .*[0-9]+\.[0-9]+' "$X" --version

# ---------------------------------------------------------------- bad usage
expect_error "missing --model" "^nglm-sample: --model FILE is required" "$X" -n 3
"$X" -n 3 2>/dev/null
check "bad usage exits 2" test $? = 2
for t in 0 -1 nan inf abc 1e7; do
    expect_error "--temperature $t" "^nglm-sample: --temperature: " "$X" --model "$M" --temperature "$t"
    "$X" --model "$M" --temperature "$t" 2>/dev/null
    check "--temperature $t exits 2" test $? = 2
done
expect_error "-n -1" "sentences: '-1' is out of range" "$X" --model "$M" -n -1
expect_error "-n x" "sentences: 'x' is not an integer" "$X" --model "$M" -n x
expect_error "--max-length 0" "max-length: '0' is out of range" "$X" --model "$M" --max-length 0
expect_error "--seed -3" "seed: '-3' is out of range" "$X" --model "$M" --seed -3
expect_error "unexpected argument" "unexpected argument 'extra'" "$X" --model "$M" extra
expect_error "unknown option" "'--frobnicate'" "$X" --model "$M" --frobnicate

# ---------------------------------------------------------------- bad model
expect_error "a text file as the model" "not an nglm model file" \
    "$X" --model "$T/small.test.txt"
"$X" --model "$T/small.test.txt" 2>/dev/null
check "a bad model exits 1" test $? = 1
expect_error "a missing model" "nope\.nglm: No such file" "$X" --model "$T/nope.nglm"
if [ -w /dev/full ]; then
    expect_error "stdout full" "error writing" sh -c "'$X' --model '$M' -n 5 >/dev/full"
fi
finish
