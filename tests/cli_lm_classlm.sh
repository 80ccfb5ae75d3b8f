#!/bin/sh
# cli_lm_classlm.sh — a Model M file read by every program that reads a
# model (through nglm_lm): nglm-eval's report equals the trainer's test
# report, --per-word sums to it, a mixture with a word model is scored,
# nglm-sample draws from it, and nglm-export refuses it in one line.
. "$(dirname "$0")/cli_lib.sh"
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/s"
# classes by frequency rank, 8 of them (any classes will do here)
tr ' ' '\n' <"$T/s.train.txt" | grep . | sort | uniq -c | sort -k1,1nr -k2 |
    awk '{ printf "%s\t%d\n", $2, NR % 8 }' >"$T/classes"
expect 0 "trains Model M" '' \
    "$B/nglm-train" --classes "$T/classes" --order 3 --epochs 2 --batch 100 --threads 2 \
    --train "$T/s.train.txt" --valid "$T/s.valid.txt" --test "$T/s.test.txt" --model "$T/m.nglmc"
grep -E 'logprob= ' "$T/out" | head -n 1 >"$T/train.report"
expect 0 "nglm-eval reads Model M" 'logprob= ' \
    "$B/nglm-eval" --model "$T/m.nglmc" "$T/s.test.txt"
grep -E 'logprob= ' "$T/out" | head -n 1 >"$T/eval.report"
check "nglm-eval's report is the trainer's test report" cmp -s "$T/train.report" "$T/eval.report"
expect 0 "per-word scores" 'Total: ' \
    "$B/nglm-eval" --model "$T/m.nglmc" --per-word --digits 12 "$T/s.test.txt"
# the per-word totals add up to the report's logprob (to its 2 decimals)
sum=$(sed -n 's/.*Total: \([^ ]*\).*/\1/p' "$T/out" | awk '{ s += $1 } END { printf "%.2f", s }')
want=$(sed -n 's/.*logprob= \([^ ]*\).*/\1/p' "$T/eval.report")
check "per-word totals sum to the report ($sum, $want)" test "$sum" = "$want"
expect 0 "a word model to mix with" '' \
    "$B/nglm-train" --quiet --train "$T/s.train.txt" --valid "$T/s.valid.txt" --model "$T/w.nglm"
expect 0 "a mixture of a word model and Model M, weight by EM" 'mixture weight' \
    "$B/nglm-eval" --model "$T/w.nglm" --mix "$T/m.nglmc" --lambda auto \
    --heldout "$T/s.valid.txt" "$T/s.test.txt"
expect 0 "nglm-sample draws from Model M" '' \
    "$B/nglm-sample" --model "$T/m.nglmc" -n 3 --seed 7
check "three sentences" test "$(wc -l <"$T/out")" = 3
expect_error "nglm-export refuses Model M" 'Model M\) cannot be written as ARPA' \
    "$B/nglm-export" --model "$T/m.nglmc" -o "$T/m.arpa"
check "and writes nothing" test ! -e "$T/m.arpa"
finish
