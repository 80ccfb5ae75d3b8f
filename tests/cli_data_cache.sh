#!/bin/sh
# cli_data_cache.sh — nglm-train's data cache is --data-cache DIR; the old
# --cache DIR still works with a note, but a value that names nglm-eval's
# cache of the recent past (auto, model, decay:L, ...) is refused instead
# of making a directory of that name.
. "$(dirname "$0")/cli_lib.sh"
TR=$B/nglm-train
"$B/nglm-gen" --quiet --tokens 20000 --seed 7 --prefix "$T/c"
CA="--order 2 --epochs 1 --features ngram --threads 1 --quiet --train $T/c.train.txt \
--valid $T/c.valid.txt"
cd "$T" || exit 1
"$TR" $CA --model "$T/plain.nglm" >/dev/null
expect 0 "--data-cache DIR fills DIR" "" "$TR" $CA --data-cache "$T/dc" --model "$T/a.nglm"
check "with a vocabulary and id streams" test -n "$(ls "$T/dc" | grep '\.ids$')"
check "and the same model" cmp -s "$T/plain.nglm" "$T/a.nglm"
"$TR" $CA --cache "$T/old" --model "$T/b.nglm" >"$T/o" 2>"$T/e"
check "--cache DIR, the old spelling, still fills DIR" test -n "$(ls "$T/old" | grep '\.ids$')"
check "with one note on stderr" test "$(grep -c 'now --data-cache' "$T/e")" = 1
check "and the same model" cmp -s "$T/plain.nglm" "$T/b.nglm"
for v in auto model none decay:100 window:50 decay:50,bigram:20; do
    expect_error "--cache $v is nglm-eval's kind of cache: refused" \
        "--cache $v: nglm-train has no cache of the recent past: --eval-cache auto" \
        "$TR" $CA --cache "$v" --model "$T/x.nglm"
    check "and no directory named $v is made" test ! -e "$T/$v"
done
expect 2 "(exit 2)" "" "$TR" $CA --cache auto --model "$T/x.nglm"
expect_error "--cache with --data-cache" "give --data-cache alone" \
    "$TR" $CA --cache "$T/old" --data-cache "$T/dc" --model "$T/x.nglm"
finish
