#!/bin/sh
# cli_mix.sh — command-line tests of nglm-eval --mix: λ = 1 and λ = 0 give
# each model's own perplexity, a model mixed with itself (or with its ARPA
# export) keeps its perplexity for any λ, --lambda auto finds the weight
# that is best on the held-out text and says so, OOVs that an ARPA model
# skips are skipped and counted, and bad combinations are usage errors.
. "$(dirname "$0")/cli_lib.sh"
E=$B/nglm-eval
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/small"
TEST=$T/small.test.txt
VALID=$T/small.valid.txt
A=$T/a.nglm
B2=$T/b.nglm
"$B/nglm-train" --quiet --order 3 --epochs 2 --features ngram --threads 1 \
    --train "$T/small.train.txt" --valid "$VALID" --model "$A" >/dev/null
"$B/nglm-train" --quiet --order 2 --epochs 2 --features ngram --threads 1 --l1 2 \
    --train "$T/small.train.txt" --valid "$VALID" --model "$B2" >/dev/null
"$B/nglm-export" --model "$A" -o "$T/a.arpa"
"$B/nglm-export" --model "$B2" -o "$T/b.arpa.gz"
check "trained and exported two models" test -s "$A" -a -s "$B2" -a -s "$T/a.arpa"

# ppl_of FILE: the ppl= value of a report
ppl_of() { awk '/zeroprobs/ { for (i = 1; i < NF; i++) if ($i == "ppl=") print $(i + 1) }' "$1"; }
# same_ppl DESC FILE1 FILE2: the ppl= values of two reports differ by < 1e-6 (relative)
same_ppl() {
    check "$1" awk -v a="$(ppl_of "$2")" -v b="$(ppl_of "$3")" \
        'BEGIN { exit !(a > 0 && (a - b) / a < 1e-6 && (b - a) / a < 1e-6) }'
}

"$E" --model "$A" --digits 6 "$TEST" >"$T/a.out"
"$E" --model "$B2" --digits 6 "$TEST" >"$T/b.out"
check "the two models differ" test "$(ppl_of "$T/a.out")" != "$(ppl_of "$T/b.out")"

# ---------------------------------------------------------------- fixed weights
expect 0 "--lambda 1" '^mixture weight: 1 \(--lambda\)$' \
    "$E" --model "$A" --mix "$B2" --lambda 1 --digits 6 "$TEST"
same_ppl "--lambda 1 is model A's perplexity" "$T/out" "$T/a.out"
check "the weight, then the report" test "$(wc -l <"$T/out")" = $((1 + $(wc -l <"$T/a.out")))
check "the same header line as model A's" test "$(sed -n 2p "$T/out")" = "$(sed -n 1p "$T/a.out")"
expect 0 "--lambda 0" '^mixture weight: 0 \(--lambda\)$' \
    "$E" --model "$A" --mix "$B2" --lambda 0 --digits 6 "$TEST"
same_ppl "--lambda 0 is model B's perplexity" "$T/out" "$T/b.out"
expect 0 "no --lambda" '^mixture weight: 0\.5 \(default\)$' \
    "$E" --model "$A" --mix "$B2" --digits 6 "$TEST"
cp "$T/out" "$T/half.out"
mid=$(ppl_of "$T/half.out")
check "the even mixture is between the models or better ($mid)" awk -v m="$mid" \
    -v a="$(ppl_of "$T/a.out")" -v b="$(ppl_of "$T/b.out")" 'BEGIN { exit !(m < (a > b ? a : b)) }'
cp "$A" "$T/a-copy.nglm" # the same file twice is refused (below): a copy
for l in 0 0.3 0.77 1; do
    expect 0 "A mixed with itself, --lambda $l" '' \
        "$E" --model "$A" --mix "$T/a-copy.nglm" --lambda "$l" --digits 6 "$TEST"
    same_ppl "A mixed with itself keeps its perplexity (--lambda $l)" "$T/out" "$T/a.out"
    expect 0 "A mixed with its ARPA export, --lambda $l" '' \
        "$E" --model "$A" --mix "$T/a.arpa" --lambda "$l" --digits 6 "$TEST"
    same_ppl "and with its export (--lambda $l)" "$T/out" "$T/a.out"
