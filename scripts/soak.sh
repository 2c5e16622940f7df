#!/usr/bin/env bash
# Soak: a bounded mixed load (scripts/soak.lua: public and agent tiles at every zoom,
# filters, indicators, TileJSON) on a release `flou serve` over a synthetic store, for
# MINUTES (default 5). Samples the server's RSS every SOAK_SAMPLE_S seconds, scrapes
# /metrics at the end, fails on any error or non-2xx, and appends a section to
# benches/RESULTS.md.
#
#   scripts/soak.sh [minutes]
#   env: SOAK_RECORDS (200000), SOAK_CACHE_MB (64), SOAK_CONNECTIONS (8), SOAK_THREADS (2),
#        SOAK_SAMPLE_S (5), FLOU_BIN (skip the release build), SOAK_NO_RESULTS=1 (no write),
#        SOAK_DURATION (a wrk duration such as 30s, instead of minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
minutes=${1:-5}
duration=${SOAK_DURATION:-${minutes}m}
records=${SOAK_RECORDS:-200000}
cache_mb=${SOAK_CACHE_MB:-64}
connections=${SOAK_CONNECTIONS:-8}
threads=${SOAK_THREADS:-2}
every=${SOAK_SAMPLE_S:-5}
secret="soak-secret-of-at-least-32-bytes-0123456789"
command -v wrk >/dev/null || { echo "wrk is needed (scripts/test.sh installs it)" >&2; exit 1; }

if [ -z "${FLOU_BIN:-}" ]; then
  cargo build --release --bin flou
  FLOU_BIN="${CARGO_TARGET_DIR:-$root/target}/release/flou"
fi
work=$(mktemp -d)
# A private copy: a shared target directory may be rebuilt under us.
cp "$FLOU_BIN" "$work/flou"
bin="$work/flou"
server=""
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export FLOU_DATA="${FLOU_DATA:-$root/data}"

echo "synthetic store: $records records"
"$bin" synth --records "$records" --seed 42 --out "$work/synth.csv" >/dev/null
"$bin" ingest --json --out "$work/store" --occurrences "$work/synth.csv" >"$work/ingest.json"

