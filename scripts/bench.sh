#!/usr/bin/env bash
# `make bench`: Go benchmarks, then each watch's side-by-side comparison
# with its peer (scripts/bench.d/*.sh). Prints figures and ratios; never
# fails on a number, only when a benchmark cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchmem ./...
for s in scripts/bench.d/*.sh; do
  [ -e "$s" ] || continue
  echo "== $s"
  bash "$s"
done
