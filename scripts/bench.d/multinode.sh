#!/usr/bin/env bash
# Policy decisions per second: one vigie on SQLite beside three vigie
# sharing one PostgreSQL (a real server started on loopback by the
# benchmark), each node counting locally and exchanging its counters with
# the database every 250 ms. The policy load generator
# (internal/policy/policyload) drives them with 48 connections in all
# (split between the nodes) for POLICY_BENCH_DURATION (default 10s), with
# 10000 SASL accounts so that none reaches its limit. All the processes
# share this machine's cores: the three nodes and PostgreSQL compete for
# them, so the figure is what one machine does, not what three would.
# Then one account sends through the three nodes at once, paced (200
# messages a second per node) and unpaced, to measure how far past its
# limit of 100 the nodes let it go before they see each other's counts.
# Prints decisions/s for each, the ratio and the overshoots; never fails
# on a number.
set -euo pipefail
cd "$(dirname "$0")/../.."
export POLICY_BENCH_DURATION=${POLICY_BENCH_DURATION:-10s}
out=$(go test -run '^$' -bench 'PolicyNodes' -benchtime 1x ./cmd/vigie/)
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk '
  /^BenchmarkPolicyNodes\// {
    split($1, p, "/"); cfg = p[2]; sub(/-[0-9]+$/, "", cfg)
    for (i = 1; i <= NF; i++) {
      if ($(i+1) == "decisions/s") v[cfg] = $i
      if ($(i+1) == "errors") e[cfg] = $i
      if ($(i+1) == "blast-accepted") blast = $i
      if ($(i+1) == "paced-accepted") paced = $i
      if ($(i+1) == "alone-episodes") alone = $i
    }
  }
  END {
    s = v["sqlite-1node"]; g = v["postgres-3nodes"]
    printf "%-18s %12s %8s\n", "setup", "decisions/s", "errors"
    printf "%-18s %12.0f %8d\n", "sqlite, 1 node", s, e["sqlite-1node"]
    printf "%-18s %12.0f %8d\n", "postgres, 3 nodes", g, e["postgres-3nodes"]
    if (s && g) printf "ratio 3 nodes on postgres / 1 node on sqlite: %.2f\n", g / s
    printf "times a node decided alone (an exchange over 1 s) during the run: %d\n", alone
    printf "one account through the three nodes, limit 100/min: %d accepted at 600 msg/s (200 per node), %d when blasting\n", paced, blast
  }'
