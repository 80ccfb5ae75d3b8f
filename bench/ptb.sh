#!/usr/bin/env bash
# bench/ptb.sh — measures nglm on the Penn Treebank benchmark and appends the
# results, the commands and the machine to bench/RESULTS.md.
#
# Usage: bench/ptb.sh [BUILD_DIR] [EXTRA nglm-train OPTIONS...]
# Runs the default training with 2 threads and with 1 thread (a speed ratio
# measured in one run of this script), reporting test perplexity, wall time,
# median epoch time and peak RSS.  Not part of `make check`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
shift || true
extra=("$@")
ptb=${PTB:-$here/../../shared/data/ptb}
for f in train valid test; do
    [ -r "$ptb/ptb.$f.txt" ] || { echo "bench/ptb.sh: $ptb/ptb.$f.txt not found (set PTB=DIR)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # THREADS LOG
    local t=$1 log=$2
    if ! OMP_NUM_THREADS=$t "$build/nglm-train" --train "$ptb/ptb.train.txt" \
        --valid "$ptb/ptb.valid.txt" --test "$ptb/ptb.test.txt" --model "$tmp/ptb.nglm" \
        --threads "$t" --progress never "${extra[@]}" >"$log" 2>&1; then
        echo "bench/ptb.sh: nglm-train failed:" >&2
        tail -5 "$log" >&2
        exit 1
    fi
}

. "$here/lib.sh"

summarise() { # LOG → "ppl wall epochs median_epoch_s rss_mb"
    local log=$1
    local ppl wall ep med rss
    ppl=$(grep -o 'ppl= [0-9.]*' "$log" | tail -1 | awk '{print $2}')
    wall=$(grep -o 'total [0-9.]* s' "$log" | awk '{print $2}')
    ep=$(grep -Ec '^epoch +[0-9]+  lr' "$log")
    med=$(grep -E '^epoch +[0-9]+  lr' "$log" | sed 's/.*epoch \([0-9.]*\) s.*/\1/' | median)
    rss=$(grep -o 'peak RSS [0-9]* MB' "$log" | awk '{print $3}')
    echo "$ppl $wall $ep $med $rss"
}

run 2 "$tmp/t2.log"
run 1 "$tmp/t1.log"
read -r ppl2 wall2 ep2 med2 rss2 < <(summarise "$tmp/t2.log")
read -r ppl1 wall1 ep1 med1 rss1 < <(summarise "$tmp/t1.log")
speedup=$(awk -v a="$med1" -v b="$med2" 'BEGIN {printf "%.2f", a / b}')
{
    results_title "PTB"
    echo "Command: \`nglm-train --train ptb.train.txt --valid ptb.valid.txt --test ptb.test.txt --threads T ${extra[*]}\`"
    echo
    echo "| threads | test ppl | epochs | median epoch (s) | total wall (s) | peak RSS (MB) |"
    echo "|---|---|---|---|---|---|"
    echo "| 2 | $ppl2 | $ep2 | $med2 | $wall2 | $rss2 |"
    echo "| 1 | $ppl1 | $ep1 | $med1 | $wall1 | $rss1 |"
    echo
    echo "Epoch speed-up, 2 threads over 1: $speedup. Reference (../shared/MODEL.md §6): modified Kneser-Ney 5-gram 141.2, KenLM lmplz about 3 s."
} | tee -a "$here/RESULTS.md"
