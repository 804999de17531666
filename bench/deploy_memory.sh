#!/usr/bin/env bash
# Benchmark: peak memory and time of `certfleet deploy` to N hosts (default
# 500), simulated with the local transport (each host its own cert_root,
# `true` as test and reload, no TLS verify), as issue #3 allows.
#
#   bench/deploy_memory.sh [HOSTS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOSTS=${1:-500}
BIN=${CERTFLEET:-$ROOT/build/certfleet}
export LAB_ADDR=${LAB_ADDR:-127.0.68.1} LAB_HOSTS=0
WORK=$(mktemp -d /tmp/certfleet-bench-mem.XXXXXX)
"$ROOT/examples/lab/lab" start "$WORK/lab" >/dev/null
trap '"$ROOT/examples/lab/lab" stop "$WORK/lab" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

python3 - "$WORK" "$HOSTS" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
lab = dict(l.rstrip("\n").split("=", 1) for l in open(f"{work}/lab/lab.env") if "=" in l)
inv = {
  "state_dir": f"{work}/state",
  "acme": {"directory": lab["LAB_ACME_DIRECTORY"], "accept_terms": True, "ca_bundle": lab["LAB_CA_BUNDLE"]},
  "dns": {"providers": {"lab": {"type": "rfc2136", "server": lab["LAB_DNS"], "tsig_name": lab["LAB_TSIG_NAME"],
                                 "tsig_secret_file": lab["LAB_TSIG_SECRET_FILE"]}},
          "nameservers": [lab["LAB_DNS"]]},
  "defaults": {"test_command": "true", "reload_command": "true", "verify": {"enabled": False}},
  "groups": {"fleet": {"rollout": {"canary": 1, "batch": "25%", "max_failures": 0}}},
  "hosts": {f"node-{i}": {"transport": "local", "groups": ["fleet"], "cert_root": f"{work}/hosts/node-{i}"}
            for i in range(1, n + 1)},
  "certificates": {"media": {"domains": ["media.example.test"], "dns": "lab", "deploy_to": ["fleet"]}},
}
json.dump(inv, open(f"{work}/certfleet.json", "w"))
PY
"$BIN" -q -c "$WORK/certfleet.json" issue
out=$( { /usr/bin/time -f '%M %e' "$BIN" -q -c "$WORK/certfleet.json" deploy >/dev/null; } 2>&1 | tail -1)
rss=${out% *} secs=${out#* }
deployed=$(find "$WORK/hosts" -maxdepth 3 -name current | wc -l)
printf 'deploy to %d local hosts: %s s, peak RSS %s KiB (%.1f MiB), %d hosts current\n' \
  "$HOSTS" "$secs" "$rss" "$(echo "$rss / 1024" | bc -l)" "$deployed"
