#!/bin/sh
# cli_train.sh — command-line tests of nglm-train: a small corpus trains to a
# model with the promised report, the same options (and any thread count)
# give the same model bytes, and every bad option or bad input is one line
# on stderr, a non-zero exit and no change to an existing model file.
. "$(dirname "$0")/cli_lib.sh"
TR=$B/nglm-train
E=$B/nglm-eval
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/small"
TXT=$T/small.train.txt
# small, fast settings shared by most runs; one thread keeps them quick on a
# loaded machine (the thread-count tests below use more)
SMALL="--order 3 --epochs 2 --threads 1"

# ---------------------------------------------------------------- happy path
expect 0 "trains on a small corpus" 'valid ppl [0-9]+\.[0-9]+' \
    "$TR" $SMALL --train "$TXT" --valid "$T/small.valid.txt" --test "$T/small.test.txt" \
    --model "$T/m.nglm"
cp "$T/out" "$T/m.out"
check "writes the model" test -s "$T/m.nglm"
check "the default minibatch is auto: 2000 tokens for a small text" \
    grep -Eq "^training: .*, batch 2000 \(auto\), " "$T/m.out"
expect 0 "--batch auto" "batch 2000 \(auto\)" "$TR" $SMALL --train "$TXT" \
    --valid "$T/small.valid.txt" --model "$T/auto.nglm" --batch auto
check "--batch auto: the same model bytes as the default" cmp -s "$T/m.nglm" "$T/auto.nglm"
check "one line per epoch with its valid ppl, the Kneser-Ney start as epoch 0" \
    test "$(grep -Ec '^epoch +[0-9]+ .*valid ppl [0-9]+\.[0-9]+' "$T/m.out")" = 3
check "epoch 0 is the Kneser-Ney start, with its perplexity" \
    grep -Eq '^epoch  0  Kneser-Ney start  valid ppl [0-9.]+ \*' "$T/m.out"
check "reports the Kneser-Ney start's valid and test perplexity" \
    grep -Eq '^Kneser-Ney start: valid ppl [0-9.]+, test ppl [0-9.]+ \(discounts' "$T/m.out"
check "the test report compares with the Kneser-Ney start" \
    grep -Eq "^test ppl [0-9.]+ vs the Kneser-Ney start's [0-9.]+ \([-+][0-9.]+%\)\$" "$T/m.out"
check "the start's valid ppl is epoch 0's" test "$(sed -n 's/^Kneser-Ney start: valid ppl \([0-9.]*\),.*/\1/p' "$T/m.out")" = \
    "$(sed -n 's/^epoch  0  Kneser-Ney start  valid ppl \([0-9.]*\) .*/\1/p' "$T/m.out")"
check "reports the saved model" grep -Eq "^saved $T/m\.nglm: epoch [0-2], valid ppl [0-9.]+" "$T/m.out"
check "SRILM-style test header" \
    grep -Eq "^file $T/small\.test\.txt: [0-9]+ sentences, [0-9]+ words, [0-9]+ OOVs(, scored as <unk>)?\$" "$T/m.out"
check "SRILM-style test perplexity" \
    grep -Eq '^0 zeroprobs, logprob= -[0-9]+\.[0-9]+ ppl= [0-9]+\.[0-9]+ ppl1= [0-9]+\.[0-9]+$' "$T/m.out"
check "no temporaries left" test -z "$(ls "$T" | grep '\.tmp')"
expect 0 "--quiet" 'ppl= ' "$TR" $SMALL --quiet --train "$TXT" --valid "$T/small.valid.txt" \
    --test "$T/small.test.txt" --model "$T/q.nglm"
check "--quiet prints no epoch lines" test -z "$(grep '^epoch' "$T/out")"
check "--quiet prints less" test "$(wc -l <"$T/out")" -lt "$(wc -l <"$T/m.out")"
check "--quiet trains the same model" cmp -s "$T/m.nglm" "$T/q.nglm"
expect 0 "--best" 'skip4 [0-9]+' "$TR" --order 3 --threads 1 --train "$TXT" \
    --valid "$T/small.valid.txt" --model "$T/best.nglm" --best
check "--best: 4 epochs after the Kneser-Ney start" \
    test "$(grep -Ec '^epoch +[1-9] ' "$T/out")" = 4
expect 0 "--best --epochs 1: one epoch" 'skip4 [0-9]+' "$TR" --order 3 --threads 1 \
    --train "$TXT" --valid "$T/small.valid.txt" --model "$T/best1.nglm" --best --epochs 1
