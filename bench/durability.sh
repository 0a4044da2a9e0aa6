#!/usr/bin/env bash
# The cost of durability: the same verified load against a Release worker
# with --sync always (the default) and --sync none, one after the other,
# each on a fresh data directory. Prints a Markdown table of throughput and
# latency as the load tool measured them.
#
#   bench/durability.sh [COMMANDS] [USERS] [ROUNDS]
#
# Defaults: 1,000,000 commands over 100,000 users, 5 % retried duplicates,
# 2 rounds per mode (alternating, so drift on a shared machine hits both).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
commands="${1:-1000000}"
users="${2:-100000}"
rounds="${3:-2}"
build="$root/build/release"
ports=(25555 25556 25557)
endpoints=(--commands "tcp://127.0.0.1:${ports[0]}"
           --events "tcp://127.0.0.1:${ports[1]}"
           --queries "tcp://127.0.0.1:${ports[2]}")

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DWALLET_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null

work="$(mktemp -d)"
worker_pid=""
cleanup() {
  [ -n "$worker_pid" ] && kill -INT "$worker_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

run_once() {  # run_once <sync mode> <round>
  local mode="$1" round="$2" log="$work/$1-$2"
  "$build/worker/wallet-worker" "${endpoints[@]}" --sync "$mode" \
    --data-dir "$work/data-$mode-$round" 2>"$log.worker" &
  worker_pid=$!
  until "$build/producer/wallet-producer" "${endpoints[@]}" balance \
      --user probe --timeout-ms 200 >/dev/null 2>&1; do sleep 0.1; done
  "$build/producer/wallet-producer" "${endpoints[@]}" load \
    --commands-count "$commands" --users "$users" --duplicates-pct 5 \
    --conflicts-pct 0 >"$log.load" 2>&1
  kill -INT "$worker_pid"
  wait "$worker_pid"
  worker_pid=""
  local rate p50 p99 verdict
  rate="$(sed -n 's/^throughput .*commands_per_s=\([0-9]*\).*/\1/p' "$log.load")"
  p50="$(sed -n 's/^latency_ms p50=\([0-9.]*\).*/\1/p' "$log.load")"
  p99="$(sed -n 's/^latency_ms .*p99=\([0-9.]*\).*/\1/p' "$log.load")"
  verdict="$(sed -n 's/^verdict result=\([A-Z]*\).*/\1/p' "$log.load")"
  printf '| %s | %s | %s | %s | %s | %s |\n' \
    "$mode" "$round" "$rate" "$p50" "$p99" "$verdict"
}

echo "| sync | round | commands/s | p50 ms | p99 ms | verdict |"
echo "|---|---:|---:|---:|---:|---|"
for round in $(seq 1 "$rounds"); do
  run_once always "$round"
  run_once none "$round"
done
echo
echo "$commands commands, $users users, 5 % duplicates; closed loop with the"
echo "load tool's default window of 20,000 in flight (latency includes queueing)."
echo "machine: $(nproc) cores, $(uname -r)"
