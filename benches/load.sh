#!/usr/bin/env bash
# Tile serving: flou against the GeoNature-style peer (PostGIS 3 + Martin), one command.
# Run by hand, never in CI (the peer's first set-up builds Martin for ~30 min):
#   bash benches/load.sh [N_RECORDS]        # default 10000000; 1000000 for a quick run
# Environment: DURATION (s per zoom band and server, default 30), CONNECTIONS (8),
# THREADS (2), WARM=0 to skip flou's warm-up pass, PEER_WARM=1 to warm the peer too (each path once, checked for HTTP 200;
# wrk still counts non-2xx answers), FLOU_PORT (8091), MARTIN_PORT (3001), PEER_PORT (5433), NO_RESULTS=1 to
# leave benches/RESULTS.md alone.
#
# It (a) builds flou release, (b) `flou synth` N records (seed 7) and ingests them,
# (c) serves them with `[public] min_precision = "precise"` and `[tiles] cache_mb = 0`,
# (d) sets up PostgreSQL + PostGIS (benches/peer/setup.sh) and loads the same data
# (benches/peer/load.sh, skipped when database peer_N already holds it), serves it with
# Martin (cache: size_mb: 0), (e) runs the same tile list (benches/tiles.py) with wrk and
# the same script against both, per zoom band, then flou again with its tile cache,
# (f) samples flou's VmRSS while it serves, (g) checks a few tiles side by side
# (benches/peer/compare.py) and writes a section of benches/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
n=${1:-10000000}
duration=${DURATION:-30}
conns=${CONNECTIONS:-8}
threads=${THREADS:-2}
flou_port=${FLOU_PORT:-8091}
martin_port=${MARTIN_PORT:-3001}
pg_port=${PEER_PORT:-5433}
db=peer_$n
out=$root/benches/out
mkdir -p "$out"
target=${CARGO_TARGET_DIR:-$root/target}
flou=$target/release/flou
log() { echo "[$(date -u +%T)] $*" >&2; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

log "(a) cargo build --release"
cargo build --release --quiet
cargo build --release --quiet --example static_tiles
static_port=${STATIC_PORT:-8092}
# An agent token (HS256, the secret of the bench config) whose grant covers everything.
secret=bench-secret-of-at-least-32-bytes-0123456789
agent_token=$(python3 benches/agent_token.py "$secret")
. benches/bench_config.sh

log "(b) data: $n records"
csv=$out/synth-$n.csv
store=$out/store-$n
[ -f "$csv" ] || "$flou" synth --records "$n" --out "$csv" --seed 7 2>/dev/null
if [ ! -f "$store/manifest.json" ]; then
  "$flou" ingest --occurrences "$csv" --out "$store" --json >"$out/summary-$n.json"
fi
tiles=$out/tiles-$n
if [ ! -f "$tiles/tiles.tsv" ]; then
  mkdir -p "$tiles"
  python3 benches/tiles.py "$csv" "$tiles" --sample $(( n >= 2000000 ? n / 1000000 : 1 ))
fi

wait_http() {
  for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.5; done
  echo "no answer from $1" >&2; return 1
}
start_flou() { # $1 = cache_mb
  bench_toml "$flou_port" "$store" "$1" "$secret" >"$out/flou-bench-$1.toml"
  "$flou" serve --config "$out/flou-bench-$1.toml" >"$out/flou-serve.log" 2>&1 &
  flou_pid=$!
  pids+=("$flou_pid")
  wait_http "http://127.0.0.1:$flou_port/health"
}
stop_flou() { kill "$flou_pid" 2>/dev/null || true; wait "$flou_pid" 2>/dev/null || true; }
rss_sampler() { # samples "VmRSS RssAnon" (kB) of $1 every 0.2 s into $2
  while kill -0 "$1" 2>/dev/null; do
    awk '/VmRSS/{r=$2} /RssAnon/{a=$2} END{if (r) print r, a}' "/proc/$1/status" 2>/dev/null >>"$2" || true
    sleep 0.2
  done
}
warm() { # base url, paths file: every path once, failing on any non-200
  while read -r p; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$1$p")
    [ "$code" = 200 ] || { echo "GET $1$p: HTTP $code" >&2; return 1; }
  done <"$2"
}
bands=(5-6 7-9 10-12 13-14)
declare -A res
run_wrk() { # label, base url, server prefix [, agent token]
  for b in "${bands[@]}"; do
    [ "${WARM:-1}" = 0 ] || warm "$2" "$tiles/$3-$b.txt"
    line=$(BENCH_AUTH=${4:-} wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 120s -s benches/peer/cycle.lua \
      "$2" -- "$tiles/$3-$b.txt" | grep '^RESULT')
    res[$1,$b]=$line
    log "  $1 z$b: $line"
  done
}

log "(c) flou serve, cache off"
start_flou 0
# At rest: 5 s after /health, once the allocator has returned the day index build's
# scratch (its decay is 1 s); the serving peak is sampled from then on.
sleep 5
: >"$out/rss-$n.txt"
rss_sampler "$flou_pid" "$out/rss-$n.txt" &
rss_idle=$(awk '/VmRSS/{print $2}' "/proc/$flou_pid/status")
anon_idle=$(awk '/RssAnon/{print $2}' "/proc/$flou_pid/status")

log "(d) peer: PostgreSQL + PostGIS, database $db"
PEER_DB=$db bash benches/peer/setup.sh >&2
psql_peer() { psql -h 127.0.0.1 -p "$pg_port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_peer -c "select coalesce((select max(n) from public.peer_loaded), 0)" 2>/dev/null || echo 0)" != "$n" ]; then
  t0=$(date +%s)
  PEER_DB=$db FLOU_BIN=$flou bash benches/peer/load.sh "$store" "$csv" >&2
  psql_peer -c "drop table if exists public.peer_loaded; create table public.peer_loaded(n bigint); insert into public.peer_loaded values ($n)"
  echo $(( $(date +%s) - t0 )) >"$out/peer-load-seconds-$n.txt"
fi
psql_peer -f benches/peer/public_tiles.sql
peer_load_s=$(cat "$out/peer-load-seconds-$n.txt" 2>/dev/null || echo "?")
martin=$(command -v martin || echo "$HOME/.cargo/bin/martin")
sed -e "s#127.0.0.1:3001#127.0.0.1:$martin_port#" -e "s#127.0.0.1:5433/peer#127.0.0.1:$pg_port/$db#" \
  benches/peer/martin.yaml >"$out/martin-$n.yaml"
"$martin" --config "$out/martin-$n.yaml" >"$out/martin.log" 2>&1 &
martin_pid=$!
pids+=("$martin_pid")
wait_http "http://127.0.0.1:$martin_port/health"

log "(e) load: $duration s per band, $conns connections, $threads threads"
run_wrk flou "http://127.0.0.1:$flou_port" flou
log "(e) agent (every record precise), same server, cache off"
run_wrk agent "http://127.0.0.1:$flou_port" flou "$agent_token"
rss_serving=$(sort -n "$out/rss-$n.txt" | tail -1 | cut -d' ' -f1)
anon_serving=$(cut -d' ' -f2 "$out/rss-$n.txt" | sort -n | tail -1)
log "(e) z0-z6 over France, each tile timed alone, cache off"
france_public=$(python3 benches/france_tiles.py "http://127.0.0.1:$flou_port")
france_agent=$(python3 benches/france_tiles.py "http://127.0.0.1:$flou_port" "$agent_token")
# The peer is not warmed unless PEER_WARM=1: at 10 M one pass over its tiles takes ~15 min.
WARM=${PEER_WARM:-0} run_wrk peer "http://127.0.0.1:$martin_port" martin

log "(g) correctness: a few tiles side by side"
compare=$(python3 benches/peer/compare.py "$tiles/tiles.tsv" "http://127.0.0.1:$flou_port" "http://127.0.0.1:$martin_port")
echo "$compare" >"$out/compare-$n.md"

stop_flou
log "(e) flou serve, cache on (second pass)"
start_flou 8192
run_wrk cached "http://127.0.0.1:$flou_port" flou
log "(e) the same bytes from a minimal axum server (benches/static_tiles.rs)"
static_dir=$out/static-$n
mkdir -p "$static_dir"
: >"$static_dir/list.tsv"
k=0
for b in "${bands[@]}"; do
  while read -r p; do
    k=$((k + 1))
    curl -sf -o "$static_dir/$k.mvt" "http://127.0.0.1:$flou_port$p"
    printf '%s\t%s\n' "$p" "$static_dir/$k.mvt" >>"$static_dir/list.tsv"
  done <"$tiles/flou-$b.txt"
done
stop_flou
"$target/release/examples/static_tiles" "$static_dir/list.tsv" "127.0.0.1:$static_port" >"$out/static.log" 2>&1 &
static_pid=$!
pids+=("$static_pid")
wait_http "http://127.0.0.1:$static_port$(head -1 "$tiles/flou-5-6.txt")"
run_wrk static "http://127.0.0.1:$static_port" flou
kill "$static_pid" 2>/dev/null || true
kill "$martin_pid" 2>/dev/null || true

# (g) the report
cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
ram=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
accepted=$(python3 -c "import json;print(json.load(open('$out/summary-$n.json'))['accepted'])" 2>/dev/null || echo "?")
peer_rows=$(psql_peer -c "select count(*) from gn_synthese.synthese")
peer_bytes=$(psql_peer -c "select pg_size_pretty(pg_database_size('$db'))")
store_bytes=$(du -sh "$store" | cut -f1)
ntiles=$(wc -l <"$tiles/tiles.tsv")
report=$out/results-$n.md
{
  echo "<!-- load.sh $n -->"
  echo "## Tile serving against PostGIS + Martin (issue #4) — $(printf "%'d" "$n") synthetic records"
  echo
  echo "\`bash benches/load.sh $n\`, $(date -u +%Y-%m-%d) — machine: $(nproc) cores ($cpu), $ram,"
  echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg). Data: \`flou synth --records $n --seed 7\`,"
  echo "$accepted records accepted by flou (store $store_bytes), $peer_rows loaded in PostGIS"
  echo "(database $peer_bytes with indexes; load ${peer_load_s} s). Tiles: $ntiles requests from"
  echo "\`benches/tiles.py\` (densest tiles of z5–14, each with and without \`taxon\`), cycled by wrk"
  echo "($threads threads, $conns connections, ${duration} s per band and server$([ "${WARM:-1}" = 0 ] && echo ", no warm-up pass" || echo ", flou after one warm-up pass")$([ "${PEER_WARM:-0}" = 1 ] && echo ", the peer after one warm-up pass" || echo ", the peer without one"))."
  echo "Public caller, \`min_precision = \"precise\"\` on both sides; flou \`cache_mb = 0\`, Martin"
  echo "\`cache: size_mb: 0\`; \"flou cached\" is a second flou run with \`cache_mb = 8192\` (every tile of the list fits)."
  echo
  echo "The peer (benches/peer/): GeoNature's layout (\`ref_geo.l_areas\`, \`gn_synthese.synthese\`),"
  echo "each record's commune by ST_Within at load, its sensitivity level as flou computed it"
  echo "(\`flou sensitivity-report\`), its public diffusion rank a stored generated column, B-tree"
  echo "indexes per diffusion area and GiST on the points; \`flou_public(z, x, y, query_params)\`"
  echo "counts records live per area (no materialized view), PostgreSQL 15 tuned for reads"
  echo "(shared_buffers 4 GB, 2 parallel workers). wrk, flou, Martin and PostgreSQL share the 2 cores."
  echo
  echo "| zoom | flou req/s | p50 ms | p99 ms | peer req/s | p50 ms | p99 ms | flou/peer req/s | flou cached req/s | cached p50 / p99 ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for b in "${bands[@]}"; do
    read -r _ _ fr fp50 fp99 fe fs <<<"${res[flou,$b]}"
    read -r _ _ pr pp50 pp99 pe ps <<<"${res[peer,$b]}"
    read -r _ _ cr cp50 cp99 ce cs <<<"${res[cached,$b]}"
    ratio=$(python3 -c "print(f'{$fr/$pr:.1f}×' if $pr > 0 else 'n/a')")
    errs=""
    [ "$fe$fs$pe$ps$ce$cs" = 000000 ] || errs=" (errors flou $fe/$fs, peer $pe/$ps, cached $ce/$cs)"
    echo "| $b$errs | $fr | $fp50 | $fp99 | $pr | $pp50 | $pp99 | $ratio | $cr | $cp50 / $cp99 |"
  done
  echo
  echo "Agent (a token whose grant covers every record: everything precise), same tiles, flou"
  echo "cache off; and flou's cache against a minimal axum server answering the same paths with"
  echo "the same bytes from a HashMap (benches/static_tiles.rs, the floor for a cached tile):"
  echo
  echo "| zoom | agent req/s | agent p50 ms | agent p99 ms | flou cached req/s | minimal axum req/s | cached / minimal |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for b in "${bands[@]}"; do
    read -r _ _ ar ap50 ap99 ae as <<<"${res[agent,$b]}"
    read -r _ _ cr _ _ _ _ <<<"${res[cached,$b]}"
    read -r _ _ sr _ _ se ss <<<"${res[static,$b]}"
    ratio=$(python3 -c "print(f'{$cr/$sr:.2f}×' if $sr > 0 else 'n/a')")
    errs=""
    [ "$ae$as$se$ss" = 0000 ] || errs=" (errors agent $ae/$as, static $se/$ss)"
    echo "| $b$errs | $ar | $ap50 | $ap99 | $cr | $sr | $ratio |"
  done
  echo
  echo "Tiles z0–z6 over metropolitan France, uncached, each fetched alone 3 times in a row"
  echo "(benches/france_tiles.py; target ≤ 50 ms each):"
  echo
  echo "| z | tiles | public median ms | public max ms |"
  echo "|---:|---:|---:|---:|"
  echo "$france_public"
  echo
  echo "| z | tiles | agent median ms | agent max ms |"
  echo "|---:|---:|---:|---:|"
  echo "$france_agent"
  echo
  echo "flou RSS: $((rss_idle / 1024)) MB 5 s after start, $((rss_serving / 1024)) MB peak while serving uncached"
  echo "(VmRSS sampled every 0.2 s; the store is memory-mapped, so its pages count once touched);"
  echo "anonymous memory (RssAnon, beyond the page cache): $((anon_idle / 1024)) MB 5 s after start,"
  echo "$((anon_serving / 1024)) MB peak (target ≤ 300 MB)."
  echo
  echo "Correctness (benches/peer/compare.py: precise observations drawn — a point counts 1, a point"
  echo "group its \`observations\` — and point groups, then observations per blurred area / aggregate"
  echo "unit matched by code, flou / peer):"
  echo
  echo "$compare"
  echo
  echo "Reproduce: \`bash benches/peer/setup.sh\` once (installs PostgreSQL 15 + PostGIS 3, wrk,"
  echo "gdal-bin, and builds Martin 1.14.0 with \`cargo install\`: ~30 min), then"
  echo "\`bash benches/load.sh $n\`."
  echo "<!-- /load.sh $n -->"
} >"$report"
cat "$report"
if [ "${NO_RESULTS:-0}" != 1 ]; then
  python3 - "$root/benches/RESULTS.md" "$report" "$n" <<'PY'
import re, sys
path, report, n = sys.argv[1], open(sys.argv[2]).read().rstrip("\n") + "\n", sys.argv[3]
text = open(path).read()
pat = re.compile(r"<!-- load.sh %s -->.*?<!-- /load.sh %s -->\n" % (n, n), re.S)
text = pat.sub(lambda m: report, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + report
open(path, "w").write(text)
PY
  log "benches/RESULTS.md updated"
fi
