#!/usr/bin/env bash
# Benchmark: two certfleet binaries on the same lab, alternating, so that a
# refactoring can show it changed nothing. In each round both binaries issue
# the lab's certificate "media" again (issue --force) and deploy it to every
# host again (deploy --force); the order within a round alternates, so the
# machine's drift (load, caches) falls on both alike. Prints each binary's median and
# the ratio new / old, and a markdown row for bench/RESULTS.md.
#
#   bench/compare.sh OLD_BIN NEW_BIN [HOSTS] [ROUNDS]     (default 50 hosts, 6 rounds)
#
# Both binaries must read the same inventory and state format.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD=${1:?usage: bench/compare.sh OLD_BIN NEW_BIN [HOSTS] [ROUNDS]}
NEW=${2:?usage: bench/compare.sh OLD_BIN NEW_BIN [HOSTS] [ROUNDS]}
HOSTS=${3:-50}
ROUNDS=${4:-6}
export LAB_ADDR=${LAB_ADDR:-127.0.64.1} LAB_HOSTS=$HOSTS
WORK=$(mktemp -d /tmp/certfleet-bench-compare.XXXXXX)
LAB="$WORK/lab"
"$ROOT/examples/lab/lab" start "$LAB" >/dev/null
trap '"$ROOT/examples/lab/lab" stop "$LAB" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
INV="$LAB/certfleet.json"

now() { date +%s.%N; }
# timed BIN ARGS...: seconds one command took (it must succeed)
timed() {
    local bin=$1 start
    shift
    start=$(now)
    "$bin" -q -c "$INV" "$@" >/dev/null
    echo "$(now) - $start" | bc
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

"$NEW" -q -c "$INV" issue media >/dev/null
"$NEW" -q -c "$INV" deploy media --concurrency "$HOSTS" >/dev/null
for f in issue-old issue-new deploy-old deploy-new; do : >"$WORK/$f"; done
for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then order=(old new); else order=(new old); fi
    for which in "${order[@]}"; do
        bin=$OLD
        [[ $which == new ]] && bin=$NEW
        timed "$bin" issue media --force >>"$WORK/issue-$which"
        timed "$bin" deploy media --force --concurrency "$HOSTS" >>"$WORK/deploy-$which"
    done
done

row() {  # row WHAT: median old, median new, ratio
    local old new
    old=$(median <"$WORK/$1-old")
    new=$(median <"$WORK/$1-new")
    printf '%s|%.2f|%.2f|%.2f\n' "$1" "$old" "$new" "$(echo "scale=4; $new / $old" | bc)"
}
echo "per-run seconds (old): issue $(paste -sd' ' "$WORK/issue-old"); deploy $(paste -sd' ' "$WORK/deploy-old")"
echo "per-run seconds (new): issue $(paste -sd' ' "$WORK/issue-new"); deploy $(paste -sd' ' "$WORK/deploy-new")"
for what in issue deploy; do
    IFS='|' read -r name old new ratio < <(row "$what")
    printf '| %s | %s (%d hosts) | %d | %.2f s | %.2f s | %.2f |\n' "$(date -u +%Y-%m-%d)" "$name" \
        "$HOSTS" "$ROUNDS" "$old" "$new" "$ratio"
done
