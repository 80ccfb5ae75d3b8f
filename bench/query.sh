#!/usr/bin/env bash
# bench/query.sh — how fast nglm-eval scores a text with a back-off model
# whose normalisers are stored in its file (doc/model.md §2, "Stored
# normalisers"), against KenLM's query on the same model and against the
# same file written without them (nglm-export --no-norms: the successor
# lists, as files written before).  The whole process, median wall time of
# alternated pairs (farm-bench), for:
#   1. nglm-eval --threads 1 and --threads 2 against query -v summary on
#      build_binary's file of the same ARPA model;
#   2. nglm-eval with NORMS against without, 1 and 2 threads;
#   3. a token's lookups, warm, in one process (bench/lookup.c): the
#      library's binary searches, the same without the block checks, and a
#      hash of (context, word) built in memory;
#   4. Python, KenLM's per-line loop `for line in f: m.score(line)`, in one
#      process, passes alternated: the mapped model converted from the ARPA
#      file (nglm-export --from-arpa) against the ARPA file itself; and the
#      default (skip-gram) model with its n-gram normalisers (NGRAM_NORMS)
#      against the same written without them.
# Models: nglm-kn -o 5 on PTB train (--model and --arpa from one run);
# nglm-train's defaults, one epoch (SKIP=0 leaves that out: 1.5 minutes).
# Text: PTB test.  Appends the figures to bench/RESULTS.md.  Not part of
# `make check`.
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
[ -s "$work/kn5c.nglm" ] || "$build/nglm-export" --from-arpa "$work/kn5.arpa" -o "$work/kn5c.nglm"
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
    echo
    echo "A token's lookups, warm, one process (\`bench/lookup $work/kn5c.nglm ptb.test.txt\`,"
    echo "bench/lookup.c; the first pass left out, medians of the rest and of their ratios):"
    echo
    cc -O2 -fopenmp -I"$here/../include" -I"$here/../src" -I"$build" "$here/lookup.c" \
        -o "$work/lookup" "$build/.libs/libnglm_core.a" -lz -lm
    "$work/lookup" "$work/kn5c.nglm" "$test" 11 | sed 's/^/    /'
    if py=$(command -v python3) && (cd "$work" && "$py" "$here/../python/setup.py" -q build_ext \
            --build-lib "$work/pylib" --build-temp "$work/pybuild") >"$work/py.log" 2>&1; then
        loop() { # LABEL A B: KenLM's loop over the text, passes alternated
            PYTHONPATH=$work/pylib "$py" - "$2" "$3" "$test" "$1" <<'PY'
import statistics, sys, time
import nglm
a, b = nglm.Model(sys.argv[1]), nglm.Model(sys.argv[2])
lines = open(sys.argv[3]).readlines()
def loop(m):
    t, s = time.perf_counter(), 0.0
    for line in lines:
        s += m.score(line)
    return time.perf_counter() - t, s
ta, tb = [], []
for k in range(7):
    (x, sa), (y, sb) = loop(a), loop(b)
    assert abs(sa - sb) <= 1e-6 * abs(sb), (sa, sb)
    ta.append(x)
    tb.append(y)
r = statistics.median(x / y for x, y in zip(ta[1:], tb[1:]))
print("| %s | %.3f s / %.3f s | %.3f s / %.3f s | %.3f |" % (sys.argv[4], ta[0], tb[0],
      statistics.median(ta[1:]), statistics.median(tb[1:]), r))
PY
        }
        echo
        echo "Python, \`for line in f: total += m.score(line)\` over PTB test, A and B loaded in"
        echo "one process, 7 passes alternated (first pass; median of the other 6 and of their ratios):"
        echo
        echo "| A / B | first pass A / B | later passes A / B | A/B |"
        echo "|---|---|---|---|"
        loop "mapped KN5 (from the ARPA file) / the ARPA file" "$work/kn5c.nglm" "$work/kn5.arpa"
        if [ "${SKIP:-1}" != 0 ]; then
            [ -s "$work/skip.nglm" ] || "$build/nglm-train" --train "$ptb/ptb.train.txt" \
                --valid "$ptb/ptb.valid.txt" --threads 2 --model "$work/skip.nglm" \
                --no-checkpoint --quiet >/dev/null
            [ -s "$work/skipold.nglm" ] || "$build/nglm-export" --upgrade "$work/skip.nglm" \
                --no-norms -o "$work/skipold.nglm"
            loop "default model, NGRAM_NORMS / without" "$work/skip.nglm" "$work/skipold.nglm"
            echo
            echo "Whole texts (nglm-eval) of the default model keep the grouped passes:"
            echo
            echo "| A against B | A wall | B wall | A/B |"
            echo "|---|---|---|---|"
            pair "default model, NGRAM_NORMS / without, --threads 1" \
                "$ev --threads 1 --model $work/skipold.nglm $test" \
                "$ev" --threads 1 --model "$work/skip.nglm" "$test"
        fi
    else
        echo
        echo "(Python rows left out: the module did not build, $work/py.log)"
    fi
} | tee -a "$here/RESULTS.md"
