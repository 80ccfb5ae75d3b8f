#!/bin/sh
# cli_gzip.sh — gzip-compressed texts: nglm-eval (TEXT and --heldout),
# nglm-kn and nglm-train (--train, --valid, --test) read them as the plain
# text, naming them as given; bad or truncated gzip data is one clear
# error; the uncompressed copy is never left behind.
. "$(dirname "$0")/cli_lib.sh"
E=$B/nglm-eval
TMPDIR=$T/tmp
export TMPDIR
mkdir "$TMPDIR"
"$B/nglm-gen" --quiet --tokens 20000 --seed 8 --prefix "$T/c"
gzip -c "$T/c.test.txt" >"$T/test.gz"
gzip -c "$T/c.train.txt" >"$T/train.gz"
"$B/nglm-kn" -o 2 --quiet --train "$T/c.train.txt" --arpa "$T/a.arpa"
"$B/nglm-kn" -o 2 --quiet --train "$T/train.gz" --arpa "$T/g.arpa"
check "nglm-kn: a .gz text gives the model of the plain text" cmp -s "$T/a.arpa" "$T/g.arpa"
"$E" --model "$T/a.arpa" "$T/c.test.txt" 2>/dev/null | sed 1d >"$T/plain.out"
expect 0 "nglm-eval reads a .gz TEXT" "^file $T/test.gz: " "$E" --model "$T/a.arpa" "$T/test.gz"
check "with the plain text's figures" test "$(sed 1d "$T/out" | grep -v warning)" = "$(cat "$T/plain.out")"
expect 0 "--per-word on a .gz TEXT" "Total: " "$E" --model "$T/a.arpa" --per-word "$T/test.gz"
"$B/nglm-kn" -o 2 --quiet --train "$T/c.valid.txt" --arpa "$T/b.arpa"
"$E" --model "$T/a.arpa" --mix "$T/b.arpa" --lambda auto --heldout "$T/c.valid.txt" \
    "$T/c.test.txt" >"$T/m1" 2>/dev/null
gzip -c "$T/c.valid.txt" >"$T/valid.gz"
"$E" --model "$T/a.arpa" --mix "$T/b.arpa" --lambda auto --heldout "$T/valid.gz" \
    "$T/test.gz" >"$T/m2" 2>/dev/null
check "a .gz --heldout and TEXT: the same weight and figures" \
    test "$(sed -n '1s/EM on [^,]*//p; 3,$p' "$T/m1")" = "$(sed -n '1s/EM on [^,]*//p; 3,$p' "$T/m2")"
printf '\037\213garbage' >"$T/bad.gz"
expect_error "bad gzip data is one clear error" "bad.gz: bad gzip data" \
    "$E" --model "$T/a.arpa" "$T/bad.gz"
head -c 3000 "$T/train.gz" >"$T/trunc.gz"
expect_error "a truncated .gz is one clear error" "trunc.gz: bad gzip data \(unexpected end" \
    "$E" --model "$T/a.arpa" "$T/trunc.gz"
expect 1 "nglm-kn on a truncated .gz fails" "bad gzip data" \
    "$B/nglm-kn" -o 2 --quiet --train "$T/trunc.gz" --arpa "$T/t.arpa"
check "no uncompressed copy is left behind" test -z "$(ls "$TMPDIR")"
NG="--order 2 --epochs 1 --features ngram --threads 1 --no-checkpoint"
"$B/nglm-train" $NG --train "$T/c.train.txt" --valid "$T/c.valid.txt" --test "$T/c.test.txt" \
    --model "$T/plain.nglm" >/dev/null
expect 0 "nglm-train reads .gz texts" "^valid $T/valid.gz: " \
    "$B/nglm-train" $NG --train "$T/train.gz" --valid "$T/valid.gz" --test "$T/test.gz" \
    --model "$T/gz.nglm"
check "naming them as given" grep -q "^test $T/test.gz: " "$T/out"
check "and trains the plain texts' model" cmp -s "$T/plain.nglm" "$T/gz.nglm"
expect 1 "nglm-train on a truncated .gz fails" "trunc.gz: bad gzip data" \
    "$B/nglm-train" $NG --train "$T/trunc.gz" --model "$T/t.nglm"
check "no uncompressed copy is left behind by nglm-train" test -z "$(ls "$TMPDIR")"
finish
