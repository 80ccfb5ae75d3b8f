#!/usr/bin/env bash
# bench/load.sh — how fast nglm-eval loads a model and scores one sentence
# (issue 15: the mapped model file, doc/model-format.md "Mapped loading"),
# and how fast it reads an ARPA file: the median wall time and peak RSS of
# the whole process (farm-bench when it is installed, else repeated runs of
# /usr/bin/time), for
#   1. one sentence, the default PTB model (nglm-train's defaults), mapped;
#   2. the same with --verify (CRC and whole index);
#   3. the PTB test text, mapped against --verify (scoring speed);
#   4. one sentence, the Kneser-Ney 5-gram ARPA file of nglm-kn;
# and, with BASE=DIR (a build of an older checkout, e.g. one that read the
# model into memory), each of them against that build's nglm-eval, pair by
# pair; and 4. against KenLM's query reading the same ARPA file, pair by
# pair, when query is found (KENLM=DIR, default ../shared/peers/kenlm, then
# PATH).  Appends the figures to bench/RESULTS.md.  Not part of `make check`.
#
# Usage: bench/load.sh [BUILD_DIR]
#   PTB     the PTB directory (default ../shared/data/ptb)
#   BASE    a second build directory to compare against (optional), named
#           BASE_NAME in the results (default: its path)
#   RUNS    runs (pairs) per figure (default 11)
#   WORK    scratch directory (default a fresh one under /tmp); the model
#           and the ARPA file are kept there between runs when WORK is given
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/..}" && pwd)
ptb=${PTB:-$here/../../shared/data/ptb}
runs=${RUNS:-11}
base=${BASE:-}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
. "$here/lib.sh"

eval_bin=$build/nglm-eval
query=
for c in "${KENLM:-$here/../../shared/peers/kenlm}/query" "${KENLM:-$here/../../shared/peers/kenlm}/bin/query" \
         "$(command -v query 2>/dev/null || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then query=$c; break; fi
done
model=$work/ptb.nglm
arpa=$work/kn5.arpa
one=$work/one.txt
echo "the company said it expects to report a loss" >"$one"
[ -s "$model" ] || "$build/nglm-train" --train "$ptb/ptb.train.txt" --valid "$ptb/ptb.valid.txt" \
    --threads 2 --model "$model" --no-checkpoint --quiet >/dev/null
[ -s "$arpa" ] || "$build/nglm-kn" -o 5 --train "$ptb/ptb.train.txt" --arpa "$arpa" 2>/dev/null
cat "$model" "$arpa" >/dev/null # in the page cache: warm-cache figures

# measure LABEL VS CMD...: "LABEL | wall | peak" (medians), and when VS is 1
# and BASE is set, against BASE's nglm-eval with the same arguments ("| base
# wall | base peak | ratio")
measure() {
    local label=$1 vs=$2
    shift 2
    if command -v farm-bench >/dev/null 2>&1; then
        local out
        if [ -n "$base" ] && [ "$vs" = 1 ]; then
            out=$(farm-bench -n "$runs" --timeout 600 --vs "$base/nglm-eval ${*:2}" -- "$@" 2>&1)
        else
            out=$(farm-bench -n "$runs" --timeout 600 -- "$@" 2>&1)
        fi
        med() { awk -v k="$1" '$0 ~ "^" k {print $(NF-1)}' <<<"$out"; }
        if [ -n "$base" ] && [ "$vs" = 1 ]; then
            printf '| %s | %s s | %s MiB | %s s | %s MiB | %s |\n' "$label" "$(med 'A wall')" \
                "$(med 'A peak')" "$(med 'B wall')" "$(med 'B peak')" "$(med 'A/B wall')"
        else
            printf '| %s | %s s | %s MiB |\n' "$label" "$(med 'A wall')" "$(med 'A peak')"
        fi
    else
        local walls=() peaks=()
        for _ in $(seq "$runs"); do
            read -r w p < <( { /usr/bin/time -f '%e %M' "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -1)
            walls+=("$w")
            peaks+=("$p")
        done
        printf '| %s | %s s | %s MiB |\n' "$label" "$(printf '%s\n' "${walls[@]}" | median)" \
            "$(printf '%s\n' "${peaks[@]}" | median | awk '{printf "%.1f", $1 / 1024}')"
    fi
}

{
    results_title "bench/load.sh: loading a model (mapped) and reading an ARPA file"
    echo
    echo "Warm page cache; medians of $runs runs$([ -n "$base" ] && echo ", each against the nglm-eval of ${BASE_NAME:-$base} (ratio A/B of wall, pair by pair)"); load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Model: \`nglm-train\` defaults on PTB ($(du -m "$model" | cut -f1) MB); ARPA: \`nglm-kn -o 5\` ($(du -m "$arpa" | cut -f1) MB)."
    echo
    if [ -n "$base" ]; then
        echo "| nglm-eval | wall | peak RSS | base wall | base peak | ratio |"
        echo "|---|---|---|---|---|---|"
    else
        echo "| nglm-eval | wall | peak RSS |"
        echo "|---|---|---|"
    fi
    measure "one sentence" 1 "$eval_bin" --model "$model" "$one"
    measure "one sentence, --verify" 0 "$eval_bin" --verify --model "$model" "$one"
    measure "PTB test text" 1 "$eval_bin" --model "$model" "$ptb/ptb.test.txt"
    measure "PTB test text, --verify" 0 "$eval_bin" --verify --model "$model" "$ptb/ptb.test.txt"
    measure "one sentence, KN 5-gram ARPA" 1 "$eval_bin" --model "$arpa" "$one"
    if [ -n "$query" ] && command -v farm-bench >/dev/null 2>&1; then
        out=$(farm-bench -n "$runs" --timeout 600 --vs "sh -c '$query $arpa < $one'" -- \
              "$eval_bin" --model "$arpa" "$one" 2>&1)
        med() { awk -v k="$1" '$0 ~ "^" k {print $(NF-1)}' <<<"$out"; }
        echo
        echo "Against KenLM's query ($query) reading the same ARPA file, pair by pair:"
        echo "nglm-eval $(med 'A wall') s / $(med 'A peak') MiB, query $(med 'B wall') s /" \
             "$(med 'B peak') MiB, ratio $(med 'A/B wall')."
    else
        echo
        echo "(KenLM's query not found: set KENLM=DIR to time it on the same ARPA file.)"
    fi
} | tee -a "$here/RESULTS.md"
