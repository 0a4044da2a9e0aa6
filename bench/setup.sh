#!/usr/bin/env bash
# Installs what the benchmark suite needs beyond the project's own packages
# (scripts/setup.sh): the Redis and PostgreSQL peers, hiredis for the Redis
# client, and gnuplot for the chart. Does nothing when they are present; a
# package that cannot be installed leaves its case to be skipped.
set -euo pipefail

exec bash "$(dirname "$0")/../scripts/setup.sh" --best-effort "bench setup" \
  redis-server libhiredis-dev postgresql gnuplot-nox
