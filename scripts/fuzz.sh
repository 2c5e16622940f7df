#!/usr/bin/env bash
# Runs every cargo-fuzz target for N seconds each (default 120), one after the other.
# By hand, not in CI: it needs cargo-fuzz (`cargo install cargo-fuzz`) and nightly
# features; on a stable toolchain RUSTC_BOOTSTRAP=1 enables them.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
# Corpora are seeded from the real data in data/ (fuzz/corpus/, not committed); a crash
# leaves its input in fuzz/artifacts/TARGET/ and stops the script with a non-zero status.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-120}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(csv_occurrences geojson_occurrences fgb_occurrences sensitivity_referential tile_request token extract_request)
fi
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"

seed() {
  local dir="fuzz/corpus/$1"
  mkdir -p "$dir"
  [ -n "$(ls -A "$dir")" ] && return 0
  local csv=data/occurrences/geonature-synthese-sample.csv
  case "$1" in
    csv_occurrences)
      { printf '\000'; head -n 20 "$csv"; } > "$dir/geonature-head"
      { printf '\000'; head -n 3 "$csv" | tr ',' ';'; } > "$dir/semicolon"
      { printf '\001'; printf 'idSINPOccTax\tcdNom\tdateDebut\tgeometrie\nx\t1\t2020-01-01\tPOINT(700000 6600000)\n'; } > "$dir/wkt-l93"
      ;;
    geojson_occurrences | fgb_occurrences)
      if command -v ogr2ogr >/dev/null; then
        local tmp; tmp=$(mktemp -d)
        head -n 15 "$csv" > "$tmp/sample.csv"
        if [ "$1" = geojson_occurrences ]; then
          ogr2ogr -f GeoJSON "$dir/sample.geojson" "$tmp/sample.csv" \
            -oo X_POSSIBLE_NAMES=lon_wgs84 -oo Y_POSSIBLE_NAMES=lat_wgs84 -oo KEEP_GEOM_COLUMNS=NO
        else
          ogr2ogr -f FlatGeobuf "$dir/sample.fgb" "$tmp/sample.csv" \
            -oo X_POSSIBLE_NAMES=lon_wgs84 -oo Y_POSSIBLE_NAMES=lat_wgs84 -oo KEEP_GEOM_COLUMNS=NO
          ogr2ogr -f FlatGeobuf -lco SPATIAL_INDEX=NO "$dir/sample-noindex.fgb" "$tmp/sample.csv" \
            -oo X_POSSIBLE_NAMES=lon_wgs84 -oo Y_POSSIBLE_NAMES=lat_wgs84 -oo KEEP_GEOM_COLUMNS=NO
        fi
        rm -rf "$tmp"
      fi
      if [ "$1" = geojson_occurrences ]; then
        printf '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[6.48,44.93]},"properties":{"idSINPOccTax":"a","cdNom":66102,"dateDebut":"2017-08-03"}}]}' > "$dir/minimal"
      fi
      ;;
    sensitivity_referential)
      { printf '\000'; head -n 40 data/sensitivity/especesensible.csv; } > "$dir/rules"
      { printf '\001'; cat data/sensitivity/especesensiblelistes.csv; } > "$dir/lists"
      { printf '\002'; cat data/sensitivity/departements_regions_2015.csv; } > "$dir/regions"
      ;;
    tile_request)
      printf '10/529/367.mvt?taxon=61153,79306&from=2010-01-01&to=2020-12-31' > "$dir/filters"
      printf '5/16/11.mvt?dataset=a,b&aggregate=h3&_=1' > "$dir/dataset"
      printf '22/4194303/4194303.mvt' > "$dir/deep"
      ;;
    token)
      printf '\000Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln' > "$dir/header"
      printf '\001eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.' > "$dir/alg-none"
      printf '\002{"sub":"agent-1","exp":4102444800,"aud":"flou","iss":"https://sinp.example","grants":[{"departements":["05","38"],"communes":["05101"],"taxa":[61153],"from":"2010-01-01","to":"2020-12-31","datasets":["d1"],"max_sensitivity":4}]}' > "$dir/claims"
      printf '\003{"alg":"HS256","crit":["x"]}\000{"sub":"a","exp":4102444800}' > "$dir/header-claims"
      ;;
    extract_request)
      printf '{"perimeter":{"type":"Polygon","coordinates":[[[6.0,44.6],[6.4,44.6],[6.4,44.9],[6.0,44.9],[6.0,44.6]]]},"taxa":[61153],"from":"2010-01-01","to":"2020-12-31"}' > "$dir/polygon"
      printf '{"perimeter":{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[6.0,44.6],[6.4,44.6],[6.4,44.9],[6.0,44.6]],[[6.1,44.65],[6.2,44.65],[6.2,44.7],[6.1,44.65]]]]}},"study":true}' > "$dir/feature-hole"
      printf '{"communes":["05101","38185"],"taxa":[1]}' > "$dir/communes"
      ;;
  esac
}

for t in "${targets[@]}"; do
  seed "$t"
  echo "== $t: ${seconds}s"
  cargo fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=10 -print_final_stats=1
done
