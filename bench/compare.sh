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
# Each binary keeps its own state directory (a newer one may migrate the
# ledger beyond what the older reads); both deploy to the same hosts.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD=${1:?usage: bench/compare.sh OLD_BIN NEW_BIN [HOSTS] [ROUNDS]}
NEW=${2:?usage: bench/compare.sh OLD_BIN NEW_BIN [HOSTS] [ROUNDS]}
HOSTS=${3:-50}
ROUNDS=${4:-6}
export LAB_ADDR=${LAB_ADDR:-127.0.65.1} LAB_HOSTS=$HOSTS
WORK=$(mktemp -d /tmp/certfleet-bench-compare.XXXXXX)
LAB="$WORK/lab"
"$ROOT/examples/lab/lab" start "$LAB" >/dev/null
trap '"$ROOT/examples/lab/lab" stop "$LAB" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
# inventory_for WHICH: the lab's inventory (JSON with comments, paths relative
# to it) beside it, with that binary's own state_dir
inventory_for() {
    grep -q '"state_dir": "state",' "$LAB/certfleet.json"
    sed 's|"state_dir": "state",|"state_dir": "state-'"$1"'",|' "$LAB/certfleet.json" >"$LAB/$1.json"
}
inventory_for old
inventory_for new

now() { date +%s.%N; }
binary() { if [[ $1 == new ]]; then echo "$NEW"; else echo "$OLD"; fi; }
# timed WHICH ARGS...: seconds one command of that binary took (it must succeed)
timed() {
    local which=$1 start
    shift
    start=$(now)
    "$(binary "$which")" -q -c "$LAB/$which.json" "$@" >/dev/null
    echo "$(now) - $start" | bc
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

for which in old new; do
    timed "$which" issue media >/dev/null
    timed "$which" deploy media --concurrency "$HOSTS" >/dev/null
done
for f in issue-old issue-new deploy-old deploy-new; do : >"$WORK/$f"; done
for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then order=(old new); else order=(new old); fi
    for which in "${order[@]}"; do
        timed "$which" issue media --force >>"$WORK/issue-$which"
        timed "$which" deploy media --force --concurrency "$HOSTS" >>"$WORK/deploy-$which"
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
