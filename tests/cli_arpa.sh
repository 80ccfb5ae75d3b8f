#!/bin/sh
# cli_arpa.sh — command-line tests of nglm-export and of nglm-eval on ARPA
# models: the exported file (plain and .gz) reproduces the native perplexity
# to 1e-6, OOVs and per-sentence scores agree, hand-written ARPA files are
# scored by the back-off rule, and bad models, options and files are one
# line on stderr and a non-zero exit.
. "$(dirname "$0")/cli_lib.sh"
E=$B/nglm-eval
X=$B/nglm-export
TEST=$B/corpus/default.test.txt
M=$T/m.nglm
"$B/nglm-train" --quiet --order 3 --features ngram --epochs 2 --threads 1 --model "$M" \
    --write-vocab "$T/vocab.txt" >"$T/train.out"
check "trained a model on the bundled corpus" test -s "$M"

# same_ppl DESC FILE1 FILE2: the ppl= values of two reports differ by < 1e-6
same_ppl() {
    check "$1" awk '/zeroprobs/ { for (i = 1; i < NF; i++) if ($i == "ppl=") p[FILENAME] = $(i + 1) }
        END { n = 0; for (f in p) v[++n] = p[f]
              exit !(n == 2 && v[1] > 0 && (v[1] - v[2]) / v[1] < 1e-6 && (v[2] - v[1]) / v[1] < 1e-6) }' \
        "$2" "$3"
}

# ---------------------------------------------------------------- export
expect 0 "exports to stdout" '' sh -c "'$X' --model '$M' >'$T/m.arpa'"
check "an ARPA file" test "$(head -1 "$T/m.arpa")" = '\data\'
check "ends with the end marker" test "$(tail -1 "$T/m.arpa")" = '\end\'
V=$(wc -l <"$T/vocab.txt" | tr -d ' ')
check "every word is a 1-gram ($V)" grep -qx "ngram 1=$V" "$T/m.arpa"
check "up to 3-grams" grep -q '^ngram 3=[1-9]' "$T/m.arpa"
check "<s> has log10 probability -99" grep -Eq '^-99	<s>	' "$T/m.arpa"
expect 0 "-o FILE" '' "$X" --model "$M" -o "$T/o.arpa"
check "-o writes the same file" cmp -s "$T/m.arpa" "$T/o.arpa"
expect 0 "--output FILE.gz" '' "$X" --model "$M" --output "$T/m.arpa.gz"
check "FILE.gz is gzip" test "$(head -c 2 "$T/m.arpa.gz" | od -An -tx1 | tr -d ' ')" = 1f8b
check "and holds the same text" sh -c "gzip -dc '$T/m.arpa.gz' | cmp -s - '$T/m.arpa'"
expect 0 "--help" '^Usage: nglm-export' "$X" --help
expect 0 "--version" '^nglm-export .*[0-9]+\.[0-9]+' "$X" --version

# ---------------------------------------------------------------- same perplexity
"$E" --digits 10 --model "$M" "$TEST" >"$T/native.out"
expect 0 "evaluates the ARPA file" '^0 zeroprobs, logprob= ' "$E" --digits 10 --model "$T/m.arpa" "$TEST"
cp "$T/out" "$T/arpa.out"
check "the same counts" test "$(head -1 "$T/arpa.out")" = "$(head -1 "$T/native.out")"
same_ppl "the same perplexity as the native model (1e-6)" "$T/native.out" "$T/arpa.out"
expect 0 "evaluates the .gz file" '' "$E" --digits 10 --model "$T/m.arpa.gz" "$TEST"
check ".gz gives the same report" cmp -s "$T/out" "$T/arpa.out"
cp "$T/m.arpa.gz" "$T/gz-without-suffix"
expect 0 "gzip is told by content" '' "$E" --digits 10 --model "$T/gz-without-suffix" "$TEST"
check "the same report again" test "$(sed 1d "$T/out")" = "$(sed 1d "$T/arpa.out")"
expect 0 "default digits" '^0 zeroprobs, logprob= -[0-9]+\.[0-9][0-9] ppl= [0-9]+\.[0-9][0-9] ' \
    "$E" --model "$T/m.arpa" "$TEST"
check "default report equals the native one" \
    test "$(cat "$T/out")" = "$("$E" --model "$M" "$TEST")"
