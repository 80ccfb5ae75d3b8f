#!/bin/sh
# cli_lm_classlm.sh — a Model M file read by every program that reads a
# model (through nglm_lm): nglm-eval's report equals the trainer's test
# report, --per-word sums to it, a mixture with a word model is scored,
# nglm-sample draws from it, nglm-export refuses it in one line, and a
# damaged or truncated file is refused in one line, mapped or --verify.
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
# the mapped file's damaged weight (the last one, which ends where the block
# table starts: the u64 at byte 48) is refused by the scorer that reads its
# block (scoring the training text reads every weight), and by --verify
M="$T/m.nglmc"
at=$(( $(od -An -tu8 -j 48 -N8 "$M" | tr -d ' ') - 3 ))
cp "$M" "$T/weight.nglmc"
byte=$(od -An -tu1 -j $at -N1 "$M" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 16)))" | dd of="$T/weight.nglmc" bs=1 seek=$at conv=notrunc 2>/dev/null
check "the weight is damaged" sh -c "! cmp -s '$M' '$T/weight.nglmc'"
dmg='weight\.nglmc: bytes [0-9]+\.\.[0-9]+ \(block [0-9]+ of 64 KiB\) are damaged'
expect_error "a damaged weight, mapped: its block's checksum refuses it" "$dmg" \
    "$B/nglm-eval" --model "$T/weight.nglmc" "$T/s.train.txt"
expect_error "--verify finds the damaged block" "$dmg" \
    "$B/nglm-eval" --verify --model "$T/weight.nglmc" "$T/s.test.txt"
expect 0 "--verify on the sound file" 'logprob= ' \
    "$B/nglm-eval" --verify --model "$M" "$T/s.test.txt"
grep -E 'logprob= ' "$T/out" | head -n 1 >"$T/verify.report"
check "--verify's report is the mapped one's" cmp -s "$T/verify.report" "$T/eval.report"
head -c 1000 "$M" >"$T/cut.nglmc"
expect_error "a truncated file, mapped" 'cut\.nglmc: file is truncated' \
    "$B/nglm-eval" --model "$T/cut.nglmc" "$T/s.test.txt"
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
