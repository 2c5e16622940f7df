#!/usr/bin/env bash
# The whole test suite (the README's second command). Installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet mapbox-vector-tile
# The viewer's browser test (tests/viewer_browser.rs): Debian's Chromium, driven by
# playwright-core (no browser download: Playwright's own browsers cannot be fetched here).
# wrk: the bounded load of the hot-reload and soak tests.
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi
npm ci --prefix tests/browser --no-audit --no-fund
cargo test --all-targets --no-fail-fast
