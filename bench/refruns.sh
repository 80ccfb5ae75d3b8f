#!/bin/bash
# bench/refruns.sh — the reference runs that a refactor must leave unchanged:
# the same commands with two builds, their stdout, stderr and output files
# compared byte for byte.
#
#   bench/refruns.sh [--no-ptb] [--keep] OLD_BUILD NEW_BUILD
#
# OLD_BUILD and NEW_BUILD are built trees (in-tree builds: the programs at
# their top, the bundled corpus in corpus/).  The runs: eight nglm-train
# runs (the bundled corpus with the defaults; --order 4 --init zero
# --epochs 2 --max-memory 2M; --features ngram --eval-cache auto; --cache
# DIR twice, the second mapping the cache; --best --epochs 1 --log; an
# empty text; PTB with the defaults) and nglm-kn (-o 3 with --model on the
# bundled corpus, from stdin and from --train; -o 5 on PTB to ARPA), and
# nglm-export --from-arpa.
# --no-ptb leaves out the two PTB runs (a minute or two each); ONLY=GLOB
# in the environment runs only the runs so named (ONLY='kn-*').
#
# Training is bit-identical for any thread count; --threads 2 only keeps
# the time down.  What may differ, and is masked before comparing: times,
# rates and peak RSS (and the JSON log's tokens_per_s and elapsed_s),
# progress (--progress never), each build's own directory (where the
# bundled corpus is) and the id cache's file names (they hash the text's
# path).  Exit status 0 when every run matches, 1 otherwise.
set -u
ptb=1 keep=0
while [ $# -gt 2 ]; do
    case $1 in
    --no-ptb) ptb=0 ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--no-ptb] [--keep] OLD_BUILD NEW_BUILD" >&2; exit 2 ;;
    esac
    shift
done
[ $# -eq 2 ] || { echo "usage: $0 [--no-ptb] [--keep] OLD_BUILD NEW_BUILD" >&2; exit 2; }
OLD=$(cd "$1" && pwd) && NEW=$(cd "$2" && pwd) || exit 2
for b in "$OLD" "$NEW"; do
    for p in nglm-train nglm-kn; do
        [ -x "$b/$p" ] || { echo "$0: $b/$p: not built" >&2; exit 2; }
    done
done
here=$(cd "$(dirname "$0")" && pwd)
PTB=${PTB:-$here/../../shared/data/ptb}
if [ "$ptb" = 1 ]; then
    if [ ! -r "$PTB/ptb.train.txt" ]; then
        echo "$0: no PTB at $PTB (set PTB=DIR, or --no-ptb)" >&2
        exit 2
    fi
    PTB=$(cd "$PTB" && pwd) # not under a build, whose path is masked
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/refruns.XXXXXX") || exit 1
[ "$keep" = 1 ] || trap 'rm -rf "$W"' EXIT
: > "$W/empty.txt"
cp "$OLD/corpus/default.train.txt" "$W/kn.txt"

# mask BUILD: the parts of an output that may differ between two builds
mask() {
    sed -E -e "s#$1#BUILD#g" \
        -e 's/[0-9]+(\.[0-9]+)? s\b/T s/g' \
        -e 's/[0-9]+(\.[0-9]+)? tokens\/s/R tokens\/s/g' \
        -e 's/peak RSS [0-9]+ MB/peak RSS M MB/g' \
        -e 's/"(tokens_per_s|elapsed_s)":[0-9.e+-]+/"\1":X/g' \
        -e 's#(cache/)[^ :;]*#\1FILE#g'
}

# run NAME CMD...: CMD in a directory of its own with each build (the
# program's name the first word of CMD), then the comparison
fail=0 n=0
run() {
    local name=$1 b d f
    shift
    case $name in ${ONLY:-*}) ;; *) return ;; esac
    n=$((n + 1))
    for b in old new; do
        d=$W/$b/$name
        mkdir -p "$d"
        local B=$OLD
        [ $b = new ] && B=$NEW
        (cd "$d" && "$B/$@" > stdout 2> stderr; echo $? > status) < "${STDIN:-/dev/null}"
        mask "$B" < "$d/stdout" > "$d/stdout.m"
        mask "$B" < "$d/stderr" > "$d/stderr.m"
        [ ! -f "$d/log.jsonl" ] || mask "$B" < "$d/log.jsonl" > "$d/log.m"
    done
    local bad=""
    for f in status stdout.m stderr.m log.m model.nglm out.arpa; do
        [ -e "$W/old/$name/$f" ] || [ -e "$W/new/$name/$f" ] || continue
        cmp -s "$W/old/$name/$f" "$W/new/$name/$f" || bad="$bad ${f%.m}"
    done
    if [ -n "$bad" ]; then
        echo "DIFFERS  $name:$bad"
        for f in stdout.m stderr.m; do
            diff "$W/old/$name/$f" "$W/new/$name/$f" | head -6 | sed 's/^/    /'
        done
        fail=1
    else
        echo "same     $name (exit $(cat "$W/old/$name/status"))"
    fi
}

T="nglm-train --threads 2 --progress never --model model.nglm"
run train-default $T
run train-zero-4 $T --order 4 --init zero --epochs 2 --max-memory 2M
run train-ngram-cache $T --features ngram --eval-cache auto
run train-cache-1 $T --data-cache ../cache
run train-cache-2 $T --data-cache ../cache
run train-best-log $T --best --epochs 1 --log log.jsonl
run train-empty $T --train "$W/empty.txt"
[ "$ptb" = 0 ] ||
    run train-ptb $T --train "$PTB/ptb.train.txt" --valid "$PTB/ptb.valid.txt" \
        --test "$PTB/ptb.test.txt"
K="nglm-kn --threads 2 --progress never --discount-fallback"
STDIN=$W/kn.txt run kn-stdin $K -o 3 --model model.nglm --arpa out.arpa
run kn-train $K -o 3 --train "$W/kn.txt" --model model.nglm
run kn-stdout $K -o 2 --train "$W/kn.txt" --prune 0 1
run kn-empty $K -o 3 --train "$W/empty.txt"
run kn-no-fallback nglm-kn --threads 2 -o 3 --train "$W/kn.txt" --arpa out.arpa
run kn-missing $K -o 3 --train "$W/no-such-file.txt"
"$OLD/nglm-kn" -o 3 --quiet --discount-fallback --prune 0 0 1 --train "$W/kn.txt" \
    --arpa "$W/kn3.arpa"
run export-from-arpa nglm-export --from-arpa "$W/kn3.arpa" -o model.nglm
[ "$ptb" = 0 ] || run kn-ptb $K -o 5 --train "$PTB/ptb.train.txt" --arpa out.arpa
[ "$keep" = 0 ] || echo "outputs kept in $W"
echo "$n runs: $([ $fail = 0 ] && echo "all the same" || echo "some differ")"
exit $fail
