#!/usr/bin/env bash
# bench/cluster.sh — word classes and the class Kneser-Ney model:
#   1. nglm-cluster on PTB: 300 classes on 2 threads (and 1), wall and user
#      time (medians of ROUNDS alternating runs), the class bigram
#      perplexity, and whether 1, 2, 3 and 4 threads give the same file;
#   2. nglm-cluster on a 9M-token nglm-gen text (--tokens 9M --vocab 50000
#      --order 4 --seed 3), 300 classes on 2 threads, against lmplz -o 5 on
#      the same text, one after the other;
#   3. the class KN 5-gram on PTB for each of CLASSES, alone and mixed with
#      nglm-kn's word 5-gram (linear weight by EM on ptb.valid.txt), test
#      perplexities and the time of each step (bench/classkn_mix.c, compiled
#      here against the build's libnglm).
# Appends to bench/RESULTS.md.  Not part of `make check`.
#
# Usage: bench/cluster.sh [BUILD_DIR]
#   PTB      the PTB directory (default ../shared/data/ptb)
#   KENLM    where lmplz is (default ../shared/peers/kenlm)
#   ROUNDS   runs of each PTB timing (default 3); CLASSES (default "64 300 500")
#   SKIP9M   set: leave out part 2
#   WORK     scratch directory (default a fresh one under /tmp)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/..}" && pwd)
ptb=${PTB:-$here/../../shared/data/ptb}
kenlm=${KENLM:-$here/../../shared/peers/kenlm}
rounds=${ROUNDS:-3}
classes=${CLASSES:-64 300 500}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
. "$here/lib.sh"
out=$work/results.md
tm() { /usr/bin/time -f '%e %U %M' -o "$work/time" "$@"; cat "$work/time"; }

{
results_title "bench/cluster.sh: exchange clustering and the class KN model"
echo
echo "Load average at the start: $(cut -d ' ' -f 1-3 /proc/loadavg)."
} >>"$out"

# 1. PTB
for t in 1 2; do : >"$work/ptb.$t"; done
for r in $(seq "$rounds"); do
    for t in 2 1; do
        tm "$build/nglm-cluster" -c 300 --threads $t --quiet --train "$ptb/ptb.train.txt" \
            -o "$work/c300.$t" >>"$work/ptb.$t"
    done
done
for t in 3 4; do
    "$build/nglm-cluster" -c 300 --threads $t --quiet --train "$ptb/ptb.train.txt" -o "$work/c300.$t"
done
same=yes
for t in 2 3 4; do cmp -s "$work/c300.1" "$work/c300.$t" || same=no; done
ppl=$("$build/nglm-cluster" --init "$work/c300.1" --passes 0 --train "$ptb/ptb.train.txt" \
      -o "$work/x" 2>&1 | sed -n 's/.*-> \([0-9.]*\) in.*/\1/p')
{
echo
echo "PTB train, \`nglm-cluster -c 300 --threads T --train ptb.train.txt\` (the default stopping rule),"
echo "medians of $rounds runs, T = 2 and 1 alternating:"
echo
echo "| threads | wall | user | peak RSS |"
echo "|---|---|---|---|"
for t in 2 1; do
    echo "| $t | $(cut -d ' ' -f 1 "$work/ptb.$t" | median) s | $(cut -d ' ' -f 2 "$work/ptb.$t" | median) s | $(( $(cut -d ' ' -f 3 "$work/ptb.$t" | median | cut -d . -f 1) / 1024 )) MiB |"
done
echo
echo "Class bigram perplexity of the training text: $ppl. The same class file for 1, 2, 3 and 4 threads: $same."
} >>"$out"

# 2. a 9M-token text against lmplz
if [ -z "${SKIP9M:-}" ]; then
    g=$work/g9
    "$build/nglm-gen" --quiet --tokens 9M --vocab 50000 --order 4 --seed 3 --prefix "$g"
    read -r cw cu cm < <(tm "$build/nglm-cluster" -c 300 --threads 2 --quiet --train "$g.train.txt" -o "$work/g9.c300")
    line="| nglm-cluster -c 300 --threads 2 | $cw s | $cu s | $((cm / 1024)) MiB |"
    lline="| lmplz -o 5 | (not found) | | |"
    if [ -x "$kenlm/lmplz" ]; then
        read -r lw lu lm < <(tm sh -c "'$kenlm/lmplz' -o 5 -S 1G -T '$work' --discount_fallback \
                             <'$g.train.txt' >'$work/g9.arpa' 2>/dev/null")
        lline="| lmplz -o 5 -S 1G --discount_fallback | $lw s | $lu s | $((lm / 1024)) MiB |"
        rm -f "$work/g9.arpa"
    fi
    {
    echo
    echo "\`nglm-gen --tokens 9M --vocab 50000 --order 4 --seed 3\` training text, one run each:"
    echo
    echo "| command | wall | user | peak RSS |"
    echo "|---|---|---|---|"
    echo "$line"
    echo "$lline"
    } >>"$out"
fi

# 3. the class KN model on PTB
cc -O2 -fopenmp -I"$here/../include" -I"$here/../src" -I"$build" "$here/classkn_mix.c" \
    -o "$work/classkn_mix" "$build/.libs/libnglm_core.a" -lz -lm
read -r kw ku km < <(tm "$build/nglm-kn" -o 5 --quiet --train "$ptb/ptb.train.txt" --arpa "$work/kn5.arpa")
{
echo
echo "Class KN 5-gram on PTB (classes by \`nglm-cluster -c N --threads 2\`; the word model"
echo "\`nglm-kn -o 5\`, built in $kw s; \`bench/classkn_mix\` builds, saves, loads and scores):"
echo
echo "| classes | clustering wall / user | class KN build | class KN test ppl | mixture weight | mixture valid / test ppl | KN5 test ppl |"
echo "|---|---|---|---|---|---|---|"
} >>"$out"
for n in $classes; do
    read -r w u _ < <(tm "$build/nglm-cluster" -c "$n" --threads 2 --quiet --train "$ptb/ptb.train.txt" -o "$work/c$n")
    "$work/classkn_mix" "$ptb/ptb.train.txt" "$work/c$n" 5 "$ptb/ptb.valid.txt" "$ptb/ptb.test.txt" \
        "$work/kn5.arpa" 2 "$work/ckn$n" >"$work/mix$n"
    cat "$work/mix$n" >&2
    build_s=$(sed -n 's/.*build \([0-9.]*\) s/\1/p' "$work/mix$n")
    cppl=$(sed -n 's/.*test.txt: .*class KN ppl \([0-9.]*\).*/\1/p' "$work/mix$n")
    kppl=$(sed -n 's/.*test.txt: .*word model ppl \([0-9.]*\).*/\1/p' "$work/mix$n")
    lam=$(sed -n 's/^mixture weight.*: \([0-9.]*\)/\1/p' "$work/mix$n")
    mix=$(sed -n 's/^mixture ppl: [^ ]* \([0-9.]*\), [^ ]* \([0-9.]*\)/\1 \/ \2/p' "$work/mix$n")
    echo "| $n | $w s / $u s | $build_s s | $cppl | $lam | $mix | $kppl |" >>"$out"
done
cat "$out" >>"$here/RESULTS.md"
cat "$out"
