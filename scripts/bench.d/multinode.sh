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
# Prints decisions/s for each and the ratio; never fails on a number.
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
    }
  }
  END {
    s = v["sqlite-1node"]; g = v["postgres-3nodes"]
    printf "%-18s %12s %8s\n", "setup", "decisions/s", "errors"
    printf "%-18s %12.0f %8d\n", "sqlite, 1 node", s, e["sqlite-1node"]
    printf "%-18s %12.0f %8d\n", "postgres, 3 nodes", g, e["postgres-3nodes"]
    if (s && g) printf "ratio 3 nodes on postgres / 1 node on sqlite: %.2f\n", g / s
  }'