check "--best --epochs 1 trains 1 epoch" test "$(grep -Ec '^epoch +[1-9] ' "$T/out")" = 1
# --order auto (the default): the order of 2..5 whose Kneser-Ney model
# scores the validation text best, each order's figure as nglm-kn gives it
expect 0 "--order auto is the default" '^order [2-5], of 2\.\.5 by Kneser-Ney' "$TR" \
    --epochs 1 --threads 1 --train "$TXT" --valid "$T/small.valid.txt" --model "$T/oa.nglm"
cp "$T/out" "$T/oa.out"
OA=$(sed -n 's/^order \([0-9]\), of 2\.\.5 .*/\1/p' "$T/oa.out")
check "--order auto: trains at the chosen order" grep -q "^training: order $OA," "$T/oa.out"
best=""
for k in 2 3 4 5; do
    "$B/nglm-kn" -o $k --discount-fallback --train "$TXT" --model "$T/kn$k.nglm" 2>/dev/null
    p=$("$E" --model "$T/kn$k.nglm" "$T/small.valid.txt" | sed -n 's/.* ppl= \([0-9.]*\) .*/\1/p')
    check "--order auto: order $k's figure is nglm-kn's ($p)" grep -Eq "[(, ]$k: $p[,;]" "$T/oa.out"
    if [ -z "$best" ] || awk -v a="$p" -v b="$bestp" 'BEGIN { exit !(a < b) }'; then
        best=$k
        bestp=$p
    fi
done
check "--order auto: the order with the lowest validation ppl ($best)" test "$OA" = "$best"
expect 0 "--order auto, spelled out" 'order [2-5], of' "$TR" --order auto --epochs 1 --threads 1 \
    --train "$TXT" --valid "$T/small.valid.txt" --model "$T/oa2.nglm"
check "--order auto spelled out: the same model bytes" cmp -s "$T/oa.nglm" "$T/oa2.nglm"
expect 0 "--order 4 fixes the order" '^training: order 4,' "$TR" --order 4 --epochs 1 \
    --threads 1 --train "$TXT" --valid "$T/small.valid.txt" --model "$T/o4.nglm"
check "--order 4: nothing chosen" test -z "$(grep '^order .*Kneser-Ney' "$T/out")"
expect 0 "--order auto with --features skip7: from order 5" '^order 5, of 5\.\.5|^training: order 5,' \
    "$TR" --features ngram,skip7 --epochs 1 --threads 1 --train "$TXT" \
    --valid "$T/small.valid.txt" --model "$T/o7.nglm"
expect 0 "--order auto with --init zero: 5" '^training: order 5,' "$TR" --init zero \
    --epochs 1 --threads 1 --train "$TXT" --valid "$T/small.valid.txt" --model "$T/oz.nglm"
expect_error "--order: neither a number nor auto" "--order: 'five'" "$TR" --order five \
    --train "$TXT" --model "$T/of.nglm"
expect_error "--best needs the Kneser-Ney start" "best goes with the Kneser-Ney start" \
    "$TR" --best --init zero --train "$TXT" --model "$T/bz.nglm"
expect_error "--schedule linear with --halve-from" "go with the halving schedule" \
    "$TR" --schedule linear --halve-from 2 --train "$TXT" --model "$T/sl.nglm"
expect_error "--schedule: a bad name" "not linear or halve" \
    "$TR" --schedule cosine --train "$TXT" --model "$T/sc.nglm"
expect_error "--init: a bad name" "not kn or zero" "$TR" --init random --train "$TXT" --model "$T/ir.nglm"
expect 0 "--help" '^Usage: nglm-train' "$TR" --help
expect 0 "--version" '^nglm-train .*[0-9]+\.[0-9]+' "$TR" --version

# ------------------------------------------------- held-out slice, vocabulary
expect 0 "no --valid holds out a slice" 'held out of the training text' \
    "$TR" $SMALL --train "$TXT" --model "$T/h.nglm" --write-vocab "$T/vocab.txt"
check "the held-out line says how many sentences are trained on, and they add up" awk '
    /^train / { read = $3 }
    /^valid: / { held = $2; trained = $(NF - 6); of = $(NF - 3) }
    END { exit !(read > 0 && held > 0 && of == read && trained + held == read) }' "$T/out"
check "--write-vocab writes word<TAB>count lines" \
    test -z "$(grep -Evn '^[^	 ]+	[0-9]+$' "$T/vocab.txt" | head -1)"
