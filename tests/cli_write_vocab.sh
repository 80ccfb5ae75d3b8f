#!/bin/sh
# cli_write_vocab.sh — --write-vocab with --vocab writes the given words
# with their counts in --train (a word list has none), <unk> holding the
# tokens outside it: the vocabulary counted with --max-vocab, written back
# from its word list, is the same file.
. "$(dirname "$0")/cli_lib.sh"
TR=$B/nglm-train
"$B/nglm-gen" --quiet --tokens 20000 --seed 11 --prefix "$T/c"
"$TR" --quiet --epochs 0 --max-vocab 60 --train "$T/c.train.txt" --write-vocab "$T/v.txt" >/dev/null
cut -f1 "$T/v.txt" | tail -n +4 >"$T/list.txt"
"$TR" --quiet --epochs 1 --order 2 --features ngram --threads 1 --vocab "$T/list.txt" \
    --train "$T/c.train.txt" --valid "$T/c.valid.txt" --write-vocab "$T/w.txt" \
    --model "$T/m.nglm" >/dev/null
check "a word list written back with the text's counts" cmp -s "$T/v.txt" "$T/w.txt"
"$TR" --quiet --epochs 1 --order 2 --features ngram --threads 1 --vocab "$T/v.txt" \
    --train "$T/c.train.txt" --valid "$T/c.valid.txt" --write-vocab "$T/w2.txt" \
    --model "$T/m2.nglm" >/dev/null
check "a counted vocabulary written back: the same" cmp -s "$T/v.txt" "$T/w2.txt"
check "no count is 0 but <s>'s" test "$(tail -n +2 "$T/w.txt" | awk -F'\t' '$2 == 0' | wc -l)" = 0
finish
