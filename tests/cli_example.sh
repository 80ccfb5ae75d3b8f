#!/bin/sh
# cli_example.sh — the examples, built against the public headers only:
# examples/score prints the log10 probability of a sentence that nglm-eval
# --per-sentence prints for the same sentence (with -w, its words' too,
# which sum to it), and fails cleanly on a bad model; examples/train,
# through the library's pipeline, makes the same model, byte for byte, as
# nglm-train with the same text.
. "$(dirname "$0")/cli_lib.sh"
X=$B/examples/score
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/small"
M=$T/m.nglm
"$B/nglm-train" --quiet --order 3 --epochs 2 --features ngram --threads 1 \
    --train "$T/small.train.txt" --valid "$T/small.valid.txt" --model "$M" >/dev/null
check "trained a model" test -s "$M"

for n in 1 2 3; do
    sed -n "${n}p" "$T/small.test.txt" >"$T/one.txt"
    expect 0 "scores test sentence $n" '^-[0-9]+\.[0-9]{6}$' "$X" "$M" $(cat "$T/one.txt")
    cp "$T/out" "$T/score.out"
    "$B/nglm-eval" --model "$M" --per-sentence "$T/one.txt" >"$T/eval.out"
    check "the log10 probability of nglm-eval --per-sentence" \
        awk 'NR == FNR { x = $1; next } /^sentence 1:/ { d = x - $4; exit !(d < 1e-4 && d > -1e-4) }' \
        "$T/score.out" "$T/eval.out"
done
expect 0 "an OOV is scored as <unk>" '^-[0-9]+\.[0-9]+$' "$X" "$M" xyzzy plugh
expect 0 "no words: just </s>" '^-[0-9]+\.[0-9]+$' "$X" "$M"
# -w: a line per token, which sum to the total; the unknown word as <unk>
W=$(head -n 1 "$T/small.test.txt")
expect 0 "-w: the words, then the total" '^</s>	-[0-9]+\.[0-9]{6}	[1-3]$' "$X" -w "$M" $W xyzzy
check "-w: a line per word and </s>, and the total" \
    test "$(wc -l <"$T/out")" -eq "$(($(echo $W | wc -w) + 3))"
check "-w: the words' log10 probabilities sum to the total" \
    awk -F '\t' 'NF == 3 { s += $2; n++; next } { d = s - $1; exit !(d < 1e-5 * n && d > -1e-5 * n) }' \
    "$T/out"
check "-w: an unknown word is <unk>, the others are themselves" \
    sh -c "cut -f 1 '$T/out' | head -n -2 | tr '\n' ' ' | grep -qx '$(echo $W) <unk> '"
"$X" "$M" $W xyzzy >"$T/total.out"
check "-w: the same total as without" sh -c "tail -n 1 '$T/out' | cmp -s - '$T/total.out'"
expect_error "a missing model" "nope\.nglm" "$X" "$T/nope.nglm" a b
expect 2 "no arguments: usage" '^usage: ' "$X"

# examples/train: the pipeline as nglm-train runs it
XT=$B/examples/train
expect 0 "examples/train trains and saves" '^saved .*: valid ppl [0-9.]+$' \
    "$XT" "$T/small.train.txt" "$T/ex.nglm"
check "the stage lines of nglm-train" grep -q '^Kneser-Ney start: valid ppl' "$T/out"
"$B/nglm-train" --quiet --no-checkpoint --train "$T/small.train.txt" --model "$T/tr.nglm" >/dev/null
check "the same model as nglm-train" cmp "$T/ex.nglm" "$T/tr.nglm"
"$XT" "$T/small.train.txt" "$T/ex3.nglm" 2 >/dev/null
"$B/nglm-train" --quiet --no-checkpoint --order 2 --train "$T/small.train.txt" \
    --model "$T/tr3.nglm" >/dev/null
check "the same model as nglm-train --order 2" cmp "$T/ex3.nglm" "$T/tr3.nglm"
expect_error "a missing text" "nope\.txt" "$XT" "$T/nope.txt" "$T/ex2.nglm"
expect 2 "examples/train without arguments: usage" '^usage: ' "$XT"
finish
