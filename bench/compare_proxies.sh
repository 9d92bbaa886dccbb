#!/usr/bin/env bash
# Wall time and peak memory of `hedge compare` on the shared real data (issue 15's target: < 2 s per set).
#
#   bash bench/compare_proxies.sh            (REPS=5 by default; SKIP_BUILD=1 to use the existing release build)
#
# For each set: every proxy_* column (14 on realsumm, 15 on rewardmath) plus the four ensembles of all of them,
# BoN and BoP, half the prompts held out. Prints the median and the largest of REPS runs and the peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release -p hedge-cli
fi
H=target/release/hedge
command -v /usr/bin/time >/dev/null || { echo "compare_proxies.sh: needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 1; }
for set in realsumm rewardmath; do
    data=../shared/data/$set/scores.csv
    [ -f "$data" ] || { echo "compare_proxies.sh: $data not found (../shared beside the repository)" >&2; exit 1; }
    times=()
    rss=0
    for _ in $(seq "$REPS"); do
        out=$( { /usr/bin/time -f "%e %M" "$H" compare --data "$data" --ensemble mean-z,min-z,uwo,rank-mean \
            --methods bon,bop --json >/dev/null; } 2>&1 | tail -n1)
        times+=("${out% *}")
        r=${out#* }
        [ "$r" -gt "$rss" ] && rss=$r
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -g)
    median=$(echo "$sorted" | awk -v n="$REPS" 'NR == int((n + 1) / 2)')
    max=$(echo "$sorted" | tail -n1)
    rows=$(("$(wc -l < "$data")" - 1))
    printf '%-11s %5d rows  median %ss  max %ss  peak RSS %d MB  (%d runs)\n' "$set" "$rows" "$median" "$max" \
        $((rss / 1024)) "$REPS"
done
