#!/bin/sh
# cli_nbest.sh — nglm-eval --nbest: a score and an OOV count a hypothesis
# on stdout, in the list's order, for lists with an id column (Kaldi's
# text form), SRILM's plain form and NBestList1.0, each score the one the
# sentence gets as a TEXT; totals on stderr; empty hypotheses and ids in
# any order are scored; malformed lines are one clear error; and
# --per-sentence gives each sentence's OOV count.
. "$(dirname "$0")/cli_lib.sh"
E=$B/nglm-eval
"$B/nglm-gen" --quiet --tokens 20000 --seed 9 --prefix "$T/c"
"$B/nglm-kn" -o 3 --quiet --train "$T/c.train.txt" --arpa "$T/m.arpa"
head -n 5 "$T/c.test.txt" >"$T/five.txt"
# each line's log10 probability as a TEXT, with 4 decimals
"$E" --model "$T/m.arpa" --per-sentence --digits 4 "$T/five.txt" 2>/dev/null |
    sed -n 's/^sentence [0-9]*: logprob= \([^ ]*\) .*/\1/p' >"$T/want"
awk '{ print "utt" (6 - NR) "-1 " $0 }' "$T/five.txt" >"$T/ids.txt"
echo "utt9-2" >>"$T/ids.txt"
"$E" --model "$T/m.arpa" --nbest "$T/ids.txt" --digits 4 >"$T/o" 2>"$T/e"
check "ids and words: a line a hypothesis on stdout, in the list's order" \
    test "$(cut -f1 "$T/o" | tr '\n' ' ')" = "utt5-1 utt4-1 utt3-1 utt2-1 utt1-1 utt9-2 "
check "each score is the sentence's as a TEXT" \
    test "$(head -n 5 "$T/o" | cut -f2)" = "$(cat "$T/want")"
check "the empty hypothesis scores </s> alone" \
    test "$(sed -n 6p "$T/o" | cut -f3,4)" = "$(printf '0\t0')"
check "the totals on stderr" grep -Eq "ids.txt: 6 hypotheses, [0-9]+ words, [0-9]+ OOVs, logprob= " "$T/e"
echo "utt7-1 $(head -n 1 "$T/five.txt") zzqx qqzz" >"$T/oov.txt"
"$E" --model "$T/m.arpa" --nbest "$T/oov.txt" >"$T/o" 2>/dev/null
check "the OOVs of a hypothesis are counted" test "$(cut -f3 "$T/o")" = 2
cut -d' ' -f2- "$T/oov.txt" >"$T/oov-text.txt"
"$E" --model "$T/m.arpa" --per-sentence "$T/oov-text.txt" >"$T/ps" 2>/dev/null
check "--per-sentence gives a sentence's OOVs too" grep -q '^sentence 1: .* oovs= 2$' "$T/ps"
awk '{ print "-100.5 -20 " NF " " $0 }' "$T/five.txt" >"$T/srilm.txt"
"$E" --model "$T/m.arpa" --nbest "$T/srilm.txt" --digits 4 >"$T/o" 2>/dev/null
check "SRILM's plain form: the same scores, ids 1.." \
    test "$(cut -f1,2 "$T/o")" = "$(paste "$T/want" "$T/want" | awk '{ print NR "\t" $1 }')"
{ echo NBestList1.0; sed 's/^/(-123.4) /' "$T/five.txt"; } >"$T/v1.txt"
"$E" --model "$T/m.arpa" --nbest "$T/v1.txt" --digits 4 >"$T/o2" 2>/dev/null
check "NBestList1.0: the same" cmp -s "$T/o" "$T/o2"
"$E" --model "$T/m.arpa" --nbest - --digits 4 <"$T/v1.txt" >"$T/o3" 2>/dev/null
check "from stdin: the same" cmp -s "$T/o" "$T/o3"

echo "-1 -2 4 three words only" >"$T/bad1.txt"
expect_error "SRILM's form with the wrong word count" "bad1.txt:1: 3 words, but the line says 4" \
    "$E" --model "$T/m.arpa" --nbest "$T/bad1.txt"
printf -- '-1 -2 2 two words\nno numbers here\n' >"$T/bad2.txt"
expect_error "a line that leaves the form" "bad2.txt:2: not a line of SRILM's n-best form" \
    "$E" --model "$T/m.arpa" --nbest "$T/bad2.txt"
printf 'NBestList1.0\n(-1) a b\nc d\n' >"$T/bad3.txt"
expect_error "NBestList1.0 without a score" "bad3.txt:3: not an NBestList1.0 line" \
    "$E" --model "$T/m.arpa" --nbest "$T/bad3.txt"
printf 'NBestList2.0\n' >"$T/bad4.txt"
expect_error "NBestList2.0 is refused" "only NBestList1.0 and the plain one" \
    "$E" --model "$T/m.arpa" --nbest "$T/bad4.txt"
expect_error "a missing list" "--nbest: $T/none.txt: No such file" \
    "$E" --model "$T/m.arpa" --nbest "$T/none.txt"
expect_error "--nbest with a TEXT" "give no TEXT too" \
    "$E" --model "$T/m.arpa" --nbest "$T/ids.txt" "$T/five.txt"
expect_error "--nbest with --per-word" "cannot go with --per-word" \
    "$E" --model "$T/m.arpa" --nbest "$T/ids.txt" --per-word
: >"$T/empty.txt"
expect 0 "an empty list: nothing to score" "0 hypotheses" \
    "$E" --model "$T/m.arpa" --nbest "$T/empty.txt"
finish
