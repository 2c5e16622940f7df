#!/usr/bin/env bash
# The PostGIS + Martin peer of the flou benchmark (issue #4): installs what it needs and
# starts a private PostgreSQL cluster on loopback. Run by hand, never in CI:
#   bash benches/peer/setup.sh
# PEER_SKIP_MARTIN=1 skips the Martin install (e.g. while it builds elsewhere).
# Idempotent: installed packages, an existing cluster and a running server are kept.
#
# - PostgreSQL 15 + PostGIS 3 (postgresql-15-postgis-3), wrk and gdal-bin (ogr2ogr) from
#   Debian's packages.
# - Martin 1.14.0 (the tile server) by `cargo install`: it builds for about 25–30 minutes
#   on 2 cores. Installed once into ~/.cargo/bin; skipped when `martin` is already there.
# - The cluster lives in benches/out/peer/pgdata (gitignored), owned by the `postgres`
#   user (initdb refuses root), listening on 127.0.0.1:$PEER_PORT (default 5433) only.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
port=${PEER_PORT:-5433}
# The database: PEER_DB (default peer; benches/load.sh uses peer_N per data size).
db=${PEER_DB:-peer}
pgbin=/usr/lib/postgresql/15/bin
dir="$root/benches/out/peer"
pgdata="$dir/pgdata"

need=()
[ -x "$pgbin/initdb" ] || need+=(postgresql-15)
[ -f /usr/lib/postgresql/15/lib/postgis-3.so ] || need+=(postgresql-15-postgis-3)
command -v wrk >/dev/null || need+=(wrk)
command -v ogr2ogr >/dev/null || need+=(gdal-bin)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi


mkdir -p "$dir"
chown postgres:postgres "$dir"
as_pg() { su postgres -s /bin/bash -c "$*"; }
if [ ! -f "$pgdata/PG_VERSION" ]; then
  as_pg "$pgbin/initdb -D '$pgdata' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
  # Tuned as a PostGIS admin would for a 2-core, 24 GB box serving reads.
  cat >>"$pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
shared_buffers = 4GB
effective_cache_size = 12GB
work_mem = 64MB
maintenance_work_mem = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
wal_level = minimal
max_wal_senders = 0
synchronous_commit = off
max_worker_processes = 4
max_parallel_workers_per_gather = 2
max_parallel_maintenance_workers = 2
random_page_cost = 1.1
jit = off
max_connections = 100
CONF
fi
if ! as_pg "$pgbin/pg_ctl -D '$pgdata' status" >/dev/null 2>&1; then
  as_pg "$pgbin/pg_ctl -D '$pgdata' -l '$dir/postgres.log' -w start" >/dev/null
fi
psql_peer() { psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_peer -d postgres -c "select count(*) from pg_database where datname='$db'")" = 0 ]; then
  psql_peer -d postgres -c "create database $db"
fi
psql_peer -d "$db" -c "create extension if not exists postgis"
if [ "${PEER_SKIP_MARTIN:-0}" != 1 ] && ! command -v martin >/dev/null && [ ! -x "$HOME/.cargo/bin/martin" ]; then
  echo "installing martin 1.14.0 (cargo install, ~25–30 min on 2 cores)…" >&2
  nice -n 19 cargo install martin --version 1.14.0 --locked --no-default-features --features postgres
fi
echo "peer ready: postgresql://postgres@127.0.0.1:$port/$db ($(psql_peer -d "$db" -c 'select postgis_lib_version()'))"
