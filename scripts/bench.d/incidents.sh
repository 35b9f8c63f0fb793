#!/usr/bin/env bash
# The 751-domain storm of the third seed incident: vigie's alert pipeline
# (findings -> alerts -> one incident, persisted in SQLite, one batched
# message) beside a real Prometheus Alertmanager ingesting the same 751
# alerts. Prints alerts/s for each and the ratio; never fails on a number.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(go test -run '^$' -bench 'Storm751' -benchtime 5x ./internal/alert/)
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk '
  /Storm751\/vigie/        { for (i = 1; i <= NF; i++) if ($(i+1) == "alerts/s") v = $i }
  /Storm751\/alertmanager/ { for (i = 1; i <= NF; i++) if ($(i+1) == "alerts/s") a = $i }
  END { if (v && a) printf "storm of 751: vigie %.0f alerts/s, alertmanager %.0f alerts/s, ratio vigie/alertmanager %.2f\n", v, a, v / a }'
