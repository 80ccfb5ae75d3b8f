# bench/lib.sh — shell helpers shared by the bench scripts (sourced, not run).

# median: the median of the numbers on stdin, one per line
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# results_title TITLE: the heading of a bench/RESULTS.md entry (date, the
# commit of the checkout the script is in) and the machine's line
results_title() {
    local here cpu
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $1, nglm $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo
    echo "Machine: $(nproc) cores, $cpu, $(free -g | awk '/Mem/ {print $2}') GiB."
}
