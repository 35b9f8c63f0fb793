#!/usr/bin/env bash
# Sunlight, the static-ct-api log the CT watch's integration tests run on
# loopback. Idempotent: nothing is done when the right version is there.
#
# `go install filippo.io/sunlight/cmd/sunlight@v0.3.1` does not work here:
# the module proxy refuses the module's version list (and versions after
# v0.3.1), which `go install pkg@version` reads to check for deprecation.
# So the command is built from a throw-away module that requires it.
set -euo pipefail
version=v0.3.1
bin="${GOBIN:-$(go env GOPATH)/bin}"
stamp="$bin/.sunlight-$version"
if [ -x "$bin/sunlight" ] && [ -e "$stamp" ]; then
  exit 0
fi
mkdir -p "$bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
go mod init vigie-testdeps-sunlight >/dev/null 2>&1
if ! GOFLAGS=-mod=mod go get "filippo.io/sunlight/cmd/sunlight@$version" >"$tmp/log" 2>&1 ||
   ! go build -o "$bin/sunlight" filippo.io/sunlight/cmd/sunlight >>"$tmp/log" 2>&1; then
  cat "$tmp/log" >&2
  exit 1
fi
touch "$stamp"
echo "testdeps/ct.sh: installed sunlight $version in $bin"
