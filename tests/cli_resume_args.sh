#!/bin/sh
# cli_resume_args.sh — --resume compares the options with those the run
# was started with (MODEL.ckpt.args) before reading any text, and names
# the first that differs; --threads and how the run is watched may differ;
# the record goes with the checkpoint once the model is saved.
. "$(dirname "$0")/cli_lib.sh"
TR=$B/nglm-train
"$B/nglm-gen" --quiet --tokens 20000 --seed 12 --prefix "$T/c"
NG="--train $T/c.train.txt --valid $T/c.valid.txt --epochs 2 --quiet"
"$TR" $NG --order 3 --threads 1 --model "$T/m.nglm" --stop-after 1 >/dev/null
check "a stopped run leaves its checkpoint and options" \
    test -s "$T/m.nglm.ckpt" -a -s "$T/m.nglm.ckpt.args"
check "the options recorded, sorted, --threads and --stop-after left out" \
    test "$(tr '\n' ' ' <"$T/m.nglm.ckpt.args")" = \
    "--epochs 2 --order 3 --train $T/c.train.txt --valid $T/c.valid.txt "
expect_error "--resume with another --order: named" \
    "checkpoint .*m.nglm.ckpt was made with --order 3, this run gives --order 4" \
    "$TR" $NG --order 4 --model "$T/m.nglm" --resume
expect_error "--resume with an option added: named" \
    "was made without --lowercase \\(its default\\), this run gives --lowercase" \
    "$TR" $NG --order 3 --lowercase --model "$T/m.nglm" --resume
expect_error "--resume with an option left out: named" \
    "was made with --order 3, this run leaves it out \\(its default\\)" \
    "$TR" $NG --model "$T/m.nglm" --resume
expect 2 "(exit 2)" "" "$TR" $NG --order 4 --model "$T/m.nglm" --resume
# an empty file for a text: the refusal comes before any text is read
: >"$T/empty.txt"
expect_error "refused before the texts are read" "this run gives --train $T/empty.txt" \
    "$TR" --train "$T/empty.txt" --valid "$T/c.valid.txt" --epochs 2 --quiet --order 3 \
    --model "$T/m.nglm" --resume
expect 0 "--resume with --order=3, other --threads and --progress" "" \
    "$TR" $NG --order=3 --threads 2 --progress never --model "$T/m.nglm" --resume
check "the model is saved, the checkpoint and its options are gone" \
    test -s "$T/m.nglm" -a ! -e "$T/m.nglm.ckpt" -a ! -e "$T/m.nglm.ckpt.args"
finish
