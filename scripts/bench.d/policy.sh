#!/usr/bin/env bash
# The policy server side by side with postfwd and policyd-rate-limit: each
# runs on its own loopback port with the same limit (100 messages a minute
# per SASL account), and the same load generator drives each in turn with
# CONNS connections for DURATION (END-OF-MESSAGE requests of ACCOUNTS accounts).
# Prints decisions/s, p50/p99 latency, resident memory, decisions per
# CPU-second of the server (a figure the other load on a shared machine
# changes less than the rate) and the ratios. policyd-rate-limit counts only
# at the RCPT stage, so it gets RCPT requests; the others END-OF-MESSAGE.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${POLICY_BENCH_DURATION:-10s}
CONNS=${POLICY_BENCH_CONNS:-50}
# A second, short run with few connections measures the latency of one
# answer rather than the time spent waiting in line behind CONNS others.
LAT_CONNS=${POLICY_BENCH_LATENCY_CONNS:-4}
# Enough accounts that nobody reaches the limit during the runs: every
# server then does its full work (count, and for vigie record the queue id).
ACCOUNTS=${POLICY_BENCH_ACCOUNTS:-10000}
tmp=$(mktemp -d)
pids=()
cleanup() {
  if [ -f "$tmp/postfwd.pid" ]; then
    ppid=$(cat "$tmp/postfwd.pid")
    pids+=($(tree "$ppid"))
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  rm -rf "$tmp"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
waitport() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}
# a process and its descendants
tree() {
  local p
  echo "$1"
  for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$p"; done
}
# resident memory (KiB) of a process tree
rss() {
  local total=0 p
  for p in $(tree "$1"); do
    total=$((total + $(ps -o rss= -p "$p" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
# CPU time (clock ticks) used by a process tree, its reaped children included
cputicks() {
  local total=0 p
  for p in $(tree "$1"); do
    total=$((total + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

go build -o "$tmp/vigie" ./cmd/vigie
go build -o "$tmp/loadgen" ./internal/policy/policyload/loadgen
results=()
hz=$(getconf CLK_TCK)
latency=()
run() { # name port pid [state]
  local line c0 c1 req cpu lat
  lat=$("$tmp/loadgen" -name "$1" -addr "127.0.0.1:$2" -conns "$LAT_CONNS" -duration 3s -accounts "$ACCOUNTS" -state "${4:-END-OF-MESSAGE}")
  latency+=("$lat")
  c0=$(cputicks "$3")
  line=$("$tmp/loadgen" -name "$1" -addr "127.0.0.1:$2" -conns "$CONNS" -duration "$DURATION" -accounts "$ACCOUNTS" -state "${4:-END-OF-MESSAGE}")
  c1=$(cputicks "$3")
  req=$(echo "$line" | awk '{print $5}')
  cpu=$(awk -v r="$req" -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { if (t > 0) printf "%.0f", r / (t / hz); else print 0 }')
  results+=("$line $cpu $(rss "$3")")
  echo "$line cpu-decisions/s=$cpu rss=$(rss "$3")KiB"
}

# vigie
vport=$(freeport)
cat >"$tmp/vigie.yaml" <<YAML
http: {listen: ""}
log: {level: warn}
notify: {log: {enabled: false}}
policy:
  enabled: on
  listen: [127.0.0.1:$vport]
  limits: [{window: 1m, messages: 100}]
YAML
"$tmp/vigie" run --config "$tmp/vigie.yaml" --data "$tmp/vigie-data" 2>"$tmp/vigie.log" &
vpid=$!; pids+=("$vpid")
waitport "$vport"
run vigie "$vport" "$vpid"

# postfwd (postfwd2): a pre-forking Perl server
if command -v postfwd >/dev/null; then
  pport=$(freeport)
  echo 'id=RATE01; sasl_username=~.; action=rate(sasl_username/100/60/DEFER_IF_PERMIT limit reached)' >"$tmp/postfwd.cf"
  # its own defaults for the number of children (Net::Server prefork)
  postfwd --daemon -f "$tmp/postfwd.cf" -i 127.0.0.1 -p "$pport" --pidfile "$tmp/postfwd.pid" \
    -u nobody -g nogroup >"$tmp/postfwd.log" 2>&1 || true
  if waitport "$pport"; then
    sleep 1
    run postfwd "$pport" "$(cat "$tmp/postfwd.pid")"
  fi
else
  echo "postfwd not installed (apt-get install postfwd)"
fi

# policyd-rate-limit: Python, SQLite backend
if command -v policyd-rate-limit >/dev/null; then
  rport=$(freeport)
  cat >"$tmp/prl.yaml" <<YAML
debug: False
user: "root"
group: "root"
pidfile: "$tmp/prl.pid"
sqlite_config: {database: "$tmp/prl.sqlite3"}
backend: 0
SOCKET: ["127.0.0.1", $rport]
limits: [[100, 60]]
limits_by_id: {}
limit_by_sasl: True
limit_by_sender: False
limit_by_ip: False
limited_networks: []
success_action: "dunno"
fail_action: "defer_if_permit Rate limit reach, retry later"
db_error_action: "dunno"
report: False
delay_to_close: 300
YAML
  policyd-rate-limit --file "$tmp/prl.yaml" >"$tmp/prl.log" 2>&1 &
  rpid=$!; pids+=("$rpid")
  if waitport "$rport"; then
    run policyd-rate-limit "$rport" "$rpid" RCPT
  fi
else
  echo "policyd-rate-limit not installed (apt-get install policyd-rate-limit)"
fi

echo
printf '%-20s %12s %10s %10s %16s %8s %8s\n' server decisions/s p50-us p99-us decisions/cpu-s rss-MiB errors
base="" basecpu=""
for r in "${results[@]}"; do
  mem=${r##* }
  rest=${r% *}
  cpu=${rest##* }
  read -r name rate p50 p99 _req errs _ <<<"$r"
  printf '%-20s %12s %10s %10s %16s %8s %8s\n' "$name" "$rate" "$p50" "$p99" "$cpu" "$((mem / 1024))" "$errs"
  if [ -z "$base" ]; then base=$rate basecpu=$cpu; else
    awk -v a="$base" -v b="$rate" -v c="$basecpu" -v d="$cpu" -v n="$name" \
      'BEGIN { if (b > 0 && d > 0) printf "  vigie / %s: %.1fx the decisions per second, %.1fx per CPU-second\n", n, a / b, c / d }'
  fi
done
echo
echo "latency with $LAT_CONNS connections (3s each):"
printf '%-20s %12s %10s %10s\n' server decisions/s p50-us p99-us
for r in "${latency[@]}"; do
  read -r name rate p50 p99 _ <<<"$r"
  printf '%-20s %12s %10s %10s\n' "$name" "$rate" "$p50" "$p99"
done
