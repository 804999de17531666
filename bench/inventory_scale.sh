#!/usr/bin/env bash
# Benchmark (issue #6): does a 10,000-certificate inventory load, validate and
# plan in under a second? bench/tools/gen_store writes CERTS certificates
# (default 10,000; store, one ledger issuance each, 100 of them due) and an
# inventory with HOSTS ssh hosts (default 1,000) in groups of PER hosts
# (default 10), certificate i deployed to one group: 100,000 (certificate,
# host) pairs. Then, best of 3 each (wall, CPU, peak RSS):
#
#   certfleet validate                  load + validate
#   certfleet issue --dry-run           the renewal plan (no CA, no DNS)
#   certfleet deploy --dry-run          the rollout plan of every (certificate, host)
#   certfleet renew --dry-run           both plans
#   certfleet status --no-hosts         store + ledger view
#   certfleet check                     expiry of the store (exit 1: 100 WARNING)
#   host_index                          audit's host -> certificates map, per host
#                                       (before) vs once per audit (now)
#
# Nothing is contacted: the hosts' addresses (127.2.x.y, port 1) are never
# used by these commands, the CA URL is .invalid. Each command's --json output
# is checked once (counts of planned / unchanged / deployed pairs), so a broken
# run cannot report a fast time.
#
#   bench/inventory_scale.sh [CERTS] [HOSTS] [PER]      (defaults 10000 1000 10)
#
# Builds certfleet and gen_store in BUILD (default ./build-bench);
# CERTFLEET=path/to/certfleet times another binary (e.g. an older build).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CERTS=${1:-10000}
HOSTS=${2:-1000}
PER=${3:-10}
BUILD=${BUILD:-$ROOT/build-bench}
RUNS=3

die() { echo "inventory_scale.sh: $*" >&2; exit 1; }
[[ $CERTS =~ ^[0-9]+$ && $HOSTS =~ ^[0-9]+$ && $PER =~ ^[0-9]+$ ]] || die "numbers expected"
((HOSTS % PER == 0)) || die "PER must divide HOSTS"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCERTFLEET_TESTS=OFF >/dev/null
fi
targets=(gen_store host_index)
[ -n "${CERTFLEET:-}" ] || targets+=(certfleet)
if ! log=$(cmake --build "$BUILD" --target "${targets[@]}" 2>&1); then
  tail -n 30 <<<"$log" >&2
  die "build failed in $BUILD (others may be mid-edit in src/: retry in a minute)"
fi
BIN=${CERTFLEET:-$BUILD/certfleet}
GEN="$BUILD/bench/gen_store"
WORK=$(mktemp -d /tmp/certfleet-bench-inventory.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

gen=$("$GEN" --state-dir "$WORK/state" --inventory "$WORK/certfleet.json" --count "$CERTS" \
  --hosts "$HOSTS" --hosts-per-cert "$PER")
echo "store: $gen; $HOSTS hosts, $((HOSTS / PER)) groups of $PER, $((CERTS * PER)) (certificate, host) pairs"
due=$(sed -E 's/.* warning=([0-9]+) .*/\1/' <<<"$gen")
pairs=$((CERTS * PER))
cfg=(-c "$WORK/certfleet.json")

# best NAME EXPECTED_RC -- args...: RUNS runs; sets B_SECS (best wall) and the
# B_CPU (user+sys) and B_RSS (KiB) of that run.
best() {
  local name=$1 expect=$2 rc wall user sys rss
  shift 3
  B_SECS=""
  for _ in $(seq 1 "$RUNS"); do
    rc=0
    /usr/bin/time -o "$WORK/$name.time" -f '%e %U %S %M' "$BIN" "${cfg[@]}" "$@" \
      >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    [ "$rc" = "$expect" ] || { tail -n 3 "$WORK/$name.err" >&2; die "$name: exit $rc, expected $expect"; }
    read -r wall user sys rss < <(tail -n 1 "$WORK/$name.time")
    if [ -z "$B_SECS" ] || [ "$(echo "$wall < $B_SECS" | bc)" = 1 ]; then
      B_SECS=$wall B_CPU=$(echo "$user + $sys" | bc) B_RSS=$rss
    fi
  done
}

# verify NAME EXPECTED_RC PYTHON_CHECK -- args...: one --json run, checked.
verify() {
  local name=$1 expect=$2 check=$3 rc=0
  shift 4
  "$BIN" "${cfg[@]}" --json "$@" >"$WORK/$name.json" 2>/dev/null || rc=$?
  [ "$rc" = "$expect" ] || die "$name --json: exit $rc, expected $expect"
  python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
c = [x.get('action') for x in d.get('certificates', [])]
h = [x.get('result') for x in d.get('hosts', [])]
certs, due, pairs = $CERTS, $due, $pairs
assert $check, 'unexpected --json output'" "$WORK/$name.json" || die "$name: wrong result"
}

declare -A S C R
run() {
  local name=$1 expect=$2 check=$3
  shift 4
  verify "$name" "$expect" "$check" -- "$@"
  best "$name" "$expect" -- "$@"
  S[$name]=$B_SECS C[$name]=$B_CPU R[$name]=$B_RSS
  printf '%-28s %7.3f s  cpu %6.3f s  peak RSS %6.1f MiB\n' "certfleet $*" "$B_SECS" "$B_CPU" \
    "$(echo "$B_RSS / 1024" | bc -l)"
}

run validate 0 "d['valid']" -- validate
run issue 0 "c.count('planned') == due and c.count('unchanged') == certs - due" -- issue --dry-run
run deploy 0 "h.count('planned') == pairs" -- deploy --dry-run
run renew 0 "c.count('planned') == due and h.count('planned') == pairs" -- renew --dry-run
run status 0 "len(d['certificates']) == certs" -- status --no-hosts
run check 1 "d['state'] == 'WARNING' and len(d['items']) == certs" -- check
# audit's host -> certificates map (bench/tools/host_index.cpp): the audit
# itself needs reachable hosts, this part of it does not.
"$BUILD/bench/host_index" "$WORK/certfleet.json" "$RUNS" || die "host_index: the two maps differ"

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "machine: $(nproc) cores, load average $load_start at start, $load_end at end"
met() { if [ "$(echo "$1 < 1" | bc)" = 1 ]; then echo "met"; else echo "NOT met"; fi; }
echo "under 1 s (wall, best of $RUNS): validate $(met "${S[validate]}"), issue --dry-run $(met "${S[issue]}"), status $(met "${S[status]}")"
echo
echo "markdown row (wall / CPU):"
row="| $(date -u +%Y-%m-%d) | $CERTS certs, $HOSTS hosts, $pairs pairs |"
for k in validate issue deploy renew status check; do
  row+=$(printf ' %.2f / %.2f s |' "${S[$k]}" "${C[$k]}")
done
echo "$row"
rss="peak RSS:"
for k in validate issue deploy renew status check; do
  rss+=$(printf ' %s %.1f MiB,' "$k" "$(echo "${R[$k]} / 1024" | bc -l)")
done
echo "${rss%,}"
