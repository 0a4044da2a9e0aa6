#!/usr/bin/env bash
# The README's first command. Installs what is missing, builds Release and
# runs the product on its embedded defaults (loopback endpoints 5555-5557,
# durable sync) against a fresh data directory:
#
#   1. a verified load: fresh credits with retried duplicates and
#      conflicting key reuses mixed in, every result and balance checked;
#   2. a second load during which the worker is killed with SIGKILL, while
#      an auditor records every result the worker acknowledged;
#   3. the worker restarted on the same data directory: the auditor checks
#      that every acknowledged credit is still there, and a last verified
#      load runs against the recovered balances.
#
# Logs and data stay under build/demo/ for a look afterwards.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

build="build/release"
demo="build/demo"
worker="$build/worker/wallet-worker"
producer="$build/producer/wallet-producer"
worker_pid=""

step() { printf '\n==> %s\n' "$*"; }

cleanup() {
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -INT "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# start_worker <log file>: starts the worker on the defaults and waits
# until it answers a query (recovery runs before it binds).
start_worker() {
  "$worker" --data-dir "$demo/data" >"$1" 2>&1 &
  worker_pid=$!
  for _ in $(seq 1 300); do
    if "$producer" balance --user demo-probe --timeout-ms 200 \
        >/dev/null 2>&1; then
      grep -E 'event=(recovered|truncated|start) ' "$1" | sed 's/^/    /'
      return 0
    fi
    if ! kill -0 "$worker_pid" 2>/dev/null; then
      echo "demo: the worker exited at start; its log:" >&2
      cat "$1" >&2
      exit 1
    fi
  done
  echo "demo: the worker did not answer within 60 s; see $1" >&2
  exit 1
}

step "set-up"
bash scripts/setup.sh

step "build (Release) into $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWALLET_BUILD_TESTS=OFF \
  -DWALLET_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" -- --no-print-directory |
  grep -E 'Built target|error' || true

rm -rf "$demo"
mkdir -p "$demo"

step "start the worker (fresh data directory $demo/data)"
start_worker "$demo/worker-1.log"

step "load: 200000 commands over 1000 users: 20% spends, 5% retries, 1% conflicts"
"$producer" load --commands-count 200000 --users 1000 \
  --duplicates-pct 5 --conflicts-pct 1 --spends-pct 20

step "crash: SIGKILL the worker in the middle of a load"
"$producer" audit --worker-wait-s 120 >"$demo/audit.out" \
  2>"$demo/audit.log" &
audit_pid=$!
sleep 1
"$producer" load --commands-count 5000000 --users 1000 --timeout-s 3 \
  >"$demo/interrupted-load.out" 2>"$demo/interrupted-load.log" &
load_pid=$!
sleep 3
kill -KILL "$worker_pid"
wait "$worker_pid" 2>/dev/null || true
echo "    worker killed with SIGKILL (pid $worker_pid) mid-load"
wait "$load_pid" 2>/dev/null || true
grep -E '^(throughput|check=run)' "$demo/interrupted-load.out" |
  sed 's/^/    interrupted load: /' || true

step "restart the worker on the same data directory"
start_worker "$demo/worker-2.log"

step "audit: every credit acknowledged before the kill is still there"
kill -INT "$audit_pid"
audit_status=0
wait "$audit_pid" || audit_status=$?
cat "$demo/audit.out"
if [ "$audit_status" -ne 0 ]; then
  echo "demo: audit failed; see $demo/audit.log" >&2
  exit 1
fi

step "load after recovery: balances continue exactly"
"$producer" load --commands-count 100000 --users 1000 \
  --duplicates-pct 5 --conflicts-pct 1 --spends-pct 20

step "stop the worker (SIGINT: drain, final snapshot, exit 0)"
kill -INT "$worker_pid"
wait "$worker_pid"
worker_pid=""
grep -E 'event=stop ' "$demo/worker-2.log" | sed 's/^/    /'
echo
echo "demo: done. Logs and data are under $demo/."
