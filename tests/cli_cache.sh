#!/bin/sh
# cli_cache.sh — command-line tests of nglm-eval --cache: the first line
# says which cache and weights were used, a weight of 0 is the cache-free
# report, a text that repeats itself gains, the held-out choices (--cache
# auto, --cache-lambda auto) are made and named, the same cache works on an
# ARPA file (the same figures as its model), with --mix and with
# --per-sentence (which sums to the total), and bad specifications are
# usage errors.
. "$(dirname "$0")/cli_lib.sh"
E=$B/nglm-eval
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/small"
TEST=$T/small.test.txt
VALID=$T/small.valid.txt
M=$T/m.nglm
"$B/nglm-train" --quiet --order 3 --epochs 1 --features ngram --threads 1 \
    --train "$T/small.train.txt" --valid "$VALID" --model "$M" >/dev/null
"$B/nglm-export" --model "$M" -o "$T/m.arpa"
check "trained and exported a model" test -s "$M" -a -s "$T/m.arpa"
ppl_of() { awk '/zeroprobs/ { for (i = 1; i < NF; i++) if ($i == "ppl=") print $(i + 1) }' "$1"; }
"$E" --model "$M" --digits 6 "$TEST" >"$T/plain.out"

# ---------------------------------------------------------------- fixed caches
expect 0 "--cache decay:100" '^cache: decay:100, weight 0\.1 \(default weights\)$' \
    "$E" --model "$M" --cache decay:100 --digits 6 "$TEST"
check "then the usual report" test "$(sed 1d "$T/out" | sed -n 1p)" = "$(sed -n 1p "$T/plain.out")"
expect 0 "--cache-lambda 0 is the cache-free report" '' \
    "$E" --model "$M" --cache window:50 --cache-lambda 0 --digits 6 "$TEST"
check "--cache-lambda 0: the same lines as without a cache" \
    test "$(sed 1d "$T/out")" = "$(cat "$T/plain.out")"
# a text that says everything twice: the cache knows the second half
cat "$TEST" "$TEST" >"$T/twice.txt"
"$E" --model "$M" --digits 6 "$T/twice.txt" >"$T/twice-plain.out"
expect 0 "--cache decay:200,bigram:200 on a repeated text" \
    '^cache: decay:200,bigram:200, weights 0\.1 and 0\.05 \(default weights\)$' \
    "$E" --model "$M" --cache decay:200,bigram:200 --digits 6 "$T/twice.txt"
check "the repeated text's perplexity falls with the cache" awk -v a="$(ppl_of "$T/out")" \
    -v b="$(ppl_of "$T/twice-plain.out")" 'BEGIN { exit !(a < b) }'

# ---------------------------------------------------------------- chosen on held-out text
expect 0 "--cache-lambda auto" \
    '^cache: decay:100, weight [0-9.e-]+ \(EM on .*small\.valid\.txt, [0-9]+ iterations\)$' \
    "$E" --model "$M" --cache decay:100 --cache-lambda auto --heldout "$VALID" "$TEST"
expect 0 "--cache auto" '^cache: (decay|window):[0-9]+(,bigram:[0-9]+)?, weights? .*\(chosen on ' \
    "$E" --model "$M" --cache auto --heldout "$VALID" --digits 6 "$TEST"
cp "$T/out" "$T/auto.out"
spec=$(sed -n 's/^cache: \([^,]*\(,bigram:[0-9]*\)\?\), .*/\1/p' "$T/auto.out")
weights=$(sed -n 's/^cache: [^ ]* weights\? \([0-9.e-]*\)\( and \([0-9.e-]*\)\)\? .*/\1,\3/p' "$T/auto.out" | sed 's/,$//')
expect 0 "the choice, given back as options, gives the same report" '' \
    "$E" --model "$M" --cache "$spec" --cache-lambda "$weights" --digits 6 "$TEST"
check "the same perplexity as --cache auto" test "$(ppl_of "$T/out")" = "$(ppl_of "$T/auto.out")"

