#!/usr/bin/env bash
# Starts a local PostgreSQL cluster if none is running and makes a superuser role for the tests.
# Prints the connection URL on stdout.
set -euo pipefail
PGUSER_NAME=claimwatch
PGPASS=claimwatch
PORT=${CLAIMWATCH_TEST_PG_PORT:-5432}
if ! pg_isready -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is not running on 127.0.0.1:$PORT and this user cannot start it (not root)" >&2
    exit 1
  fi
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
    pg_createcluster "$version" main --port "$PORT" >/dev/null
  fi
  # A throwaway cluster for the tests: no fsync, no full-page writes, no waiting for the WAL at commit. A process
  # crash still loses nothing (the durability tests kill processes); only a power cut could lose this cluster.
  pg_ctlcluster "$version" main start -- -o "-c fsync=off -c full_page_writes=off -c synchronous_commit=off" >&2
  for _ in $(seq 1 60); do
    pg_isready -h 127.0.0.1 -p "$PORT" -q && break
    sleep 0.5
  done
fi
if [ "$(id -u)" -eq 0 ]; then
  runuser -u postgres -- psql -p "$PORT" -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PGUSER_NAME') THEN
    CREATE ROLE $PGUSER_NAME LOGIN SUPERUSER PASSWORD '$PGPASS';
  END IF;
  -- The tests' own role: its commits do not wait for the WAL flush, on a cluster started elsewhere too.
  ALTER ROLE $PGUSER_NAME SET synchronous_commit = off;
END \$\$;
SQL
fi
echo "postgresql://$PGUSER_NAME:$PGPASS@127.0.0.1:$PORT/postgres"
