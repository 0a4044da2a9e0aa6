#!/usr/bin/env bash
# The benchmark suite: one command that installs what it needs, builds
# Release, runs every case one after another on this machine and writes
# bench/results/<timestamp>/results.md (Markdown tables) and throughput.png.
# A full run also copies both to bench/results/latest/, which the README
# shows.
#
#   bench/run.sh [--quick] [--build-dir DIR]
#
# --quick runs every case at smoke-test sizes (CI uses it to check that the
# suite works, not how fast anything is). --build-dir reuses an existing
# build directory instead of build/release.
#
# Every case sends the same mix (bench/bench_mix.h): credits under UUID keys
# over 100,000 users, 5 % identical retries, over TCP loopback, with every
# result received back by the load tool. Peers missing from the machine are
# skipped with a line saying so. See bench/README.md for what each case
# measures.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
quick=0
build="$root/build/release"
custom_build=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --build-dir) build="$(realpath -m "$2")"; custom_build=1; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--build-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done

users=100000
if [ "$quick" -eq 1 ]; then
  commands=20000 rounds=1 peer_commands=5000 pg_seconds=3
  latency_seconds=1 memory_commands=200000 memory_users=20000
  recovery_commands=20000 recovery_users=2000 flood_seconds=2
else
  commands=2000000 rounds=2 peer_commands=500000 pg_seconds=30
  latency_seconds=10 memory_commands=10000000 memory_users=1000000
  recovery_commands=1000000,10000000 recovery_users=100000 flood_seconds=30
fi
# Query clients of the query-flood case, and the key window of the
# overload case (short, so that the retained keys reach their steady state
# early and what remains of RSS growth is queues).
query_clients=4
flood_key_window_s=2
# Ports away from a developer's worker on 5555-5557.
commands_ep="tcp://127.0.0.1:26555"
events_ep="tcp://127.0.0.1:26556"
queries_ep="tcp://127.0.0.1:26557"
redis_port=26379
postgres_port=26432

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
if [ "$quick" -eq 1 ]; then
  out="$root/bench/results/quick-$stamp"
else
  out="$root/bench/results/$stamp"
fi
mkdir -p "$out/logs"
logs="$out/logs"
work="$(mktemp -d /tmp/wallet-bench-XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '==> %s\n' "$*" >&2; }
# kv <line> <key>: the value of key=value in a line.
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

# --- Set-up and build.

say "set-up"
bash "$root/scripts/setup.sh" >&2
bash "$root/bench/setup.sh" >&2