done
expect 0 "an ARPA model A, gzip model B" '' \
    "$E" --model "$T/a.arpa" --mix "$T/b.arpa.gz" --lambda 0.5 --digits 6 "$TEST"
same_ppl "the same mixture as the native models" "$T/out" "$T/half.out"
expect 0 "--per-sentence" '' "$E" --model "$A" --mix "$B2" --lambda 0.4 --per-sentence "$TEST"
check "one line per sentence" \
    test "$(grep -c '^sentence ' "$T/out")" = "$(wc -l <"$TEST" | tr -d ' ')"
check "per-sentence log10 probs sum to the total" \
    awk '/^sentence/ { s += $4 } /^0 zeroprobs/ { t = $4 }
         END { d = s - t; exit !(d < 0.01 && d > -0.01) }' "$T/out"

# ---------------------------------------------------------------- EM
expect 0 "--lambda auto" \
    "^mixture weight: 0\.[0-9]+ \(EM on $VALID, [0-9]+ iterations\)\$" \
    "$E" --model "$A" --mix "$B2" --lambda auto --heldout "$VALID" --digits 6 "$VALID"
cp "$T/out" "$T/auto.out"
best=$(ppl_of "$T/auto.out")
lam=$(sed -n '1s/^mixture weight: \([0-9.]*\) .*/\1/p' "$T/auto.out")
for l in 0 0.1 0.3 0.5 0.7 0.9 1; do
    "$E" --model "$A" --mix "$B2" --lambda "$l" --digits 6 "$VALID" >"$T/l.out"
    check "the EM weight $lam beats --lambda $l on the held-out text" \
        awk -v b="$best" -v p="$(ppl_of "$T/l.out")" 'BEGIN { exit !(b <= p * (1 + 1e-9)) }'
done
"$E" --model "$A" --mix "$B2" --lambda "$lam" --digits 6 "$VALID" >"$T/l.out"
same_ppl "the report uses the weight it prints" "$T/l.out" "$T/auto.out"
expect 0 "A with itself: the weight stays 0.5" '^mixture weight: 0\.5 \(EM on .*, 1 iterations\)$' \
    "$E" --model "$A" --mix "$T/a-copy.nglm" --lambda auto --heldout "$VALID" "$TEST"
expect_error "--model and --mix the same file" \
    "--mix .*a\.nglm: the same file as --model .*a\.nglm: give each model once" \
    "$E" --model "$A" --mix "$A" --lambda 0.5 "$TEST"
ln -s "$A" "$T/a-link.nglm"
expect_error "--model and --mix the same file through a link" "the same file as --model" \
    "$E" --model "$A" --mix "$T/a-link.nglm" --lambda 0.5 "$TEST"

# ---------------------------------------------------------------- OOVs
printf '\\data\\\nngram 1=4\n\n\\1-grams:\n-99\t<s>\n-0.5\ta\n-0.7\tb\n-0.4\t</s>\n\n\\end\\\n' \
    >"$T/hand.arpa"
printf 'a b c\nb a\n' >"$T/abc.txt"
expect 0 "an ARPA model without <unk> alone" '1 OOVs, skipped$' "$E" --model "$T/hand.arpa" "$T/abc.txt"
cp "$T/out" "$T/hand.out"
cp "$T/hand.arpa" "$T/hand2.arpa"
expect 0 "mixed with itself" '' "$E" --model "$T/hand.arpa" --mix "$T/hand2.arpa" --lambda 0.2 "$T/abc.txt"
check "the same report (the OOV skipped and counted)" \
    test "$(sed 1d "$T/out")" = "$(cat "$T/hand.out")"
expect 0 "mixed with a model that reads every word as <unk>" '' \
    "$E" --model "$T/hand.arpa" --mix "$A" --lambda 1 "$T/abc.txt"
