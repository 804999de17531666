#!/usr/bin/env bash
# Benchmark (issue #6, the limits of scale): one certificate deployed to N lab
# hosts (default 1,000) with `certfleet deploy --concurrency C` for several C
# (default 16 64 256): wall time, CPU, peak RSS (/usr/bin/time -f %M) and the
# peak number of open file descriptors of the certfleet process (sampled from
# /proc/PID/fd every 20 ms while it runs). Then the same concurrency over a
# quarter of the fleet (--host x 250), to show that memory and descriptors
# follow --concurrency, not the fleet size. Peers in the same run: a plain
# ssh/scp loop under `xargs -P 64`, and Ansible on a subset (64 hosts, -f 64;
# 1,000 would take most of an hour), extrapolated linearly to N hosts.
# Before the fleet: a 16-host lab whose sshd keeps OpenSSH's default
# MaxStartups 10:30:100, deployed 5 times with --concurrency 16 (rollout
# batch 100 %), counting the handshakes sshd dropped and certfleet retried.
#
#   bench/scale.sh [HOSTS] ["C1 C2 ..."]    (defaults 1000 "16 64 256")
#
# Environment: BUILD (default ./build-bench; certfleet is built there unless
# CERTFLEET=path/to/certfleet is given), LAB_ADDR (default 127.2.0.1: hosts
# on 127.2.0.11 ... 127.2.4.34, nginx on the first NGINX_HOSTS=8 only, the
# others ssh-only with `true` as test and reload, see examples/lab/lab),
# ANSIBLE_HOSTS (default 64; 0 skips Ansible). certfleet runs with the soft
# descriptor limit at 1024 (`ulimit -Sn 1024`, the common default).
# Every certfleet run must exit 0 with every host `deployed` (--json), every
# peer must report every host done, or the script fails. Only loopback
# traffic; both labs are stopped on exit.
#
# What the peers do not do: certfleet fsyncs, reads back and compares digests
# of what it uploaded, checks key/certificate match, swaps `current` with one
# rename, rolls back on a failed test, and on the nginx hosts proves by TLS
# handshake that the new serial is served; the loop and Ansible copy, link,
# test and reload.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOSTS=${1:-1000}
read -r -a CONCURRENCIES <<<"${2:-16 64 256}"
BOUNDED_C=64           # concurrency of the fleet-size comparison
SMALL=$((HOSTS / 4))   # ... over this many hosts
PAR=64                 # xargs -P of the ssh loop
NGINX_HOSTS=${NGINX_HOSTS:-8}
ANSIBLE_HOSTS=${ANSIBLE_HOSTS:-64}
DROP_RUNS=5
BUILD=${BUILD:-$ROOT/build-bench}
LABCMD="$ROOT/examples/lab/lab"

die() { echo "scale.sh: $*" >&2; exit 1; }
[[ $HOSTS =~ ^[0-9]+$ && $HOSTS -ge 8 && $HOSTS -le 4000 ]] || die "HOSTS must be 8..4000"
if [ -n "${CERTFLEET:-}" ]; then
  BIN=$CERTFLEET
else
  BIN="$BUILD/certfleet"
  if ! log=$(cmake --build "$BUILD" --target certfleet 2>&1); then
    tail -n 30 <<<"$log" >&2
    die "build failed in $BUILD (others may be mid-edit in src/: retry in a minute)"
  fi
fi
[ -x "$BIN" ] || die "no certfleet at $BIN"
if [ "$ANSIBLE_HOSTS" -gt 0 ] && ! command -v ansible-playbook >/dev/null; then
  apt-get install -y -qq --no-install-recommends ansible-core >/dev/null || ANSIBLE_HOSTS=0
