#!/usr/bin/env bash
# bench/prune.sh — test perplexity against model size on PTB: KenLM's
# count pruning (lmplz --prune) against relative-entropy pruning
# (nglm-prune) of the full Kneser-Ney 5-gram of lmplz, of nglm-kn, and of
# nglm-train's n-gram model, each pruned to the sizes lmplz's count pruning
# gives.  Prints a markdown table (n-grams of all orders as written in each
# ARPA file; perplexity of every token of ptb.test.txt as nglm-eval reports
# it) and, with APPEND=1, appends it to bench/RESULTS.md.  Not part of
# `make check`.
#
# Usage: bench/prune.sh [BUILD_DIR]
#   PTB      the PTB directory (default ../shared/data/ptb); <unk> is written
#            UNK for every model, as lmplz needs (lmplz reserves <unk>)
#   KENLM    where lmplz is (default ../shared/peers/kenlm)
#   TRAIN    1: also nglm-train --features ngram --order 5 (minutes; default 1)
# Each full model is pruned twice: with the history probabilities of the
# criterion from the model itself (SRILM's default), and from the training
# text's frequencies (--history-text; Kneser-Ney's lower orders estimate
# them badly, Chelba et al. 2010).
#   WORK     scratch directory (default a fresh one under /tmp, removed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/..}" && pwd)
ptb=${PTB:-$here/../../shared/data/ptb}
kenlm=${KENLM:-$here/../../shared/peers/kenlm}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
. "$here/lib.sh"

for f in train valid test; do
    sed 's/<unk>/UNK/g' "$ptb/ptb.$f.txt" >"$work/$f.txt"
done

# ngrams ARPA: the n-grams of all orders in its header
ngrams() { awk -F= '/^ngram [0-9]+=/ { s += $2 } END { print s + 0 }' "$1"; }
# ppl ARPA: nglm-eval's perplexity of every token of the test text
ppl() {
    "$build/nglm-eval" --model "$1" "$work/test.txt" |
        awk '/zeroprobs/ { for (i = 1; i < NF; i++) if ($i == "ppl=") print $(i + 1) }'
}
# wall CMD...: runs CMD, prints its wall seconds
wall() {
    /usr/bin/time -f '%e' -o "$work/time.out" "$@" >/dev/null 2>"$work/cmd.err" ||
        { cat "$work/cmd.err" >&2; exit 1; }
    cat "$work/time.out"
}

# the full models
# (a WORK directory of an earlier run keeps nglm-kn's and nglm-train's)
t_lmplz=$(wall sh -c "'$kenlm/lmplz' -o 5 -S 1G --discount_fallback <'$work/train.txt' >'$work/kn5.arpa'")
[ -s "$work/nkn5.arpa" ] ||
    "$build/nglm-kn" -o 5 --train "$work/train.txt" --arpa "$work/nkn5.arpa" --quiet
if [ "${TRAIN:-1}" = 1 ] && [ ! -s "$work/ng5.arpa" ]; then
    "$build/nglm-train" --features ngram --order 5 --threads 2 --train "$work/train.txt" \
        --valid "$work/valid.txt" --model "$work/ng5.nglm" --no-checkpoint --quiet >/dev/null
    "$build/nglm-export" --model "$work/ng5.nglm" -o "$work/ng5.arpa"
fi

# lmplz's count pruning: the sizes
prunes=("0 0 1" "0 1 1" "0 1 2 2 3" "0 2 3 4 5" "0 4 8 8 8" "0 9 19 19 19")
sizes=()
lm_ppl=()
for pr in "${prunes[@]}"; do
    f=$work/lmplz-$(echo "$pr" | tr ' ' _).arpa
    "$kenlm/lmplz" -o 5 -S 1G --discount_fallback --prune $pr <"$work/train.txt" >"$f" 2>/dev/null
    sizes+=("$(ngrams "$f")")
    lm_ppl+=("$(ppl "$f")")
done

# prune_row NAME FULL_ARPA [OPTION...]: a row of the table, the model pruned
# to each size by nglm-prune with the options
t_prune=
prune_row() {
    local name=$1 full=$2 row
    shift 2
    row="| $name | $(ngrams "$full") | $(ppl "$full")"
    for n in "${sizes[@]}"; do
        local t
        t=$(wall "$build/nglm-prune" --model "$full" --target-ngrams "$n" "$@" -o "$work/p.arpa")
        [ -n "$t_prune" ] || t_prune=$t
        row="$row | $(ppl "$work/p.arpa") ($(ngrams "$work/p.arpa"))"
    done
    echo "$row |"
}

{
    results_title "relative-entropy pruning against count pruning (bench/prune.sh)"
    echo
    echo "Test perplexity of PTB (every token; \`<unk>\` written \`UNK\`), full"
    echo "model and pruned to each size that \`lmplz --prune\` gives (n-grams of all"
    echo "orders, as written in the ARPA file; in brackets the pruned file's own"
    echo "count where it differs)."
    echo
    hdr="| model | n-grams | full"
    sep="|---|---|---"
    for i in "${!sizes[@]}"; do
        hdr="$hdr | ${sizes[$i]}"
        sep="$sep|---"
    done
    echo "$hdr |"
    echo "$sep|"
    row="| lmplz --prune (count) | | "
    for i in "${!sizes[@]}"; do row="$row | ${lm_ppl[$i]} (--prune ${prunes[$i]})"; done
    echo "$row |"
    hist=(--history-text "$work/train.txt")
    prune_row "lmplz -o 5, nglm-prune" "$work/kn5.arpa"
    prune_row "lmplz -o 5, nglm-prune --history-text train" "$work/kn5.arpa" "${hist[@]}"
    prune_row "nglm-kn -o 5, nglm-prune" "$work/nkn5.arpa"
    # (nglm-kn --prune-entropy is this model pruned with --history-text)
    if [ "${TRAIN:-1}" = 1 ]; then
        prune_row "nglm-train --features ngram -o 5, nglm-prune" "$work/ng5.arpa"
        prune_row "nglm-train --features ngram -o 5, nglm-prune --history-text train" \
            "$work/ng5.arpa" "${hist[@]}"
    fi
    echo
    echo "Wall time, one run each: lmplz -o 5 ${t_lmplz} s; nglm-prune of its ARPA file"
    echo "to ${sizes[0]} n-grams ${t_prune} s."
    echo
    echo "Commands: \`lmplz -o 5 -S 1G --discount_fallback [--prune ...] <train.txt\`,"
    echo "\`nglm-kn -o 5 --train train.txt --arpa nkn5.arpa\`, \`nglm-train --features ngram"
    echo "--order 5 --threads 2 --train train.txt --valid valid.txt --model ng5.nglm\` and"
    echo "\`nglm-export --model ng5.nglm -o ng5.arpa\`; \`nglm-prune --model FULL.arpa"
    echo "--target-ngrams N [--history-text train.txt] -o p.arpa\`; \`nglm-eval --model"
    echo "p.arpa test.txt\` (the zeroprobs line's ppl)."
} | tee "$work/table.md"
[ "${APPEND:-0}" != 1 ] || cat "$work/table.md" >>"$here/RESULTS.md"