expect 0 "--per-sentence on ARPA" '' "$E" --per-sentence --model "$T/m.arpa" "$TEST"
check "same per-sentence scores as native" \
    test "$(grep -c '^sentence' "$T/out")" = "$(wc -l <"$TEST" | tr -d ' ')" \
    -a "$("$E" --per-sentence --model "$M" "$TEST" | md5sum)" = "$(md5sum <"$T/out")"

# OOVs: scored as <unk> by both, and counted
known=$(sed -n 4p "$T/vocab.txt" | cut -f1)
printf 'xyzzy plugh\nxyzzy %s\n%s %s %s\n' "$known" "$known" "$known" "$known" >"$T/oov.txt"
"$E" --digits 10 --model "$M" "$T/oov.txt" >"$T/oov-native.out"
expect 0 "a text with OOVs" '3 sentences, 7 words, 3 OOVs' \
    "$E" --digits 10 --model "$T/m.arpa" "$T/oov.txt"
same_ppl "OOVs: the same perplexity" "$T/oov-native.out" "$T/out"

# order 4 with cutoffs, on another text
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/small"
M4=$T/m4.nglm
"$B/nglm-train" --quiet --order 4 --features ngram --cutoffs 1,2,2 --epochs 2 --threads 1 \
    --train "$T/small.train.txt" --valid "$T/small.valid.txt" --model "$M4" >/dev/null
expect 0 "exports an order-4 model with cutoffs" '' "$X" --model "$M4" -o "$T/m4.arpa.gz"
"$E" --digits 10 --model "$M4" "$T/small.test.txt" >"$T/n4.out"
"$E" --digits 10 --model "$T/m4.arpa.gz" "$T/small.test.txt" >"$T/a4.out"
same_ppl "order 4: the same perplexity" "$T/n4.out" "$T/a4.out"

# ---------------------------------------------------------------- hand-written ARPA
# no <unk>: the OOV is skipped (SRILM); P(a|<s>) = .1, P(</s>|<s> a) = bow(<s> a) P(</s>) = .1
printf '\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-99\t<s>\n-1\t</s>\n-1\ta\n\n\\2-grams:\n-1\t<s> a\n\n\\end\\\n' \
    >"$T/hand.arpa"
printf 'a zzz\n' >"$T/hand.txt"
expect 0 "a hand-written ARPA file without <unk>" \
    '^file .*: 1 sentences, 2 words, 1 OOVs, skipped$' "$E" --model "$T/hand.arpa" "$T/hand.txt"
check "OOV skipped: logprob -2 over 2 tokens" \
    grep -qx '0 zeroprobs, logprob= -2.00 ppl= 10.00 ppl1= 100.00' "$T/out"

# ---------------------------------------------------------------- skip-gram models
# (from zero, so that the saved epoch has skip-gram weights: from Kneser-Ney
# this small text keeps epoch 0, whose skip-gram weights are all 0)
"$B/nglm-train" --quiet --order 3 --features ngram,skip2 --skip-cutoff 1 --epochs 1 \
    --init zero --threads 1 --train "$T/small.train.txt" --valid "$T/small.valid.txt" \
    --model "$T/skip.nglm" >/dev/null
expect_error "a skip-gram model is refused" \
    "skip-gram features with non-zero weights, which ARPA cannot express: train with n-gram features alone" \
    "$X" --model "$T/skip.nglm" -o "$T/skip.arpa"
check "and nothing is written" test ! -e "$T/skip.arpa"
# skip-gram templates that hold no feature: an n-gram model, exported exactly
"$B/nglm-train" --quiet --order 3 --skip-cutoff 1000000 --epochs 1 --threads 1 \
    --train "$T/small.train.txt" --valid "$T/small.valid.txt" --model "$T/empty-skip.nglm" \
    >"$T/es.out"
expect 0 "skip-gram templates without features: exported" '' \
    "$X" --model "$T/empty-skip.nglm" -o "$T/empty-skip.arpa"
"$E" --model "$T/empty-skip.nglm" "$TEST" >"$T/es-native.out"
"$E" --model "$T/empty-skip.arpa" "$TEST" >"$T/es-arpa.out"
same_ppl "skip-gram templates without features: the ARPA file scores as the model" \
    "$T/es-native.out" "$T/es-arpa.out"

