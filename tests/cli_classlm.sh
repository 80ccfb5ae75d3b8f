#!/bin/sh
# cli_classlm.sh — nglm-train --classes: Model M trained from a class file,
# its epoch lines and test report, the same model for 1 and 2 threads, and
# bad class files refused in one line.
. "$(dirname "$0")/cli_lib.sh"
TR=$B/nglm-train
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/small"
TXT=$T/small.train.txt
# classes by frequency rank, 8 of them (any classes will do for the test)
tr ' ' '\n' <"$TXT" | grep . | sort | uniq -c | sort -k1,1nr -k2 |
    awk '{ printf "%s\t%d\n", $2, NR % 8 }' >"$T/classes"
MM="--classes $T/classes --order 3 --epochs 2 --batch 100"

expect 0 "trains Model M" 'saved .*: Model M, epoch 2' \
    "$TR" $MM --threads 1 --train "$TXT" --valid "$T/small.valid.txt" \
    --test "$T/small.test.txt" --model "$T/m1.nglmc"
check "one line per epoch with its valid ppl, the start's first" \
    test "$(grep -Ec '^epoch +[0-9]+ .*valid ppl [0-9]+\.[0-9]+' "$T/out")" = 3
check "reports the test text" grep -Eq 'ppl= [0-9.]+ ppl1= ' "$T/out"
check "names the classes" grep -Eq '^Model M: (8|9) classes' "$T/out"
expect 0 "trains Model M on 2 threads" '' \
    "$TR" $MM --threads 2 --train "$TXT" --valid "$T/small.valid.txt" --model "$T/m2.nglmc"
check "the same model file for 1 and 2 threads" cmp -s "$T/m1.nglmc" "$T/m2.nglmc"
# checkpoints: --stop-after leaves MODEL.ckpt and the command that resumes
# it; the resumed run ends with the model of the run that never stopped
expect 0 "stops after one epoch with a checkpoint" 'resume with: .* --resume' \
    "$TR" $MM --threads 2 --train "$TXT" --valid "$T/small.valid.txt" \
    --test "$T/small.test.txt" --model "$T/r.nglmc" --stop-after 1
check "the checkpoint is there, the model is not" \
    sh -c "test -f '$T/r.nglmc.ckpt' && ! test -e '$T/r.nglmc'"
expect 0 "resumes from it" 'resuming from .*epoch 2' \
    "$TR" $MM --threads 1 --train "$TXT" --valid "$T/small.valid.txt" \
    --test "$T/small.test.txt" --model "$T/r.nglmc" --resume --log "$T/r.log"
check "the resumed model is the uninterrupted one" cmp -s "$T/m1.nglmc" "$T/r.nglmc"
check "the checkpoint is removed once the model is saved" test ! -e "$T/r.nglmc.ckpt"
check "--log has the resumed epoch" grep -q '"epoch": *2' "$T/r.log"
# SIGINT, sent as soon as epoch 1's checkpoint appears (so it lands in epoch
# 2 or, on a fast machine, in the save or after): exit 130, one line with
# the resume command, and the resumed run ends with the uninterrupted model;
# landing after the last minibatch, the save runs to its end
"$TR" $MM --threads 2 --train "$TXT" --valid "$T/small.valid.txt" --model "$T/i.nglmc" \
    --progress never >/dev/null 2>"$T/sig.err" &