check "the vocabulary has the specials" grep -q '^<unk>	' "$T/vocab.txt"
# a vocabulary alone (--epochs 0), and SRILM's word-list format read back
expect 0 "--epochs 0 --write-vocab: the vocabulary only" "no model trained" \
    "$TR" --epochs 0 --train "$TXT" --model "$T/vo.nglm" --write-vocab "$T/vo.txt"
check "--epochs 0: the same vocabulary as a training run's" cmp -s "$T/vocab.txt" "$T/vo.txt"
check "--epochs 0: no model, no checkpoint, no lock" \
    test ! -e "$T/vo.nglm" -a ! -e "$T/vo.nglm.ckpt" -a ! -e "$T/vo.nglm.lock"
expect_error "--epochs 0 without --write-vocab" "give --write-vocab FILE" \
    "$TR" --epochs 0 --train "$TXT" --model "$T/vo.nglm"
cut -f1 "$T/vocab.txt" | sed 1,3d >"$T/words.txt"
expect 0 "--vocab: a plain word list (SRILM's -vocab format)" 'valid ppl' \
    "$TR" $SMALL --train "$TXT" --vocab "$T/words.txt" --model "$T/wl.nglm"
check "a word list gives the same vocabulary size" \
    grep -q "^vocabulary: $(wc -l <"$T/vocab.txt") words" "$T/out"
check "the vocabulary has every training word" \
    test "$(wc -l <"$T/vocab.txt")" -eq "$(($(tr ' ' '\n' <"$TXT" | LC_ALL=C sort -u | wc -l) + 3))"
expect 0 "--vocab reads it back" 'saved' \
    "$TR" $SMALL --train "$TXT" --model "$T/h2.nglm" --vocab "$T/vocab.txt"
check "--vocab reproduces the model bytes" cmp -s "$T/h.nglm" "$T/h2.nglm"
expect 0 "--train - with --vocab" 'saved' \
    sh -c "'$TR' $SMALL --train - --model '$T/h3.nglm' --vocab '$T/vocab.txt' <'$TXT'"
check "stdin gives the same model bytes" cmp -s "$T/h.nglm" "$T/h3.nglm"

# ---------------------------------------------------------------- determinism
"$TR" $SMALL --quiet --train "$TXT" --model "$T/d1.nglm" >/dev/null
"$TR" $SMALL --quiet --train "$TXT" --model "$T/d2.nglm" >/dev/null
check "same options, same model bytes" cmp -s "$T/d1.nglm" "$T/d2.nglm"
"$TR" --order 3 --epochs 2 --quiet --train "$TXT" --model "$T/t1.nglm" --threads 1 >/dev/null
"$TR" --order 3 --epochs 2 --quiet --train "$TXT" --model "$T/t2.nglm" --threads 2 >/dev/null
"$TR" --order 3 --epochs 2 --quiet --train "$TXT" --model "$T/t3.nglm" --threads 3 >/dev/null
check "--threads 1 and 2 give the same model bytes" cmp -s "$T/t1.nglm" "$T/t2.nglm"
check "--threads 1 and 3 give the same model bytes" cmp -s "$T/t1.nglm" "$T/t3.nglm"
OMP_NUM_THREADS=1 "$TR" --order 3 --epochs 2 --quiet --train "$TXT" --model "$T/o1.nglm" >/dev/null
OMP_NUM_THREADS=2 "$TR" --order 3 --epochs 2 --quiet --train "$TXT" --model "$T/o2.nglm" >/dev/null
check "OMP_NUM_THREADS=1 and 2 give the same model bytes" cmp -s "$T/o1.nglm" "$T/o2.nglm"
check "and the same as --threads" cmp -s "$T/t1.nglm" "$T/o2.nglm"
"$TR" --order 4 --epochs 2 --quiet --train "$TXT" --model "$T/f1.nglm" --threads 1 >/dev/null
"$TR" --order 4 --epochs 2 --quiet --train "$TXT" --model "$T/f2.nglm" --threads 2 >/dev/null
check "order 4: --threads 1 and 2 give the same model bytes" cmp -s "$T/f1.nglm" "$T/f2.nglm"
"$TR" $SMALL --quiet --train "$TXT" --model "$T/s2.nglm" --seed 2 >/dev/null
check "another seed, another model" sh -c "! cmp -s '$T/d1.nglm' '$T/s2.nglm'"