# Filter values and places from the input: taxa and datasets used, and the mean position of
# the records of the eight busiest departments.
read -r taxa datasets places < <(python3 - "$work/synth.csv" <<'EOF'
import collections, csv, sys
taxa, datasets, deps = collections.Counter(), collections.Counter(), collections.defaultdict(lambda: [0, 0.0, 0.0])
for r in csv.DictReader(open(sys.argv[1], newline="")):
    taxa[r["cdRef"]] += 1
    datasets[r["idSINPJdd"]] += 1
    d = deps[r["codeCommune"][:2]]
    d[0] += 1; d[1] += float(r["longitude"]); d[2] += float(r["latitude"])
top = sorted(deps.values(), key=lambda d: -d[0])[:8]
print(",".join(t for t, _ in taxa.most_common(12)),
      ",".join(d for d, _ in datasets.most_common(4)),
      ",".join(f"{d[1]/d[0]:.3f}:{d[2]/d[0]:.3f}" for d in top))
EOF
)
token=$(python3 - "$secret" <<'EOF'
import base64, hashlib, hmac, json, sys, time
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
head = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b(json.dumps({"sub": "soak", "exp": int(time.time()) + 86400,
                     "grants": [{"departements": ["15", "63", "69"], "max_sensitivity": 4},
                                {"max_sensitivity": 1}]}).encode())
sig = b(hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
EOF
)
cat >"$work/flou.toml" <<EOF
[auth]
algorithm = "HS256"
secret = "$secret"

[tiles]
cache_mb = $cache_mb
EOF

"$bin" serve --store "$work/store" --config "$work/flou.toml" --bind 127.0.0.1:0 \
  >"$work/serve.out" 2>"$work/serve.log" &
server=$!
addr=""
for _ in $(seq 1 600); do
  addr=$(sed -n 's#.* on http://\([^/]*\)/.*#\1#p' "$work/serve.out" | head -1)
  [ -n "$addr" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "the server did not start" >&2; exit 1; }
echo "serving on $addr; $duration of load, $threads wrk threads, $connections connections"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
(
  start=$(date +%s)
  while kill -0 "$server" 2>/dev/null; do
    echo "$(( $(date +%s) - start )) $(rss)"
    sleep "$every"
  done
) >"$work/rss.txt" &
sampler=$!

SOAK_TOKEN="$token" SOAK_TAXA="$taxa" SOAK_DATASETS="$datasets" SOAK_PLACES="$places" \
  wrk -t"$threads" -c"$connections" -d"$duration" --timeout 30s --latency \
  -s "$root/scripts/soak.lua" "http://$addr" | tee "$work/wrk.txt"
metrics=$(curl -sf "http://$addr/metrics")
kill "$sampler" 2>/dev/null || true
sampler=""

total=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
rate=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx or 3xx/ {print $NF}' "$work/wrk.txt"); non2xx=${non2xx:-0}
socket=$(awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}' "$work/wrk.txt"); socket=${socket:-0}
pct() { awk -v p="$1" '$1 == p {print $2}' "$work/wrk.txt"; }
series() { echo "$metrics" | awk -v s="$1" '$1 == s {print $2}'; }
errors_4xx5xx=$(echo "$metrics" | awk '/^flou_http_requests_total/ && /class="[45]xx"/ {n += $2} END {print n + 0}')
read -r rss_first rss_half rss_last rss_max samples < <(awk '
  { t[NR] = $1; v[NR] = $2; if ($2 > max) max = $2 }
  END { printf "%d %d %d %d %d\n", v[1], v[int((NR + 1) / 2)], v[NR], max, NR }' "$work/rss.txt")
log_lines=$(grep -c '"target":"flou::request"' "$work/serve.log" || true)
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

summary="| run | $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $records synthetic records, $duration, wrk -t$threads -c$connections, tile cache $cache_mb MB |
|---|---|
| requests | $total ($rate/s); log lines $log_lines |
| failures | non-2xx/3xx $non2xx, socket errors $socket, 4xx/5xx counted by /metrics $errors_4xx5xx |
| latency (wrk) | p50 $(pct 50%), p90 $(pct 90%), p99 $(pct 99%) |
| RSS (every ${every} s, $samples samples) | first $(mb "$rss_first") MB, at half $(mb "$rss_half") MB, last $(mb "$rss_last") MB, max $(mb "$rss_max") MB |
| tiles rendered | public tallies $(series 'flou_tiles_rendered_total{source="public_tallies"}'), all-precise tallies $(series 'flou_tiles_rendered_total{source="all_precise_tallies"}'), index $(series 'flou_tiles_rendered_total{source="index"}'), scan $(series 'flou_tiles_rendered_total{source="scan"}') |
| tile cache | hits $(series 'flou_tile_cache_requests_total{result="hit"}'), misses $(series 'flou_tile_cache_requests_total{result="miss"}'), $(series flou_tile_cache_entries) entries / $(series flou_tile_cache_bytes) bytes at the end |
| indicator cache | hits $(series 'flou_indicator_cache_requests_total{result="hit"}'), misses $(series 'flou_indicator_cache_requests_total{result="miss"}') |"
echo
echo "$summary"
echo "RSS samples (s kB): $(tr '\n' ' ' <"$work/rss.txt")"

failed=0
if [ "$non2xx" != 0 ] || [ "$socket" != 0 ] || [ "$errors_4xx5xx" != 0 ] || [ -z "$total" ]; then
  echo "SOAK FAILED: errors during the load" >&2
  failed=1
fi
if [ "${SOAK_NO_RESULTS:-}" != 1 ]; then
  {
    echo
    echo "## Soak (scripts/soak.sh $minutes)"
    echo
    echo "$summary"
    echo
    echo "RSS samples (seconds, kB): $(tr '\n' ' ' <"$work/rss.txt")"
  } >>"$root/benches/RESULTS.md"
  echo "appended to benches/RESULTS.md"
fi
exit "$failed"