# ---------------------------------------------------------------- ARPA, mixtures, sentences
"$E" --model "$M" --cache decay:50,bigram:100 --cache-lambda 0.2,0.1 --digits 6 "$TEST" >"$T/n.out"
expect 0 "an ARPA file takes the cache" '' \
    "$E" --model "$T/m.arpa" --cache decay:50,bigram:100 --cache-lambda 0.2,0.1 --digits 6 "$TEST"
check "the ARPA file: the model's figure with the cache" awk -v a="$(ppl_of "$T/out")" \
    -v b="$(ppl_of "$T/n.out")" 'BEGIN { d = (a - b) / b; exit !(d < 1e-6 && d > -1e-6) }'
expect 0 "--mix with a cache: the weight line, then the cache line" \
    '^cache: decay:50, weight 0\.2 \(--cache-lambda\)$' \
    "$E" --model "$M" --mix "$T/m.arpa" --lambda 0.3 --cache decay:50 --cache-lambda 0.2 \
    --digits 6 "$TEST"
check "--mix: its first line is the mixture weight" grep -q '^mixture weight: 0\.3 ' "$T/out"
expect 0 "--per-sentence with a cache" '' \
    "$E" --model "$M" --cache decay:50 --per-sentence --digits 6 "$TEST"
expect 0 "--per-word with a cache" '' \
    "$E" --model "$M" --cache decay:50 --per-word --digits 6 "$TEST"
check "per-word totals sum to the cached total" \
    awk '{ for (i = 1; i <= NF; i++) if ($i == "Total:") s += $(i + 1) } /^0 zeroprobs/ { t = $4 }
         END { d = s - t; exit !(d < 0.01 && d > -0.01) }' "$T/out"
"$E" --model "$M" --cache decay:50 --per-sentence --digits 6 "$TEST" >"$T/out"
check "per-sentence log10 probabilities sum to the cached total" \
    awk '/^sentence/ { s += $4 } /^0 zeroprobs/ { t = $4 }
         END { d = s - t; exit !(d < 0.01 && d > -0.01) }' "$T/out"

# a document boundary: a line holding only the reset word empties the cache
w=$(head -n 1 "$TEST" | cut -d' ' -f1)
{ head -n 20 "$TEST"; echo "$w"; sed -n 21,40p "$TEST"; } >"$T/docs.txt"
sed -n 21,40p "$TEST" >"$T/doc2.txt"
expect 0 "--cache-reset WORD" '' "$E" --model "$M" --cache decay:50 --cache-reset "$w" \
    --per-sentence --digits 6 "$T/docs.txt"
sed -n 's/^sentence \([0-9]*\): //p' "$T/out" | sed -n '22,41p' >"$T/after-reset"
"$E" --model "$M" --cache decay:50 --per-sentence --digits 6 "$T/doc2.txt" >"$T/out2"
sed -n 's/^sentence \([0-9]*\): //p' "$T/out2" | sed -n '1,20p' >"$T/fresh"
check "after the boundary, the sentences score as in a text of their own" \
    cmp -s "$T/after-reset" "$T/fresh"
expect_error "--cache-reset: a word the model lacks" "not a word of the model" \
    "$E" --model "$M" --cache decay:50 --cache-reset "no-such-word-zz" "$TEST"

# nglm-train --eval-cache auto: the test figure with the cache chosen on
# the validation text, nglm-eval's for the saved model
expect 0 "nglm-train --eval-cache auto" \
    "^test ppl [0-9.]+ with the cache (decay|window):[0-9]+.* \(chosen on the validation text, where it gives [0-9.]+\), vs [0-9.]+ without" \
    "$B/nglm-train" --order 3 --epochs 1 --features ngram --threads 1 --train "$T/small.train.txt" \
    --valid "$VALID" --test "$TEST" --model "$T/ec.nglm" --eval-cache auto
