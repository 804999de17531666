#!/usr/bin/env bash
# Benchmark (issue #4): `certfleet status` / `certfleet check` over a store of
# N certificates (default 10,000) against the loop an operator scripts without
# certfleet (`openssl x509 -checkend` per cert.pem, as cron scripts and Nagios
# file checks do), and `certfleet check --probe` of P TLS endpoints (default
# 500: one local nginx, one server block per name) against Nagios'
# `check_http -C` per endpoint (sequential, and `xargs -P 2`) and an
# `openssl s_client | openssl x509 -checkend` loop. Same run, same machine;
# prints timings, ratios and markdown rows for bench/RESULTS.md.
#
#   bench/check.sh [CERTS] [ENDPOINTS]      (defaults 10000 500)
#
# Builds certfleet (Release) and bench/tools/gen_store in ./build-bench
# (override with BUILD=dir); installs monitoring-plugins-basic if missing.
# Only loopback traffic; nginx is a private instance in a temp dir, stopped
# (by its pid) and removed on exit. Every certfleet run is checked for the
# expected exit code and first line, so a broken run cannot report a fast time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CERTS=${1:-10000}
ENDPOINTS=${2:-500}
BUILD=${BUILD:-$ROOT/build-bench}
RUNS=3
WARN_S=$((21 * 86400))  # the inventory's default policy: warn_before 21d
CRIT_S=$((7 * 86400))   # critical_before 7d
PLUGIN=/usr/lib/nagios/plugins/check_http

# --- build and tools ---------------------------------------------------------------
die() { echo "check.sh: $*" >&2; exit 1; }
if ! log=$(cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCERTFLEET_TESTS=OFF 2>&1 &&
  ninja -C "$BUILD" certfleet gen_store 2>&1); then
  tail -n 30 <<<"$log" >&2
  die "build failed (others may be mid-edit in src/: retry in a minute)"
fi
BIN="$BUILD/certfleet"
GEN="$BUILD/bench/gen_store"
if [ ! -x "$PLUGIN" ]; then
  apt-get install -y -qq --no-install-recommends monitoring-plugins-basic >/dev/null 2>&1 ||
    echo "note: monitoring-plugins-basic not installable; check_http rows skipped" >&2
fi

