#!/usr/bin/env bash
# Loads into the peer's PostGIS the same data a flou store serves. Run by hand, not in CI:
#   bash benches/peer/load.sh STORE CSV
# STORE: the flou store ingested from CSV (its sensitivity report gives each observation's
# level as flou computed it, and lists only the records flou accepted); CSV: the
# `flou synth` file. Needs benches/peer/setup.sh first. Prints the timings of each step.
set -euo pipefail
cd "$(dirname "$0")/../.."
store=${1:?usage: load.sh STORE CSV}
csv=${2:?usage: load.sh STORE CSV}
port=${PEER_PORT:-5433}
db=${PEER_DB:-peer}
flou=${FLOU_BIN:-${CARGO_TARGET_DIR:-target}/release/flou}
out=benches/out/peer
psql_peer() { psql -h 127.0.0.1 -p "$port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@"; }
step() { local t0=$(date +%s.%N); "$@"; echo "  $(printf %.1f "$(echo "$(date +%s.%N) - $t0" | bc)") s" >&2; }

echo "peer: sensitivity report of $store" >&2
step "$flou" sensitivity-report --store "$store" > "$out/sensi-$db.csv"

echo "peer: communes and departments (ogr2ogr)" >&2
psql_peer -c "create schema if not exists ref_geo"
pg="PG:host=127.0.0.1 port=$port user=postgres dbname=$db"
for layer in communes departements; do
  step ogr2ogr -f PostgreSQL "$pg" "data/admin/$layer.geojson" -nln "ref_geo.${layer}_src" \
    -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=NONE -nlt PROMOTE_TO_MULTI -t_srs EPSG:4326 -overwrite
done

echo "peer: schema" >&2
step psql_peer -f benches/peer/schema.sql
echo "peer: COPY observations" >&2
step psql_peer -c "\\copy gn_synthese.import_raw from '$csv' with (format csv, header true)"
echo "peer: COPY sensitivity" >&2
step psql_peer -c "\\copy gn_synthese.import_sensi from '$out/sensi-$db.csv' with (format csv, header true)"
echo "peer: synthese (ST_Within communes, diffusion, indexes)" >&2
step psql_peer -f benches/peer/build.sql
echo "peer: tile function" >&2
step psql_peer -f benches/peer/public_tiles.sql
psql_peer -c "select count(*) from gn_synthese.synthese"
