#!/usr/bin/env bash
# The DNS watch at the registrar's scale: a TLD zone of 2,100,000
# delegations (signed with NSEC3 opt-out, one domain in ten with a DS)
# served by knotd on loopback, the domains' records by a second knotd.
# Prints domains/s, CPU per domain and peak memory for the parent-side
# sweep (NS, glue, DS) and the full sweep (A, AAAA, MX, SPF, DMARC, CAA
# too), and the same parent-side work done by `dig -f` (one query after
# the other) for the ratio. Aims: parent side under 30 s, full under
# 3 min, under 2 GiB. VIGIE_DNS_BENCH_DOMAINS changes the size.
set -euo pipefail
cd "$(dirname "$0")/../.."
export VIGIE_DNS_BENCH_DOMAINS="${VIGIE_DNS_BENCH_DOMAINS:-2100000}"
# zdns, the peer: `go install github.com/zmap/zdns/v2@latest` fails (the
# proxy refuses the version list: 403), but v2.0.5 builds from the proxy
# inside a throwaway module.
if [ -z "${VIGIE_ZDNS:-}" ]; then
  zd=$(mktemp -d)
  if (cd "$zd" && go mod init zdnsbench >/dev/null 2>&1 && go get github.com/zmap/zdns/v2@v2.0.5 >/dev/null 2>&1 &&
      go build -o "$zd/zdns" github.com/zmap/zdns/v2); then
    export VIGIE_ZDNS="$zd/zdns"
  else
    echo "dns: zdns v2.0.5 could not be built; its comparison is skipped"
  fi
fi
echo "dns: sweeping ${VIGIE_DNS_BENCH_DOMAINS} delegations served by knotd on loopback"
go test -run '^$' -bench 'BenchmarkSweep$' -benchtime 1x -timeout 90m -v ./internal/dnswatch/ |
  grep -E '^(Benchmark|\s+bench_test|ok|FAIL|---)'
