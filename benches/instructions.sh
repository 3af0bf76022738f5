#!/usr/bin/env bash
# Instructions per request under callgrind: one sluice process (telemetry off) serving chat →
# OpenAI natively and Messages → Anthropic natively from the same mock upstream, N requests of
# each, counted apart. Unlike requests/s on this VM, the count does not drift with the host, so
# it says whether the diagonal costs the gateway more or less than chat pass-through.
#
#   benches/instructions.sh            # N=2000 of each, after 500 of each unmeasured
#   N=5000 benches/instructions.sh
#
# Environment: N (2000), CONNS (4), PROFILE (dist), SKIP_BUILD=1 (use target/$PROFILE as is).
# Needs valgrind (apt-get install valgrind) and oha. Listens on 127.0.0.1:19100 (mock) and
# 127.0.0.1:18193 (sluice). The figures count the whole process (every thread): valgrind runs
# the threads one at a time, so requests/s under it are not the point.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${N:-2000}
CONNS=${CONNS:-4}
PROFILE=${PROFILE:-dist}
BIN=$ROOT/target/$PROFILE
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
OHA=$(command -v oha || echo "$HOME/.cargo/bin/oha")
[ -x "$OHA" ] || { echo "oha is missing: cargo install oha --locked" >&2; exit 1; }
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --profile "$PROFILE" -p sluice-gateway --bin sluice -p sluice-benches --bin mock_upstream
fi
WORK=$(mktemp -d /tmp/sluice-instr.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/sluice.yaml" <<'EOF'
name: sluice
config:
  logging: {level: 'off'}
listeners:
  - name: http
    bind: 127.0.0.1:18193
    routes:
      - name: anthropic
        match: {pathPrefix: /anthropic}
        backend: anthropic
      - name: openai
        match: {pathPrefix: /openai}
        backend: openai
backends:
  - name: anthropic
    provider: anthropic
    baseUrl: http://127.0.0.1:19100
    apiKey: bench-key
  - name: openai
    provider: openai
    baseUrl: http://127.0.0.1:19100
    apiKey: bench-key
EOF
# The bodies of benches/load.sh's (c) and (i).
CHAT='{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain how AI works in simple terms."}],"temperature":0.2,"max_tokens":200}'
MESSAGES='{"model":"claude-sonnet-4-5","max_tokens":200,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Explain how AI works in simple terms."}],"temperature":0.2}'
SCENARIOS=(
  "chat → OpenAI (native)|/openai/v1/chat/completions|$CHAT"
  "Messages → Anthropic (native)|/anthropic/v1/messages|$MESSAGES"
)

"$BIN/mock_upstream" 19100 2 > "$WORK/mock.log" 2>&1 & PIDS+=($!)
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/cg.out" \
  "$BIN/sluice" run -c "$WORK/sluice.yaml" > "$WORK/sluice.log" 2>&1 & GW=$!; PIDS+=("$GW")
for _ in $(seq 600); do
  (exec 3<>/dev/tcp/127.0.0.1/18193) 2>/dev/null && break
  kill -0 "$GW" 2>/dev/null || { cat "$WORK/sluice.log" >&2; exit 1; }
  sleep 0.2
done
load() { # load N PATH BODY: N requests, all answered 200
  local out
  out=$("$OHA" -n "$1" -c "$CONNS" --no-tui -m POST -H 'content-type: application/json' -d "$3" "http://127.0.0.1:18193$2")
  grep -q "Success rate:.*100.00%" <<< "$out" || { echo "$out" >&2; echo "requests to $2 failed" >&2; exit 1; }
  grep -q "\[200\] $1 responses" <<< "$out" || { echo "$out" >&2; echo "not every answer to $2 was 200" >&2; exit 1; }
}
for s in "${SCENARIOS[@]}"; do IFS='|' read -r _ path body <<< "$s"; load 500 "$path" "$body"; done
callgrind_control -i on "$GW" > /dev/null 2>&1
echo "| scenario | instructions per request |"
echo "|---|---|"
i=0
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r name path body <<< "$s"
  i=$((i + 1))
  callgrind_control -z "$GW" > /dev/null 2>&1
  load "$N" "$path" "$body"
  callgrind_control -d "s$i" "$GW" > /dev/null 2>&1
  total=$(awk '/^totals:/{print $2}' "$WORK/cg.out.$i") # callgrind's dump number i
  printf '| %s | %d |\n' "$name" $((total / N))
done
echo
echo "N=$N requests each after 500 unmeasured, $CONNS connections; $(git rev-parse --short HEAD), $PROFILE profile."
