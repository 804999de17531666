#!/usr/bin/env bash
# Benchmark: push one certificate to N lab hosts (one sshd, one nginx per
# host) — certfleet deploy, an Ansible playbook (copy, symlink, nginx -t,
# reload; forks = N) and a sequential ssh/scp loop — in the same run against
# the same fleet. Prints timings and a markdown row for bench/RESULTS.md.
#
#   bench/deploy.sh [HOSTS]        (default 50; needs ./build/certfleet and ansible-core)
#   LOGIN_DELAY=0.5 bench/deploy.sh 15
#                                  hosts whose login shell takes 0.5 s to start
#                                  (every command and SFTP session pays it), and
#                                  the remote processes each tool started per host
#
# certfleet does more than the others: adoption, digest check of what landed,
# key/cert match, test, reload, and a TLS handshake per host proving the new
# serial is served. Ansible and the loop only copy, link, test and reload.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOSTS=${1:-50}
BIN=${CERTFLEET:-$ROOT/build/certfleet}
command -v ansible-playbook >/dev/null || apt-get install -y -qq --no-install-recommends ansible-core >/dev/null
export LAB_ADDR=${LAB_ADDR:-127.0.62.1} LAB_HOSTS=$HOSTS LAB_LOGIN_DELAY=${LOGIN_DELAY:-0}
WORK=$(mktemp -d /tmp/certfleet-bench-deploy.XXXXXX)
LAB="$WORK/lab"
"$ROOT/examples/lab/lab" start "$LAB" >/dev/null
trap '"$ROOT/examples/lab/lab" stop "$LAB" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
while IFS='=' read -r key value; do [ -n "$key" ] && export "$key=$value"; done <"$LAB/lab.env"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
# With LOGIN_DELAY, the lab logs one line per remote login ("ADDRESS exec" or
# "ADDRESS sftp"). logins KIND: how many so far; per_host FROM TO: the
# average per host between two counts.
logins() {
  local n
  n=$(grep -c " $1\$" "$LAB/logs/logins.log" 2>/dev/null) || true
  echo "${n:-0}"
}
per_host() { echo "scale=1; ($2 - $1) / $HOSTS" | bc; }
mark() { exec_mark=$(logins exec) sftp_mark=$(logins sftp); }
counted() { echo "$(per_host "$exec_mark" "$(logins exec)") commands + $(per_host "$sftp_mark" "$(logins sftp)") SFTP sessions"; }

# --- certfleet: issue once (not timed), then the timed deploy ----------------
"$BIN" -q -c "$LAB/certfleet.json" issue media
mark
start=$(now)
"$BIN" -q -c "$LAB/certfleet.json" deploy media --concurrency "$HOSTS"
certfleet_s=$(secs "$start" "$(now)")
certfleet_first=$(counted)
# Steady state: the next version replaces one of certfleet's (no adoption).
"$BIN" -q -c "$LAB/certfleet.json" issue media --force
mark
start=$(now)
"$BIN" -q -c "$LAB/certfleet.json" deploy media --concurrency "$HOSTS"
certfleet_next_s=$(secs "$start" "$(now)")
certfleet_next=$(counted)
rss_kb=$( { /usr/bin/time -f '%M' "$BIN" -q -c "$LAB/certfleet.json" deploy media --force \
            --concurrency "$HOSTS" >/dev/null; } 2>&1 | tail -1)
live="$LAB/state/certificates/media"
version=$(readlink "$live/current" | sed 's|versions/||')

