#!/bin/sh
# cli_outputs.sh — no nglm program destroys a file it was not asked to
# make (src/outputs.h): an output that is an input (by any spelling, a
# symlink or a hard link) or another output is refused; an existing file
# that nglm did not write is replaced only with --force; two trainings on
# one model path cannot run at once, and a killed one does not block the
# next.  Every refusal is one line on stderr, exit 2, before any work, and
# the file is left byte for byte as it was.
. "$(dirname "$0")/cli_lib.sh"
TR=$B/nglm-train
X=$B/nglm-export
K=$B/nglm-kn
G=$B/nglm-gen
"$G" --quiet --tokens 20000 --seed 3 --prefix "$T/s"
TXT=$T/s.train.txt
V=$T/s.valid.txt
RUN="--order 3 --epochs 1 --threads 1 --quiet"
printf 'my notes\n' >"$T/notes.txt"
cp "$TXT" "$T/train.orig"

# refused DESC PATTERN FILE CMD...: exit 2, one line matching PATTERN, and
# FILE unchanged (compared with a copy taken before)
refused() {
    what=$1 pat=$2 file=$3
    shift 3
    cp "$file" "$T/before"
    expect_error "$what" "$pat" "$@"
    check "$what: exit 2" test "$got" = 2
    check "$what: $(basename "$file") unchanged" cmp -s "$file" "$T/before"
}

# ---------------------------------------------------------------- outputs that are inputs
refused "--model is the training text" "--model $TXT is the same file as --train $TXT" \
    "$TXT" "$TR" $RUN --train "$TXT" --model "$TXT"
refused "--write-vocab is the training text" "--write-vocab .* is the same file as --train" \
    "$TXT" "$TR" $RUN --train "$TXT" --model "$T/m.nglm" --write-vocab "$TXT"
refused "--log is the validation text" "--log .* is the same file as --valid" \
    "$V" "$TR" $RUN --train "$TXT" --valid "$V" --model "$T/m.nglm" --log "$V"
refused "--plot is the test text" "--plot .* is the same file as --test" \
    "$T/s.test.txt" "$TR" $RUN --train "$TXT" --test "$T/s.test.txt" --model "$T/m.nglm" \
    --plot "$T/s.test.txt"
(cd "$T" && "$TR" $RUN --train s.train.txt --model v.nglm --write-vocab vocab.txt) >/dev/null
refused "--model is the --vocab file" "--model .* is the same file as --vocab" \
    "$T/vocab.txt" "$TR" $RUN --train "$TXT" --vocab "$T/vocab.txt" --model "$T/vocab.txt"
cp "$TXT" "$T/t.nglm.ckpt" # a text named as the model's checkpoint would be
refused "the checkpoint is the training text" \
    "the checkpoint .*t\.nglm\.ckpt is the same file as --train" \
    "$T/t.nglm.ckpt" "$TR" $RUN --train "$T/t.nglm.ckpt" --model "$T/t.nglm"
# other spellings of the same file
refused "./ spelling" "is the same file as --train" \
    "$TXT" sh -c "cd '$T' && '$TR' $RUN --train s.train.txt --model ./s.train.txt"
refused "a/../ spelling" "is the same file as --train" \
    "$TXT" "$TR" $RUN --train "$TXT" --model "$T/../$(basename "$T")/s.train.txt"
ln -s "$TXT" "$T/link.txt"
refused "a symlink to the training text" "is the same file as --train" \
    "$TXT" "$TR" $RUN --train "$TXT" --model "$T/link.txt"
ln "$TXT" "$T/hard.txt"
refused "a hard link to the training text" "is the same file as --train" \
    "$TXT" "$TR" $RUN --train "$TXT" --model "$T/hard.txt"
refused "--force does not allow overwriting an input" "is the same file as --train" \
    "$TXT" "$TR" $RUN --force --train "$TXT" --model "$TXT"
check "the training text is as it was" cmp -s "$TXT" "$T/train.orig"
# two outputs on one path, existing or not
expect_error "--log and --plot on one new path" "--log .*new.out and --plot .*new.out are the same file" \
    "$TR" $RUN --train "$TXT" --model "$T/m.nglm" --log "$T/new.out" --plot "$T/new.out"
check "nothing created at it" test ! -e "$T/new.out"
expect_error "--model and --write-vocab on one new path" "are the same file" \
    "$TR" $RUN --train "$TXT" --model "$T/new2" --write-vocab "$T/./new2"
check "no model was trained" test ! -e "$T/m.nglm"

# nglm-export and nglm-kn
"$TR" $RUN --features ngram --train "$TXT" --model "$T/e.nglm" >/dev/null
refused "nglm-export -o is the model" "-o .*e.nglm is the same file as --model" \
    "$T/e.nglm" "$X" --model "$T/e.nglm" -o "$T/e.nglm"
"$TR" $RUN --features ngram --train "$TXT" --model "$T/other.nglm" >/dev/null
refused "nglm-export -o over another model" "not an ARPA file \(use --force\)" \
    "$T/other.nglm" "$X" --model "$T/e.nglm" -o "$T/other.nglm"
refused "nglm-kn --model is the text" "--model .* is the same file as --train" \
    "$TXT" "$K" -o 3 --train "$TXT" --model "$TXT"

# ---------------------------------------------------------------- files nglm did not write
refused "--model over a text file" \
    "refusing to replace .*notes\.txt \(--model\): not an nglm model \(use --force\)" \
    "$T/notes.txt" "$TR" $RUN --train "$TXT" --model "$T/notes.txt"