ec_ppl=$(sed -n 's/^test ppl \([0-9.]*\) with the cache.*/\1/p' "$T/out")
"$E" --model "$T/ec.nglm" --cache auto --heldout "$VALID" "$TEST" >"$T/ec.out"
check "--eval-cache: nglm-eval --cache auto's figure" test "$ec_ppl" = "$(ppl_of "$T/ec.out")"
expect 0 "--cache model: the cache the model records" '^cache: .*\(recorded in the model\)$' \
    "$E" --model "$T/ec.nglm" --cache model "$TEST"
check "--cache model: the same figure" test "$ec_ppl" = "$(ppl_of "$T/out")"
check "--cache model: the same cache line as --cache auto's, but for how" \
    test "$(sed -n 1p "$T/out" | sed 's/ (recorded.*//')" = "$(sed -n 1p "$T/ec.out" | sed 's/ (chosen.*//')"
expect_error "--cache model on a model that records none" "the model records no cache" \
    "$E" --model "$M" --cache model "$TEST"
expect_error "--cache model with --cache-lambda" "takes the model's weights too" \
    "$E" --model "$T/ec.nglm" --cache model --cache-lambda 0.1 "$TEST"
expect_error "--eval-cache: only auto" "--eval-cache: 'decay:5' is not auto" \
    "$B/nglm-train" --train "$T/small.train.txt" --model "$T/ec2.nglm" --eval-cache decay:5

# ---------------------------------------------------------------- bad usage
expect_error "an unknown kind" "--cache: cache 'lru:5': unknown kind" \
    "$E" --model "$M" --cache lru:5 "$TEST"
expect_error "a window that is not an integer" "must be an integer" \
    "$E" --model "$M" --cache window:2.5 "$TEST"
expect_error "weights above 1 together" "together at most 1" \
    "$E" --model "$M" --cache decay:9,bigram:9 --cache-lambda 0.7,0.6 "$TEST"
expect_error "one weight for two caches" "is not W1,W2" \
    "$E" --model "$M" --cache decay:9,bigram:9 --cache-lambda 0.1 "$TEST"
expect_error "--cache auto without --heldout" "--cache auto needs --heldout" \
    "$E" --model "$M" --cache auto "$TEST"
expect_error "--cache-lambda auto without --heldout" "--cache-lambda auto needs --heldout" \
    "$E" --model "$M" --cache decay:9 --cache-lambda auto "$TEST"
expect_error "--cache window:0" "cache 'window:0': the length must be an integer in 1\.\.1e9" \
    "$E" --model "$M" --cache window:0 "$TEST"
expect_error "a negative weight" "--cache-lambda: '-0\.1' is not a weight" \
    "$E" --model "$M" --cache decay:10 --cache-lambda -0.1 "$TEST"
expect_error "a NaN weight" "--cache-lambda: 'nan' is not a weight" \
    "$E" --model "$M" --cache decay:10 --cache-lambda nan "$TEST"
# a weight of 1 is the cache alone: words it has not seen get probability
# 0, reported as zeroprobs and left out of ppl, as SRILM does
expect 0 "a weight of 1: the cache alone" '^[1-9][0-9]* zeroprobs, logprob= ' \
    "$E" --model "$M" --cache decay:10 --cache-lambda 1 "$TEST"
: >"$T/empty.txt"
expect_error "--cache-lambda auto on an empty held-out text" \
    "empty\.txt: cache: no held-out token to choose the weights on" \
    "$E" --model "$M" --cache decay:10 --cache-lambda auto --heldout "$T/empty.txt" "$TEST"
expect_error "--cache auto on an empty held-out text" "no held-out token" \
    "$E" --model "$M" --cache auto --heldout "$T/empty.txt" "$TEST"
expect_error "--cache-lambda without --cache" "--cache-lambda goes with --cache" \
    "$E" --model "$M" --cache-lambda 0.1 "$TEST"
expect_error "--cache with --print-tokens" "cannot go with --cache" \
    "$E" --model "$M" --cache decay:9 --print-tokens "$TEST"
finish