# --- Ansible ------------------------------------------------------------------
inventory="$WORK/ansible-hosts.ini"
echo "[cdn]" >"$inventory"
for pair in $LAB_FLEET; do
  name=${pair%%=*} addr=${pair#*=}
  root="$LAB/hosts/$name/live"
  echo "$name ansible_host=$addr cert_root=$root conf=$LAB/hosts/$name/nginx.conf" >>"$inventory"
done
cat >"$WORK/push.yml" <<YML
- hosts: cdn
  gather_facts: false
  vars:
    dir: "{{ cert_root }}/media/versions/ansible-{{ version }}"
  tasks:
    - file: { path: "{{ dir }}", state: directory, mode: "0750" }
    - copy: { src: "$live/versions/{{ version }}/{{ item }}", dest: "{{ dir }}/{{ item }}", mode: "0640" }
      loop: [cert.pem, chain.pem, fullchain.pem]
    - copy: { src: "$live/versions/{{ version }}/privkey.pem", dest: "{{ dir }}/privkey.pem", mode: "0600" }
    - file: { src: "versions/ansible-{{ version }}", dest: "{{ cert_root }}/media/current", state: link, force: true }
    - command: nginx -t -q -c {{ conf }}
    - command: nginx -s reload -c {{ conf }}
YML
# Retries: with 50 forks on 2 cores, ssh connections of ansible break now and then.
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_SSH_RETRIES=3 ANSIBLE_TIMEOUT=30
ssh_args="-o UserKnownHostsFile=$LAB_SSH_KNOWN_HOSTS -o StrictHostKeyChecking=yes -i $LAB_SSH_IDENTITY -p $LAB_SSH_PORT"
mark
start=$(now)
ansible-playbook -i "$inventory" -f "$HOSTS" -u root -e "version=$version" \
  --ssh-common-args "$ssh_args" "$WORK/push.yml" >"$WORK/ansible.log" 2>&1 || { cp "$WORK/ansible.log" /tmp/bench-ansible.log; grep -iE "fatal|error" "$WORK/ansible.log" | head; exit 1; }
ansible_s=$(secs "$start" "$(now)")
ansible_count=$(counted)

# --- sequential ssh/scp loop ----------------------------------------------------
mark
start=$(now)
for pair in $LAB_FLEET; do
  name=${pair%%=*} addr=${pair#*=}
  dir="$LAB/hosts/$name/live/media/versions/loop-$version"
  # shellcheck disable=SC2086,SC2029
  ssh $ssh_args "root@$addr" "mkdir -p -m 0750 $dir"
  # shellcheck disable=SC2086,SC2029
  scp -q -o UserKnownHostsFile="$LAB_SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes -i "$LAB_SSH_IDENTITY" \
    -P "$LAB_SSH_PORT" "$live/versions/$version/"*.pem "root@$addr:$dir/"
  # shellcheck disable=SC2086,SC2029
  ssh $ssh_args "root@$addr" "cd $LAB/hosts/$name/live/media && ln -sfn versions/loop-$version current.new && mv -T current.new current && nginx -t -q -c $LAB/hosts/$name/nginx.conf && nginx -s reload -c $LAB/hosts/$name/nginx.conf"
done
loop_s=$(secs "$start" "$(now)")
loop_count=$(counted)

printf 'certfleet deploy: %d hosts in %.2f s (peak RSS %s KiB)\n' "$HOSTS" "$certfleet_s" "$rss_kb"
printf 'certfleet deploy of the next version: %.2f s\n' "$certfleet_next_s"
printf 'ansible-playbook: %d hosts in %.2f s\n' "$HOSTS" "$ansible_s"
printf 'ssh/scp loop:     %d hosts in %.2f s\n' "$HOSTS" "$loop_s"
printf '| %s | %d hosts | %.2f s | %.2f s (%.1fx) | %.2f s (%.1fx) | %s KiB |\n' "$(date -u +%Y-%m-%d)" "$HOSTS" \
  "$certfleet_s" "$ansible_s" "$(echo "$ansible_s / $certfleet_s" | bc -l)" \
  "$loop_s" "$(echo "$loop_s / $certfleet_s" | bc -l)" "$rss_kb"
if [[ "$LAB_LOGIN_DELAY" != 0 ]]; then
  echo "remote logins per host (login shell $LAB_LOGIN_DELAY s):"
  echo "  certfleet, first deploy (adoption): $certfleet_first"
  echo "  certfleet, next version:            $certfleet_next"
  echo "  ansible-playbook:                   $ansible_count"
  echo "  ssh/scp loop:                       $loop_count"
fi
