#!/bin/sh
# cli_prune.sh — command-line tests of nglm-prune: a Kneser-Ney ARPA file
# and nglm models (n-gram features) pruned by threshold and by target size,
# the result an ARPA file that nglm-eval reads, smaller;
# bad models, thresholds, targets and output paths are one line on stderr
# and a non-zero exit, with the input left as it was.  The criteria
# themselves are checked against a reference in tests/check_entprune.c.
. "$(dirname "$0")/cli_lib.sh"
P=$B/nglm-prune
E=$B/nglm-eval
head -n 3000 "$B/corpus/default.train.txt" >"$T/small.train.txt"
head -n 300 "$B/corpus/default.valid.txt" >"$T/small.valid.txt"
TEST=$B/corpus/default.test.txt
"$B/nglm-kn" -o 3 --discount-fallback --train "$T/small.train.txt" --arpa "$T/kn3.arpa" \
    --model "$T/kn3.nglm" 2>/dev/null
check "a Kneser-Ney trigram to prune" test -s "$T/kn3.arpa" -a -s "$T/kn3.nglm"
cp "$T/kn3.arpa" "$T/kn3.orig"

# total N-GRAMS of an ARPA file's header
total() { awk -F= '/^ngram [0-9]+=/ { s += $2 } END { print s + 0 }' "$1"; }
# ppl of nglm-eval's report (all tokens)
ppl() { "$E" --model "$1" "$TEST" | awk '/zeroprobs/ { for (i = 1; i < NF; i++) if ($i == "ppl=") print $(i + 1) }'; }
FULL=$(total "$T/kn3.arpa")
PPL_FULL=$(ppl "$T/kn3.arpa")

# ---------------------------------------------------------------- by threshold
expect 0 "--threshold 1e-6" '' "$P" --model "$T/kn3.arpa" --threshold 1e-6 -o "$T/p6.arpa"
check "an ARPA file" test "$(head -1 "$T/p6.arpa")" = '\data\' -a \
    "$(tail -1 "$T/p6.arpa")" = '\end\'
N6=$(total "$T/p6.arpa")
check "fewer n-grams ($N6 of $FULL)" test "$N6" -lt "$FULL"
check "the 1-grams stay" test "$(grep '^ngram 1=' "$T/p6.arpa")" = \
    "$(grep '^ngram 1=' "$T/kn3.arpa")"
P6=$(ppl "$T/p6.arpa")
# (on this small text the pruned model may even be a little better)
check "nglm-eval scores it: ppl $P6, the full model's $PPL_FULL" \
    awk -v a="$P6" -v b="$PPL_FULL" 'BEGIN { exit !(a > b * 0.9 && a < b * 1.5) }'
expect 0 "a larger threshold" '' "$P" --model "$T/kn3.arpa" --threshold 1e-5 -o "$T/p5.arpa"
check "keeps fewer" test "$(total "$T/p5.arpa")" -lt "$N6"
check "the model is unchanged" cmp -s "$T/kn3.arpa" "$T/kn3.orig"
expect 0 "--verbose says what was kept" "threshold 1e-06: kept $N6 of $FULL n-grams" \
    "$P" --model "$T/kn3.arpa" --threshold 1e-6 -o "$T/v.arpa" -v
expect 0 "-o - writes to stdout" '' sh -c "'$P' --model '$T/kn3.arpa' --threshold 1e-6 -o - >'$T/stdout.arpa'"
check "the same file" cmp -s "$T/stdout.arpa" "$T/p6.arpa"
gzip -c "$T/kn3.arpa" >"$T/kn3.arpa.gz"
expect 0 "a gzip model" '' "$P" --model "$T/kn3.arpa.gz" --threshold 1e-6 -o "$T/gz.arpa"
check "prunes as the plain one" cmp -s "$T/gz.arpa" "$T/p6.arpa"
expect 0 "-o FILE.gz" '' "$P" --model "$T/kn3.arpa" --threshold 1e-6 -o "$T/p6.arpa.gz"
check "is gzip" test "$(head -c 2 "$T/p6.arpa.gz" | od -An -tx1 | tr -d ' ')" = 1f8b
check "of the same text" sh -c "gzip -dc '$T/p6.arpa.gz' | cmp -s - '$T/p6.arpa'"

expect 0 "--history-text" '' "$P" --model "$T/kn3.arpa" --threshold 1e-6 \
    --history-text "$T/small.train.txt" -o "$T/ht.arpa"
check "another selection" sh -c "! cmp -s '$T/ht.arpa' '$T/p6.arpa'"
expect_error "--history-text that does not exist" "No such file" "$P" --model "$T/kn3.arpa" \
    --threshold 1e-6 --history-text "$T/none.txt" -o "$T/x.arpa"
expect_error "--history-text the output" "same file|refusing" "$P" --model "$T/kn3.arpa" \
    --threshold 1e-6 --history-text "$T/p6.arpa" -o "$T/p6.arpa"