check "every word an OOV of one model, the skipped one left out" \
    test "$(sed -n 2,3p "$T/out")" = "$(sed '/ warning: /d; s/ 1 OOVs, skipped$/ 5 OOVs, skipped/' "$T/hand.out")"
check "and the four scored as <unk> by that model excluded on a third line" \
    grep -q '^excluding the 4 tokens scored as <unk>: logprob= ' "$T/out"

# ---------------------------------------------------------------- different readings
"$B/nglm-train" --quiet --order 2 --epochs 1 --tokenize char --threads 1 \
    --train "$VALID" --valid "$VALID" --model "$T/char.nglm" >/dev/null
expect_error "models that tokenize differently" "tokenizations different" \
    "$E" --model "$A" --mix "$T/char.nglm" "$TEST"
"$E" --model "$A" --mix "$T/char.nglm" "$TEST" >/dev/null 2>&1
check "exit 1" test $? = 1

# ---------------------------------------------------------------- several models
C3=$T/c.nglm
"$B/nglm-train" --quiet --order 4 --epochs 1 --features ngram,skip2 --threads 1 \
    --train "$T/small.train.txt" --valid "$VALID" --model "$C3" >/dev/null
expect 0 "three models, EM weights" \
    "^mixture weights: [0-9.e-]+ [0-9.e-]+ [0-9.e-]+ \(EM on $VALID, [0-9]+ iterations\)\$" \
    "$E" --mix "$A" --mix "$B2" --mix "$C3" --lambda auto --heldout "$VALID" \
    --write-mix "$T/abc.mix" --digits 6 "$TEST"
cp "$T/out" "$T/three.out"
its=$(sed -n '1s/.*, \([0-9]*\) iterations)$/\1/p' "$T/three.out")
check "EM took tens of updates, not hundreds ($its)" test "$its" -lt 100
check "the weights sum to 1" awk 'NR == 1 { s = $3 + $4 + $5; exit !(s > 0.999999 && s < 1.000001) }' \
    "$T/three.out"
check "--write-mix wrote a manifest" grep -q '^nglm-mixture 1$' "$T/abc.mix"
expect 0 "the manifest opened as a model" '^mixture weights: .* \(recorded in ' \
    "$E" --model "$T/abc.mix" --digits 6 "$TEST"
check "the same report as the mixture it records" test "$(sed 1d "$T/out")" = "$(sed 1d "$T/three.out")"
expect 0 "nglm-sample draws from the manifest" '' "$B/nglm-sample" --model "$T/abc.mix" -n 3
check "three sentences" test "$(wc -l <"$T/out")" = 3
expect 0 "fixed weights for three" '^mixture weights: 0\.2 0\.3 0\.5 \(--lambda\)$' \
    "$E" --model "$A" --mix "$B2" --mix "$C3" --lambda 0.2,0.3,0.5 "$TEST"
expect 0 "a manifest mixed with another model" '^mixture weight: 0\.5 \(default\)$' \
    "$E" --model "$T/abc.mix" --mix "$A" "$TEST"
# a moved or changed component is refused in one line
cp "$A" "$T/a2.nglm"
"$E" --mix "$T/a2.nglm" --mix "$B2" --write-mix "$T/a2.mix" "$TEST" >/dev/null
expect 0 "a manifest with a copy" '' "$E" --model "$T/a2.mix" "$TEST"
printf 'x' >>"$T/a2.nglm"
expect_error "a changed component" "a2\.mix:3: .*a2\.nglm has changed since the mixture was written" \
    "$E" --model "$T/a2.mix" "$TEST"
rm "$T/a2.nglm"
expect_error "a moved component" "a2\.mix:3: .*a2\.nglm: No such file.*moved or removed" \
    "$E" --model "$T/a2.mix" "$TEST"
expect_error "the same file twice" "--mix .*a\.nglm: the same file as --mix .*a\.nglm" \
    "$E" --mix "$A" --mix "$A" "$TEST"
expect_error "one model is no mixture" "a mixture needs two models or more" \
    "$E" --mix "$A" "$TEST"