# ---------------------------------------------------------------- bad usage
X="$SMALL --train $TXT --model $T/x.nglm"
expect_error "--order 0" "^nglm-train: --order: '0' is out of range" "$TR" $X --order 0
expect_error "--order 1000" "--order: '1000' is out of range" "$TR" $X --order 1000
expect_error "--l1 -1" "--l1: '-1' is out of range" "$TR" $X --l1 -1
expect_error "--l2 nan" "--l2: 'nan' is not a finite number" "$TR" $X --l2 nan
expect_error "--l1 abc" "--l1: 'abc' is not a finite number" "$TR" $X --l1 abc
expect_error "--threads 0" "--threads: '0' is out of range" "$TR" $X --threads 0
expect_error "--halve-from -1" "--halve-from: '-1' is out of range" "$TR" $X --halve-from -1
expect_error "--epochs 0 without --write-vocab" "--epochs 0 only builds the vocabulary" "$TR" $X --epochs 0
expect_error "--epochs -1" "--epochs: '-1' is out of range" "$TR" $X --epochs -1
expect_error "--batch 0" "--batch: '0' is out of range" "$TR" $X --batch 0
expect_error "--batch bogus" "--batch: 'bogus' is not an integer" "$TR" $X --batch bogus
expect_error "unknown option" "unknown option '--frobnicate'" "$TR" $X --frobnicate
expect_error "option without its value" "^nglm-train: --seed needs a value" "$TR" $X --seed
expect_error "SRILM's ngram-count -text" "unknown option '-text': nglm-train takes --train TEXT" \
    "$TR" -text "$TXT" -lm "$T/x.lm"
expect_error "decreasing --cutoffs" "--cutoffs: values must not decrease" "$TR" $X --cutoffs 3,2
expect_error "--cutoffs with an empty item" "--cutoffs: '' is not an integer" "$TR" $X --cutoffs 1,,3
expect_error "--cutoffs with a trailing comma" "--cutoffs: '' is not an integer" "$TR" $X --cutoffs 2,
expect_error "--tokenize bogus" "--tokenize: .*'bogus'" "$TR" $X --tokenize bogus
expect_error "stray argument" "unexpected argument 'extra'" "$TR" $X extra
# stdin without --vocab is copied to the temporary directory and read twice
# from there: the same model as from the file, nothing left behind
mkdir "$T/spool"
expect 0 "--train - without --vocab: trained from a copy" 'train \(stdin\): ' \
    sh -c "cat '$TXT' | TMPDIR='$T/spool' '$TR' $SMALL --train - --model '$T/stdin.nglm'"
"$TR" $SMALL --quiet --train "$TXT" --model "$T/file.nglm" >/dev/null
check "--train -: the same model bytes as from the file" cmp -s "$T/stdin.nglm" "$T/file.nglm"
check "--train -: the copy is removed" test -z "$(ls -A "$T/spool")"
"$TR" $X --order 0 >/dev/null 2>&1
check "bad usage exits 2" test $? = 2
check "bad usage writes no model" test ! -e "$T/x.nglm"

# ---------------------------------------------------------------- bad data
: >"$T/empty.txt"
printf '\n\n   \n\n' >"$T/blank.txt"
mkdir "$T/dir"
{ head -3 "$TXT"; printf 'zal \377 shast\n'; } >"$T/badutf.txt"
printf 'zal shast\000 zal\nshast zal\n' >"$T/nul.txt"
printf 'the cat sat on the mat\n' >"$T/one.txt"
printf 'qqqx zzzy\nxyzzy plugh foo\n' >"$T/unk.txt"
Y="$SMALL --model $T/x.nglm"
expect_error "empty training text" "empty\.txt: no sentences to train on" "$TR" $Y --train "$T/empty.txt"
"$TR" $Y --train "$T/empty.txt" >/dev/null 2>&1
check "bad data exits 1" test $? = 1
expect_error "blank lines only" "blank\.txt: no sentences to train on" "$TR" $Y --train "$T/blank.txt"
expect_error "missing training file" "missing\.txt: No such file" "$TR" $Y --train "$T/missing.txt"
expect_error "directory as --train" "dir: is a directory" "$TR" $Y --train "$T/dir"
expect_error "empty --valid" "empty\.txt: no sentences to validate on" \
    "$TR" $Y --train "$TXT" --valid "$T/empty.txt"