WORK=$(mktemp -d /tmp/certfleet-bench-check.XXXXXX)
NGINX_DIR="$WORK/b/nginx"
cleanup() {
  local pid
  if [ -s "$NGINX_DIR/nginx.pid" ]; then
    pid=$(cat "$NGINX_DIR/nginx.pid")
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
min() { if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc)" = 1 ]; then echo "$2"; else echo "$1"; fi; }
ratio() { printf '%.1f' "$(echo "$1 / $2" | bc -l)"; }

# best_of NAME EXPECTED_RC FIRST_LINE_REGEX -- command...: runs the command
# RUNS times (each bounded by `timeout 300`), checks exit code and first
# line of stdout every time, sets BEST (seconds) and leaves the last output in
# $WORK/NAME.out.
best_of() {
  local name=$1 expect=$2 regex=$3 rc start t first
  shift 4
  BEST=""
  for _ in $(seq 1 "$RUNS"); do
    start=$(now)
    rc=0
    timeout 300 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    t=$(secs "$start" "$(now)")
    first=$(head -n 1 "$WORK/$name.out")
    if [ "$rc" != "$expect" ] || ! [[ $first =~ $regex ]]; then
      head -n 5 "$WORK/$name.out" "$WORK/$name.err" >&2
      die "$name: exit $rc (expected $expect), first line '$first' (expected /$regex/)"
    fi
    BEST=$(min "$BEST" "$t")
  done
}

# peak_rss_kib command...: one extra untimed run under /usr/bin/time.
peak_rss_kib() {
  /usr/bin/time -o "$WORK/rss" -f '%M' timeout 300 "$@" >/dev/null 2>&1 || true
  tail -n 1 "$WORK/rss"
}

# ===================== part A: status / check over CERTS certificates =====================
A="$WORK/a"
mkdir -p "$A"
gen_a=$("$GEN" --state-dir "$A/state" --inventory "$A/certfleet.json" --count "$CERTS" --warn-every 100)
echo "store A: $gen_a"
want_warn=$(sed -E 's/.* warning=([0-9]+) .*/\1/' <<<"$gen_a")
want_ok=$((CERTS - want_warn))
"$BIN" -q -c "$A/certfleet.json" validate >/dev/null || die "inventory A does not validate"
cfg=(-c "$A/certfleet.json")
if [ "$want_warn" -gt 0 ]; then want_check=1 want_state=WARNING; else want_check=0 want_state=OK; fi
check_line="^CERTFLEET $want_state - .* \| critical=0 warning=$want_warn unknown=0 ok=$want_ok\$"

best_of status 0 '^CERTIFICATE +DOMAINS' -- "$BIN" "${cfg[@]}" status --no-hosts
status_s=$BEST
rows=$(grep -c '\.bench\.test' "$WORK/status.out" || true)
[ "$rows" = "$CERTS" ] || die "status listed $rows certificates, expected $CERTS"
best_of status_json 0 '^\{' -- "$BIN" "${cfg[@]}" --json status --no-hosts
status_json_s=$BEST
python3 - "$WORK/status_json.out" "$CERTS" "$want_warn" <<'PY'
import json, sys
certs = json.load(open(sys.argv[1]))["certificates"]
n, warn = int(sys.argv[2]), int(sys.argv[3])
due = sum(c["state"] == "due" for c in certs)
assert len(certs) == n and all(c["serial"] for c in certs), "status --json: wrong certificate list"
assert due == warn, f"status --json: {due} due, expected {warn}"
PY
best_of check "$want_check" "$check_line" -- "$BIN" "${cfg[@]}" check
check_s=$BEST
best_of check_json "$want_check" '^\{' -- "$BIN" "${cfg[@]}" --json check
check_json_s=$BEST
python3 - "$WORK/check_json.out" "$CERTS" "$want_warn" "$want_state" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
n, warn, state = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sev = [i["severity"] for i in doc["items"]]
assert doc["state"] == state and len(sev) == n, "check --json: wrong state or item count"
assert sev.count("warning") == warn and sev.count("ok") == n - warn, "check --json: wrong severities"
PY
check_rss=$(peak_rss_kib "$BIN" "${cfg[@]}" check)
status_rss=$(peak_rss_kib "$BIN" "${cfg[@]}" status --no-hosts)

# The peer: a cron / Nagios file-check loop, one openssl per certificate (a
# second one, for the critical threshold, only where the first one warns).
openssl_loop() {
  local f ok=0 warn=0 crit=0 log="$WORK/loop.log"
  : >"$log"
  for f in "$A"/state/certificates/*/cert.pem; do
    if openssl x509 -noout -enddate -checkend "$WARN_S" -in "$f" >>"$log"; then
      ok=$((ok + 1))
    elif openssl x509 -noout -checkend "$CRIT_S" -in "$f" >/dev/null; then
      warn=$((warn + 1))
    else
      crit=$((crit + 1))
    fi
  done
  echo "$ok $warn $crit" >"$WORK/loop.counts"
}
loop_s="" loop_runs=0
while [ "$loop_runs" -lt "$RUNS" ]; do
  start=$(now)
  openssl_loop
  t=$(secs "$start" "$(now)")
  loop_s=$(min "$loop_s" "$t")
  loop_runs=$((loop_runs + 1))
  read -r l_ok l_warn l_crit <"$WORK/loop.counts"
  [ "$l_ok $l_warn $l_crit" = "$want_ok $want_warn 0" ] ||
    die "openssl loop counted ok=$l_ok warning=$l_warn critical=$l_crit, expected $want_ok/$want_warn/0"
  # Bounded: one run is enough when it takes more than a minute.
  if [ "$(echo "$t > 60" | bc)" = 1 ]; then break; fi
done

# ===================== part B: check --probe of ENDPOINTS TLS endpoints =====================
B="$WORK/b"
mkdir -p "$B"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
gen_b=$("$GEN" --state-dir "$B/state" --inventory "$B/certfleet.json" --count "$ENDPOINTS" \
  --prefix p --warn-every 0 --nginx-dir "$NGINX_DIR" --port "$PORT")
echo "store B: $gen_b (nginx on 127.0.0.1:$PORT)"
ngx=(nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log")
"${ngx[@]}" -t -q || die "nginx -t failed"
"${ngx[@]}"
up=0
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then up=1; break; fi
  sleep 0.1
done
[ "$up" = 1 ] || die "nginx did not listen on 127.0.0.1:$PORT"
"$BIN" -q -c "$B/certfleet.json" validate >/dev/null || die "inventory B does not validate"
cfg_b=(-c "$B/certfleet.json")
served=$((2 * ENDPOINTS))  # one store item and one served item per certificate
best_of probe 0 "^CERTFLEET OK - $served checked, all OK.* \| critical=0 warning=0 unknown=0 ok=$served\$" \
  -- "$BIN" "${cfg_b[@]}" check --probe
probe_s=$BEST
best_of probe_json 0 '^\{' -- "$BIN" "${cfg_b[@]}" --json check --probe
probe_json_s=$BEST
python3 - "$WORK/probe_json.out" "$ENDPOINTS" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
served = [i for i in doc["items"] if i["source"] == "served"]
assert doc["state"] == "OK" and len(served) == n, "check --probe --json: wrong state or served count"
assert all(i["severity"] == "ok" and i["serial"] for i in served), "check --probe --json: a served item is not OK"
PY
probe_rss=$(peak_rss_kib "$BIN" "${cfg_b[@]}" check --probe)

# Peers. Each must see ENDPOINTS certificates OK, or the timing is void.
nagios_seq() {
  local i n=0
  for i in $(seq 1 "$ENDPOINTS"); do
    if "$PLUGIN" --sni -H "p$i.bench.test" -I 127.0.0.1 -p "$PORT" -C 21,7 -t 10 >>"$WORK/nagios.log"; then
      n=$((n + 1))
    fi
  done
  [ "$n" = "$ENDPOINTS" ] || die "check_http: $n of $ENDPOINTS OK"
}
nagios_par() {
  local n
  seq 1 "$ENDPOINTS" | timeout 600 xargs -P 2 -I{} "$PLUGIN" --sni -H "p{}.bench.test" -I 127.0.0.1 \
    -p "$PORT" -C 21,7 -t 10 >"$WORK/nagios-par.log" || die "check_http (xargs -P 2) reported a problem"
  n=$(grep -c 'OK - Certificate' "$WORK/nagios-par.log" || true)
  [ "$n" = "$ENDPOINTS" ] || die "check_http (xargs -P 2): $n of $ENDPOINTS OK"
}
s_client_loop() {
  local i n=0
  for i in $(seq 1 "$ENDPOINTS"); do
    if timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername "p$i.bench.test" </dev/null 2>/dev/null |
      openssl x509 -noout -enddate -checkend "$WARN_S" >>"$WORK/s_client.log"; then
      n=$((n + 1))
    fi
  done
  [ "$n" = "$ENDPOINTS" ] || die "s_client loop: $n of $ENDPOINTS OK"
}
# best_fn NAME function: RUNS timed runs (one if a run takes over a minute).
best_fn() {
  local t start
  BEST=""
  for _ in $(seq 1 "$RUNS"); do
    : >"$WORK/nagios.log"
    start=$(now)
    "$2"
    t=$(secs "$start" "$(now)")
    BEST=$(min "$BEST" "$t")
    if [ "$(echo "$t > 60" | bc)" = 1 ]; then break; fi
  done
}
nagios_s="" nagios_par_s=""
if [ -x "$PLUGIN" ]; then
  best_fn nagios nagios_seq
  nagios_s=$BEST
  best_fn nagios_par nagios_par
  nagios_par_s=$BEST
fi
best_fn s_client s_client_loop
s_client_s=$BEST

# ===================== summary =====================
day=$(date -u +%Y-%m-%d)
echo
printf '%-52s %9s %12s\n' "command" "best (s)" "peer/certfleet"
printf '%-52s %9.3f\n' "certfleet status --no-hosts ($CERTS certs)" "$status_s"
printf '%-52s %9.3f\n' "certfleet --json status --no-hosts" "$status_json_s"
printf '%-52s %9.3f\n' "certfleet check" "$check_s"
printf '%-52s %9.3f\n' "certfleet --json check" "$check_json_s"
printf '%-52s %9.3f %11sx (vs check)\n' "openssl x509 -checkend loop ($loop_runs run(s))" "$loop_s" "$(ratio "$loop_s" "$check_s")"
printf '%-52s %9.3f\n' "certfleet check --probe ($ENDPOINTS endpoints)" "$probe_s"
printf '%-52s %9.3f\n' "certfleet --json check --probe" "$probe_json_s"
if [ -n "$nagios_s" ]; then
  printf '%-52s %9.3f %11sx\n' "check_http -C, sequential" "$nagios_s" "$(ratio "$nagios_s" "$probe_s")"
  printf '%-52s %9.3f %11sx\n' "check_http -C, xargs -P 2" "$nagios_par_s" "$(ratio "$nagios_par_s" "$probe_s")"
fi
printf '%-52s %9.3f %11sx\n' "openssl s_client | x509 -checkend loop" "$s_client_s" "$(ratio "$s_client_s" "$probe_s")"
printf 'peak RSS: status %s KiB, check %s KiB, check --probe %s KiB\n' "$status_rss" "$check_rss" "$probe_rss"
met() { if [ "$(echo "$1 < $2" | bc)" = 1 ]; then echo "met"; else echo "NOT met"; fi; }
echo "targets: status < 1 s $(met "$status_s" 1), check < 1 s $(met "$check_s" 1), check --probe < 5 s $(met "$probe_s" 5)"
echo
echo "markdown rows:"
printf '| %s | %d | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s (%sx) |\n' "$day" "$CERTS" "$status_s" \
  "$status_json_s" "$check_s" "$check_json_s" "$loop_s" "$(ratio "$loop_s" "$check_s")"
if [ -n "$nagios_s" ]; then
  printf '| %s | %d | %.2f s | %.2f s | %.2f s (%sx) | %.2f s (%sx) | %.2f s (%sx) |\n' "$day" "$ENDPOINTS" \
    "$probe_s" "$probe_json_s" "$nagios_s" "$(ratio "$nagios_s" "$probe_s")" \
    "$nagios_par_s" "$(ratio "$nagios_par_s" "$probe_s")" "$s_client_s" "$(ratio "$s_client_s" "$probe_s")"
else
  printf '| %s | %d | %.2f s | %.2f s | - | - | %.2f s (%sx) |\n' "$day" "$ENDPOINTS" \
    "$probe_s" "$probe_json_s" "$s_client_s" "$(ratio "$s_client_s" "$probe_s")"
fi
