# Sourced by benches/load.sh and benches/ab.sh: the flou config both serve with.
# bench_toml PORT STORE CACHE_MB SECRET → the config on stdout: public precise, agents by
# HS256 with SECRET, no reload polling, no log line per request.
bench_toml() {
  cat <<TOML
bind = "127.0.0.1:$1"
store = "$2"
[public]
min_precision = "precise"
[auth]
algorithm = "HS256"
secret = "$4"
[tiles]
cache_mb = $3
[reload]
poll_ms = 0
[log]
level = "warn"   # no line per request: millions of them at cached speeds
TOML
}