refused "--log over a text file" "notes\.txt \(--log\): not an nglm-train log" \
    "$T/notes.txt" "$TR" $RUN --train "$TXT" --model "$T/m.nglm" --log "$T/notes.txt"
refused "--plot over a text file" "notes\.txt \(--plot\): not an nglm-train plot" \
    "$T/notes.txt" "$TR" $RUN --train "$TXT" --model "$T/m.nglm" --plot "$T/notes.txt"
refused "--write-vocab over a text file" "notes\.txt \(--write-vocab\): not an nglm vocabulary" \
    "$T/notes.txt" "$TR" $RUN --train "$TXT" --model "$T/m.nglm" --write-vocab "$T/notes.txt"
printf 'not a checkpoint\n' >"$T/c.nglm.ckpt"
refused "a checkpoint path holding something else" "c\.nglm\.ckpt \(the checkpoint\): not an nglm checkpoint" \
    "$T/c.nglm.ckpt" "$TR" $RUN --train "$TXT" --model "$T/c.nglm"
expect 0 "--no-checkpoint does not touch it" '' "$TR" $RUN --no-checkpoint --train "$TXT" \
    --model "$T/c.nglm"
check "the file at the checkpoint path is as it was" test "$(cat "$T/c.nglm.ckpt")" = "not a checkpoint"
refused "a model over an ARPA file" "not an nglm model" \
    "$T/s.test.txt" "$TR" $RUN --train "$TXT" --model "$T/s.test.txt"
# what nglm wrote is replaced without --force
"$TR" $RUN --train "$TXT" --valid "$V" --model "$T/n.nglm" --log "$T/n.jsonl" \
    --plot "$T/n.svg" --write-vocab "$T/n.vocab" >/dev/null
"$X" --model "$T/e.nglm" -o "$T/n.arpa"
"$X" --model "$T/e.nglm" -o "$T/n.arpa.gz"
expect 0 "nglm-train replaces its own model, log, plot and vocabulary" '' \
    "$TR" $RUN --train "$TXT" --valid "$V" --model "$T/n.nglm" --log "$T/n.jsonl" \
    --plot "$T/n.svg" --write-vocab "$T/n.vocab"
expect 0 "nglm-export replaces an ARPA file" '' "$X" --model "$T/e.nglm" -o "$T/n.arpa"
expect 0 "nglm-export replaces a gzipped ARPA file" '' "$X" --model "$T/e.nglm" -o "$T/n.arpa.gz"
expect 0 "nglm-kn replaces an ARPA file and a model" '' "$K" -o 3 --quiet --train "$TXT" \
    --arpa "$T/n.arpa" --model "$T/n.nglm"
: >"$T/empty.nglm"
expect 0 "an empty file holds nothing to lose" '' "$TR" $RUN --train "$TXT" --model "$T/empty.nglm"
# --force
expect 0 "--force replaces a text file with a model" '' "$TR" $RUN --force --train "$TXT" \
    --model "$T/notes.txt"
check "it is a model now" sh -c "head -c 8 '$T/notes.txt' | grep -q NGLMMODL"
printf 'my notes\n' >"$T/notes.txt"
expect 0 "nglm-export --force" '' "$X" --force --model "$T/e.nglm" -o "$T/notes.txt"
check "it is an ARPA file now" test "$(head -n 1 "$T/notes.txt")" = '\data\'

# nglm-gen never overwrites a corpus
refused "nglm-gen over an existing corpus" \
    "refusing to replace .*s\.train\.txt \(--prefix\): it exists \(use --force\)" \
    "$TXT" "$G" --quiet --tokens 5000 --prefix "$T/s"
printf 'x\n' >"$T/only.oracle"
refused "nglm-gen: any one of its files existing" "only\.oracle \(--prefix\): it exists" \
    "$T/only.oracle" "$G" --quiet --tokens 5000 --prefix "$T/only"
check "nglm-gen wrote nothing" test ! -e "$T/only.train.txt"
expect 0 "nglm-gen --force" '' "$G" --quiet --force --tokens 5000 --prefix "$T/only"
check "nglm-gen --force replaced it" test "$(cat "$T/only.oracle")" != x

# ---------------------------------------------------------------- one training per model
"$G" --quiet --tokens 200000 --seed 4 --prefix "$T/big"
"$TR" --order 5 --epochs 40 --threads 1 --quiet --train "$T/big.train.txt" \
    --model "$T/busy.nglm" >/dev/null 2>&1 &
first=$!
i=0
while [ $i -lt 200 ] && ! grep -q "^$first\$" "$T/busy.nglm.lock" 2>/dev/null; do
    sleep 0.05
    i=$((i + 1))
done
check "a running training holds MODEL.lock with its process id" grep -q "^$first\$" "$T/busy.nglm.lock"
expect_error "a second training on the same model fails at once" \
    "busy\.nglm is being trained by process $first" \
    "$TR" $RUN --train "$TXT" --model "$T/busy.nglm"
check "a second training: exit 1" test "$got" = 1
expect_error "...also with --resume" "is being trained by process $first" \
    "$TR" $RUN --train "$T/big.train.txt" --model "$T/busy.nglm" --resume
kill -9 $first
wait $first 2>/dev/null
expect 0 "after kill -9 the lock does not block a new run" 'ppl' \
    "$TR" --order 3 --epochs 1 --threads 1 --train "$TXT" --model "$T/busy.nglm"
check "a finished run removes its lock file" test ! -e "$T/busy.nglm.lock"
check "and no temporaries are left" test -z "$(ls "$T" | grep '\.tmp')"
finish
