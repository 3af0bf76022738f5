#!/usr/bin/env bash
# Builds sluice (release) and serves the embedded demo config: a mock model on 127.0.0.1:8080,
# admin on 127.0.0.1:15000. No API key, no network. Extra arguments go to `sluice run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec cargo run --release --bin sluice -- run "$@"
