#!/usr/bin/env bash
# bench/threads.sh — the 2-thread over 1-thread epoch speed-up on PTB, with
# the two thread counts alternated so that the drift of a shared machine
# falls on both alike, and appends the median ratio to bench/RESULTS.md.
#
# Usage: bench/threads.sh [BUILD_DIR] [ROUNDS] [EXTRA nglm-train OPTIONS...]
# Each round trains one epoch with 1 thread, then one with 2 (default 5
# rounds) and takes the ratio of the two epoch times; the median of the
# ratios is reported.  Not part of `make check`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
rounds=${2:-5}
shift 2 || shift $# || true
extra=("$@")
ptb=${PTB:-$here/../../shared/data/ptb}
for f in train valid; do
    [ -r "$ptb/ptb.$f.txt" ] || { echo "bench/threads.sh: $ptb/ptb.$f.txt not found (set PTB=DIR)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

epoch_s() { # THREADS → the epoch's seconds
    local t=$1
    if ! OMP_NUM_THREADS=$t "$build/nglm-train" --train "$ptb/ptb.train.txt" \
        --valid "$ptb/ptb.valid.txt" --model "$tmp/m.nglm" --epochs 1 \
        --threads "$t" --progress never "${extra[@]}" >"$tmp/log" 2>&1; then
        echo "bench/threads.sh: nglm-train failed:" >&2
        tail -5 "$tmp/log" >&2
        exit 1
    fi
    grep -E '^epoch +1  lr' "$tmp/log" | sed 's/.*epoch \([0-9.]*\) s.*/\1/'
}

. "$here/lib.sh"

rows=""
: >"$tmp/ratios"
for r in $(seq 1 "$rounds"); do
    e1=$(epoch_s 1)
    e2=$(epoch_s 2)
    ratio=$(awk -v a="$e1" -v b="$e2" 'BEGIN {printf "%.2f", a / b}')
    echo "$ratio" >>"$tmp/ratios"
    rows+="| $r | $e1 | $e2 | $ratio |"$'\n'
done
med=$(median <"$tmp/ratios")
lo=$(sort -g "$tmp/ratios" | head -1)
hi=$(sort -g "$tmp/ratios" | tail -1)
{
    results_title "PTB thread speed-up"
    echo "Command: \`nglm-train --train ptb.train.txt --valid ptb.valid.txt --epochs 1 --threads T ${extra[*]}\`, T = 1 then 2, $rounds rounds"
    echo
    echo "| round | 1 thread (s) | 2 threads (s) | speed-up |"
    echo "|---|---|---|---|"
    printf '%s' "$rows"
    echo
    echo "Median epoch speed-up, 2 threads over 1: $med (range $lo–$hi)."
} | tee -a "$here/RESULTS.md"
