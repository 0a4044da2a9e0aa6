#!/usr/bin/env bash
# The PostgreSQL peer: a throwaway cluster (initdb as user postgres in a
# temporary directory, loopback only), the bench mix as one transaction per
# command (postgres_credit.sql) with synchronous_commit on, driven by
# pgbench with several clients. Prints one key=value line.
#
#   bench/peers/postgres_peer.sh PORT SECONDS USERS [CLIENTS]
#
# Exit 3 (and a line saying so) when PostgreSQL is not installed.
set -euo pipefail

port="$1" seconds="$2" users="$3" clients="${4:-8}"
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || ! command -v pgbench >/dev/null ||
    ! id postgres >/dev/null 2>&1; then
  echo "postgres_peer skipped=not_installed"
  exit 3
fi

dir="$(mktemp -d /tmp/wallet-bench-pg-XXXXXX)"
chown postgres "$dir"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log"
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
synchronous_commit = on
fsync = on
shared_buffers = 512MB
max_wal_size = 8GB
max_connections = 50
CONF
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null

psql_() { psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt "$@"; }
# Accounts exist up front so the credit is a plain update; the tables are
# analyzed with data in them, so that the prepared plan uses the indexes.
psql_ <<SQL
CREATE TABLE idempotency_keys (
  key uuid PRIMARY KEY, user_id text NOT NULL, currency text NOT NULL,
  amount bigint NOT NULL);
CREATE TABLE balances (
  user_id text, currency text, balance bigint NOT NULL DEFAULT 0,
  version bigint NOT NULL DEFAULT 0, PRIMARY KEY (user_id, currency));
INSERT INTO balances (user_id, currency)
  SELECT 'user-' || i, 'gold' FROM generate_series(0, $users - 1) AS i;
INSERT INTO idempotency_keys
  SELECT gen_random_uuid(), 'user-0', 'preload', 1
  FROM generate_series(1, 100000);
VACUUM ANALYZE;
SQL

pgbench -h 127.0.0.1 -p "$port" -U postgres -n -M prepared \
  -c "$clients" -j 2 -T "$seconds" -D users="$users" -D k=1 -D u=0 -D a=1 \
  -f "$here/postgres_credit.sql" postgres >"$dir/pgbench.log" 2>&1 ||
  { cat "$dir/pgbench.log" >&2; exit 1; }
tps="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$dir/pgbench.log" | head -1)"
latency="$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$dir/pgbench.log")"
transactions="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/pgbench.log")"
applied="$(psql_ -c "SELECT count(*) FROM idempotency_keys WHERE currency = 'gold'")"
printf 'postgres_peer clients=%s transactions=%s applied=%s commands_per_s=%.0f latency_avg_ms=%s\n' \
  "$clients" "$transactions" "$applied" "$tps" "$latency"