say "build $build"
if [ "$custom_build" -eq 1 ] && [ -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" >/dev/null
else
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DWALLET_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" >"$logs/build.log" 2>&1 ||
  { tail -30 "$logs/build.log" >&2; exit 1; }
worker_bin="$build/worker/wallet-worker"
producer_bin="$build/producer/wallet-producer"
load_bin="$build/bench/bench_load"

# --- Servers.

start_relay() {
  "$build/bench/relay" --commands "$commands_ep" --events "$events_ep" \
    2>"$logs/$1.server" &
  server_pid=$!
}

start_worker() {  # start_worker <log name> <worker flags...>
  local name="$1"
  shift
  rm -rf "$work/data"
  "$worker_bin" --commands "$commands_ep" --events "$events_ep" \
    --queries "$queries_ep" --data-dir "$work/data" "$@" \
    2>"$logs/$name.server" &
  server_pid=$!
  until "$producer_bin" --queries "$queries_ep" balance --user probe \
      --timeout-ms 200 >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null ||
      { cat "$logs/$name.server" >&2; exit 1; }
    sleep 0.1
  done
}

stop_server() {
  kill -INT "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}

load() {  # load <log name> <bench_load flags...>; prints its summary line
  local name="$1"
  shift
  "$load_bin" --commands "$commands_ep" --events "$events_ep" \
    --users "$users" --duplicates-pct 5 "$@" >"$logs/$name.load" 2>&1 ||
    echo "load $name did not receive every result" >&2
  grep '^bench_load ' "$logs/$name.load" || echo "bench_load failed=1"
}

# --- Case 1 and 2: the relay and the worker, closed loop, alternating
# rounds so that drift on a shared machine hits every configuration.

# What went wrong (not what was slow); a non-empty list fails the run.
problems=()

# `mixed` is the worker, durable, default threads, on the mixed variant of
# the mix (bench_mix.h): credits, spends and two-leg purchases.
configs=(relay always-1 always-2 always-4 none-1 none-2 none-4 mixed)
declare -A best_rate best_line all_rates check
run_config() {  # run_config <config> <round>
  local config="$1" round="$2" name="tp-$1-r$2" line mix=credits
  if [ "$config" = relay ]; then
    start_relay "$name"
  elif [ "$config" = mixed ]; then
    start_worker "$name" --sync always
    mix=mixed
  else
    start_worker "$name" --sync "${config%-*}" --threads "${config#*-}"
  fi
  line="$(load "$name" --count "$commands" --mix "$mix")"
  stop_server
  local rate missing applied duplicate retries
  rate="$(kv "$line" commands_per_s)"
  missing="$(kv "$line" missing)"
  applied="$(kv "$line" applied)"
  duplicate="$(kv "$line" duplicate)"
  retries="$(kv "$line" retries)"
  say "$config round $round: $rate commands/s"
  all_rates[$config]="${all_rates[$config]:-}${all_rates[$config]:+ / }$rate"
  if [ -z "${best_rate[$config]:-}" ] || [ "$rate" -gt "${best_rate[$config]}" ]; then
    best_rate[$config]="$rate"
    best_line[$config]="$line"
  fi
  # The worker must answer every retry `duplicate`; the relay answers all
  # `applied`; in the mixed load a retried refused spend is refused again.
  # Any missing result fails the check.
  local ok=yes
  [ "$missing" = 0 ] || ok="no: $missing missing"
  if [ "$config" != relay ] && [ "$config" != mixed ] &&
      [ "$duplicate" != "$retries" ]; then
    ok="no: $duplicate duplicates for $retries retries"
  fi
  if [ "$config" = mixed ] && [ "$ok" = yes ]; then
    ok="yes ($applied applied, $duplicate duplicate, $(kv "$line" rejected) refused)"
  fi
  case "${check[$config]:-yes}" in yes*) check[$config]="$ok" ;; esac
  case "$ok" in yes*) ;; *) problems+=("$config round $round: $ok") ;; esac
}

for round in $(seq 1 "$rounds"); do
  for config in "${configs[@]}"; do run_config "$config" "$round"; done
done

# --- Case 3: Redis.

redis_result=()
run_redis() {  # run_redis <appendfsync>
  local mode="$1" dir="$work/redis-$1"
  mkdir -p "$dir"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" \
    --save '' --appendonly yes --appendfsync "$mode" --daemonize no \
    --logfile "$logs/redis-$mode.server" &
  server_pid=$!
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.1; done
  local line
  line="$("$build/bench/redis_peer" --port "$redis_port" \
    --count "$peer_commands" --users "$users" --duplicates-pct 5 \
    --connections 4 --pipeline 64 2>&1 | tee "$logs/redis-$mode.load" |
    grep '^redis_peer ')" || line="redis_peer failed=1"
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  wait "$server_pid" || true
  server_pid=""
  say "redis appendfsync $mode: $(kv "$line" commands_per_s) commands/s"
  [ "$(kv "$line" errors)" = 0 ] || problems+=("redis $mode: $line")
  redis_result+=("$mode|$line")
}

redis_skip=""
if ! command -v redis-server >/dev/null; then
  redis_skip="redis-server is not installed"
elif [ ! -x "$build/bench/redis_peer" ]; then
  redis_skip="hiredis (libhiredis-dev) is not installed"
else
  run_redis always
  run_redis everysec
fi
[ -z "$redis_skip" ] || say "redis peer skipped: $redis_skip"

# --- Case 4: PostgreSQL.

say "postgres peer, $pg_seconds s"
pg_line="$(bash "$root/bench/peers/postgres_peer.sh" "$postgres_port" \
  "$pg_seconds" "$users" 8 2>"$logs/postgres.err")" || true
say "postgres: $pg_line"
case "$pg_line" in
  *commands_per_s=*|*skipped=*) ;;
  *) problems+=("postgres peer failed: see logs/postgres.err") ;;
esac

