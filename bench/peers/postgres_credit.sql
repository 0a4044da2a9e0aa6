-- The bench mix as one PostgreSQL transaction per command (pgbench script,
-- run by bench/peers/postgres_peer.sh): insert the idempotency key, and only
-- if it was new, add the amount to the user's balance. 5 % of commands
-- retry this client's previous key with the same payload; the insert then
-- does nothing and so does the update. Variables persist per client.
\set draw random(1, 100)
\if :draw > 5
\set k random(1, 9223372036854775806)
\set u random(0, :users - 1)
\set a random(1, 1000)
\endif
WITH fresh AS (
  INSERT INTO idempotency_keys (key, user_id, currency, amount)
  VALUES (md5(:k || '-' || :client_id)::uuid, 'user-' || :u, 'gold', :a)
  ON CONFLICT DO NOTHING
  RETURNING user_id, currency, amount)
UPDATE balances AS b
   SET balance = b.balance + fresh.amount, version = b.version + 1
  FROM fresh
 WHERE b.user_id = fresh.user_id AND b.currency = fresh.currency
RETURNING b.balance, b.version;
