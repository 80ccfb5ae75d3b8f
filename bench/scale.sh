#!/usr/bin/env bash
# bench/scale.sh — OpenMP scaling of training epochs on PTB: n-gram features
# (2 epochs) and n-gram + skip-gram features (1 epoch) with 1, 2, 4, 8 and 16
# threads.  Prints one line per run: the epoch times and the total.
#
# Usage: bench/scale.sh NGLM_TRAIN PTB_DIR [THREADS...]
# Run it on a machine with that many cores (the results recorded in
# bench/RESULTS.md came from a lent 16-core machine, with a static build of
# nglm-train and the PTB files copied next to it).
set -u
train=$1 ptb=$2
shift 2
threads=${*:-1 2 4 8 16}
nproc
grep -m1 'model name' /proc/cpuinfo
log=$(mktemp)
for feat in ngram ngram,skip2,skip3; do
    ep=2
    [ "$feat" = ngram ] || ep=1
    for t in $threads; do
        "$train" --train "$ptb/ptb.train.txt" --valid "$ptb/ptb.valid.txt" --features "$feat" \
            --threads "$t" --epochs "$ep" --model "$log.nglm" >"$log" 2>&1
        echo "features=$feat threads=$t epoch_s=$(grep '^epoch' "$log" |
            sed 's/.*tokens\/s  epoch \([0-9.]*\) s.*/\1/' | tr '\n' ' ')| $(grep -o 'total [0-9.]* s, peak RSS [0-9]* MB' "$log")"
    done
done
rm -f "$log" "$log.nglm"
