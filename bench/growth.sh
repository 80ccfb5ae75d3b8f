#!/usr/bin/env bash
# bench/growth.sh — how nglm's cost grows with the corpus: nglm-gen corpora
# of 1M, 10M and 100M tokens (or the sizes given), each trained for one
# epoch and evaluated.  Per size: wall time of reading and counting (the
# vocabulary, the id streams and the feature index), of one epoch and of
# evaluating the test text; peak RSS of training and of evaluation; features
# and model bytes.  Then one epoch of the middle size with 1 thread and with
# all threads, and a linear extrapolation to 1e9 tokens from the largest
# size.  Appends a section to bench/RESULTS.md (not part of `make check`).
#
# Usage: bench/growth.sh [BUILD_DIR [SIZE...]]
#   BUILD_DIR  where nglm-train, nglm-eval and nglm-gen are (default .)
#   FEATURES   feature templates (default ngram: exportable to ARPA, and the
#              one whose cost is per distinct context, not per token)
#   ORDER      n-gram order (default 5); THREADS (default: all cores)
#   WORK       scratch directory (default /tmp/nglm-growth; needs ~7 bytes
#              of disk per token)
#   RESULTS    file to append to (default bench/RESULTS.md beside this script)
#   CACHED=0   skip the second (cached) run of each size; SCALE=0 skip the
#              thread scaling (both halve the time of a large size)
set -euo pipefail
bin=$(cd "${1:-.}" && pwd)
shift || true
sizes=${*:-1000000 10000000 100000000}
here=$(cd "$(dirname "$0")" && pwd)
features=${FEATURES:-ngram}
order=${ORDER:-5}
threads=${THREADS:-$(nproc)}
work=${WORK:-/tmp/nglm-growth}
results=${RESULTS:-$here/RESULTS.md}
mkdir -p "$work"

# Runs nglm-train with stdout in $1 (line-buffered) and watches it: when the
# "features:" line appears (the vocabulary, id streams and feature index are
# built), records the seconds since start in $count_s and the peak RSS so
# far (VmHWM, MB) in $count_mb.
watched() {
    local log=$1 t0 pid now
    shift
    t0=$(date +%s%N)
    count_s='' count_mb=''
    stdbuf -oL "$@" >"$log" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if [ -z "$count_s" ] && grep -q '^features:' "$log"; then
            now=$(date +%s%N)
            count_s=$(awk -v a="$t0" -v b="$now" 'BEGIN{printf "%.2f", (b - a) / 1e9}')
            count_mb=$(awk '/VmHWM/{printf "%d", $2 / 1024}' "/proc/$pid/status" 2>/dev/null)
        fi
        sleep 0.05
    done
    wait "$pid"
}

rows=()
largest=0
for n in $sizes; do
    p=$work/g$n
    "$bin/nglm-gen" --quiet --force --tokens "$n" --seed 11 --prefix "$p"
    rm -rf "$work/cache"
    watched "$p.log" "$bin/nglm-train" --train "$p.train.txt" --valid "$p.valid.txt" \
        --order "$order" --features "$features" --epochs 1 --threads "$threads" \
        --no-checkpoint --progress never --data-cache "$work/cache" --model "$p.nglm"
    epoch_s=$(sed -n 's/.* epoch \([0-9.]*\) s .*/\1/p' "$p.log" | head -1)
    tps=$(sed -n 's/.*  \([0-9]*\) tokens\/s .*/\1/p' "$p.log" | head -1)
    feats=$(sed -n 's/^features: \([0-9]*\) .*/\1/p' "$p.log")
    bpf=$(sed -n 's/.* \([0-9.]*\) bytes\/feature in the index.*/\1/p' "$p.log")
    rss=$(sed -n 's/.*peak RSS \([0-9]*\) MB.*/\1/p' "$p.log")
    tokens=$(sed -n 's/^train .*OOVs, \([0-9]*\) tokens.*/\1/p' "$p.log")
    first_s=$count_s first_mb=$count_mb
    # the second run maps the cached id streams: what later runs pay
    cached_s=-
    [ "${CACHED:-1}" = 0 ] || watched "$p.log2" "$bin/nglm-train" --train "$p.train.txt" --valid "$p.valid.txt" \
        --order "$order" --features "$features" --epochs 1 --threads "$threads" \
        --no-checkpoint --progress never --data-cache "$work/cache" --model "$p.nglm"
    [ "${CACHED:-1}" = 0 ] || cached_s=$count_s
    /usr/bin/time -f '%e %M' -o "$p.time" "$bin/nglm-eval" --threads "$threads" --progress never \
        --model "$p.nglm" "$p.test.txt" >"$p.eval"
    read -r eval_s eval_kb <"$p.time"
    eval_tokens=$(awk '/^file/{print $5 + $3}' "$p.eval")
    model_mb=$(awk -v b="$(stat -c %s "$p.nglm")" 'BEGIN{printf "%.1f", b / 1048576}')
    rows+=("| $tokens | $first_s | $cached_s | $first_mb | $epoch_s | $tps | $rss | $eval_tokens | $eval_s | $((eval_kb / 1024)) | $feats | $bpf | $model_mb |")
    echo "${rows[-1]}"
    largest=$n
    lt=$tokens lcount=$first_s lepoch=$epoch_s lrss=$rss lfeat=$feats
    rm -f "$p.train.txt" "$p.valid.txt" "$p.test.txt" "$p.nglm" "$p.log2"