# --- Case 5: open-loop latency at 25/50/75 % of the best durable rate with
# the worker's default threads (one per core but one, at least one).

default_threads=$(($(nproc) - 1))
[ "$default_threads" -ge 1 ] || default_threads=1
[ "$default_threads" -le 64 ] || default_threads=64
durable_config="always-$default_threads"
[ -n "${best_rate[$durable_config]:-}" ] || durable_config=always-2
durable_max="${best_rate[$durable_config]}"
latency_rows=()
for pct in 25 50 75; do
  rate=$((durable_max * pct / 100))
  count=$((rate * latency_seconds))
  [ "$count" -ge 1000 ] || count=1000
  start_worker "latency-$pct" --sync always
  line="$(load "latency-$pct" --count "$count" --rate "$rate")"
  stop_server
  say "latency at $pct % ($rate/s): p99 $(kv "$line" p99_ms) ms"
  [ "$(kv "$line" missing)" = 0 ] || problems+=("latency $pct %: $line")
  latency_rows+=("$pct|$rate|$line")
done

# --- Case 6: memory. The same commands over the same users twice: keys
# kept for the default 24 h, then expiring after 1 s. The difference in
# peak RSS is what the retained keys cost; the second run is what the
# accounts (and their recent operations) cost.

memory_run() {  # memory_run <name> <worker flags...>; prints hwm_kb keys accounts baseline_kb peak_keys
  local name="$1"
  shift
  start_worker "$name" --sync none --stats-interval-s 1 "$@"
  local baseline_kb
  baseline_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")"
  load "$name" --count "$memory_commands" --window 20000 >/dev/null
  local hwm_kb
  hwm_kb="$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")"
  stop_server
  local stop_line peak_keys
  stop_line="$(grep 'event=stop ' "$logs/$name.server" | tail -1)"
  peak_keys="$(sed -n 's/.* keys=\([0-9]*\).*/\1/p' "$logs/$name.server" |
    sort -n | tail -1)"
  echo "$hwm_kb $(kv "$stop_line" keys) $(kv "$stop_line" accounts) $baseline_kb $peak_keys"
}
say "memory: $memory_commands commands over $memory_users users, twice"
users_saved="$users"
users="$memory_users"
read -r mem_hwm_kb mem_keys mem_accounts mem_base_kb _ <<<"$(memory_run memory-keys)"
read -r exp_hwm_kb exp_keys exp_accounts exp_base_kb exp_peak_keys \
  <<<"$(memory_run memory-expiring --key-window-s 1)"
[ -n "$mem_keys" ] && [ -n "$exp_peak_keys" ] ||
  problems+=("memory runs did not report keys; see logs/memory-*.server")
users="$users_saved"

# --- Case 7: overload. An open-loop flood offered at twice the best
# durable rate: the game servers' PUSH sockets block at the high-water
# mark and the worker's RSS must stay flat, since every queue is bounded.
# A warm-up first fills what legitimately grows with the data (each
# user's kept history, the keys inside the window), so that what the
# samples show is the pipeline.

sample_rss() {  # sample_rss <pid> <file>: VmRSS in KiB every 0.5 s
  while kill -0 "$1" 2>/dev/null; do
    awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null >>"$2" || true
    sleep 0.5
  done
}
flood_rate=$((durable_max * 2))
flood_count=$((durable_max * flood_seconds))
history_per_user=32  # The worker's default --history-per-user.
warm_count=$((users * history_per_user + durable_max * flood_key_window_s))
[ "$quick" -eq 0 ] || warm_count="$commands"
say "overload: warm-up of $warm_count, then $flood_count offered at $flood_rate/s"
start_worker overload --sync always --key-window-s "$flood_key_window_s"
load overload-warmup --count "$warm_count" >/dev/null
warm_rss_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")"
: >"$logs/overload.rss"
sample_rss "$server_pid" "$logs/overload.rss" &
sampler_pid=$!
flood_line="$(load overload --count "$flood_count" --rate "$flood_rate" \
  --timeout-s 120)"
