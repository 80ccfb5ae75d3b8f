#!/usr/bin/env bash
# bench/kn.sh — nglm-kn against KenLM's lmplz: the same Kneser-Ney 5-gram,
# text to ARPA, timed in alternating rounds (nglm-kn, lmplz, nglm-kn, ...)
# so that the ratio holds while the machine's speed drifts; the median wall
# time, peak RSS and their ratios per corpus; and the two ARPA files
# compared (n-grams per order, the largest difference of any log10 value,
# the test perplexity of each as nglm-eval reads it).  Appends to
# bench/RESULTS.md.  Not part of `make check`.
#
# Usage: bench/kn.sh [BUILD_DIR] [CORPUS...]
#   CORPUS     ptb (the default), or a token count N: an nglm-gen text of N
#              tokens (seed 1), e.g. 9000000 90000000; its 2,000 words all
#              follow many others (no 1-gram has adjusted count 1), so both
#              programs run with their discount fallback (0.5 1 1.5)
#   PTB        the PTB directory (default ../shared/data/ptb); its <unk> is
#              written UNK, as lmplz needs (lmplz reserves <unk>)
#   KENLM      where lmplz is (default ../shared/peers/kenlm, then PATH);
#              without it only nglm-kn is timed
#   ROUNDS     alternating rounds (default 5); THREADS (default 2)
#   MEMORY     counting memory of both: nglm-kn --memory and lmplz -S
#              (default 1G)
#   WORK       scratch directory (default a fresh one under /tmp)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/..}" && pwd)
shift || true
corpora=${*:-ptb}
ptb=${PTB:-$here/../../shared/data/ptb}
rounds=${ROUNDS:-5}
threads=${THREADS:-2}
memory=${MEMORY:-1G}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
. "$here/lib.sh"

lmplz=
for c in "${KENLM:-$here/../../shared/peers/kenlm}/lmplz" "${KENLM:-$here/../../shared/peers/kenlm}/bin/lmplz" \
         "$(command -v lmplz 2>/dev/null || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then lmplz=$c; break; fi
done
[ -n "$lmplz" ] || echo "bench/kn.sh: lmplz not found (set KENLM=DIR): timing nglm-kn alone" >&2
[ -x /usr/bin/time ] || { echo "bench/kn.sh: needs GNU time (Debian package time)" >&2; exit 1; }

# timed LOG CMD...: runs CMD, appends "wall_s peak_MB" to LOG
timed() {
    local log=$1
    shift
    /usr/bin/time -f '%e %M' -o "$work/time.out" "$@" >/dev/null 2>"$work/cmd.err" || {
        echo "bench/kn.sh: failed: $*" >&2
        tail -5 "$work/cmd.err" >&2
        exit 1
    }
    awk '{printf "%s %.1f\n", $1, $2 / 1024}' "$work/time.out" >>"$log"
}

# arpa_diff A B: "n-grams-equal max_abs_diff" over the n-grams of A found in B
arpa_diff() {
    awk -F'\t' '
        FNR == 1 { file++ }
        /^ngram / { cnt[file, $0] = 1; next }
        NF >= 2 && $1 ~ /^-?[0-9]/ {
            if (file == 1) { p[$2] = $1; b[$2] = (NF > 2 ? $3 : 0); n1++ }
            else if ($2 in p) {
                d = p[$2] - $1; if (d < 0) d = -d; if (d > m) m = d
                d = b[$2] - (NF > 2 ? $3 : 0); if (d < 0) d = -d; if (d > m) m = d
                found++
            }
            n2 += file == 2
        }
        END { printf "%s %.2g\n", (n1 == n2 && found == n1) ? "yes" : "no", m }' "$1" "$2"
}

ppl_of() { # MODEL TEXT → the ppl= of nglm-eval's report
    "$build/nglm-eval" --model "$1" "$2" | sed -n 's/.* ppl= \([0-9.]*\) .*/\1/p'
}

for corpus in $corpora; do
    if [ "$corpus" = ptb ]; then
        for f in train test; do
            [ -r "$ptb/ptb.$f.txt" ] || { echo "bench/kn.sh: $ptb/ptb.$f.txt not found (set PTB=DIR)" >&2; exit 1; }
            sed 's/<unk>/UNK/g' "$ptb/ptb.$f.txt" >"$work/$corpus.$f.txt"
        done
        name="PTB (<unk> as UNK)"
        nfb=() lfb=()
    else
        "$build/nglm-gen" --quiet --force --tokens "$corpus" --seed 1 --prefix "$work/$corpus"
        name="nglm-gen, $corpus tokens"
        nfb=(--discount-fallback) lfb=(--discount_fallback)
    fi
    text=$work/$corpus.train.txt
    rm -f "$work/nglm.log" "$work/lmplz.log"
    for r in $(seq "$rounds"); do
        timed "$work/nglm.log" "$build/nglm-kn" -o 5 --threads "$threads" --memory "$memory" \
            -T "$work" --quiet --train "$text" --arpa "$work/nglm.arpa" "${nfb[@]}"
        [ -z "$lmplz" ] || timed "$work/lmplz.log" "$lmplz" -o 5 -S "$memory" -T "$work/" \
            --text "$text" --arpa "$work/lmplz.arpa" "${lfb[@]}"
    done
    nwall=$(awk '{print $1}' "$work/nglm.log" | median)
    nrss=$(awk '{print $2}' "$work/nglm.log" | median)
    nppl=$(ppl_of "$work/nglm.arpa" "$work/$corpus.test.txt")
    {
        results_title "nglm-kn, $name"
        echo "Commands: \`nglm-kn -o 5 --threads $threads --memory $memory --train TEXT --arpa OUT ${nfb[*]}\`$([ -n "$lmplz" ] && echo ", \`lmplz -o 5 -S $memory --text TEXT --arpa OUT ${lfb[*]}\`"), $rounds alternating rounds, median wall time and peak RSS of each (GNU time)."
        [ -n "$lmplz" ] || echo "lmplz was not found, so only nglm-kn was timed." 
        echo
        echo "| program | wall (s) | peak RSS (MB) | test ppl (nglm-eval on the ARPA) |"
        echo "|---|---|---|---|"
        echo "| nglm-kn, $threads threads | $nwall | $nrss | $nppl |"
        if [ -n "$lmplz" ]; then
            lwall=$(awk '{print $1}' "$work/lmplz.log" | median)
            lrss=$(awk '{print $2}' "$work/lmplz.log" | median)
            lppl=$(ppl_of "$work/lmplz.arpa" "$work/$corpus.test.txt")
            ratio=$(paste "$work/nglm.log" "$work/lmplz.log" | awk '{print $1 / $3}' | median)
            echo "| lmplz | $lwall | $lrss | $lppl |"
            echo
            read -r same diff < <(arpa_diff "$work/lmplz.arpa" "$work/nglm.arpa")
            echo "nglm-kn / lmplz wall time, median of the per-round ratios: $ratio. Same n-grams: $same; largest difference of a log10 probability or back-off: $diff."
        fi
    } | tee -a "$here/RESULTS.md"
done