expect_error "missing --vocab file" "missing\.vocab" "$TR" $Y --train "$TXT" --vocab "$T/missing.vocab"
# A FIFO cannot be read twice (vocabulary, then ids): without --vocab it is
# copied first, as stdin is; with --vocab it is read once.  The writer
# blocks until a reader opens the FIFO, so it is drained afterwards in case
# nglm-train never opened it.
mkfifo "$T/fifo"
cat "$TXT" >"$T/fifo" &
writer=$!
expect 0 "FIFO as --train without --vocab: trained from a copy" 'saved' \
    timeout 10 "$TR" $SMALL --train "$T/fifo" --model "$T/fifo0.nglm"
! kill -0 $writer 2>/dev/null || timeout 5 cat "$T/fifo" >/dev/null
wait
check "a FIFO without --vocab: the same model bytes as the file" cmp -s "$T/fifo0.nglm" "$T/file.nglm"
cat "$TXT" >"$T/fifo" &
expect 0 "FIFO as --train with --vocab" 'saved' \
    timeout 10 "$TR" $SMALL --train "$T/fifo" --vocab "$T/vocab.txt" --model "$T/fifo.nglm"
wait
check "FIFO gives the same model bytes" cmp -s "$T/h.nglm" "$T/fifo.nglm"
expect_error "invalid UTF-8 names file:line and byte offset" \
    "badutf\.txt:4: invalid UTF-8 at byte offset [0-9]+" "$TR" $Y --train "$T/badutf.txt"
expect 0 "--replace-invalid accepts it" 'saved' \
    "$TR" $Y --train "$T/badutf.txt" --replace-invalid
expect_error "invalid UTF-8 in --valid" "badutf\.txt:4: invalid UTF-8" \
    "$TR" $Y --train "$TXT" --valid "$T/badutf.txt"
expect_error "NUL byte names the file" "nul\.txt:1: .*NUL byte" "$TR" $Y --train "$T/nul.txt"
expect_error "one sentence and no --valid asks for --valid" "only 1 sentence.*give a validation text" \
    "$TR" $Y --train "$T/one.txt"
expect 0 "one sentence with --valid trains" 'valid ppl [0-9]+\.[0-9]+' \
    "$TR" $Y --quiet --train "$T/one.txt" --valid "$T/one.txt" --test "$T/one.txt"
check "one sentence: the test report counts it" \
    grep -Eq 'one\.txt: 1 sentences, 6 words, 0 OOVs$' "$T/out"
check "one sentence: a small finite perplexity" \
    sh -c "grep '^0 zeroprobs' '$T/out' | awk '{exit !(\$6 >= 1 && \$6 < 20)}'"
# every validation word is unknown: scored as <unk>, so the perplexity is
# finite, not an error
expect 0 "a validation text of unknown words only" \
    'valid ppl [0-9]+\.[0-9]+, ' "$TR" $Y --quiet --train "$TXT" --valid "$T/unk.txt"
check "its valid ppl is a finite number" \
    test -z "$(grep -Ei 'nan|inf' "$T/out")"

# A 10 MB line (2 million words) and a 10 MB word: both train.
awk 'BEGIN { for (i = 0; i < 2000000; i++) printf "w%d ", i % 997; print "end" }' \
    >"$T/longline.txt"
cat "$TXT" >>"$T/longline.txt"
expect 0 "a 10 MB line trains" 'saved' "$TR" $Y --quiet --train "$T/longline.txt"
{ head -c 10000000 /dev/zero | tr '\0' a; echo; cat "$TXT"; } >"$T/longword.txt"
expect 0 "a 10 MB word trains" 'saved' "$TR" $Y --quiet --train "$T/longword.txt"

# ---------------------------------------------------------------- unwritable
if [ -w /dev/full ]; then
    expect_error "--model /dev/full" "/dev/full" "$TR" $SMALL --quiet --train "$TXT" --model /dev/full
    expect_error "--write-vocab /dev/full" "/dev/full" \
        "$TR" $SMALL --quiet --train "$TXT" --model "$T/x.nglm" --write-vocab /dev/full
    expect_error "stdout full" "cannot write the report" \
        sh -c "'$TR' $SMALL --train '$TXT' --model '$T/x.nglm' >/dev/full"
fi
expect_error "--model in a missing directory" "nodir/m\.nglm: cannot create" \
    "$TR" $SMALL --quiet --train "$TXT" --model "$T/nodir/m.nglm"
check "nothing created there" test ! -e "$T/nodir"