stop_server
wait "$sampler_pid" 2>/dev/null || true
[ "$(kv "$flood_line" missing)" = 0 ] || problems+=("overload: $flood_line")
# RSS at a share of the run: rss_at <percent>, in KiB.
rss_at() {
  awk -v p="$1" '{ v[NR] = $1 } END {
    i = int(NR * p / 100); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }' \
    "$logs/overload.rss"
}
rss_max_kb="$(sort -n "$logs/overload.rss" | tail -1)"
rss_samples="$(wc -l <"$logs/overload.rss")"

# --- Case 8: a query flood beside the durable credit load: query clients
# asking for balances as fast as the worker answers.

say "query flood: the load alone, then with $query_clients query clients"
start_worker query-baseline --sync always
qbase_line="$(load query-baseline --count "$commands")"
stop_server
start_worker query-flood --sync always
qflood_line="$(load query-flood --count "$commands" \
  --queries "$queries_ep" --query-clients "$query_clients")"
stop_server
[ "$(kv "$qflood_line" missing)" = 0 ] ||
  problems+=("query flood: $qflood_line")

# --- Case 9: recovery.

say "recovery: $recovery_commands commands"
"$build/bench/recovery_bench" --commands "$recovery_commands" \
  --users "$recovery_users" --dir "$work" >"$logs/recovery.out" 2>&1 ||
  { echo "| recovery_bench failed; see logs/recovery.out |" >>"$logs/recovery.out"
    problems+=("recovery_bench failed"); }

# --- Report.

relay_rate="${best_rate[relay]}"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
cpu="$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
machine="$(nproc) cores ($cpu), $(free -g | awk '/^Mem/ {print $2}') GiB RAM, \
Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"), \
$(df -T "$work" | awk 'NR == 2 {print $2}') on /tmp"
label() {
  case "$1" in
    relay) echo "transport relay (no wallet)" ;;
    mixed) echo "worker --sync always, mixed: 60 % credits, 30 % spends, 10 % purchases" ;;
    always-*) echo "worker --sync always --threads ${1#*-}" ;;
    none-*) echo "worker --sync none --threads ${1#*-}" ;;
  esac
}