set --
for i in $(seq 100); do set -- "$@" --mix "$A"; done
expect_error "100 models" "a mixture of 100 models: at most 64" "$E" "$@" "$TEST"
expect_error "weights that do not sum to 1" "--lambda: the weights sum to 1\.1, not 1" \
    "$E" --model "$A" --mix "$B2" --mix "$C3" --lambda 0.5,0.3,0.3 "$TEST"
expect_error "a weight per model" "--lambda: 2 weights for 3 models" \
    "$E" --model "$A" --mix "$B2" --mix "$C3" --lambda 0.5,0.5 "$TEST"
expect_error "one weight for three" "--lambda: 1 weight for 3 models" \
    "$E" --model "$A" --mix "$B2" --mix "$C3" --lambda 0.5 "$TEST"
expect_error "--write-mix without --mix" "--write-mix is used only with --mix" \
    "$E" --model "$A" --write-mix "$T/x.mix" "$TEST"

# ---------------------------------------------------------------- bad usage
expect_error "--lambda without --mix" "--lambda is used only with --mix" \
    "$E" --model "$A" --lambda 0.5 "$TEST"
expect_error "--heldout without --mix" "--heldout is used only with --lambda auto or a cache.s auto" \
    "$E" --model "$A" --heldout "$VALID" "$TEST"
expect_error "--lambda auto without --heldout" "--lambda auto needs --heldout" \
    "$E" --model "$A" --mix "$B2" --lambda auto "$TEST"
expect_error "--heldout with a fixed weight" "--heldout is used only with --lambda auto" \
    "$E" --model "$A" --mix "$B2" --lambda 0.5 --heldout "$VALID" "$TEST"
for l in 1.5 -0.1 nan abc; do
    expect_error "--lambda $l" "--lambda: '$l' is" "$E" --model "$A" --mix "$B2" --lambda "$l" "$TEST"
    "$E" --model "$A" --mix "$B2" --lambda "$l" "$TEST" 2>/dev/null
    check "--lambda $l exits 2" test $? = 2
done
"$E" --model "$A" --mix "$B2" --lambda auto --heldout "$TEST" "$TEST" 2>/dev/null |
    sed 's/EM on [^,]*,/EM on X,/; s/^file [^:]*:/file X:/' >"$T/mixfile.out"
expect 0 "TEXT from stdin (copied, as each model reads it)" "^file \(stdin\): " \
    sh -c "'$E' --model '$A' --mix '$B2' --lambda auto --heldout '$TEST' - <'$TEST'"
check "the same report as from the file" \
    test "$(sed 's/EM on [^,]*,/EM on X,/; s/^file [^:]*:/file X:/' "$T/out")" = "$(cat "$T/mixfile.out")"
expect 0 "--heldout from stdin" "" \
    sh -c "'$E' --model '$A' --mix '$B2' --lambda auto --heldout - '$TEST' <'$TEST'"
check "the same report as from the file" \
    test "$(sed 's/EM on [^,]*,/EM on X,/; s/^file [^:]*:/file X:/' "$T/out")" = "$(cat "$T/mixfile.out")"
expect_error "--heldout and TEXT both from stdin" "cannot both be '-'" \
    sh -c "'$E' --model '$A' --mix '$B2' --lambda auto --heldout - - <'$TEST'"
expect_error "a missing --mix model" "nope\.nglm: No such file" \
    "$E" --model "$A" --mix "$T/nope.nglm" "$TEST"
expect_error "a text as the --mix model" "not an nglm model file" \
    "$E" --model "$A" --mix "$TEST" "$TEST"
expect_error "a missing held-out text" "missing\.txt: No such file" \
    "$E" --model "$A" --mix "$B2" --lambda auto --heldout "$T/missing.txt" "$TEST"
: >"$T/empty.txt"
expect_error "an empty held-out text" "cannot estimate the mixture weight" \
    "$E" --model "$A" --mix "$B2" --lambda auto --heldout "$T/empty.txt" "$TEST"
finish