# ------------------------------------------------- failure keeps the old model
cp "$T/m.nglm" "$T/keep.nglm"
expect_error "bad training text, existing model" "badutf\.txt:4" \
    "$TR" $SMALL --train "$T/badutf.txt" --model "$T/keep.nglm"
check "the model file is unchanged" cmp -s "$T/m.nglm" "$T/keep.nglm"
expect_error "bad test text, existing model" "badutf\.txt:4" \
    "$TR" $SMALL --train "$TXT" --test "$T/badutf.txt" --model "$T/keep.nglm"
check "the model file is still unchanged" cmp -s "$T/m.nglm" "$T/keep.nglm"
expect_error "missing test text, existing model" "missing\.txt" \
    "$TR" $SMALL --train "$TXT" --test "$T/missing.txt" --model "$T/keep.nglm"
check "the model file is unchanged again" cmp -s "$T/m.nglm" "$T/keep.nglm"
check "no temporaries left behind" test -z "$(ls "$T" | grep '\.tmp')"

# With no --train: the bundled corpus, and the oracle perplexity beside the model's
expect 0 "no --train: the bundled corpus" "using the bundled corpus" \
    "$TR" --epochs 1 --threads 1 --model "$T/default.nglm"
check "reports the test perplexity against the source's oracle" \
    grep -Eq "^test ppl [0-9.]+ vs the source's oracle ppl [0-9.]+ \([0-9.]+% above\)" "$T/out"
# its source is a trigram model, and Kneser-Ney's validation ppl says so
check "the bundled corpus: --order auto chooses 3" grep -q "^order 3, of 2\.\.5 " "$T/out"
"$TR" --order 3 --epochs 1 --threads 1 --quiet --model "$T/default3.nglm" >/dev/null
check "order 3 chosen (its index counted again, its Kneser-Ney kept) is --order 3's model" \
    cmp -s "$T/default.nglm" "$T/default3.nglm"
# ---------------------------------------------------------------- monitoring
# --log (JSON Lines), --plot (SVG) and progress on stderr: none of them
# changes the model, and a short run that is not on a terminal prints no
# progress (its stderr stays for the one error line).
V="--valid $T/small.valid.txt --test $T/small.test.txt"
"$TR" $SMALL $V --train "$TXT" --model "$T/mon.nglm" --log "$T/log.jsonl" \
    --plot "$T/curve.svg" --plot-reference 141.2 --plot-label "KN 5-gram" >"$T/out" 2>"$T/err"
check "--log and --plot: exit 0" test $? = 0
check "--log and --plot do not change the model" cmp -s "$T/m.nglm" "$T/mon.nglm"
check "a short run off a terminal prints no progress" test ! -s "$T/err"
check "--log: one line per epoch, epoch 0 included" test "$(wc -l <"$T/log.jsonl")" = 3
N='-?[0-9][0-9.]*(e[-+]?[0-9]+)?'
J="^\{\"epoch\":[0-9]+,\"lr\":$N,\"train_loss\":($N|null),\"valid_ppl\":$N,\"tokens_per_s\":$N,"
J="$J\"elapsed_s\":$N,\"features\":[0-9]+,\"nonzero\":[0-9]+,\"best\":(true|false)\}\$"
check "--log: every line is a JSON object with every field" \
    test -z "$(grep -Evn -- "$J" "$T/log.jsonl")"
check "--log: epochs numbered 0..N" \
    awk -F'[:,]' '$2 != NR - 1 { exit 1 }' "$T/log.jsonl"
check "--log: epoch 0 has no training loss" \
    sh -c "head -1 '$T/log.jsonl' | grep -q '\"train_loss\":null,'"
check "--log: the valid ppl of the epoch lines" \
    test "$(sed 's/.*"valid_ppl":\([^,]*\),.*/\1/' "$T/log.jsonl" | awk '{printf "%.2f\n", $1}')" = \
         "$(grep -E '^epoch ' "$T/out" | sed 's/.*valid ppl \([0-9.]*\).*/\1/')"
check "--plot: one circle per epoch" test "$(grep -c '<circle' "$T/curve.svg")" = 2
check "--plot: the best epoch is marked (its point and its label)" test "$(grep -c 'class="best"' "$T/curve.svg")" = 2
check "--plot: the reference line and its label" \
    sh -c "grep -q 'class=\"reference\"' '$T/curve.svg' && grep -q 'KN 5-gram 141.2' '$T/curve.svg'"