{
  echo "# Benchmark results"
  echo
  echo "- When: $stamp; commit $(git -C "$root" rev-parse --short HEAD)$(
    git -C "$root" diff --quiet HEAD -- common worker || echo ' (with uncommitted changes)')"
  echo "- Machine: $machine"
  echo "- Mode: $([ "$quick" -eq 1 ] && echo 'quick (smoke sizes: not a measurement)' || echo full)"
  echo
  echo "## Throughput"
  echo
  echo "Closed loop, $commands commands per round over $users users, 5 %"
  echo "identical retries, 20,000 in flight; best of $rounds alternating rounds."
  echo "Latency is from send to result and includes the queueing the window allows."
  echo
  echo "| case | commands/s | × relay | p50 ms | p99 ms | p99.9 ms | max ms | rounds (commands/s) | results check |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|---|"
  for config in "${configs[@]}"; do
    line="${best_line[$config]}"
    echo "| $(label "$config") | ${best_rate[$config]} | $(ratio "${best_rate[$config]}" "$relay_rate") | $(kv "$line" p50_ms) | $(kv "$line" p99_ms) | $(kv "$line" p999_ms) | $(kv "$line" max_ms) | ${all_rates[$config]} | ${check[$config]} |"
  done
  for entry in "${redis_result[@]}"; do
    mode="${entry%%|*}" line="${entry#*|}"
    echo "| Redis + Lua, appendfsync $mode (4 × 64 pipelined, $peer_commands commands) | $(kv "$line" commands_per_s) | $(ratio "$(kv "$line" commands_per_s)" "$relay_rate") | $(kv "$line" p50_ms) | $(kv "$line" p99_ms) | $(kv "$line" p999_ms) | $(kv "$line" max_ms) | one round | $(kv "$line" applied) applied, $(kv "$line" duplicate) duplicate, $(kv "$line" errors) errors |"
  done
  [ -z "$redis_skip" ] || echo "| Redis peer: skipped, $redis_skip | | | | | | | | |"
  if [ -n "$(kv "$pg_line" commands_per_s)" ]; then
    echo "| PostgreSQL, synchronous_commit on (pgbench, 8 clients, $pg_seconds s) | $(kv "$pg_line" commands_per_s) | $(ratio "$(kv "$pg_line" commands_per_s)" "$relay_rate") | avg $(kv "$pg_line" latency_avg_ms) | | | | one round | $(kv "$pg_line" applied) applied of $(kv "$pg_line" transactions) |"
  else
    echo "| PostgreSQL peer: skipped, ${pg_line:-failed (see logs/postgres.err)} | | | | | | | | |"
  fi
  echo
  echo "## Latency, open loop"
  echo
  echo "\`--sync always\`, default threads ($default_threads). Each command is"
  echo "timed from its scheduled send time; rates are shares of the best"
  echo "closed-loop rate of $(label "$durable_config") ($durable_max/s), for $latency_seconds s each."
  echo
  echo "| share of max | target/s | achieved/s | p50 ms | p99 ms | p99.9 ms | max ms |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for entry in "${latency_rows[@]}"; do
    IFS='|' read -r pct rate line <<<"$entry"
    echo "| $pct % | $rate | $(kv "$line" commands_per_s) | $(kv "$line" p50_ms) | $(kv "$line" p99_ms) | $(kv "$line" p999_ms) | $(kv "$line" max_ms) |"
  done
  echo
  echo "## Memory"
  echo
  echo "$memory_commands commands over $memory_users users (\`--sync none\`),"
  echo "worker peak RSS (VmHWM); once keeping every key for the default window,"
  echo "once with keys expiring after 1 s (at most $exp_peak_keys held at a time)."
  echo
  echo "| run | keys held at end | accounts | RSS before load MiB | peak RSS MiB |"
  echo "|---|---:|---:|---:|---:|"
  echo "| keys kept 24 h | $mem_keys | $mem_accounts | $(mib "$mem_base_kb") | $(mib "$mem_hwm_kb") |"
  echo "| keys expire after 1 s | $exp_keys | $exp_accounts | $(mib "$exp_base_kb") | $(mib "$exp_hwm_kb") |"
  echo
  per_key="$(awk -v a="$mem_hwm_kb" -v b="$exp_hwm_kb" -v k="$mem_keys" -v p="$exp_peak_keys" \
    'BEGIN { if (k > p) printf "%.0f", (a - b) * 1024 / (k - p); else print "-" }')"
  per_account="$(awk -v b="$exp_hwm_kb" -v s="$exp_base_kb" -v n="$exp_accounts" \
    'BEGIN { if (n > 0) printf "%.0f", (b - s) * 1024 / n; else print "-" }')"
  per_key_all="$(awk -v a="$mem_hwm_kb" -v s="$mem_base_kb" -v k="$mem_keys" \
    'BEGIN { if (k > 0) printf "%.0f", (a - s) * 1024 / k; else print "-" }')"
  echo "- Bytes per retained idempotency key: **$per_key** (difference of the two peaks over the difference in keys held)."
  echo "- Bytes per account, with its recent operations and everything else the worker holds: $per_account."
  echo "- Everything the first run grew by, over its keys: $per_key_all bytes per key."
  echo
  echo "## Overload"
  echo
  echo "An open-loop flood offered at twice the best durable rate"
  echo "(\`--sync always\`, default threads, keys kept $flood_key_window_s s),"
  echo "after a closed-loop warm-up of $warm_count commands that fills each"
  echo "user's kept history and the key window. The sender blocks at the"
  echo "command socket's high-water mark instead of the worker buffering;"
  echo "RSS is sampled every 0.5 s during the flood."
  echo
  echo "| offered/s | achieved/s | commands | RSS after warm-up MiB | at 10 % of flood | 50 % | 90 % | peak MiB | samples |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  echo "| $flood_rate | $(kv "$flood_line" commands_per_s) | $flood_count | $(mib "$warm_rss_kb") | $(mib "$(rss_at 10)") | $(mib "$(rss_at 50)") | $(mib "$(rss_at 90)") | $(mib "$rss_max_kb") | $rss_samples |"
  echo
  echo "## Query flood"
  echo
  echo "The durable credit load with $query_clients clients asking for random"
  echo "users' balances as fast as the worker answers. The query socket has"
  echo "one thread and answers one request at a time, each after the journal"
  echo "is durable up to what it read, so a flood takes at most that thread."
  echo
  echo "| case | commands/s | p99 ms | queries/s | query errors |"
  echo "|---|---:|---:|---:|---:|"
  echo "| worker --sync always, default threads, no queries | $(kv "$qbase_line" commands_per_s) | $(kv "$qbase_line" p99_ms) | 0 | 0 |"
  echo "| worker --sync always, default threads, $query_clients query clients | $(kv "$qflood_line" commands_per_s) | $(kv "$qflood_line" p99_ms) | $(kv "$qflood_line" queries_per_s) | $(kv "$qflood_line" query_errors) |"
  echo
  echo "## Recovery"
  echo
  echo "\`recovery_bench\`: $recovery_users users, every command a distinct credit."
  echo
  cat "$logs/recovery.out"
  echo
  echo "## Targets"
  echo
  always_best="${best_rate[$durable_config]}"
  redis_always=""
  for e in "${redis_result[@]}"; do
    [ "${e%%|*}" != always ] || redis_always="$(kv "${e#*|}" commands_per_s)"
  done
  pg_rate="$(kv "$pg_line" commands_per_s)"
  p99_50=""
  for e in "${latency_rows[@]}"; do
    IFS='|' read -r p _ l <<<"$e"
    [ "$p" != 50 ] || p99_50="$(kv "$l" p99_ms)"
  done
  met() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "n/a"; else if (a + 0 >= b + 0) print "met"; else print "missed" }'; }
  echo "| target | measured | |"
  echo "|---|---|---|"
  echo "| durable ≥ 0.7 × relay | $(ratio "$always_best" "$relay_rate") × | $(met "$(ratio "$always_best" "$relay_rate")" 0.7) |"
  echo "| durable ≥ 5 × Redis appendfsync always | $(ratio "$always_best" "${redis_always:-0}") × | $(met "$(ratio "$always_best" "${redis_always:-0}")" 5) |"
  echo "| durable ≥ 30 × PostgreSQL | $(ratio "$always_best" "${pg_rate:-0}") × | $(met "$(ratio "$always_best" "${pg_rate:-0}")" 30) |"
  echo "| p99 < 2 ms at 50 % of max, durable | ${p99_50:-?} ms | $(met 2 "${p99_50:-99}") |"
  echo "| ≤ 100 bytes per retained key | $per_key bytes | $(met 100 "$per_key") |"
  echo
  echo "Durable is $(label "$durable_config"), the worker's default threads."
} >"$out/results.md"

