#!/bin/sh
# cli_norms.sh — command-line tests of the stored normalisers (the NORMS
# section, doc/model-format.md): models of n-grams alone (nglm-kn's,
# nglm-train --features ngram, nglm-export --from-arpa) get them and score
# as the same files written without them (nglm-export --no-norms, the
# successor lists): every token's log10 to the printed digits, the report
# to 6 decimals; a model with skip-gram weights gets none, but those of
# its n-gram part (NGRAM_NORMS); a damaged normaliser is refused by the
# block checksums and by --verify.
. "$(dirname "$0")/cli_lib.sh"
E=$B/nglm-eval
X=$B/nglm-export
"$B/nglm-gen" --quiet --tokens 20000 --seed 5 --prefix "$T/x"
TEST=$T/x.test.txt

# sec_off FILE ID: the offset of section ID of a model file, or nothing
sec_off() {
    n=$(od -An -t u4 -j 20 -N 4 "$1" | tr -d ' ')
    i=0
    while [ "$i" -lt "$n" ]; do
        id=$(od -An -t u4 -j $((40 + 24 * i)) -N 4 "$1" | tr -d ' ')
        if [ "$id" = "$2" ]; then
            od -An -t u4 -j $((40 + 24 * i + 8)) -N 4 "$1" | tr -d ' '
            return
        fi
        i=$((i + 1))
    done
}

# same_scores DESC A B: A (with NORMS) and B (without) score TEST alike
same_scores() {
    check "$1: A has NORMS" test -n "$(sec_off "$2" 9)"
    check "$1: B has none" test -z "$(sec_off "$3" 9)"
    "$E" --model "$2" --per-word "$TEST" >"$T/pa" 2>&1
    "$E" --model "$3" --per-word "$TEST" >"$T/pb" 2>&1
    check "$1: every token's log10 alike" cmp -s "$T/pa" "$T/pb"
    "$E" --model "$2" --digits 6 --threads 2 "$TEST" >"$T/ra" 2>&1
    "$E" --model "$3" --digits 6 --threads 2 "$TEST" >"$T/rb" 2>&1
    check "$1: the report alike" cmp -s "$T/ra" "$T/rb"
}

"$B/nglm-kn" -o 3 --discount-fallback --train "$T/x.train.txt" --model "$T/k.nglm" \
    --arpa "$T/k.arpa" --quiet
expect 0 "--upgrade --no-norms" "" "$X" --upgrade "$T/k.nglm" --no-norms -o "$T/kold.nglm"
same_scores "nglm-kn -o 3" "$T/k.nglm" "$T/kold.nglm"
"$X" --model "$T/k.nglm" -o "$T/ka.arpa"
"$X" --model "$T/kold.nglm" -o "$T/kb.arpa"
check "the ARPA export is the same with or without NORMS" cmp -s "$T/ka.arpa" "$T/kb.arpa"
expect 0 "--from-arpa" "" "$X" --from-arpa "$T/k.arpa" -o "$T/c.nglm"
expect 0 "--from-arpa --no-norms" "" "$X" --from-arpa "$T/k.arpa" --no-norms -o "$T/cold.nglm"
same_scores "ARPA conversion" "$T/c.nglm" "$T/cold.nglm"
expect 2 "--no-norms alone is bad usage" "no-norms" "$X" --model "$T/k.nglm" --no-norms \
    -o "$T/z.arpa"

"$B/nglm-train" --train "$T/x.train.txt" --valid "$T/x.valid.txt" --features ngram \
    --order 3 --epochs 1 --threads 2 --model "$T/t.nglm" --no-checkpoint --quiet >/dev/null 2>&1
expect 0 "--features ngram, --no-norms" "" "$X" --upgrade "$T/t.nglm" --no-norms \
    -o "$T/told.nglm"
same_scores "nglm-train --features ngram" "$T/t.nglm" "$T/told.nglm"
"$B/nglm-train" --train "$T/x.train.txt" --valid "$T/x.valid.txt" --features ngram,skip2 --init zero \
    --order 3 --epochs 1 --threads 2 --model "$T/s.nglm" --no-checkpoint --quiet >/dev/null 2>&1
check "a skip-gram model has no NORMS" test -z "$(sec_off "$T/s.nglm" 9)"
check "a skip-gram model has NGRAM_NORMS" test -n "$(sec_off "$T/s.nglm" 10)"
expect 0 "a skip-gram model scores" "ppl=" "$E" --model "$T/s.nglm" "$TEST"
expect 0 "a skip-gram model, --no-norms" "" "$X" --upgrade "$T/s.nglm" --no-norms \
    -o "$T/sold.nglm"
check "--no-norms leaves NGRAM_NORMS out" test -z "$(sec_off "$T/sold.nglm" 10)"
"$E" --model "$T/s.nglm" --digits 6 "$TEST" >"$T/ra" 2>&1
"$E" --model "$T/sold.nglm" --digits 6 "$TEST" >"$T/rb" 2>&1
check "a skip-gram model: the report alike with or without NGRAM_NORMS" cmp -s "$T/ra" "$T/rb"
expect 0 "a skip-gram model with NGRAM_NORMS verifies" "ppl=" "$E" --verify \
    --model "$T/s.nglm" "$TEST"

# a damaged normaliser: a byte flipped every 4 KiB of the section
off=$(sec_off "$T/k.nglm" 9)
end=$(sec_off "$T/k.nglm" 8)
cp "$T/k.nglm" "$T/bad.nglm"
at=$((off + 13))
while [ "$at" -lt "$end" ]; do
    printf '\377' | dd of="$T/bad.nglm" bs=1 seek="$at" conv=notrunc 2>/dev/null
    at=$((at + 4096))
done
expect 1 "a damaged normaliser: the block checksums" "are damaged" "$E" --model "$T/bad.nglm" \
    "$TEST"
expect 1 "a damaged normaliser: --verify" "checksum mismatch" "$E" --verify \
    --model "$T/bad.nglm" "$TEST"
finish
