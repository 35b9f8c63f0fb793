#!/usr/bin/env bash
# Store write throughput for findings, SQLite beside PostgreSQL (a real
# server started on loopback by the benchmark): raw AddFinding and
# UpdateAlert, Emit through the real pipeline, and Emit from 4 writers (4
# nodes on PostgreSQL, one machine's pipeline on SQLite). Prints
# findings/s for each and the ratio postgres/sqlite; never fails on a
# number.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(go test -run '^$' -bench 'StoreWrites' -benchtime 2000x ./internal/store/postgres/)
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk '
  /^BenchmarkStoreWrites\// {
    split($1, p, "/"); be = p[2]; op = p[3]; sub(/-[0-9]+$/, "", op)
    for (i = 1; i <= NF; i++) if ($(i+1) == "findings/s") v[be, op] = $i
    if (!(op in seen)) { seen[op] = 1; ops[++n] = op }
  }
  END {
    for (k = 1; k <= n; k++) {
      op = ops[k]; s = v["sqlite", op]; g = v["postgres", op]
      if (s && g) printf "%-12s sqlite %8.0f findings/s, postgres %8.0f findings/s, ratio postgres/sqlite %.2f\n", op, s, g, g / s
    }
  }'
