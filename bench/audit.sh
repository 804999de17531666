#!/usr/bin/env bash
# Benchmark (issue #5): `certfleet audit` of N lab hosts (default 50), each
# holding 200 certificate / key files in a scan directory, against what an
# operator scripts without certfleet: an ssh loop running `openssl x509` on
# every *.pem file of each host, in sequence and with `xargs -P 16` (certfleet's
# default concurrency), and, if ansible-core is installed, an Ansible playbook
# (`find` + a `command: openssl x509` loop) when it can finish in 5 minutes.
# Same run, same fleet; prints timings, ratios and a markdown row for
# bench/RESULTS.md.
#
#   bench/audit.sh [HOSTS]      (default 50; CERTFLEET=path/to/certfleet,
#                                default ./build-bench/certfleet)
#
# certfleet does more than the peers: it also reads the private keys (and
# matches them to certificates, checks modes and owners), the certificates
# nginx really loads (`nginx -T`), its own layout under cert_root, and TLS
# handshakes to what is served; it classifies every file (orphan, expired, ...).
# The peers only print serial, not-after and subject of the *.pem files.
# Only loopback traffic (the lab on LAB_ADDR, default 127.0.64.1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOSTS=${1:-50}
BIN=${CERTFLEET:-$ROOT/build-bench/certfleet}
RUNS=3                # certfleet runs of each kind; the peers run once
PAR=16                # xargs -P: certfleet audit's default --concurrency
ANSIBLE_BUDGET_S=300  # the Ansible peer runs only when estimated below this
PY=/usr/bin/python3

die() { echo "audit.sh: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no certfleet at $BIN (cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench --target certfleet)"
[[ $HOSTS =~ ^[0-9]+$ && $HOSTS -ge 1 && $HOSTS -le 244 ]] || die "HOSTS must be 1..244"
if ! "$PY" -c 'import cryptography' 2>/dev/null; then
  apt-get install -y -qq --no-install-recommends python3-cryptography >/dev/null || die "needs python3-cryptography"
fi
export LAB_ADDR=${LAB_ADDR:-127.0.64.1} LAB_HOSTS=$HOSTS
[[ $LAB_ADDR == 127.* ]] || die "LAB_ADDR must be a loopback address"
WORK=$(mktemp -d /tmp/certfleet-bench-audit.XXXXXX)
LAB="$WORK/lab"
trap '"$ROOT/examples/lab/lab" stop "$LAB" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
"$ROOT/examples/lab/lab" start "$LAB" >/dev/null
while IFS='=' read -r key value; do [ -n "$key" ] && export "$key=$value"; done <"$LAB/lab.env"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
min() { if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc)" = 1 ]; then echo "$2"; else echo "$1"; fi; }
ratio() { printf '%.1f' "$(echo "$1 / $2" | bc -l)"; }

# --- the 200 files, generated once (lab CA = $LAB/ca.pem) --------------------------
GEN="$WORK/gen"
mkdir -p "$GEN"
cat >"$WORK/gen.py" <<'PY'
# 150 certificate files + 50 private keys (0600); prints the mix.
import datetime, os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

out, ca_pem, ca_key = sys.argv[1:4]
ca = x509.load_pem_x509_certificate(open(ca_pem, "rb").read())
cakey = serialization.load_pem_private_key(open(ca_key, "rb").read(), None)
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
day = datetime.timedelta(days=1)

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certfleet bench"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])

def cert(cn, key, issuer, issuer_key, start, end, is_ca=False, san=None):
    b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), critical=True))
    if is_ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                            critical=True)
    else:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in (san or [cn])]),
                            critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())

def pem(c):
    return c.public_bytes(serialization.Encoding.PEM)

def write(path, data, mode=0o644):
    fd = os.open(os.path.join(out, path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)

ikey = ec.generate_private_key(ec.SECP256R1())
inter = cert("certfleet bench intermediate", ikey, ca.subject, cakey, now - day, now + 1000 * day,
             is_ca=True)
n = {"lab_ca": 0, "self_signed": 0, "fullchain": 0, "expired": 0, "rsa": 0, "keys": 0}
for i in range(150):
    rsa_key = i % 15 == 14
    key = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    n["rsa"] += rsa_key
    if i < 100:    # signed by the lab CA, 5..89 days left, name + www.name
        kind, cn = "lab_ca", f"svc{i:03d}.example.test"
        c = cert(cn, key, ca.subject, cakey, now - day, now + (5 + i % 85) * day, san=[cn, "www." + cn])
    elif i < 120:  # self-signed, one year
        kind, cn = "self_signed", f"self{i:03d}.internal.test"
        c = cert(cn, key, name(cn), key, now - day, now + 365 * day)
    elif i < 140:  # leaf + intermediate in one file
        kind, cn = "fullchain", f"chain{i:03d}.example.test"
        c = cert(cn, key, inter.subject, ikey, now - day, now + 60 * day)
    else:          # lab CA, expired 1..10 days ago
        kind, cn = "expired", f"old{i:03d}.example.test"
        c = cert(cn, key, ca.subject, cakey, now - 91 * day, now - (i - 139) * day)
    write(f"{cn}.pem", pem(c) + (pem(inter) if kind == "fullchain" else b""))
    n[kind] += 1
    if i % 3 == 0 and n["keys"] < 50:  # every third certificate's key beside it
        write(f"{cn}.key", key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()), 0o600)
        n["keys"] += 1
