#!/usr/bin/env bash
# bench/modelm.sh — Model M (nglm-train --classes) on the Penn Treebank:
# valid perplexity by epoch, test perplexity, seconds per epoch, peak RSS,
# appended with the commands and the machine to bench/RESULTS.md.
#
# Usage: bench/modelm.sh CLASSES ORDER [EXTRA nglm-train OPTIONS...]
# (BUILD=DIR for the build, PTB=DIR for the texts).  CLASSES is a number
# (nglm-train clusters the text) or a class file, e.g. from `nglm-cluster
# -c 150 --train ptb.train.txt -o c150.txt`.  Not part of `make check`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/..}
classes=$1 order=$2
shift 2
extra=("$@")
ptb=${PTB:-$here/../../shared/data/ptb}
for f in train valid test; do
    [ -r "$ptb/ptb.$f.txt" ] || { echo "bench/modelm.sh: $ptb/ptb.$f.txt not found (set PTB=DIR)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
cmd=("$build/nglm-train" --train "$ptb/ptb.train.txt" --valid "$ptb/ptb.valid.txt"
     --test "$ptb/ptb.test.txt" --classes "$classes" --order "$order" --model "$tmp/m.nglmc"
     --progress never "${extra[@]}")
/usr/bin/time -f 'rusage %e s wall %U s user %M KB' "${cmd[@]}" >"$log" 2>&1 ||
    { tail -5 "$log" >&2; exit 1; }
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — Model M on PTB, nglm $(git -C "$here" rev-parse --short HEAD)"
    echo
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')."
    echo "Command: \`nglm-train --classes $(basename "$classes") --order $order ${extra[*]:-}\` (PTB texts)"
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo '| epoch | valid ppl | epoch (s) |'
    echo '|---|---|---|'
    # "epoch  N  lr ...  valid ppl P ...  epoch S s ..." (epoch 0: the start)
    awk '$1 == "epoch" && $2 ~ /^[0-9]+$/ {
        p = ""; t = "";
        for (i = 3; i < NF; i++) {
            if ($i == "ppl" && $(i - 1) == "valid") p = $(i + 1);
            if ($i == "epoch" && $(i + 2) == "s") t = $(i + 1);
        }
        if (p != "") print "| " $2 " | " p " | " (t == "" ? "start" : t) " |" }' "$log"
    echo
    echo "Test: $(grep -m1 'ppl=' "$log"); $(grep '^rusage' "$log" | sed 's/^rusage //')."
} >>"$here/RESULTS.md"
tail -n 5 "$here/RESULTS.md"