done

# thread scaling of one epoch, on the middle size
scale=(- -)
set -- $sizes
[ "${SCALE:-1}" = 0 ] && set -- 0
mid=${2:-$1}
[ "$mid" = 0 ] || "$bin/nglm-gen" --quiet --force --tokens "$mid" --seed 11 --prefix "$work/s"
[ "$mid" = 0 ] || scale=()
for t in 1 "$threads"; do
    [ "$mid" = 0 ] && break
    "$bin/nglm-train" --train "$work/s.train.txt" --valid "$work/s.valid.txt" --order "$order" \
        --features "$features" --epochs 1 --threads "$t" --no-checkpoint --progress never \
        --data-cache "$work/cache" --model "$work/s.nglm" >"$work/s.log"
    scale+=("$(sed -n 's/.* epoch \([0-9.]*\) s .*/\1/p' "$work/s.log" | head -1)")
done
rm -rf "$work"/s.* "$work/cache"

f=1000000000
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — growth with corpus size, nglm $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(free -g | awk '/Mem:/{print $2}') GiB."
    echo "Corpora: \`nglm-gen --tokens N --seed 11\` (2,000-word back-off source; train 90%, valid and test 5% each)."
    echo "Command: \`nglm-train --train N.train.txt --valid N.valid.txt --order $order --features $features --epochs 1 --threads $threads --data-cache DIR\`, then \`nglm-eval --model M N.test.txt\`."
    echo "\"read+count\" is the wall time from start to the feature index (vocabulary, id streams, n-gram counting) and \"count peak RSS\" the peak memory until then; \"cached\" is the same time on a second run that maps the cached vocabulary and id streams (- when CACHED=0); \"train peak RSS\" is the whole run's peak."
    echo
    echo "| train tokens | read+count (s) | cached (s) | count peak RSS (MB) | one epoch (s) | tokens/s | train peak RSS (MB) | eval tokens | eval (s) | eval peak RSS (MB) | features | index bytes/feature | model (MB) |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    [ "$mid" = 0 ] || echo "One epoch of the ${mid}-token corpus: ${scale[0]} s with 1 thread, ${scale[1]} s with $threads (speed-up $(awk -v a="${scale[0]}" -v b="${scale[1]}" 'BEGIN{printf "%.2f", a / b}'))."
    awk -v t="$lt" -v c="$lcount" -v e="$lepoch" -v f="$lfeat" -v r="$lrss" 'BEGIN {
        k = 1e9 / t
        printf "Linear extrapolation from %d tokens to 1e9 (x%.0f): read+count %.0f s, one epoch %.0f s; features and peak RSS at most %.0f and %.0f MB (they grow sublinearly: new n-grams become rarer as the corpus grows).\n", t, k, c * k, e * k, f * k, r * k }'
} >>"$results"
echo "appended to $results"
