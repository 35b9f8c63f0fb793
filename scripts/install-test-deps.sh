#!/usr/bin/env bash
# Installs what the test suite needs on a Debian machine: the packages
# listed in testdeps/*.apt (one per line, # comments), only those missing,
# and only when root or CI=true. Other machines get a list of what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(cat testdeps/*.apt 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif [ "${CI:-}" = true ] && command -v sudo >/dev/null; then
    sudo=(sudo -n)
  else
    echo "install-test-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-test-deps: run 'make test' as root (or with CI=true and sudo), or apt-get install them" >&2
    exit 1
  fi
  echo "install-test-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks how to configure itself; the tests write their own config.
  echo "postfix postfix/main_mailer_type select No configuration" | "${sudo[@]}" debconf-set-selections 2>/dev/null || true
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Packages that start a daemon on install: the tests start their own, on
  # ports of their own, so the system's copies are stopped.
  for svc in postfix dovecot knot postgresql nginx prometheus prometheus-alertmanager postfwd policyd-rate-limit; do
    "${sudo[@]}" service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# Extra installers (Go tools for tests) live in testdeps/*.sh.
for s in testdeps/*.sh; do
  [ -e "$s" ] || continue
  bash "$s"
done
