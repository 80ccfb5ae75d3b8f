#!/bin/sh
# cli_oov.sh — nglm-eval warns, in one line on stderr, when more than 5% of
# the words are out of the vocabulary (a text tokenized otherwise than the
# model's), and not at or below 5%; --tokenize/--lowercase split the text
# for an ARPA file that records no tokenizer, and are refused when they
# contradict what a model records.
. "$(dirname "$0")/cli_lib.sh"
E=$B/nglm-eval
"$B/nglm-gen" --quiet --tokens 20000 --seed 4 --prefix "$T/c"
"$B/nglm-train" --quiet --order 2 --epochs 1 --features ngram --threads 1 \
    --train "$T/c.train.txt" --valid "$T/c.valid.txt" --model "$T/m.nglm" >/dev/null
"$B/nglm-kn" -o 2 --quiet --train "$T/c.train.txt" --arpa "$T/kn.arpa"

"$E" --model "$T/m.nglm" "$T/c.test.txt" >"$T/o" 2>"$T/e"
check "the model's own kind of text: no warning" test ! -s "$T/e"
# 20 words of the vocabulary, then a line of 1 and of 2 unknown words in
# 21 and 22: 1/21 (4.8%) is not above 5%, 3/43 (7.0%) is
w=$(tr ' ' '\n' <"$T/c.train.txt" | grep . | head -n 20 | tr '\n' ' ')
printf '%s zzunknown\n' "$w" >"$T/one.txt"
"$E" --model "$T/m.nglm" "$T/one.txt" >"$T/o" 2>"$T/e"
check "1 OOV in 21 words (4.8%): no warning" test ! -s "$T/e"
printf '%s zzunknown\n%s zzone zztwo\n' "$w" "$w" >"$T/three.txt"
"$E" --model "$T/m.nglm" "$T/three.txt" >"$T/o" 2>"$T/e"
check "3 OOVs in 43 words: exit 0, the report on stdout" grep -q "3 OOVs" "$T/o"
check "3 OOVs in 43 words: one line on stderr" test "$(wc -l <"$T/e")" = 1
check "which gives the count, the rate and the tokenizer" \
    grep -q "warning: 3 of 43 words (7.0%) .*--tokenize space" "$T/e"
"$E" --model "$T/kn.arpa" "$T/three.txt" >"$T/o" 2>"$T/e"
check "an ARPA file without a tokenizer: the hint names --tokenize" \
    grep -q "records none: --tokenize word --lowercase" "$T/e"

# --tokenize/--lowercase
echo 'The Cat, <UNK> sat.' >"$T/raw.txt"
expect 0 "an ARPA file that records none takes --tokenize word --lowercase" \
    '^the cat , <unk> sat \.$' \
    "$E" --model "$T/kn.arpa" --tokenize word --lowercase --print-tokens "$T/raw.txt"
expect 0 "and scores with it" "1 sentences, 6 words" \
    "$E" --model "$T/kn.arpa" --tokenize word --lowercase "$T/raw.txt"
expect 0 "--tokenize space on a model that records space is accepted" "" \
    "$E" --model "$T/m.nglm" --tokenize space "$T/c.test.txt"
expect_error "--tokenize word on a model trained with space is bad usage" \
    "--tokenize word, but the model was trained with --tokenize space" \
    "$E" --model "$T/m.nglm" --tokenize word "$T/raw.txt"
expect 2 "(exit 2)" "" "$E" --model "$T/m.nglm" --lowercase "$T/raw.txt"
"$B/nglm-kn" -o 2 --quiet --tokenize word --train "$T/c.train.txt" --arpa "$T/knw.arpa"
expect_error "an ARPA file with nglm's tokenizer line records it: --lowercase refused" \
    "--tokenize word --lowercase, but the model was trained with --tokenize word " \
    "$E" --model "$T/knw.arpa" --tokenize word --lowercase "$T/raw.txt"
expect_error "--tokenize with a mode that does not exist" "--tokenize: unknown tokenizer mode" \
    "$E" --model "$T/kn.arpa" --tokenize words "$T/raw.txt"
expect_error "a mixture: each component is checked" "but the model was trained with" \
    "$E" --model "$T/kn.arpa" --mix "$T/m.nglm" --tokenize word "$T/raw.txt"
finish
