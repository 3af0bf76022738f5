#!/usr/bin/env bash
# sluice's OpenInference recipe (conf/tracing/openinference.yaml) against a real Arize Phoenix:
# tests/phoenix/test_phoenix.py starts Phoenix on loopback (telemetry off), sends a chat, a
# streamed chat and a tool call through sluice, and reads the spans back through Phoenix's
# REST and GraphQL APIs. Phoenix is large (about 860 MB, ~2 min to install), so it has a venv
# of its own under target/, installed once from tests/phoenix/requirements.txt (pinned) and
# again only when that file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/phoenix-venv
REQS=tests/phoenix/requirements.txt
if ! cmp -s "$REQS" "$VENV/.requirements.txt" 2>/dev/null; then
  echo "== installing Arize Phoenix into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/.requirements.txt"
fi
if [ -z "${SLUICE_BIN:-}" ]; then
  cargo build -p sluice-gateway --bin sluice
  SLUICE_BIN="$PWD/target/debug/sluice"
fi
export SLUICE_BIN
PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  -W "ignore::DeprecationWarning" tests/phoenix