# ---------------------------------------------------------------- tokenization
# a model that splits and folds its text: the ARPA file says how (a '#'
# line before \data\, which ARPA readers pass over), nglm-eval applies it,
# and --print-tokens shows the tokens other tools must be given
printf 'The Cat, the dog.\nA Cat sat; the DOG ran!\nthe cat ran.\n' >"$T/raw.txt"
for i in 1 2 3 4 5 6; do cat "$T/raw.txt"; done >"$T/raw6.txt"
"$B/nglm-train" --quiet --tokenize word --lowercase --features ngram --order 3 --epochs 1 \
    --threads 1 --train "$T/raw6.txt" --valid "$T/raw.txt" --model "$T/tw.nglm" >/dev/null
expect 0 "export of a --tokenize word --lowercase model: a note on stderr" \
    "note: the model reads text tokenized as --tokenize word --lowercase" \
    "$X" --model "$T/tw.nglm" -o "$T/tw.arpa"
check "the ARPA file's first line says how the text is tokenized" \
    test "$(head -n 1 "$T/tw.arpa")" = "# nglm: the text is tokenized as --tokenize word --lowercase (nglm-eval --print-tokens shows the tokens)"
check "then \\data\\" test "$(sed -n 2p "$T/tw.arpa")" = '\data\'
"$E" --model "$T/tw.nglm" --digits 6 "$T/raw.txt" >"$T/tw-native.out"
"$E" --model "$T/tw.arpa" --digits 6 "$T/raw.txt" >"$T/tw-arpa.out"
same_ppl "nglm-eval reads the ARPA file's tokenization: the native perplexity" \
    "$T/tw-native.out" "$T/tw-arpa.out"
check "and no OOVs" grep -q ' 0 OOVs$' "$T/tw-arpa.out"
expect 0 "--print-tokens: the text as the model reads it" '' \
    "$E" --model "$T/tw.nglm" --print-tokens "$T/raw.txt"
check "--print-tokens: split and folded, a sentence a line" \
    test "$(sed -n 2p "$T/out")" = "a cat sat ; the dog ran !"
expect 0 "--print-tokens with the ARPA file: the same tokens" '' \
    "$E" --model "$T/tw.arpa" --print-tokens "$T/raw.txt"
check "the same tokens from the ARPA file" \
    test "$(sed -n 2p "$T/out")" = "a cat sat ; the dog ran !"
expect 0 "a default model's export has no such line" '' "$X" --model "$M" -o "$T/plain.arpa"
check "its first line is \\data\\" test "$(head -n 1 "$T/plain.arpa")" = '\data\'
expect_error "--print-tokens with --per-sentence" "scores nothing" \
    "$E" --model "$M" --print-tokens --per-sentence "$TEST"

# ---------------------------------------------------------------- bad usage
expect_error "missing --model" "^nglm-export: --model FILE is required" "$X"
"$X" 2>/dev/null
check "bad usage exits 2" test $? = 2
expect_error "an extra argument" "unexpected argument 'extra'" "$X" --model "$M" extra
expect_error "unknown option" "'--frobnicate'" "$X" --model "$M" --frobnicate
expect_error "-o without its value" "^nglm-export: -o needs a value" "$X" --model "$M" -o
expect_error "a missing model" "nope\.nglm: No such file" "$X" --model "$T/nope.nglm"
expect_error "a text file as the model" "not an nglm model file" "$X" --model "$TEST"
"$X" --model "$TEST" 2>/dev/null
check "a bad model exits 1" test $? = 1
expect_error "an unwritable output" "nodir/x\.arpa: cannot create a file in .*: No such file" \
    "$X" --model "$M" -o "$T/nodir/x.arpa"
if [ -w /dev/full ]; then
    expect_error "stdout full" "error writing" sh -c "'$X' --model '$M' >/dev/full"
fi

# ---------------------------------------------------------------- bad ARPA files
gzip -c "$T/m.arpa" | head -c 3000 >"$T/trunc.arpa.gz"
expect_error "a truncated .gz names the file, not zlib's descriptor" \
    "trunc\.arpa\.gz:[0-9]+: gzip data truncated or corrupt \(unexpected end of file\)\$" \
    "$E" --model "$T/trunc.arpa.gz" "$TEST"
printf '\\data\\\nngram 1=4\n\n\\1-grams:\n-99\t<s>\n0.5\ta\n-0.7\tb\n-0.4\t</s>\n\n\\end\\\n' \
    >"$T/positive.arpa"
