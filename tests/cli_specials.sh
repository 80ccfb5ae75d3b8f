#!/bin/sh
# cli_specials.sh — <s>, </s> and <unk> stay whole under every tokenizer,
# in every program that reads text: nglm-train's vocabulary, nglm-eval's
# --print-tokens and scoring, nglm-kn's ARPA file, as PTB's <unk> needs
# with --tokenize word --lowercase.
. "$(dirname "$0")/cli_lib.sh"
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/c"
# the generated text with PTB's unknown word in it, in both cases
awk 'NR % 3 == 0 { $2 = "<unk>" } NR % 7 == 0 { $1 = "<UNK>" } { print }' \
    "$T/c.train.txt" >"$T/train.txt"
"$B/nglm-train" --quiet --order 2 --epochs 1 --features ngram --threads 1 \
    --tokenize word --lowercase --train "$T/train.txt" --valid "$T/c.valid.txt" \
    --model "$T/w.nglm" --write-vocab "$T/w.vocab" >/dev/null
check "nglm-train --tokenize word: no word 'unk' in the vocabulary" \
    test -z "$(grep -E '^(unk|<|>|/)	' "$T/w.vocab")"
echo '<s> The <unk> fell </s>' >"$T/s.txt"
expect 0 "nglm-eval --print-tokens keeps the specials whole" '^<s> the <unk> fell </s>$' \
    "$B/nglm-eval" --model "$T/w.nglm" --print-tokens "$T/s.txt"
"$B/nglm-eval" --model "$T/w.nglm" --print-tokens "$T/c.test.txt" | wc -w >"$T/n1"
sed 's/^/<s> /; s/$/ <\/s>/' "$T/c.test.txt" >"$T/marked.txt"
"$B/nglm-eval" --model "$T/w.nglm" --print-tokens "$T/marked.txt" | wc -w >"$T/n2"
check "marking sentences with <s> </s> adds two tokens a line" \
    test "$(cat "$T/n2")" -eq "$(($(cat "$T/n1") + 2 * $(wc -l <"$T/c.test.txt")))"
"$B/nglm-kn" -o 2 --quiet --tokenize word --lowercase --train "$T/train.txt" \
    --arpa "$T/kn.arpa"
check "nglm-kn --tokenize word: <unk> is a 1-gram, 'unk' is not" \
    sh -c "grep -q '	<unk>	' '$T/kn.arpa' && ! grep -Eq '	(unk|<|>)	' '$T/kn.arpa'"
"$B/nglm-kn" -o 2 --quiet --discount-fallback --tokenize char --train "$T/train.txt" --arpa "$T/ch.arpa"
check "nglm-kn --tokenize char: <unk> is one token" grep -q '	<unk>	' "$T/ch.arpa"
finish
