#!/bin/sh
# cli_count.sh — counting within --memory: the model bytes do not depend on
# --memory (spilling or not) or --threads; the vocabulary counted on several
# threads is the same; a full disk while spilling is one clear error and
# leaves no temporary file behind.
. "$(dirname "$0")/cli_lib.sh"
TR=$B/nglm-train
"$B/nglm-gen" --quiet --tokens 60000 --seed 5 --prefix "$T/c"
NG="--order 4 --epochs 1 --quiet --train $T/c.train.txt --valid $T/c.valid.txt"
mkdir "$T/tmp"

"$TR" $NG --threads 1 --model "$T/a.nglm" --write-vocab "$T/a.vocab" >/dev/null
for th in 1 2 4; do
    expect 0 "--memory 64K --threads $th trains" "" \
        "$TR" $NG --threads $th --memory 64K --temp-dir "$T/tmp" \
        --model "$T/m$th.nglm" --write-vocab "$T/m$th.vocab"
    check "--memory 64K --threads $th: same vocabulary" cmp -s "$T/a.vocab" "$T/m$th.vocab"
    check "--memory 64K --threads $th: same model bytes" cmp -s "$T/a.nglm" "$T/m$th.nglm"
done
check "no temporary file is left" test -z "$(ls "$T/tmp")"

expect_error "a full disk while spilling is one clear error" \
    "counting: writing a temporary file in $T/tmp .*: File too large" \
    sh -c "ulimit -f 16; exec '$TR' $NG --threads 2 --memory 64K --temp-dir '$T/tmp' --model '$T/f.nglm'"
check "and leaves no temporary file" test -z "$(ls "$T/tmp")"
check "and no model" test ! -e "$T/f.nglm"
expect_error "a missing --temp-dir is one clear error when counting spills" \
    "cannot create a temporary file in $T/nodir" \
    "$TR" $NG --memory 64K --temp-dir "$T/nodir" --model "$T/f.nglm"
expect_error "--memory 0 is bad usage" "--memory" "$TR" $NG --memory 0
finish