# nglm-kn --prune-entropy: the same as nglm-prune with the training text
expect 0 "nglm-kn --prune-entropy 1e-6" "pruned by relative entropy at 1e-06: [0-9]+ n-grams kept" \
    "$B/nglm-kn" -o 3 --discount-fallback --train "$T/small.train.txt" --prune-entropy 1e-6 \
    --arpa "$T/kn-pe.arpa"
check "is nglm-prune --history-text of its model" cmp -s "$T/kn-pe.arpa" "$T/ht.arpa"
expect 2 "nglm-kn --prune-entropy 0 is refused" "--prune-entropy" "$B/nglm-kn" -o 3 \
    --discount-fallback --train "$T/small.train.txt" --prune-entropy 0 --arpa "$T/x.arpa"
expect 2 "nglm-kn --prune-entropy with --model is refused" "ARPA model only" "$B/nglm-kn" \
    -o 3 --discount-fallback --train "$T/small.train.txt" --prune-entropy 1e-6 \
    --model "$T/x.nglm"
expect 0 "nglm-kn --prune-entropy from stdin to stdout" '' sh -c \
    "'$B/nglm-kn' -o 3 --discount-fallback --quiet --prune-entropy 1e-6 <'$T/small.train.txt' >'$T/kn-pe2.arpa'"
check "the same model" cmp -s "$T/kn-pe2.arpa" "$T/ht.arpa"

# ---------------------------------------------------------------- by target
half=$((FULL / 2))
expect 0 "--target-ngrams $half" '' "$P" --model "$T/kn3.arpa" --target-ngrams "$half" \
    -o "$T/half.arpa"
NH=$(total "$T/half.arpa")
check "keeps at least $half, about as many ($NH)" test "$NH" -ge "$half" -a \
    "$NH" -le $((half + half / 100))
expect 0 "--target-ngrams with a K suffix" '' "$P" --model "$T/kn3.arpa" \
    --target-ngrams 20K -o "$T/20k.arpa"
check "keeps about 20000 ($(total "$T/20k.arpa"))" test "$(total "$T/20k.arpa")" -ge 20000 \
    -a "$(total "$T/20k.arpa")" -le 20200

# --keep-suffixes: closed under suffixes, so nglm's format can hold it
expect_error "a pruned model is not closed under suffixes" "not closed under suffixes" \
    "$B/nglm-export" --from-arpa "$T/half.arpa" -o "$T/half.nglm"
expect 0 "--keep-suffixes" '' "$P" --model "$T/kn3.arpa" --target-ngrams "$half" \
    --keep-suffixes -o "$T/half-closed.arpa"
NC=$(total "$T/half-closed.arpa")
check "keeps about the target ($NC)" test "$NC" -ge "$half" -a "$NC" -le $((half + half / 100))
expect 0 "converts to nglm's format" '' "$B/nglm-export" --from-arpa "$T/half-closed.arpa" \
    -o "$T/half-closed.nglm"
PA=$(ppl "$T/half-closed.arpa")
PM=$(ppl "$T/half-closed.nglm")
check "which scores as the ARPA file ($PM, $PA)" test "$PA" = "$PM"

# ---------------------------------------------------------------- nglm models
expect 0 "an nglm Kneser-Ney model (nglm-kn --model)" '' "$P" --model "$T/kn3.nglm" \
    --target-ngrams "$half" -o "$T/half-nglm.arpa"
NN=$(total "$T/half-nglm.arpa")
PN=$(ppl "$T/half-nglm.arpa")
PH=$(ppl "$T/half.arpa")
check "as large as from the ARPA file ($NN, $NH)" test "$NN" -ge "$half" -a \
    "$NN" -le $((half + half / 100))
check "and as good (ppl $PN, $PH)" \
    awk -v a="$PN" -v b="$PH" 'BEGIN { exit !(a < b * 1.001 && b < a * 1.001) }'
"$B/nglm-train" --quiet --order 3 --features ngram --epochs 1 --threads 1 \
    --train "$T/small.train.txt" --valid "$T/small.valid.txt" --model "$T/ng.nglm" >/dev/null
expect 0 "a trained n-gram model" '' "$P" --model "$T/ng.nglm" --threshold 1e-6 \
    -o "$T/ng.arpa"
check "is pruned" test "$(total "$T/ng.arpa")" -lt \
    "$("$B/nglm-export" --model "$T/ng.nglm" | awk -F= '/^ngram/ { s += $2 } END { print s }')"
"$B/nglm-train" --quiet --order 3 --features ngram,skip2 --skip-cutoff 1 --epochs 1 \
    --init zero --threads 1 --train "$T/small.train.txt" --valid "$T/small.valid.txt" \
    --model "$T/skip.nglm" >/dev/null
expect_error "a skip-gram model is refused" "skip-gram features .*train with n-gram features" \
    "$P" --model "$T/skip.nglm" --threshold 1e-6 -o "$T/skip.arpa"
check "and nothing is written" test ! -e "$T/skip.arpa"

# ---------------------------------------------------------------- bad models
: >"$T/empty.arpa"
expect_error "an empty file" "" "$P" --model "$T/empty.arpa" --threshold 1e-6 -o "$T/x.arpa"
head -c 3000 "$T/kn3.arpa" >"$T/trunc.arpa"
expect_error "a truncated ARPA file" "trunc.arpa" "$P" --model "$T/trunc.arpa" \
    --threshold 1e-6 -o "$T/x.arpa"
