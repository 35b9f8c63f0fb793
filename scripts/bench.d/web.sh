#!/usr/bin/env bash
# The web watch, side by side with the plain tools an admin would use:
#  - scan: vigie's inventory of a generated tree of 10,000 sites (mixed
#    apps, ~30 files each) against `find` listing every version file of the
#    same tree (the least any inventory must do);
#  - access log: vigie's parser and detectors on one core against
#    `grep -c` for one attack pattern over the same lines.
# Prints figures and ratios; never fails on a number.
set -euo pipefail
cd "$(dirname "$0")/../.."
SITES="${VIGIE_WEB_BENCH_SITES:-10000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
calc() { awk "BEGIN { print $* }"; }

echo "-- web: generating and scanning $SITES sites"
out="$(VIGIE_WEB_BENCH_SITES="$SITES" VIGIE_WEB_BENCH_DIR="$work" GOMAXPROCS=1 \
  go test -run '^$' -bench 'BenchmarkScanSites|BenchmarkAccessLog' -benchtime=1x -count=1 ./internal/webapps/)"
echo "$out" | grep -E '^Benchmark'
scan_line="$(echo "$out" | grep '^BenchmarkScanSites')"
log_line="$(echo "$out" | grep '^BenchmarkAccessLog')"
sites_s="$(echo "$scan_line" | grep -oE '[0-9.e+]+ sites/s' | cut -d' ' -f1)"
peak="$(echo "$scan_line" | grep -oE '[0-9.e+]+ MB-peak-heap' | cut -d' ' -f1)"
lines_s="$(echo "$log_line" | grep -oE '[0-9.e+]+ lines/s' | cut -d' ' -f1)"

tree="$work/tree-$SITES"
sync
start=$(date +%s.%N)
find "$tree" \( -path '*/wp-includes/version.php' -o -path '*/includes/bootstrap.inc' -o -name 'Drupal.php' \
  -o -name 'Version.php' -o -name 'version.php' -o -name VERSION -o -name constants.php -o -name Defines.php \
  -o -name iniset.php -o -name AppKernel.php -o -name Mage.php -o -name composer.json \) -print >/dev/null
end=$(date +%s.%N)
find_s=$(calc "$SITES / ($end - $start)")

nlines=$(wc -l < "$work/access.log")
start=$(date +%s.%N)
grep -c 'wp-login.php' "$work/access.log" >/dev/null || true
end=$(date +%s.%N)
grep_s=$(calc "$nlines / ($end - $start)")

printf "\nweb scan:   vigie %.0f sites/s ($SITES sites in %.1f s; peak heap %.1f MB)\n" "$sites_s" "$(calc "$SITES / $sites_s")" "$peak"
printf '            find  %.0f sites/s listing the version files only; vigie/find = %.2f\n' "$find_s" "$(calc "$sites_s / $find_s")"
printf 'access log: vigie %.0f lines/s (parse + all detectors, one core; aim 500,000)\n' "$lines_s"
printf '            grep -c one pattern %.0f lines/s; vigie/grep = %.2f\n' "$grep_s" "$(calc "$lines_s / $grep_s")"
