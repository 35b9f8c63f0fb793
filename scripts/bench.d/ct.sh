#!/usr/bin/env bash
# CT watch: parse + match throughput against a 2,100,000-domain watchlist
# (Go benchmark, one core), then `vigie ct check` and certspotter catching
# up the same RFC 6962 log on loopback with watchlists of the same size.
# CT_BENCH_ENTRIES sets the log size (default 50000); certspotter gets
# CT_BENCH_BUDGET (default 120s) and its rate is measured on what it read.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -run '^$' -bench 'ParseMatch|WatchlistBuild' -benchtime 3s -cpu 1 ./internal/ct/
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/vigie" ./cmd/vigie
go run ./internal/ct/cmd/ctbench -vigie "$bin/vigie" -certspotter "$(command -v certspotter || true)" \
  -entries "${CT_BENCH_ENTRIES:-50000}" -domains 2100000 -budget "${CT_BENCH_BUDGET:-120s}"