fi
ADDR=${LAB_ADDR:-127.2.0.1}
[[ $ADDR == 127.* ]] || die "LAB_ADDR must be a loopback address"
WORK=$(mktemp -d /tmp/certfleet-bench-scale.XXXXXX)
LAB="$WORK/lab" DROP="$WORK/drop"
cleanup() {
  "$LABCMD" stop "$DROP" >/dev/null 2>&1 || true
  "$LABCMD" stop "$LAB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
ratio() { printf '%.1f' "$(echo "$1 / $2" | bc -l)"; }
mib() { printf '%.1f' "$(echo "$1 / 1024" | bc -l)"; }
# VALUE of KEY in lab.env of DIR (no export: 1,000 hosts are 6,000 lines).
env_of() { sed -n "s|^$2=||p" "$1/lab.env"; }

# measure NAME command...: runs the command under /usr/bin/time, sampling the
# number of open descriptors of the process every 20 ms (at most 15 minutes).
# Sets M_SECS M_CPU (user+sys) M_RSS (KiB) M_FDS M_RC; output in $WORK/NAME.{out,err}.
measure() {
  local name=$1 tpid pid="" i n
  shift
  /usr/bin/time -o "$WORK/$name.time" -f '%e %U %S %M' "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  tpid=$!
  for ((i = 0; i < 1000 && ${#pid} == 0; i++)); do
    pid=$(pgrep -P "$tpid" || true)
    [ -n "$pid" ] || sleep 0.01
  done
  M_FDS=0
  shopt -s nullglob
  for ((i = 0; i < 45000 && ${#pid} > 0; i++)); do
    local -a fds=(/proc/"$pid"/fd/*)
    n=${#fds[@]}
    ((n > 0)) || break
    ((n > M_FDS)) && M_FDS=$n
    sleep 0.02
  done
  shopt -u nullglob
  M_RC=0
  wait "$tpid" || M_RC=$?
  read -r M_SECS user sys M_RSS < <(tail -n 1 "$WORK/$name.time")
  M_CPU=$(echo "$user + $sys" | bc)
}

# deployed NAME: how many hosts the --json report of run NAME lists as deployed.
deployed() {
  python3 -c 'import json,sys; print(sum(h["result"] == "deployed" for h in json.load(open(sys.argv[1]))["hosts"]))' \
    "$WORK/$1.out"
}

# check_run NAME HOSTS: run NAME (just measured) exited 0 and deployed to HOSTS hosts.
check_run() {
  local got
  got=$(deployed "$1")
  if [ "$M_RC" != 0 ] || [ "$got" != "$2" ]; then
    tail -n 5 "$WORK/$1.err" >&2
    die "$1: exit $M_RC, $got of $2 hosts deployed"
  fi
}

# certfleet at the common soft limit of 1024 descriptors (it raises the soft
# limit itself when --concurrency needs more, never past the hard limit); a
# command, not a function, so that /usr/bin/time can run it.
CF=(bash -c 'ulimit -Sn 1024 && exec "$@"' certfleet "$BIN")

# ===================== part 1: sshd dropping handshakes (MaxStartups) =====================
LAB_ADDR=127.2.250.1 LAB_HOSTS=16 LAB_NGINX_HOSTS=0 LAB_SSH_MAX_STARTUPS=10:30:100 \
  "$LABCMD" start "$DROP" >/dev/null
# One wave after the canary: 15 handshakes at once on the one sshd.
sed 's/"batch": "50%"/"batch": "100%"/' "$DROP/certfleet.json" >"$DROP/burst.json"
"$BIN" -q -c "$DROP/burst.json" issue media
drop_retries=0 drop_failed=0
for run in $(seq 1 "$DROP_RUNS"); do
  rc=0
  "$BIN" -v --json -c "$DROP/burst.json" deploy media --force --concurrency 16 \
    >"$WORK/drop$run.out" 2>"$WORK/drop$run.err" || rc=$?
  n=$(grep -c 'closed the connection before greeting' "$WORK/drop$run.err" || true)
  d=$(deployed "drop$run")
  drop_retries=$((drop_retries + n))
  drop_failed=$((drop_failed + 16 - d))
  echo "MaxStartups 10:30:100, run $run: exit $rc, $d/16 deployed, $n handshakes dropped and retried"
done
"$LABCMD" stop "$DROP" >/dev/null

# ===================== part 2: the fleet =====================
start=$(now)
LAB_ADDR=$ADDR LAB_HOSTS=$HOSTS LAB_NGINX_HOSTS=$NGINX_HOSTS "$LABCMD" start "$LAB" >/dev/null
lab_s=$(secs "$start" "$(now)")
INV="$LAB/certfleet.json"
read -r -a FLEET <<<"$(env_of "$LAB" LAB_FLEET)"
[ "${#FLEET[@]}" = "$HOSTS" ] || die "the lab started ${#FLEET[@]} hosts, not $HOSTS"
printf 'lab: %d hosts (nginx on %d), %d sshd, started in %.1f s\n' "$HOSTS" "$NGINX_HOSTS" \
  "$(((HOSTS + 15) / 16))" "$lab_s"
"$BIN" -q -c "$INV" validate >/dev/null 2>&1 || die "the lab's inventory does not validate"
"$BIN" -q -c "$INV" issue media
# The first deployment adopts the nginx hosts' hand-made files: not timed.
"${CF[@]}" -q -c "$INV" deploy media --concurrency 64 || die "first deployment failed"

declare -A T CPU RSS FDS
for c in "${CONCURRENCIES[@]}" ; do
  measure "c$c" "${CF[@]}" --json -q -c "$INV" deploy media --force --concurrency "$c"
  check_run "c$c" "$HOSTS"
  T[$c]=$M_SECS CPU[$c]=$M_CPU RSS[$c]=$M_RSS FDS[$c]=$M_FDS
  printf 'certfleet deploy, %d hosts, --concurrency %3d: %7.2f s (cpu %.2f s), peak RSS %s MiB, peak fds %d\n' \
    "$HOSTS" "$c" "$M_SECS" "$M_CPU" "$(mib "$M_RSS")" "$M_FDS"
done
if [ -z "${T[$BOUNDED_C]:-}" ]; then
  measure "c$BOUNDED_C" "${CF[@]}" --json -q -c "$INV" deploy media --force --concurrency "$BOUNDED_C"
  check_run "c$BOUNDED_C" "$HOSTS"
  T[$BOUNDED_C]=$M_SECS CPU[$BOUNDED_C]=$M_CPU RSS[$BOUNDED_C]=$M_RSS FDS[$BOUNDED_C]=$M_FDS
fi
# The same concurrency over a quarter of the fleet.
host_args=()
for pair in "${FLEET[@]:0:SMALL}"; do host_args+=(--host "${pair%%=*}"); done
measure small "${CF[@]}" --json -q -c "$INV" deploy media --force --concurrency "$BOUNDED_C" "${host_args[@]}"
check_run small "$SMALL"
printf 'certfleet deploy, %d hosts, --concurrency %3d: %7.2f s (cpu %.2f s), peak RSS %s MiB, peak fds %d\n' \
  "$SMALL" "$BOUNDED_C" "$M_SECS" "$M_CPU" "$(mib "$M_RSS")" "$M_FDS"
small_s=$M_SECS small_rss=$M_RSS small_fds=$M_FDS

# ===================== peers =====================
live="$LAB/state/certificates/media"
version=$(readlink "$live/current" | sed 's|versions/||')
ssh_id=$(env_of "$LAB" LAB_SSH_IDENTITY) known=$(env_of "$LAB" LAB_SSH_KNOWN_HOSTS) port=$(env_of "$LAB" LAB_SSH_PORT)
ssh_opts="-o BatchMode=yes -o UserKnownHostsFile=$known -o StrictHostKeyChecking=yes -i $ssh_id"
# One script per host: mkdir, scp of the four files, link + swap + test + reload.
mkdir "$WORK/push"
for i in $(seq 1 "$HOSTS"); do
  pair=${FLEET[i - 1]}
  name=${pair%%=*} addr=${pair#*=}
  root="$LAB/hosts/$name/live/media"
  dir="$root/versions/loop-$version"
  test_cmd=$(env_of "$LAB" "LAB_HOST_${i}_TEST_COMMAND")
  reload_cmd=$(env_of "$LAB" "LAB_HOST_${i}_RELOAD_COMMAND")
  cat >"$WORK/push/$i.sh" <<SH
set -e
ssh $ssh_opts -p $port root@$addr 'mkdir -p -m 0750 $dir'
scp -q $ssh_opts -P $port $live/versions/$version/cert.pem $live/versions/$version/chain.pem $live/versions/$version/fullchain.pem $live/versions/$version/privkey.pem root@$addr:$dir/
ssh $ssh_opts -p $port root@$addr 'cd $root && ln -sfn versions/loop-$version current.new && mv -T current.new current && $test_cmd && $reload_cmd'
: >"$WORK/push/$i.ok"
SH
done
start=$(now)
find "$WORK/push" -name '*.sh' -print0 | xargs -0 -P "$PAR" -n 1 bash 2>"$WORK/loop.err" || true
loop_s=$(secs "$start" "$(now)")
loop_ok=$(find "$WORK/push" -name '*.ok' | wc -l)
[ "$loop_ok" = "$HOSTS" ] || { tail -n 5 "$WORK/loop.err" >&2; die "ssh loop: $loop_ok of $HOSTS hosts done"; }
printf 'ssh/scp loop, xargs -P %d: %d hosts in %.2f s\n' "$PAR" "$HOSTS" "$loop_s"

ansible_s="" ansible_est=""
if [ "$ANSIBLE_HOSTS" -gt 0 ]; then
  inventory="$WORK/ansible-hosts.ini"
  echo "[cdn]" >"$inventory"
  for i in $(seq 1 "$ANSIBLE_HOSTS"); do
    pair=${FLEET[i - 1]}
    name=${pair%%=*} addr=${pair#*=}
    echo "$name ansible_host=$addr cert_root=$LAB/hosts/$name/live test='$(env_of "$LAB" "LAB_HOST_${i}_TEST_COMMAND")' reload='$(env_of "$LAB" "LAB_HOST_${i}_RELOAD_COMMAND")'" >>"$inventory"
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
    - command: "{{ test }}"
    - command: "{{ reload }}"
YML
  start=$(now)
  ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_SSH_RETRIES=3 ANSIBLE_TIMEOUT=30 \
    ansible-playbook -i "$inventory" -f "$ANSIBLE_HOSTS" -u root -e "version=$version" \
    --ssh-common-args "$ssh_opts -p $port" "$WORK/push.yml" >"$WORK/ansible.log" 2>&1 ||
    { grep -iE "fatal|error" "$WORK/ansible.log" | head >&2; die "ansible-playbook failed"; }
  ansible_s=$(secs "$start" "$(now)")
  ansible_est=$(echo "$ansible_s * $HOSTS / $ANSIBLE_HOSTS" | bc -l)
  printf 'ansible-playbook -f %d: %d hosts in %.2f s; %d hosts extrapolated: %.0f s\n' "$ANSIBLE_HOSTS" \
    "$ANSIBLE_HOSTS" "$ansible_s" "$HOSTS" "$ansible_est"
fi

# ===================== summary =====================
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
day=$(date -u +%Y-%m-%d)
ref=${T[$BOUNDED_C]}
echo
echo "machine: $(nproc) cores, load average $load_start at start, $load_end at end"
echo "dropped handshakes (MaxStartups 10:30:100, 16 hosts, $DROP_RUNS runs): $drop_retries retried, $drop_failed host deployments failed"
echo
echo "markdown rows:"
for c in "${CONCURRENCIES[@]}"; do
  printf '| %s | %d | %d | %.2f s | %.2f s | %s MiB | %d |\n' "$day" "$HOSTS" "$c" "${T[$c]}" \
    "${CPU[$c]}" "$(mib "${RSS[$c]}")" "${FDS[$c]}"
done
printf '| %s | %d | %d | %.2f s | - | %s MiB | %d |\n' "$day" "$SMALL" "$BOUNDED_C" "$small_s" \
  "$(mib "$small_rss")" "$small_fds"
if [ -n "$ansible_s" ]; then
  printf '| %s | %d | certfleet --concurrency %d: %.2f s | ssh/scp xargs -P %d: %.2f s (%sx) | Ansible -f %d, %d hosts: %.2f s, %d extrapolated: %.0f s (%sx) |\n' \
    "$day" "$HOSTS" "$BOUNDED_C" "$ref" "$PAR" "$loop_s" "$(ratio "$loop_s" "$ref")" "$ANSIBLE_HOSTS" \
    "$ANSIBLE_HOSTS" "$ansible_s" "$HOSTS" "$ansible_est" "$(ratio "$ansible_est" "$ref")"
else
  printf '| %s | %d | certfleet --concurrency %d: %.2f s | ssh/scp xargs -P %d: %.2f s (%sx) | Ansible skipped |\n' \
    "$day" "$HOSTS" "$BOUNDED_C" "$ref" "$PAR" "$loop_s" "$(ratio "$loop_s" "$ref")"
fi