check "--plot: an svg element that is closed" \
    sh -c "grep -q '^<svg ' '$T/curve.svg' && tail -1 '$T/curve.svg' | grep -q '^</svg>\$'"
if command -v xmllint >/dev/null 2>&1; then
    check "--plot: well-formed XML (xmllint)" xmllint --noout "$T/curve.svg"
fi
"$TR" $SMALL --quiet --train "$TXT" --model "$T/np.nglm" --plot "$T/np.svg" >/dev/null
check "--plot without a reference draws the Kneser-Ney start" \
    sh -c "grep -q 'class=\"reference\"' '$T/np.svg' && grep -q 'Kneser-Ney [0-9.]' '$T/np.svg'"
"$TR" $SMALL --quiet --train "$TXT" --model "$T/np0.nglm" --plot "$T/np0.svg" --init zero >/dev/null
check "--plot without a reference or a Kneser-Ney start draws none" \
    sh -c "! grep -q 'class=\"reference\"' '$T/np0.svg'"
"$TR" $SMALL $V --quiet --train "$TXT" --model "$T/pa.nglm" --progress always \
    >/dev/null 2>"$T/err"
check "--progress always: progress lines on stderr" \
    grep -Eq '^epoch 1: +[0-9.]+%  [0-9]+ tokens/s  ETA [0-9]+:[0-9]{2}  loss [0-9.]+$' "$T/err"
check "--progress always: only progress lines" \
    test -z "$(grep -Ev '^(epoch [0-9]+|reading [^ ]+|counting [^ ]+|counting n-grams for Kneser-Ney|scoring the test text): ' "$T/err")"
check "--progress always: reading progress in MB" \
    grep -Eq "^reading $TXT: +[0-9.]+%  [0-9]+ MB/s  ETA [0-9]+:[0-9]{2}\$" "$T/err"
check "--progress always: vocabulary counting progress" \
    grep -Eq "^counting $TXT: +100\.0%  [0-9]+ MB/s  ETA 0:00\$" "$T/err"
check "--progress always: n-gram counting progress, pass by pass" \
    test "$(grep -Ec '^counting 3-grams: +(50|100)\.0%  [0-9]+ tokens/s' "$T/err")" = 2
"$TR" --order 3 --epochs 1 --threads 2 --quiet --train "$TXT" --model "$T/pb.nglm" \
    --progress always --test "$T/small.test.txt" >/dev/null 2>"$T/err"
check "--progress always, 2 threads: counting progress" \
    grep -Eq "^counting $TXT: +100\.0%" "$T/err"
check "--progress always: test scoring progress" \
    grep -Eq '^scoring the test text: +100\.0%  [0-9]+ tokens/s' "$T/err"
check "--progress always does not change the model" cmp -s "$T/m.nglm" "$T/pa.nglm"
if command -v script >/dev/null 2>&1 && script --version 2>/dev/null | grep -q util-linux; then
    script -q -e -c "'$TR' $SMALL --train '$TXT' --model '$T/tty.nglm' >/dev/null" \
        /dev/null >"$T/tty" 2>&1 </dev/null
    CR=$(printf '\r')
    check "on a terminal: a progress line redrawn with CR" grep -Eq "${CR}epoch 1: +[0-9.]+%" "$T/tty"
    script -q -e -c "'$TR' $SMALL --quiet --train '$TXT' --model '$T/tty.nglm' >/dev/null" \
        /dev/null >"$T/tty" 2>&1 </dev/null
    check "on a terminal: --quiet shows no progress" test -z "$(grep 'tokens/s' "$T/tty")"
fi
expect_error "--progress bogus" "--progress: 'bogus' is not auto, always or never" \
    "$TR" $SMALL --train "$TXT" --model "$T/x.nglm" --progress bogus
expect_error "--log in a missing directory" "nodir/l\.jsonl: cannot create a file in .*: No such file" \
    "$TR" $SMALL --quiet --train "$TXT" --model "$T/x.nglm" --log "$T/nodir/l.jsonl"
expect_error "--plot in a missing directory" "nodir/c\.svg: cannot create" \
    "$TR" $SMALL --quiet --train "$TXT" --model "$T/x.nglm" --plot "$T/nodir/c.svg"
expect_error "--plot a directory" "dir: is a directory" \
    "$TR" $SMALL --quiet --train "$TXT" --model "$T/x.nglm" --plot "$T/dir"
if [ -w /dev/full ]; then
    expect_error "--log /dev/full" "/dev/full: write error" \
        "$TR" $SMALL --quiet --train "$TXT" --model "$T/x.nglm" --log /dev/full
