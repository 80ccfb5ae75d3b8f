#!/usr/bin/env bash
# bench/query.sh — how fast nglm-eval scores a text with a back-off model
# whose normalisers are stored in its file (doc/model.md §2, "Stored
# normalisers"), against KenLM's query on the same model and against the
# same file written without them (nglm-export --no-norms: the successor
# lists, as files written before).  The whole process, median wall time of
# alternated pairs (farm-bench), for:
#   1. nglm-eval --threads 1 and --threads 2 against query -v summary on
#      build_binary's file of the same ARPA model;
#   2. nglm-eval with NORMS against without, 1 and 2 threads.
# Model: nglm-kn -o 5 on PTB train (--model and --arpa from one run); text:
# PTB test.  Appends the figures to bench/RESULTS.md.  Not part of `make check`.
#
# Usage: bench/query.sh [BUILD_DIR]
#   PTB     the PTB directory (default ../shared/data/ptb)
#   KENLM   the directory of KenLM's query and build_binary (default
#           ../shared/peers/kenlm)
#   RUNS    pairs per figure (default 11)
#   WORK    scratch directory (default a fresh one under /tmp; kept when given)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/..}" && pwd)
ptb=${PTB:-$here/../../shared/data/ptb}
kenlm=${KENLM:-$here/../../shared/peers/kenlm}
runs=${RUNS:-11}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
. "$here/lib.sh"
command -v farm-bench >/dev/null 2>&1 || { echo "bench/query.sh: farm-bench not found" >&2; exit 1; }

ev=$build/nglm-eval
test=$ptb/ptb.test.txt
[ -s "$work/kn5.nglm" ] || "$build/nglm-kn" -o 5 --train "$ptb/ptb.train.txt" \
    --model "$work/kn5.nglm" --arpa "$work/kn5.arpa" --quiet
[ -s "$work/kn5old.nglm" ] || "$build/nglm-export" --upgrade "$work/kn5.nglm" --no-norms \
    -o "$work/kn5old.nglm"
[ -s "$work/kn5.binary" ] || "$kenlm/build_binary" "$work/kn5.arpa" "$work/kn5.binary" >/dev/null 2>&1
cat "$work"/kn5.nglm "$work"/kn5old.nglm "$work"/kn5.binary "$test" >/dev/null # warm cache

# pair LABEL 'B' A...: "| LABEL | A wall | B wall | A/B |" (medians)
pair() {
    local label=$1 b=$2 out
    shift 2
    out=$(farm-bench -n "$runs" --timeout 600 --vs "$b" -- "$@" 2>&1)
    med() { awk -v k="$1" '$0 ~ "^" k {print $(NF-1)}' <<<"$out"; }
    printf '| %s | %s s | %s s | %s |\n' "$label" "$(med 'A wall')" "$(med 'B wall')" \
        "$(med 'A/B wall')"
}

ppl_nglm=$("$ev" --model "$work/kn5.nglm" --digits 6 "$test" | sed -n 2p)
ppl_old=$("$ev" --model "$work/kn5old.nglm" --digits 6 "$test" | sed -n 2p)
ppl_query=$("$kenlm/query" -v summary "$work/kn5.binary" <"$test" 2>/dev/null |
            grep 'including OOVs')
q="sh -c '$kenlm/query -v summary $work/kn5.binary < $test'"
{
    results_title "bench/query.sh: scoring with stored normalisers against KenLM's query"
    echo
    echo "PTB test (82,430 tokens), \`nglm-kn -o 5\` on PTB train; warm page cache;"
    echo "medians of $runs alternated pairs, whole processes; load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Reports: NORMS \`$ppl_nglm\`; without \`$ppl_old\`; query \`$ppl_query\`."
    echo
    echo "| A against B | A wall | B wall | A/B |"
    echo "|---|---|---|---|"
    pair "nglm-eval --threads 1 / query" "$q" "$ev" --threads 1 --model "$work/kn5.nglm" "$test"
    pair "nglm-eval --threads 2 / query" "$q" "$ev" --threads 2 --model "$work/kn5.nglm" "$test"
    pair "NORMS / without, --threads 1" "$ev --threads 1 --model $work/kn5old.nglm $test" \
        "$ev" --threads 1 --model "$work/kn5.nglm" "$test"
    pair "NORMS / without, --threads 2" "$ev --threads 2 --model $work/kn5old.nglm $test" \
        "$ev" --threads 2 --model "$work/kn5.nglm" "$test"
} | tee -a "$here/RESULTS.md"
