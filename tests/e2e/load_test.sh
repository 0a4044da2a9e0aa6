#!/usr/bin/env bash
# End to end over real processes: a wallet-worker on ephemeral loopback
# ports and wallet-producer's verified load, with retries, conflicts and
# spends mixed in; then a restart of the worker and a second verified load
# on the recovered balances. Fails unless both loads print PASS.
#
#   load_test.sh WORKER_BINARY PRODUCER_BINARY
set -euo pipefail

worker="$1"
producer="$2"
work="$(mktemp -d)"
worker_pid=""
cleanup() {
  if [ -n "$worker_pid" ]; then kill -KILL "$worker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts the worker on ephemeral ports and reads back where it bound.
start_worker() {
  "$worker" --data-dir "$work/data" --commands 'tcp://127.0.0.1:*' \
    --events 'tcp://127.0.0.1:*' --queries 'tcp://127.0.0.1:*' \
    --threads 2 >"$work/worker.log" 2>&1 &
  worker_pid=$!
  for _ in $(seq 1 200); do
    if grep -q 'event=start ' "$work/worker.log"; then break; fi
    sleep 0.05
  done
  local line
  line="$(grep 'event=start ' "$work/worker.log")"
  endpoints=()
  for name in commands events queries; do
    endpoints+=("--$name" "$(sed -n "s/.* $name=\([^ ]*\).*/\1/p" <<<"$line")")
  done
}

run_load() {
  "$producer" "${endpoints[@]}" load --commands-count 40000 --users 64 \
    --duplicates-pct 10 --conflicts-pct 2 --spends-pct 40 --timeout-s 30 \
    >"$work/load.out" 2>"$work/load.log" || true
  cat "$work/load.out"
  grep -q '^verdict result=PASS' "$work/load.out"
}

start_worker
run_load
kill -TERM "$worker_pid"
wait "$worker_pid"
start_worker
grep 'event=recovered' "$work/worker.log"
run_load
kill -TERM "$worker_pid"
wait "$worker_pid"
worker_pid=""
echo "load_test: PASS"
