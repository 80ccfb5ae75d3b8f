#!/bin/sh
# cli_kn_lmplz.sh — nglm-kn takes lmplz's common options: -S with a share
# of the memory, --interpolate_unigrams 0 (the 1-grams' left-over mass on
# <unk>), --limit_vocab_file, the options it needs not (accepted, nothing
# changes), and nglm-train's --vocab; bad values are one clear error.
. "$(dirname "$0")/cli_lib.sh"
K=$B/nglm-kn
"$B/nglm-gen" --quiet --tokens 20000 --seed 6 --prefix "$T/c"
TXT=$T/c.train.txt
"$K" -o 2 --quiet --train "$TXT" --arpa "$T/base.arpa"
# 10^log10p summed over the 1-grams but <s>, and <unk>'s log10p
unigrams() {
    awk -F'\t' '/^\\1-grams:/ { on = 1; next } /^\\/ { on = 0 }
        on && NF >= 2 && $2 != "<s>" { s += 10 ^ $1 } on && $2 == "<unk>" { u = $1 }
        END { printf "%.6f %s\n", s, u }' "$1"
}
ngram1() { sed -n 's/^ngram 1=//p' "$1"; }

expect 0 "-S 10% is a share of the memory" "" "$K" -o 2 --quiet -S 10% --train "$TXT" --arpa "$T/s.arpa"
check "and the same model" cmp -s "$T/base.arpa" "$T/s.arpa"
for bad in 0% 200% x% -5%; do
    expect_error "-S $bad is bad usage" "--memory: '$bad' is not a share of the memory" \
        "$K" -o 2 --quiet -S "$bad" --train "$TXT" --arpa "$T/s.arpa"
done

"$K" -o 2 --quiet --interpolate_unigrams --train "$TXT" --arpa "$T/i1.arpa"
check "--interpolate_unigrams alone is the default" cmp -s "$T/base.arpa" "$T/i1.arpa"
"$K" -o 2 --quiet --interpolate_unigrams 1 --train "$TXT" --arpa "$T/i1.arpa"
check "--interpolate_unigrams 1 is the default" cmp -s "$T/base.arpa" "$T/i1.arpa"
"$K" -o 2 --quiet --interpolate_unigrams 0 --train "$TXT" --arpa "$T/i0.arpa"
set -- $(unigrams "$T/base.arpa")
s1=$1 u1=$2
set -- $(unigrams "$T/i0.arpa")
check "--interpolate_unigrams 0: the 1-grams still sum to 1 ($1)" test "$1" = 1.000000
check "and <unk> gets the left-over mass ($u1 -> $2)" awk "BEGIN { exit !($2 > $u1 + 1) }"
check "(the default's 1-grams sum to 1 too: $s1)" test "$s1" = 1.000000
expect_error "--interpolate_unigrams 2 is bad usage" "is not 0, 1, false or true" \
    "$K" -o 2 --interpolate_unigrams 2 --train "$TXT"

expect 0 "the options nglm-kn needs not are accepted" "" \
    "$K" -o 2 --quiet --skip_symbols --verbose_header --vocab_estimate 1000000 \
    --vocab_pad 0 --minimum_block 8K --sort_block 64M --block_count 2 \
    --train "$TXT" --arpa "$T/ig.arpa"
check "and change nothing" cmp -s "$T/base.arpa" "$T/ig.arpa"
expect_error "--vocab_estimate with no number is bad usage" "--vocab_estimate" \
    "$K" -o 2 --vocab_estimate lots --train "$TXT"

# the vocabulary of nglm-train, and lmplz's word list
"$B/nglm-train" --quiet --epochs 0 --max-vocab 300 --train "$TXT" --write-vocab "$T/v.txt" >/dev/null
"$K" -o 2 --quiet --vocab "$T/v.txt" --train "$TXT" --arpa "$T/v.arpa"
check "--vocab: the ARPA file has nglm-train's vocabulary ($(ngram1 "$T/v.arpa") 1-grams)" \
    test "$(ngram1 "$T/v.arpa")" = "$(grep -c . "$T/v.txt")"
"$B/nglm-train" --quiet --order 2 --epochs 1 --features ngram --threads 1 --vocab "$T/v.txt" \
    --train "$TXT" --valid "$T/c.valid.txt" --model "$T/v.nglm" >/dev/null
"$B/nglm-eval" --model "$T/v.arpa" "$T/c.test.txt" 2>/dev/null | head -n 1 >"$T/e1"
"$B/nglm-eval" --model "$T/v.nglm" "$T/c.test.txt" 2>/dev/null | head -n 1 >"$T/e2"
check "and the same OOVs as nglm-train's model with that --vocab" cmp -s "$T/e1" "$T/e2"
tail -n +4 "$T/v.txt" | cut -f1 | paste -d' ' - - - - - >"$T/limit.txt"
"$K" -o 2 --quiet --limit_vocab_file "$T/limit.txt" --train "$TXT" --arpa "$T/l.arpa"
check "--limit_vocab_file (five words a line) gives the same model as --vocab" \
    cmp -s "$T/v.arpa" "$T/l.arpa"
expect_error "a missing --limit_vocab_file is one clear error" \
    "--limit_vocab_file: $T/none.txt: No such file" \
    "$K" -o 2 --limit_vocab_file "$T/none.txt" --train "$TXT"
printf ' \n\n<unk>\n' >"$T/empty.txt"
expect_error "an empty --limit_vocab_file is one clear error" "lists no words" \
    "$K" -o 2 --limit_vocab_file "$T/empty.txt" --train "$TXT"
expect 1 "(exit 1)" "" "$K" -o 2 -T "$T" --limit_vocab_file "$T/empty.txt" --train "$TXT"
check "and leaves no temporary file" test -z "$(ls "$T" | grep nglm-kn-vocab)"
expect_error "--vocab with --limit_vocab_file is bad usage" "give one" \
    "$K" -o 2 --vocab "$T/v.txt" --limit_vocab_file "$T/limit.txt" --train "$TXT"
expect_error "a missing --vocab is one clear error" "--vocab: $T/none.txt: No such file" \
    "$K" -o 2 --vocab "$T/none.txt" --train "$TXT"
finish
