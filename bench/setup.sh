#!/usr/bin/env bash
# Installs what the benchmark suite needs beyond the project's own packages
# (scripts/setup.sh): the Redis and PostgreSQL peers, hiredis for the Redis
# client, and gnuplot for the chart. Does nothing when they are present.
# Debian 12; run as root (or via sudo).
set -euo pipefail

packages=(redis-server libhiredis-dev postgresql gnuplot-nox)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bench setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "bench setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# A package that cannot be installed leaves its case to be skipped.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
  echo "bench setup: some packages could not be installed; their cases skip"
