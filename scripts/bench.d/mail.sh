#!/usr/bin/env bash
# The mail watch's benchmark: `vigie mail report` against pflogsumm on the
# same generated Postfix log (real format, classic syslog stamps), side by
# side: lines/s, peak memory, and the speed ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${MAIL_BENCH_LINES:-2000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/vigie" ./cmd/vigie
go run ./internal/mail/mailgen/cmd/mailgen -lines "$LINES" > "$tmp/mail.log" 2>/dev/null
n=$(wc -l < "$tmp/mail.log")
echo "mail: $n lines, $(du -h "$tmp/mail.log" | cut -f1)"

# measure NAME CMD...: prints "NAME wall_seconds cpu_seconds peak_kib". The
# machine may be shared: CPU seconds (user+system) are the fairer figure.
measure() {
  local name=$1; shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$tmp/time.$name" "$@" > "$tmp/out.$name"
    local secs cpu kib
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/time.$name")
    cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$tmp/time.$name")
    kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.$name")
    echo "$name $secs $cpu $kib"
  else
    local start end
    start=$(date +%s.%N); "$@" > "$tmp/out.$name"; end=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN {print b-a}')
    echo "$name $secs $secs 0"
  fi
}

read -r _ vs vc vk < <(measure vigie "$tmp/vigie" mail report "$tmp/mail.log")
if command -v pflogsumm >/dev/null; then
  read -r _ ps pc pk < <(measure pflogsumm pflogsumm "$tmp/mail.log")
else
  echo "mail: pflogsumm is not installed (apt-get install pflogsumm); vigie only"
  ps=""
fi
awk -v n="$n" -v vs="$vs" -v vc="$vc" -v vk="$vk" -v ps="$ps" -v pc="${pc:-}" -v pk="${pk:-}" 'BEGIN {
  if (vc <= 0) vc = 0.01
  printf "mail: vigie mail report  wall %7.2f s %10.0f lines/s | cpu %7.2f s %10.0f lines/s | peak %6.1f MiB\n", vs, n/vs, vc, n/vc, vk/1024
  if (ps != "") {
    printf "mail: pflogsumm          wall %7.2f s %10.0f lines/s | cpu %7.2f s %10.0f lines/s | peak %6.1f MiB\n", ps, n/ps, pc, n/pc, pk/1024
    printf "mail: vigie/pflogsumm speed: %.1fx wall, %.1fx cpu (aim: 5x); memory %.2fx\n", ps/vs, pc/vc, (pk > 0 ? vk/pk : 0)
  }
}'
grep -E 'received|delivered|bounced' "$tmp/out.vigie" | head -3 | sed 's/^/mail: vigie: /'
grep -E '^ *[0-9]+ +(received|delivered|bounced)' "$tmp/out.pflogsumm" 2>/dev/null | head -3 | sed 's/^/mail: pflogsumm: /' || true