expect_error "a positive log10 probability is refused, naming the line" \
    "positive\.arpa:6: positive log10 probability 0\.5 \(a probability above 1\)" \
    "$E" --model "$T/positive.arpa" "$TEST"
head -n 100 "$T/m.arpa" >"$T/trunc.arpa"
expect_error "a truncated ARPA file names file:line" \
    "trunc\.arpa:100: unexpected end of file after [0-9]+ of [0-9]+ 1-grams" \
    "$E" --model "$T/trunc.arpa" "$TEST"
"$E" --model "$T/trunc.arpa" "$TEST" 2>/dev/null
check "a bad ARPA file exits 1" test $? = 1
head -c 20000 "$T/m.arpa.gz" >"$T/trunc.arpa.gz"
expect_error "a truncated .gz" "trunc\.arpa\.gz:[0-9]+: (gzip data truncated|unexpected end)" \
    "$E" --model "$T/trunc.arpa.gz" "$TEST"
sed '2s/.*/ngram 1=7/' "$T/m.arpa" >"$T/count.arpa"
expect_error "wrong counts" "count\.arpa:[0-9]+: (more 1-grams than the 7 declared)" \
    "$E" --model "$T/count.arpa" "$TEST"
sed '9s/^-[0-9.e-]*/-1.2.3/' "$T/m.arpa" >"$T/num.arpa"
expect_error "a bad number" "num\.arpa:9: bad log10 probability '-1\.2\.3'" \
    "$E" --model "$T/num.arpa" "$TEST"
sed '$d' "$T/m.arpa" >"$T/noend.arpa"
expect_error "no end marker" "noend\.arpa:[0-9]+: unexpected end of file: missing" \
    "$E" --model "$T/noend.arpa" "$TEST"
# --from-arpa: the ARPA file as an nglm model that scores as it does (the
# exported ARPA of M, and nglm-kn's Kneser-Ney 3-gram), mapped by nglm-eval
"$E" --model "$T/m.arpa" --per-word --digits 12 "$TEST" >"$T/arpa.words"
expect 0 "--from-arpa converts an ARPA file" '' "$X" --from-arpa "$T/m.arpa" -o "$T/back.nglm"
"$E" --model "$T/back.nglm" --per-word --digits 12 "$TEST" >"$T/back.words"
check "the converted model scores every token as the ARPA file (1e-9 in log10)" \
    awk 'NR == FNR { a[NR] = $0; next } { n = split(a[FNR], x, "\t"); m = split($0, y, "\t");
         if (n != m) exit 1
         for (i = 1; i <= n; i++) { split(x[i], p, " "); split(y[i], q, " ")
             if (p[1] != q[1] || (p[3] - q[3]) ^ 2 > 1e-18) exit 1 } }' "$T/arpa.words" "$T/back.words"
"$B/nglm-kn" -o 3 --discount-fallback --train "$B/corpus/default.train.txt" --arpa "$T/kn3.arpa" 2>/dev/null
expect 0 "--from-arpa on nglm-kn's ARPA file" '' "$X" --from-arpa "$T/kn3.arpa" -o "$T/kn3.nglm"
"$E" --model "$T/kn3.arpa" "$TEST" >"$T/kn3a.out"
"$E" --model "$T/kn3.nglm" "$TEST" >"$T/kn3n.out"
check "its report is the ARPA file's" cmp -s "$T/kn3a.out" "$T/kn3n.out"
expect_error "--from-arpa needs -o" "--from-arpa needs -o OUT" "$X" --from-arpa "$T/m.arpa"
expect_error "--from-arpa with --model" "one way each" \
    "$X" --from-arpa "$T/m.arpa" --model "$M" -o "$T/x.nglm"
printf '\\data\\\nngram 1=3\n\n\\1-grams:\n-1 </s>\n-99 <s>\n-1 a\n\n\\end\\\n' >"$T/nounk.arpa"
expect_error "--from-arpa: an ARPA file without <unk>" "nounk\.arpa: the ARPA model has no <unk>" \
    "$X" --from-arpa "$T/nounk.arpa" -o "$T/x.nglm"
expect_error "--from-arpa does not replace a text file" "refusing to replace" \
    "$X" --from-arpa "$T/m.arpa" -o "$TEST"
# the ARPA reader is not tried on files that do not start like ARPA
expect_error "a text file is still not a model" "default\.test\.txt: not an nglm model file" \
    "$E" --model "$TEST" "$TEST"
finish