fi
expect_error "--plot-reference nan" "--plot-reference: 'nan' is not a finite number" \
    "$TR" $SMALL --train "$TXT" --model "$T/x.nglm" --plot-reference nan
# --max-memory: the cutoffs rise until the estimate fits, or a clear refusal
MM="--order 3 --epochs 1 --threads 1 --train $TXT"
expect 0 "--max-memory with room to spare" '' "$TR" $MM --max-memory 1G --model "$T/mm1.nglm"
check "no pruning note when it fits" sh -c "! grep -q '^max-memory:' '$T/out'"
f1=$(sed -n 's/^features: \([0-9]*\) .*/\1/p' "$T/out")
expect 0 "--max-memory 300K raises the cutoffs" "^max-memory: .* would not fit in 300 KB: using --cutoffs " \
    "$TR" $MM --max-memory 300K --model "$T/mm2.nglm"
f2=$(sed -n 's/^features: \([0-9]*\) .*/\1/p' "$T/out")
check "fewer features within the budget ($f2 < $f1)" test "$f2" -lt "$f1"
expect_error "--max-memory too small for anything" "a memory limit of 1 KB: the model needs .* give at least that much" \
    "$TR" $MM --max-memory 1K --model "$T/mm3.nglm"
check "no model written when it cannot fit" test ! -e "$T/mm3.nglm"
expect_error "--max-memory not a size" "--max-memory: 'lots' is not a size" "$TR" $MM --max-memory lots
# --data-cache: the first run writes the vocabulary and the id streams, later
# runs map them; the model is the same bytes either way
CA="--order 3 --epochs 2 --threads 1 --train $TXT --valid $T/small.valid.txt --test $T/small.test.txt"
"$TR" $CA --quiet --model "$T/nc.nglm" >/dev/null
expect 0 "--data-cache fills the cache" 'train .*tokens \(cached\)' \
    "$TR" $CA --data-cache "$T/cache" --model "$T/c1.nglm"
check "--data-cache writes a vocabulary and three id streams" \
    test "$(ls "$T/cache" | grep -c '\.vocab$') $(ls "$T/cache" | grep -c '\.ids$')" = "1 3"
check "the first --data-cache run trains the same model" cmp -s "$T/nc.nglm" "$T/c1.nglm"
expect 0 "--data-cache maps the texts on the next run" 'train .*tokens \(mapped from the cache\)' \
    "$TR" $CA --data-cache "$T/cache" --model "$T/c2.nglm"
check "the vocabulary comes from the cache" grep -q '^vocabulary: from the cache' "$T/out"
check "the test text is mapped too" grep -Eq '^test .*\(mapped from the cache\)' "$T/out"
check "a mapped run trains the same model" cmp -s "$T/nc.nglm" "$T/c2.nglm"
for f in "$T"/cache/*.ids; do printf 'x' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null; done
expect 0 "a damaged cache file is read again, with a warning" \
    'warning: cache: .*checksum mismatch.*read the text again' \
    "$TR" $CA --data-cache "$T/cache" --model "$T/c3.nglm"
check "and the model is still the same" cmp -s "$T/nc.nglm" "$T/c3.nglm"
expect 0 "--data-cache with other options makes other files" 'train .*\(cached\)' \
    "$TR" $CA --lowercase --data-cache "$T/cache" --model "$T/c4.nglm"
cp "$TXT" "$T/edited.txt"
"$TR" --order 2 --epochs 1 --threads 1 --quiet --train "$T/edited.txt" --data-cache "$T/cache2" \
    --model "$T/e1.nglm" >/dev/null
echo "a sentence added later" >>"$T/edited.txt"
expect 0 "an edited text is not taken from the cache" 'train .*\(cached\)' \
    "$TR" --order 2 --epochs 1 --threads 1 --train "$T/edited.txt" --data-cache "$T/cache2" \
    --model "$T/e2.nglm"
check "nothing temporary left in the cache" test -z "$(ls "$T/cache" "$T/cache2" | grep "\.tmp")"
expect_error "--data-cache on a file" "id cache .*: not a directory" \
    "$TR" $CA --data-cache "$TXT" --model "$T/x.nglm"
expect_error "--data-cache under a missing directory" "id cache .*: No such file or directory" \
    "$TR" $CA --data-cache "$T/no/such/dir" --model "$T/x.nglm"
finish