pid=$!
n=0
while [ ! -e "$T/i.nglmc.ckpt" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
kill -INT $pid
wait $pid
rc=$?
check "SIGINT exits 130 (or the run had ended: 0)" sh -c "test $rc = 130 || test $rc = 0"
if [ $rc = 130 ] && [ -e "$T/i.nglmc.ckpt" ]; then
    check "SIGINT: the resume command" grep -q 'resume with: .*--resume$' "$T/sig.err"
    expect 0 "resumes after SIGINT" 'saved' \
        "$TR" $MM --threads 1 --train "$TXT" --valid "$T/small.valid.txt" --model "$T/i.nglmc" \
        --resume
else # it landed after the last minibatch: the save ran to its end
    check "SIGINT after training: the model saved, the checkpoint removed" \
        sh -c "test -s '$T/i.nglmc' && test ! -e '$T/i.nglmc.ckpt'"
fi
check "SIGINT: one line on stderr" test "$(wc -l <"$T/sig.err")" -le 1
check "SIGINT, resumed: the uninterrupted model" cmp -s "$T/m1.nglmc" "$T/i.nglmc"
check "SIGINT: no temporary file left" sh -c "! ls '$T'/i.nglmc.tmp.* 2>/dev/null"
"$TR" $MM --train "$TXT" --valid "$T/small.valid.txt" --model "$T/r.nglmc" --stop-after 1 \
    >/dev/null 2>&1
rm "$T/r.nglmc.ckpt.args" # the fingerprint's check (cli_resume_args.sh: the options')
expect_error "a checkpoint of other options is refused" \
    'cannot resume: the checkpoint was made with --batch 100, not 50' \
    "$TR" --classes "$T/classes" --order 3 --epochs 2 --batch 50 --train "$TXT" \
    --valid "$T/small.valid.txt" --model "$T/r.nglmc" --resume
printf 'a 1\n' >"$T/bad"
expect_error "a class file without a TAB" "bad:1: expected 'word<TAB>class'" \
    "$TR" --classes "$T/bad" --train "$TXT" --valid "$T/small.valid.txt" --model "$T/x.nglmc"
head -n 2 "$T/classes" | awk -F '\t' 'NR == 1 { print } NR == 2 { print $1 "\tx" }' >"$T/bad2"
expect_error "a class that is not an integer" "bad2:2: class 'x' is not an integer" \
    "$TR" --classes "$T/bad2" --train "$TXT" --valid "$T/small.valid.txt" --model "$T/x.nglmc"
expect_error "a missing class file" 'nothing' \
    "$TR" --classes "$T/nothing" --train "$TXT" --valid "$T/small.valid.txt" --model "$T/x.nglmc"
# --classes N: the pipeline clusters the training text first, as nglm-cluster
expect 0 "clusters into N classes, then trains Model M" '^clustering: 12 classes' \
    "$TR" --classes 12 --order 3 --epochs 1 --batch 100 --threads 2 --train "$TXT" \
    --valid "$T/small.valid.txt" --model "$T/n2.nglmc"
check "Model M with the 12 classes" grep -Eq '^Model M: 12 classes, order 3' "$T/out"
expect 0 "--order auto: chosen by Kneser-Ney, as for the word model" \
    '^order [2-5], of 2\.\.[2-5] by Kneser-Ney' \
    "$TR" --classes 300 --epochs 1 --batch 100 --train "$TXT" --valid "$T/small.valid.txt" \
    --model "$T/auto.nglmc"
o=$(sed -n 's/^order \([2-5]\), of .*/\1/p' "$T/out")
check "a Model M above Kneser-Ney on validation says so" \
    grep -Eq "warning: Model M's validation ppl [0-9.]+ is above Kneser-Ney's [0-9.]+ at order" \
    "$T/out"
check "Model M at that order ($o)" grep -Eq "^Model M: 300 classes, order $o," "$T/out"
"$B/nglm-cluster" --quiet -c 12 --threads 2 --train "$TXT" -o "$T/c12"
expect 0 "the same classes from nglm-cluster's file" '' \
    "$TR" --classes "$T/c12" --order 3 --epochs 1 --batch 100 --threads 1 --train "$TXT" \
    --valid "$T/small.valid.txt" --model "$T/f1.nglmc"
check "the same model as --classes 12, for 1 and 2 threads" cmp -s "$T/n2.nglmc" "$T/f1.nglmc"
all=$(sed -n 's/.* \([0-9]*\) word n-grams.*/\1/p' "$T/out")
expect 0 "Model M with --cutoffs" '^saved .*: Model M, epoch 1, valid ppl [0-9]+\.[0-9]+' \
    "$TR" --classes "$T/c12" --order 3 --cutoffs 1,2 --epochs 1 --batch 100 --train "$TXT" \
    --valid "$T/small.valid.txt" --model "$T/cut.nglmc"
part=$(sed -n 's/.* \([0-9]*\) word n-grams.*/\1/p' "$T/out")
check "its Kneser-Ney start, pruned from every n-gram, is a model" \
    grep -Eq '^epoch +0 +Kneser-Ney start +valid ppl [0-9]+\.[0-9]+' "$T/out"
check "--cutoffs 1,2 leaves out the 3-grams seen once ($part of $all word n-grams)" \
    test "${part:-0}" -gt 0 -a "${part:-0}" -lt "${all:-0}"
expect_error "Model M with skip-gram templates" 'skip-gram templates are not supported' \
    "$TR" --classes 8 --features ngram,skip2 --train "$TXT" --model "$T/x.nglmc"
check "and trains nothing" test ! -e "$T/x.nglmc"
expect_error "--classes 0" 'number of classes must be 2' \
    "$TR" --classes 0 --train "$TXT" --valid "$T/small.valid.txt" --model "$T/x.nglmc"
printf 'a\t1\n\377\376\t2\n' >"$T/bad3"
expect_error "a class file that is not UTF-8" 'bad3:2' \
    "$TR" --classes "$T/bad3" --train "$TXT" --valid "$T/small.valid.txt" --model "$T/x.nglmc"
expect_error "--classes 1" 'number of classes must be 2' \
    "$TR" --classes 1 --train "$TXT" --valid "$T/small.valid.txt" --model "$T/x.nglmc"
expect_error "more classes than words" 'number of classes must be 2' \
    "$TR" --classes 99999 --train "$TXT" --valid "$T/small.valid.txt" --model "$T/x.nglmc"
finish
