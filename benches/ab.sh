#!/usr/bin/env bash
# Served A/B of two flou builds on the load bench's tile list, alternating so that the
# machine's drift hits both alike. Run by hand, never in CI; nothing else should run.
#   OLD_BIN=... OLD_STORE=... [NEW_BIN=target/release/flou] [NEW_STORE=benches/out/store-N]
#   bash benches/ab.sh [N_RECORDS]
# Per band: both servers warmed (every path once), then old, new, old, new for DURATION s
# each (wrk, THREADS threads, CONNECTIONS connections), the public caller then an agent whose
# grant covers every record; then the new build alone with one connection per core
# (LOW_CONNECTIONS, default 2), the latency a request sees when it does not queue behind
# others. Prints a markdown table and each server's peak RssAnon.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
out=benches/out
tiles=$out/tiles-$n
old_bin=${OLD_BIN:?OLD_BIN: the old flou binary}
old_store=${OLD_STORE:?OLD_STORE: a store the old binary reads}
new_bin=${NEW_BIN:-target/release/flou}
new_store=${NEW_STORE:-$out/store-$n}
duration=${DURATION:-20}
conns=${CONNECTIONS:-8}
low=${LOW_CONNECTIONS:-2}
threads=${THREADS:-2}
secret=bench-secret-of-at-least-32-bytes-0123456789
agent_token=$(python3 benches/agent_token.py "$secret")
. benches/bench_config.sh
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start() { # name binary store port
  bench_toml "$4" "$3" 0 "$secret" >"$out/ab-$1.toml"
  "$2" serve --config "$out/ab-$1.toml" >"$out/ab-$1.log" 2>&1 &
  started=$!
  pids+=("$started")
  for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$4/health" && break; sleep 0.5; done
  sleep 5
}
start old "$old_bin" "$old_store" 8093
old_pid=$started
start new "$new_bin" "$new_store" 8094
new_pid=$started
peak() { # pid file: samples RssAnon (kB) every 0.2 s
  while kill -0 "$1" 2>/dev/null; do
    awk '/RssAnon/{print $2}' "/proc/$1/status" >>"$2" 2>/dev/null || true
    sleep 0.2
  done
}
: >"$out/ab-old.rss"; : >"$out/ab-new.rss"
peak "$old_pid" "$out/ab-old.rss" & pids+=($!)
peak "$new_pid" "$out/ab-new.rss" & pids+=($!)
warm() { while read -r p; do curl -s -o /dev/null -H "Authorization: Bearer $2" "$1$p"; done <"$3"; }
one() { # port band token connections → "req/s p50 p99"
  BENCH_AUTH=$3 wrk -t"$threads" -c"$4" -d"${duration}s" --timeout 120s -s benches/peer/cycle.lua \
    "http://127.0.0.1:$1" -- "$tiles/flou-$2.txt" | awk '/^RESULT/{printf "%s %s %s", $3, $4, $5}'
}
echo "| caller | zoom | old req/s | new req/s | old p50 / p99 ms | new p50 / p99 ms | new / old | new, $low connections: req/s, p50 / p99 ms |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for caller in public agent; do
  token=""; [ "$caller" = agent ] && token=$agent_token
  for b in 5-6 7-9 10-12 13-14; do
    warm http://127.0.0.1:8093 "$token" "$tiles/flou-$b.txt"
    warm http://127.0.0.1:8094 "$token" "$tiles/flou-$b.txt"
    read -r o1 o1p50 o1p99 <<<"$(one 8093 "$b" "$token" "$conns")"
    read -r n1 n1p50 n1p99 <<<"$(one 8094 "$b" "$token" "$conns")"
    read -r o2 o2p50 o2p99 <<<"$(one 8093 "$b" "$token" "$conns")"
    read -r n2 n2p50 n2p99 <<<"$(one 8094 "$b" "$token" "$conns")"
    read -r l lp50 lp99 <<<"$(one 8094 "$b" "$token" "$low")"
    ratio=$(python3 -c "print(f'{($n1 + $n2) / max($o1 + $o2, 1e-9):.2f}')")
    echo "| $caller | $b | $o1, $o2 | $n1, $n2 | $o1p50 / $o1p99, $o2p50 / $o2p99 | $n1p50 / $n1p99, $n2p50 / $n2p99 | ${ratio}× | $l, $lp50 / $lp99 |"
  done
done
echo
echo "peak RssAnon: old $(sort -n "$out/ab-old.rss" | tail -1) kB, new $(sort -n "$out/ab-new.rss" | tail -1) kB; at rest (first sample) old $(head -1 "$out/ab-old.rss") kB, new $(head -1 "$out/ab-new.rss") kB"
