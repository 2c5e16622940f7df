#!/usr/bin/env bash
# Ingest benchmark: `flou synth` N rows, then `flou ingest` them, measuring wall time,
# rows/s, store bytes per observation and peak RSS (GNU time). Run by hand, not in CI:
#   bash benches/ingest.sh 1000000 10000000
# Prints one Markdown table row per size (paste into benches/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000}")
out=${BENCH_DIR:-benches/out}
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet
bin=target/release/flou
echo "| rows | csv MB | ingest s | rows/s | accepted | rejected | segment bytes/obs | fixed columns | peak RSS MB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  csv="$out/synth-$n.csv"
  [ -f "$csv" ] || "$bin" synth --records "$n" --out "$csv" --seed 7 2>/dev/null
  store="$out/store-$n"
  rm -rf "$store" "$store.rejects.csv"
  /usr/bin/time -v -o "$out/time-$n.txt" "$bin" ingest --occurrences "$csv" --out "$store" --json >"$out/summary-$n.json"
  secs=$(python3 -c "import json;print(round(json.load(open('$out/summary-$n.json'))['seconds'],2))")
  acc=$(python3 -c "import json;print(json.load(open('$out/summary-$n.json'))['accepted'])")
  rej=$(python3 -c "import json;print(json.load(open('$out/summary-$n.json'))['rejected'])")
  seg=$("$bin" info --store "$store" --json | python3 -c "import json,sys;print(round(json.load(sys.stdin)['bytes_per_record'],1))")
  rss=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$out/time-$n.txt")
  mb=$(du -m "$csv" | cut -f1)
  rate=$(python3 -c "print(int($n/$secs))")
  echo "| $n | $mb | $secs | $rate | $acc | $rej | $seg | 40 | $rss |"
done
