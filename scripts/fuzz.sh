#!/usr/bin/env bash
# Runs every Fuzz* target for a while each (`make test`: 2s, `make fuzz`:
# 20s). The kept corpus of each target (testdata/fuzz/<Target>/, seeded from
# real samples, see testdata/fuzz/SOURCES.md) is replayed by plain `go test`
# too; an input that makes a target fail is written there by go test and
# the run fails: commit it with the fix, it stays a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-20s}
failed=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    kept=$( (find "$dir/testdata/fuzz/$f" -type f 2>/dev/null || true) | wc -l)
    echo "== $pkg $f ($t, kept corpus: $kept)"
    if ! go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"; then
      failed=1
      echo "!! $pkg $f failed: the input is kept in $dir/testdata/fuzz/$f" >&2
    fi
  done
done
exit $failed
