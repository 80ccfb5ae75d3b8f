#!/bin/sh
# cli_gzip.sh — gzip-compressed texts: nglm-eval (TEXT and --heldout) and
# nglm-kn read them as the plain text; bad or truncated gzip data is one
# clear error; the uncompressed copy is never left behind; nglm-train
# still refuses them with a hint.
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
expect_error "nglm-train refuses a .gz text with a hint" "gzip-compressed.*zcat" \
    "$B/nglm-train" --quiet --order 2 --epochs 1 --train "$T/train.gz" --model "$T/x.nglm"
finish