print(" ".join(f"{k}={v}" for k, v in n.items()))
PY
mix=$("$PY" "$WORK/gen.py" "$GEN" "$LAB/ca.pem" "$LAB/ca.key") || die "generating the certificates failed"
files=$(find "$GEN" -type f | wc -l)
[ "$files" = 200 ] || die "generated $files files, expected 200"
cert_files=$(find "$GEN" -name '*.pem' | wc -l)
want_expired=$(sed -E 's/.*expired=([0-9]+).*/\1/' <<<"$mix")
want_orphan=$((cert_files - want_expired))  # every valid one is an orphan on every host
echo "per host: $files files in certs/: $mix"
for pair in $LAB_FLEET; do
  name=${pair%%=*}
  mkdir -p "$LAB/hosts/$name/certs"
  cp -a "$GEN/." "$LAB/hosts/$name/certs/"
done

# --- inventory: the lab's, comments stripped, scan_dirs added per host -------------
INV="$LAB/audit.json"  # beside certfleet.json: relative paths stay valid
"$PY" - "$LAB/certfleet.json" "$INV" "$LAB/hosts" <<'PY'
import json, re, sys
src, dst, hosts_dir = sys.argv[1:4]
lines = [l for l in open(src).read().splitlines() if not re.match(r"\s*//", l)]
inv = json.loads("\n".join(lines))
for name, host in inv["hosts"].items():
    host.setdefault("audit", {})["scan_dirs"] = [f"{hosts_dir}/{name}/certs"]
json.dump(inv, open(dst, "w"), indent=2)
PY
"$BIN" -q -c "$INV" validate >/dev/null 2>"$WORK/validate.err" ||
  { cat "$WORK/validate.err" >&2; die "the edited inventory does not validate"; }
# Not timed: every host gets certfleet-managed media and www (the lab deploys them to cdn).
timeout 300 "$BIN" -q -c "$INV" renew || die "renew failed"

# --- certfleet audit ------------------------------------------------------------------
# check_audit FILE: exit code 1, nobody failed, exactly the expected findings in
# the scan dirs; prints what else was found (expected: nothing).
check_audit() {
  "$PY" - "$1" "$LAB/hosts" "$HOSTS" "$want_orphan" "$want_expired" <<'PY'
import collections, json, sys
doc = json.load(open(sys.argv[1]))
hosts_dir, hosts, orphan, expired = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
f = doc["findings"]
assert doc["hosts_failed"] == [], f"hosts_failed: {doc['hosts_failed']}"
assert doc["exit_code"] == 1 and len(doc["hosts_audited"]) == hosts, "wrong exit code or host count"
in_scan = [x["path"].startswith(f"{hosts_dir}/{x['host']}/certs/") for x in f]
scan = [x for x, s in zip(f, in_scan) if s]
kinds = collections.Counter(x["kind"] for x in scan)
assert kinds == {"orphan": hosts * orphan, "expired": hosts * expired}, f"scan dir findings: {dict(kinds)}"
assert len(f) >= hosts * (orphan + expired)
other = collections.Counter(x["kind"] for x, s in zip(f, in_scan) if not s)
print(f"{len(f)} findings ({dict(kinds)} in the scan dirs; elsewhere: {dict(other) or 'none'}); "
      f"{len(doc['unchecked'])} unchecked notes")
PY
}
audit_s="" noprobe_s="" audit_all="" noprobe_all=""
for run in $(seq 1 "$RUNS"); do
  for mode in audit noprobe; do
    args=(-c "$INV" --json audit)
    [ "$mode" = noprobe ] && args+=(--no-probe)
    rc=0
    start=$(now)
    timeout 300 "$BIN" "${args[@]}" >"$WORK/$mode.json" 2>"$WORK/$mode.err" || rc=$?
    t=$(secs "$start" "$(now)")
    [ "$rc" = 1 ] || { tail -n 5 "$WORK/$mode.err" >&2; die "$mode run $run: exit $rc, expected 1 (findings)"; }
    summary=$(check_audit "$WORK/$mode.json") || die "$mode run $run: wrong findings (see above)"
    printf 'run %d %-8s %6.2f s  %s\n' "$run" "$mode" "$t" "$summary"
    if [ "$mode" = audit ]; then
      audit_s=$(min "$audit_s" "$t") audit_all+="$(printf '%.2f ' "$t")"
    else
      noprobe_s=$(min "$noprobe_s" "$t") noprobe_all+="$(printf '%.2f ' "$t")"
    fi
  done
