#!/usr/bin/env bash
# Benchmark: obtain COUNT certificates with 2 names each from the lab's pebble
# through the lab's PowerDNS Authoritative HTTP API — certfleet's native
# `powerdns` provider, certfleet's `lexicon` provider (Debian's lexicon 3.11,
# its powerdns provider), then Debian's lego 4.9.1 with its `pdns` provider,
# same names, same run, same lab. Prints the timings and a markdown row for
# bench/RESULTS.md.
#
#   bench/dns_powerdns.sh [COUNT]     (default 10; needs a built ./build/certfleet)
#
# lego is tuned as a careful user would: 1 s polling, and (more favourable to
# lego than certfleet gets) --dns.disable-cp, skipping the propagation check
# certfleet still makes at PowerDNS before answering each challenge.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-10}
BIN=${CERTFLEET:-$ROOT/build/certfleet}
export LAB_ADDR=${LAB_ADDR:-127.0.61.1} LAB_HOSTS=0
WORK=$(mktemp -d /tmp/certfleet-bench-pdns.XXXXXX)
LAB="$WORK/lab"

"$ROOT/examples/lab/lab" start "$LAB" >/dev/null
trap '"$ROOT/examples/lab/lab" stop "$LAB" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
# lab.env is KEY=VALUE lines (values may hold spaces), not shell.
while IFS='=' read -r key value; do [ -n "$key" ] && export "$key=$value"; done <"$LAB/lab.env"

names() { echo "lego$1.$LAB_PDNS_ZONE www.lego$1.$LAB_PDNS_ZONE"; }

# --- certfleet: native powerdns, then lexicon --------------------------------
# inventory PATH PROVIDER-JSON PREFIX: COUNT certificates PREFIXi + www.PREFIXi
inventory() {
    python3 - "$1" "$COUNT" "$2" "$3" <<PY
import json, sys
path, count, provider, prefix = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
zone = "$LAB_PDNS_ZONE"
inv = {
  "state_dir": path + ".state",
  "acme": {"directory": "$LAB_ACME_DIRECTORY", "accept_terms": True, "ca_bundle": "$LAB_CA_BUNDLE",
           "contact": ["mailto:bench@example.test"]},
  "dns": {"providers": {"p": provider},
          "nameservers": ["$LAB_PDNS"], "propagation_timeout": "60s", "poll_interval": "1s"},
  "certificates": {f"{prefix}{i}": {"domains": [f"{prefix}{i}.{zone}", f"www.{prefix}{i}.{zone}"], "dns": "p"}
                   for i in range(1, count + 1)},
}
json.dump(inv, open(path, "w"), indent=2)
PY
}
inventory "$WORK/native.json" \
    '{"type": "powerdns", "api_url": "'"$LAB_PDNS_API_URL"'", "api_key_file": "'"$LAB_PDNS_API_KEY_FILE"'"}' bench
inventory "$WORK/lexicon.json" \
    '{"type": "lexicon", "provider": "powerdns", "zone": "'"$LAB_PDNS_ZONE"'",
      "options": {"pdns-server": "'"$LAB_PDNS_API_URL"'"},
      "credentials": {"token": "'"$LAB_PDNS_API_KEY_FILE"'"}}' lx
# timed_issue INVENTORY: seconds for one `certfleet issue` (account registered first, untimed)
timed_issue() {
    "$BIN" -q -c "$1" issue --dry-run >/dev/null
    local start end
    start=$(date +%s.%N)
    "$BIN" -q -c "$1" issue
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
certfleet_s=$(timed_issue "$WORK/native.json")
lexicon_s=$(timed_issue "$WORK/lexicon.json")
issued=$(find "$WORK/native.json.state/certificates" -maxdepth 2 -name cert.pem | wc -l)
lexicon_issued=$(find "$WORK/lexicon.json.state/certificates" -maxdepth 2 -name cert.pem | wc -l)

# --- lego ----------------------------------------------------------------
export LEGO_CA_CERTIFICATES="$LAB_CA_BUNDLE" PDNS_API_URL="$LAB_PDNS_API_URL" PDNS_API_KEY
PDNS_API_KEY=$(cat "$LAB_PDNS_API_KEY_FILE")
export PDNS_POLLING_INTERVAL=1 PDNS_PROPAGATION_TIMEOUT=60 PDNS_TTL=60
lego_common=(--server "$LAB_ACME_DIRECTORY" --accept-tos --email bench@example.test
             --path "$WORK/lego" --dns pdns --dns.resolvers "$LAB_DNS" --dns.disable-cp)
# Account registration outside the timing, as for certfleet.
lego "${lego_common[@]}" --domains "warmup.$LAB_PDNS_ZONE" run >/dev/null 2>&1 || true
start=$(date +%s.%N)
for i in $(seq 1 "$COUNT"); do
  args=()
  for n in $(names "$i"); do args+=(--domains "$n"); done
  lego "${lego_common[@]}" "${args[@]}" run >"$WORK/lego-$i.log" 2>&1 || { cat "$WORK/lego-$i.log"; exit 1; }
done
end=$(date +%s.%N)
lego_s=$(echo "$end - $start" | bc)
lego_issued=$(find "$WORK/lego/certificates" -name 'lego*.crt' ! -name '*issuer*' | wc -l)

ratio=$(echo "scale=1; $lego_s / $certfleet_s" | bc)
lexicon_ratio=$(echo "scale=1; $lexicon_s / $certfleet_s" | bc)
printf 'certfleet powerdns: %d certificates in %.2f s\n' "$issued" "$certfleet_s"
printf 'certfleet lexicon:  %d certificates in %.2f s (%sx native)\n' "$lexicon_issued" "$lexicon_s" "$lexicon_ratio"
printf 'lego pdns:          %d certificates in %.2f s\n' "$lego_issued" "$lego_s"
printf 'ratio:              lego / certfleet powerdns = %sx\n' "$ratio"
printf '| %s | %d x 2 names | %.2f s | %.2f s (%sx) | %.2f s (%sx) |\n' "$(date -u +%Y-%m-%d)" "$COUNT" \
    "$certfleet_s" "$lexicon_s" "$lexicon_ratio" "$lego_s" "$ratio"