printf '\\data\\\nngram 1=3\nngram 2=1\nngram 3=1\n\n\\1-grams:\n-1\t<s>\t-0.3\n-0.5\t</s>\n-0.5\ta\t-0.2\n\n\\2-grams:\n-0.2\t<s> a\n\n\\3-grams:\n-0.1\ta a </s>\n\n\\end\\\n' \
    >"$T/holes.arpa"
expect_error "an n-gram whose context is not listed" "'a a </s>' is listed but not its context.*incomplete" \
    "$P" --model "$T/holes.arpa" --threshold 1e-6 -o "$T/x.arpa"
expect_error "a missing model" "No such file" "$P" --model "$T/none.arpa" --threshold 1e-6 \
    -o "$T/x.arpa"
check "no output left behind" test ! -e "$T/x.arpa"

# ---------------------------------------------------------------- bad usage
for th in 0 -1e-6 nan NaN inf abc ''; do
    expect 2 "--threshold '$th' is refused" "--threshold" "$P" --model "$T/kn3.arpa" \
        --threshold "$th" -o "$T/x.arpa"
done
expect 2 "--target-ngrams above the model's size" "only $FULL n-grams" "$P" \
    --model "$T/kn3.arpa" --target-ngrams $((FULL + 1)) -o "$T/x.arpa"
expect 2 "--target-ngrams the model's size" "nothing to prune" "$P" \
    --model "$T/kn3.arpa" --target-ngrams "$FULL" -o "$T/x.arpa"
expect 2 "--target-ngrams below the 1-grams" "1-grams, which are never pruned" "$P" \
    --model "$T/kn3.arpa" --target-ngrams 10 -o "$T/x.arpa"
expect 2 "--target-ngrams 0" "--target-ngrams" "$P" --model "$T/kn3.arpa" \
    --target-ngrams 0 -o "$T/x.arpa"
expect 2 "both --threshold and --target-ngrams" "one of" "$P" --model "$T/kn3.arpa" \
    --threshold 1e-6 --target-ngrams 5000 -o "$T/x.arpa"
expect 2 "neither" "one of" "$P" --model "$T/kn3.arpa" -o "$T/x.arpa"
expect 2 "no -o" "-o OUT is required" "$P" --model "$T/kn3.arpa" --threshold 1e-6
expect 2 "no --model" "--model FILE is required" "$P" --threshold 1e-6 -o "$T/x.arpa"
expect 2 "an unknown option" "unknown option" "$P" --model "$T/kn3.arpa" --prune 1e-6 \
    -o "$T/x.arpa"
expect 2 "SRILM's spelling gets a hint" "nglm-prune takes" "$P" -lm "$T/kn3.arpa"
expect 2 "--digits 0" "--digits" "$P" --model "$T/kn3.arpa" --threshold 1e-6 --digits 0 \
    -o "$T/x.arpa"
expect 0 "--help" '^Usage: nglm-prune' "$P" --help
expect 0 "--version" '^nglm-prune .*[0-9]+\.[0-9]+' "$P" --version

# ---------------------------------------------------------------- output paths
expect_error "the model as the output is refused" "same file|refusing" \
    "$P" --model "$T/kn3.arpa" --threshold 1e-6 -o "$T/kn3.arpa"
ln -s kn3.arpa "$T/link-to-model"
expect_error "a link to the model as the output is refused" "same file|refusing" \
    "$P" --model "$T/kn3.arpa" --threshold 1e-6 -o "$T/link-to-model"
check "the model is unchanged" cmp -s "$T/kn3.arpa" "$T/kn3.orig"
mkdir "$T/store"
ln -s store/real.arpa "$T/link.arpa"
expect 0 "a symbolic link as the output" '' "$P" --model "$T/kn3.arpa" --threshold 1e-6 \
    -o "$T/link.arpa"
check "the link stays a link, its target is the pruned model" test -L "$T/link.arpa" -a \
    -s "$T/store/real.arpa"
check "the same pruned model" cmp -s "$T/store/real.arpa" "$T/p6.arpa"
mkfifo "$T/out.fifo"
expect_error "a FIFO as the output is refused" "not a regular file" \
    timeout 20 "$P" --model "$T/kn3.arpa" --threshold 1e-6 -o "$T/out.fifo"
printf 'my notes\n' >"$T/notes.txt"
expect_error "a file that is not an ARPA file is not replaced" "--force" \
    "$P" --model "$T/kn3.arpa" --threshold 1e-6 -o "$T/notes.txt"
check "it is kept" test "$(cat "$T/notes.txt")" = "my notes"
expect 0 "unless --force" '' "$P" --model "$T/kn3.arpa" --threshold 1e-6 -o "$T/notes.txt" \
    --force
expect_error "a directory as the output" "" "$P" --model "$T/kn3.arpa" --threshold 1e-6 \
    -o "$T/store"
ls "$T" | grep -q 'tmp\.' && bad "a temporary file was left behind"
finish
