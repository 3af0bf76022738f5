#!/usr/bin/env bash
# The whole test suite, as CI runs it: build, unit + golden + end-to-end tests (nextest when
# installed, else cargo test), and `sluice check` on every config in conf/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# A one-shot build gains nothing from incremental state (1.4 GB of it in a fresh clone).
export CARGO_INCREMENTAL=0
echo "== build"
cargo build --workspace --all-targets
echo "== sluice check conf/"
for f in $(find conf -name '*.yaml' | sort); do
  GOOGLE_KEY="${GOOGLE_KEY:-placeholder-for-check}" OPENAI_API_KEY="${OPENAI_API_KEY:-placeholder-for-check}" LANGFUSE_AUTH="${LANGFUSE_AUTH:-cGxhY2Vob2xkZXI=}" ./target/debug/sluice check -c "$f"
done
echo "== deploy/ (systemd unit, Kubernetes manifests, Dockerfile; offline)"
bash scripts/validate-deploy.sh
echo "== Claude Code (for tests/tests/claude_code/)"
# The Claude Code tests run the real `claude` CLI against sluice, so they need it installed:
# once, pinned, into target/ (npm; the package carries its native binary, Node 20 is enough).
# Quiet, and skipped when that version is already there; the tests fail without it.
CLAUDE_CODE_VERSION=2.1.332
CLAUDE_BIN="$PWD/target/node-clients/node_modules/.bin/claude"
if [ "$("$CLAUDE_BIN" --version 2>/dev/null | cut -d' ' -f1)" != "$CLAUDE_CODE_VERSION" ]; then
  npm install --prefix target/node-clients "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" \
    --no-audit --no-fund --loglevel=error >/dev/null
fi
export CLAUDE_BIN
echo "== Codex CLI (for tests/tests/codex.rs)"
# The Codex tests run the real `codex` CLI (OpenAI's, npm; native binary inside) against
# sluice: pinned, into the same prefix, skipped when that version is already there.
CODEX_VERSION=0.171.0
CODEX_BIN="$PWD/target/node-clients/node_modules/.bin/codex"
if [ "$("$CODEX_BIN" --version 2>/dev/null | cut -d' ' -f2)" != "$CODEX_VERSION" ]; then
  npm install --prefix target/node-clients "@openai/codex@$CODEX_VERSION" \
    --no-audit --no-fund --loglevel=error >/dev/null
fi
export CODEX_BIN
echo "== tests"
# The end-to-end tests run this binary (built above) rather than building their own.
export SLUICE_BIN="$PWD/target/debug/sluice"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
echo "== python SDK end-to-end tests (tests/python)"
# The official Python SDKs (openai with the Responses API, the OpenAI Agents SDK, anthropic,
# google-genai) as clients of the real binary (built above).
if [ ! -x target/py-venv/bin/python ]; then
  python3 -m venv target/py-venv
fi
target/py-venv/bin/pip install -q -r tests/python/requirements.txt
PYTHONDONTWRITEBYTECODE=1 SLUICE_BIN="$PWD/target/debug/sluice" target/py-venv/bin/python -m pytest -q -p no:cacheprovider tests/python
echo "== Arize Phoenix end-to-end test (tests/phoenix)"
# sluice's OpenInference recipe against a real Phoenix, read back through its API. Phoenix is
# big (~860 MB, ~2 min to install the first time), so it has its own script and venv.
SLUICE_BIN="$PWD/target/debug/sluice" bash scripts/phoenix-test.sh