# --- Chart: throughput per case, log scale.

{
  for config in "${configs[@]}"; do
    case "$config" in
      relay) name="relay (no wallet)" ;;
      mixed) name="worker always mixed" ;;
      *) name="worker ${config%-*} t=${config#*-}" ;;
    esac
    printf '"%s" %s\n' "$name" "${best_rate[$config]}"
  done
  for entry in "${redis_result[@]}"; do
    printf '"Redis+Lua %s" %s\n' "${entry%%|*}" "$(kv "${entry#*|}" commands_per_s)"
  done
  [ -z "$pg_rate" ] || printf '"PostgreSQL sync commit" %s\n' "$pg_rate"
} >"$out/throughput.dat"
if command -v gnuplot >/dev/null; then
  gnuplot <<PLOT
set terminal pngcairo size 1000,560 font "sans,10" noenhanced
set output "$out/throughput.png"
set title "Idempotent credits per second, same mix, TCP loopback ($(nproc) cores, $stamp)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set logscale y
set yrange [1000:*]
set ylabel "commands/s (log scale)"
set xtics rotate by -30 left
set grid ytics
unset key
plot "$out/throughput.dat" using 2:xtic(1) lc rgb "#3a6ea5", \
     "" using 0:2:2 with labels offset 0,0.7 notitle
PLOT
else
  echo "gnuplot is not installed: no chart" >&2
fi

if [ "$quick" -eq 0 ]; then
  mkdir -p "$root/bench/results/latest"
  cp "$out/results.md" "$root/bench/results/latest/results.md"
  [ ! -f "$out/throughput.png" ] ||
    cp "$out/throughput.png" "$root/bench/results/latest/throughput.png"
fi
say "results: $out/results.md"
cat "$out/results.md"
if [ ${#problems[@]} -gt 0 ]; then
  printf 'bench: problem: %s\n' "${problems[@]}" >&2
  exit 1
fi
