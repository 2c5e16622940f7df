#!/usr/bin/env bash
# The whole test suite (the README's second command). Installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet mapbox-vector-tile
cargo test --all-targets --no-fail-fast