done
# One more run for peak RSS and the CPU certfleet itself used (user + sys).
/usr/bin/time -o "$WORK/rss" -f '%M %U %S %e' timeout 300 "$BIN" -c "$INV" --json audit >/dev/null 2>&1 || true
read -r rss_kb cpu_user cpu_sys cpu_wall < <(tail -n 1 "$WORK/rss")

# --- peers: ssh + openssl x509 on every *.pem file, per host --------------------------
# peer_host NAME ADDR OUTDIR: what an operator's script does on one host.
peer_host() {
  local dir="$LAB/hosts/$1"
  # shellcheck disable=SC2029 # $dir is expanded here on purpose
  timeout 300 ssh -i "$LAB_SSH_IDENTITY" -o UserKnownHostsFile="$LAB_SSH_KNOWN_HOSTS" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -p "$LAB_SSH_PORT" "root@$2" \
    "for f in \$(find $dir/certs $dir/live -name '*.pem'); do openssl x509 -in \"\$f\" -noout -serial -enddate -subject 2>/dev/null; done; exit 0" \
    >"$3/$1.out"
}
export -f peer_host
export LAB
# peer_count OUTDIR: certificates the peer printed; every host's must be there.
peer_count() {
  local n
  n=$(cat "$1"/*.out | grep -c '^serial=' || true)
  if [ "$(find "$1" -name '*.out' | wc -l)" != "$HOSTS" ] || [ "$n" -lt $((HOSTS * cert_files)) ]; then
    die "peer in $1: $n certificates printed, expected at least $((HOSTS * cert_files))"
  fi
  echo "$n"
}
mkdir -p "$WORK/seq" "$WORK/par"
start=$(now)
for pair in $LAB_FLEET; do
  peer_host "${pair%%=*}" "${pair#*=}" "$WORK/seq" || die "ssh loop: ${pair%%=*} failed"
done
seq_s=$(secs "$start" "$(now)")
seq_n=$(peer_count "$WORK/seq")
export PEER_OUT="$WORK/par"
start=$(now)
# shellcheck disable=SC2016 # $1/$2 belong to the inner bash
for pair in $LAB_FLEET; do echo "${pair%%=*} ${pair#*=}"; done |
  timeout 600 xargs -P "$PAR" -n 2 bash -c 'peer_host "$1" "$2" "$PEER_OUT"' _ || die "ssh loop -P $PAR failed"
par_s=$(secs "$start" "$(now)")
par_n=$(peer_count "$WORK/par")
[ "$seq_n" = "$par_n" ] || die "the two ssh loops printed $seq_n and $par_n certificates"

# --- peer: Ansible (find + command loop), only when it fits the budget ---------------
ansible_s="" ansible_note="ansible-playbook not installed"
if command -v ansible-playbook >/dev/null; then
  inventory="$WORK/ansible-hosts.ini"
  echo "[cdn]" >"$inventory"
  for pair in $LAB_FLEET; do
    name=${pair%%=*}
    echo "$name ansible_host=${pair#*=} dir=$LAB/hosts/$name" >>"$inventory"
  done
  cat >"$WORK/audit.yml" <<'YML'
- hosts: cdn
  gather_facts: false
  tasks:
    - find: { paths: ["{{ dir }}/certs", "{{ dir }}/live"], patterns: "*.pem", recurse: true, file_type: any }
      register: found
    - command: openssl x509 -in {{ item.path }} -noout -serial -enddate -subject
      loop: "{{ found.files[:(limit | int)] if limit is defined else found.files }}"
      loop_control: { label: "{{ item.path }}" }
      register: out
      changed_when: false
      failed_when: false
YML
  export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_SSH_RETRIES=3 ANSIBLE_TIMEOUT=30
  ssh_args="-o UserKnownHostsFile=$LAB_SSH_KNOWN_HOSTS -o StrictHostKeyChecking=yes -i $LAB_SSH_IDENTITY -p $LAB_SSH_PORT"
  play() { timeout "$1" ansible-playbook -i "$inventory" -u root --ssh-common-args "$ssh_args" "${@:2}" "$WORK/audit.yml" >>"$WORK/ansible.log" 2>&1; }
  # Sample: one host with 0 and with 10 loop items gives the cost of one item.
  # Ansible is optional here: a failure is reported, not fatal (the log goes with $WORK).
  ansible_failed() { tail -n 5 "$WORK/ansible.log" >&2; ansible_note="failed: $1 (log above)"; }
  first=${LAB_FLEET%%=*}
  start=$(now)
  if ! play 120 -l "$first" -e limit=0; then
    ansible_failed "the 1-host sample"
  else
    t0=$(secs "$start" "$(now)")
    start=$(now)
    if ! play 120 -l "$first" -e limit=10; then
      ansible_failed "the 1-host sample"
    else
      per_item=$(echo "($(secs "$start" "$(now)") - $t0) / 10" | bc -l)
      items=$(find "$LAB"/hosts/*/certs "$LAB"/hosts/*/live -name '*.pem' | wc -l)
      # Optimistic: both cores busy all the time, no cost for the forks themselves.
      estimate=$(echo "$items * $per_item / 2" | bc -l)
      if [ "$(echo "$estimate < $ANSIBLE_BUDGET_S" | bc)" = 1 ]; then
        start=$(now)
        if play 600 -f "$PAR"; then
          ansible_s=$(secs "$start" "$(now)")
        else
          ansible_failed "the full run"
        fi
      else
        ansible_note=$(printf 'skipped: one loop item takes %.2f s (1-host sample), %d items would take >= %.0f s on 2 cores' \
          "$per_item" "$items" "$estimate")
      fi
    fi
  fi
fi

# --- summary ---------------------------------------------------------------------------
day=$(date -u +%Y-%m-%d)
echo
echo "fleet: $HOSTS hosts x $files files ($mix)"
echo "load average: $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(nproc) cores)"
printf '%-46s %9s %12s\n' "command" "time (s)" "vs certfleet"
printf '%-46s %9.2f   (runs: %s)\n' "certfleet --json audit, best of $RUNS" "$audit_s" "${audit_all% }"
printf '%-46s %9.2f   (runs: %s)\n' "certfleet --json audit --no-probe, best of $RUNS" "$noprobe_s" "${noprobe_all% }"
printf '%-46s %9.2f %11sx\n' "ssh + openssl x509 loop, sequential" "$seq_s" "$(ratio "$seq_s" "$audit_s")"
printf '%-46s %9.2f %11sx\n' "ssh + openssl x509 loop, xargs -P $PAR" "$par_s" "$(ratio "$par_s" "$audit_s")"
if [ -n "$ansible_s" ]; then
  printf '%-46s %9.2f %11sx\n' "ansible-playbook find + command loop" "$ansible_s" "$(ratio "$ansible_s" "$audit_s")"
else
  echo "ansible-playbook: $ansible_note"
fi
echo "peers printed $seq_n certificates and did NOT: read keys (no key/cert match, mode or owner check),"
echo "  look at nginx's configuration, probe what is served, or classify anything (orphan, expired, ...)"
printf 'certfleet audit peak RSS: %s KiB (%.1f MiB); that run: %.2f s, CPU %.2f s user + %.2f s sys\n' \
  "$rss_kb" "$(echo "$rss_kb / 1024" | bc -l)" "$cpu_wall" "$cpu_user" "$cpu_sys"
met="NOT met"
if [ "$(echo "$audit_s < 10" | bc)" = 1 ]; then met="met"; fi
printf 'target: %d hosts x %d files under 10 s on 2 cores: %s (best %.2f s)\n' "$HOSTS" "$files" "$met" "$audit_s"
echo
echo "markdown row:"
ansible_cell="${ansible_note%%:*}"
[ -n "$ansible_s" ] && ansible_cell=$(printf '%.2f s (%sx)' "$ansible_s" "$(ratio "$ansible_s" "$audit_s")")
printf '| %s | %d x %d | %.2f s | %.2f s | %.2f s (%sx) | %.2f s (%sx) | %s | %.1f MiB |\n' "$day" "$HOSTS" "$files" \
  "$audit_s" "$noprobe_s" "$seq_s" "$(ratio "$seq_s" "$audit_s")" "$par_s" "$(ratio "$par_s" "$audit_s")" \
  "$ansible_cell" "$(echo "$rss_kb / 1024" | bc -l)"
