#!/usr/bin/env bash
# Load tests with oha: the direct upstream, a bare Pingora proxy, and sluice (telemetry off,
# telemetry on, OpenAI → Gemini translation, streaming, Anthropic Messages passed natively to
# Anthropic and, for Claude Code's own 49 kB request, natively and through the hub to OpenAI,
# OpenAI Responses passed natively to OpenAI and translated to Anthropic, a priced request charged
# to key, team and route budgets beside an unpriced one with none, a key from the store beside one
# from the config file), each against the same mock upstream.
#
#   benches/load.sh                      # the table: 5 interleaved rounds of 4 s per scenario
#   ROUNDS=3 DURATION=2s benches/load.sh  # quicker
#   SCENARIOS="b c f i k" benches/load.sh # only these scenarios (the letters of the table)
#   benches/load.sh soak                 # 5 minutes at a fixed rate, RSS sampled every 10 s
#   benches/load.sh faults               # oha while one of two upstream endpoints flaps
#
# (g) runs LiteLLM's proxy from PyPI (installed into target/litellm-venv the first time, a few
# minutes); SKIP_LITELLM=1 leaves it out. (h) runs agentgateway, side by side with the others in
# every round, when AGENTGATEWAY_BIN names its binary (BENCHMARKS.md says how it was built), with
# the same tracing recipe, sink and log line as (d); AGENTGATEWAY_THREADS sets its worker threads
# (default: its own, one per CPU). ALSO_THREADS=N adds the bare proxy, (c) and (d) with N worker
# threads each (ports 18090-18092), beside the default ones (bare proxy: 1; sluice: one per
# CPU). Soak: SOAK_DURATION (300s), SOAK_RATE (1000 plain + a tenth of it streamed).
# Faults: FAULT_DURATION (60s), FLAP (3: seconds down, then up).
#
# The table's scenarios run in ROUNDS rounds, each scenario once per round (forward order in odd
# rounds, reversed in even ones), with every gateway started once and kept up: a drifting host
# (this VM's CPU varies by tens of percent over minutes) then hits all scenarios alike, and each
# ratio to the bare proxy is taken within one round. The table gives the median over rounds and
# each round's ratio. At the fixed rate, the bare proxy, (d) and (h) are also measured with a
# second oha sending the same rate to the upstream directly at the same time: a stall of the
# host then falls on the gateway and on the direct path alike.
#
# Environment: ROUNDS (5), DURATION (4s, per round), WARMUP (1s, before each measurement),
# CONNS (32), RATE (1000, the fixed-rate runs), SCENARIOS (all: space-separated letters a-m;
# each runs every row of that letter, saturated and at the fixed rate, in the same rounds; (g)
# LiteLLM runs only when g is among them), OUT (benches/results-<date>.md: where the table goes),
# MOCK_THREADS (2, the mock upstream's tokio workers), OTLP (sink: OTLP/HTTP to a local mock
# sink that accepts and drops spans; closed: OTLP/gRPC to a closed port, so every export fails
# and is counted and dropped), PROFILE (dist: the workspace's fat-LTO profile, as shipped;
# release builds in less than half the time), SKIP_BUILD=1 (use the binaries already in
# target/$PROFILE).
#
# Everything listens on 127.0.0.1 (ports 19000-19003, 18080-18085 and 18093-18098), except agentgateway's
# listener (18086; it binds the wildcard address, having no option for another) and its admin,
# stats and readiness servers (127.0.0.1:18087-18089). Prints a Markdown table
# and writes it to benches/results-<date>.md. Every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4s}
WARMUP=${WARMUP:-1s}
CONNS=${CONNS:-32}
RATE=${RATE:-1000}
MOCK_THREADS=${MOCK_THREADS:-2}
OTLP=${OTLP:-sink}
UP=127.0.0.1:19000
SINK=127.0.0.1:19001
GW=127.0.0.1:18080     # bare proxy (table), sluice (faults)
ADMIN=127.0.0.1:18081  # (d)'s admin (metrics)
GW_OFF=127.0.0.1:18083 # (c)
GW_ON=127.0.0.1:18084  # (d), soak
GW_GEM=127.0.0.1:18085 # (e)
GW_AGW=127.0.0.1:18086 # (h)
GW_ANT=127.0.0.1:18093 # (i)
GW_CC=127.0.0.1:18094  # (j): a process of its own, so (j)'s large bodies leave (i)'s heap alone
GW_RSP=127.0.0.1:18095 # (k)
GW_BUD=127.0.0.1:18096 # (l)
GW_STO=127.0.0.1:18097 STO_ADMIN=127.0.0.1:18098 # (m)
GW_BARE_N=127.0.0.1:18090 GW_OFF_N=127.0.0.1:18091 GW_ON_N=127.0.0.1:18092 # ALSO_THREADS
NT=${ALSO_THREADS:-}
TLABEL="$NT thread$([ "$NT" = 1 ] || echo s)"
AGW_BIN=${AGENTGATEWAY_BIN:-}
[ -z "$AGW_BIN" ] || [ -x "$AGW_BIN" ] || { echo "AGENTGATEWAY_BIN=$AGW_BIN is not an executable" >&2; exit 2; }
PROFILE=${PROFILE:-dist}
MODE=${1:-table}
case "$MODE" in table|soak|faults) ;; *) echo "usage: $0 [table|soak|faults]" >&2; exit 2;; esac
OUT=${OUT:-"$ROOT/benches/results-$(date -u +%F)$([ "$MODE" = table ] || echo "-$MODE").md"}
# The table's scenarios to run, by letter (the array of rows below is RUNS).
PICK=$(echo "${SCENARIOS:-}" | xargs)
for id in $PICK; do
  case "$id" in [a-m]) ;; *) echo "SCENARIOS: '$id' is not a scenario letter (a to m)" >&2; exit 2;; esac
done
picked() { [ -z "$PICK" ] || [[ " $PICK " == *" $1 "* ]]; }
# No OTLP from the environment: the configs below say everything.
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT OTEL_EXPORTER_OTLP_PROTOCOL \
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL OTEL_EXPORTER_OTLP_COMPRESSION SLUICE_LOG || true

WORK=$(mktemp -d /tmp/sluice-load.XXXXXX)
PIDS=()
alive() { # running, not a zombie
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "${st:0:1}" != Z ]
}
stop() { # stop PID [SIGNAL]: signal, wait up to 5 s, then SIGKILL; reap it
  local pid=$1 sig=${2:-TERM}
  if alive "$pid"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && { echo "!! $pid ignored SIG$sig for 5 s: SIGKILL" >&2; kill -9 "$pid" 2>/dev/null || true; }
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  # SIGINT: Pingora's fast shutdown (and sluice's drain); the mocks, started in the background
  # of a non-interactive shell, ignore SIGINT, so they get SIGTERM.
  for pid in "${PIDS[@]}"; do
    if [ "$pid" = "${UP_PID:-}" ] || [ "$pid" = "${SINK_PID:-}" ] || [ "$pid" = "${UP3_PID:-}" ]; then stop "$pid" TERM; else stop "$pid" INT; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }

# ---- tools and binaries ---------------------------------------------------------------
OHA=$(command -v oha || true)
[ -z "$OHA" ] && [ -x "$HOME/.cargo/bin/oha" ] && OHA=$HOME/.cargo/bin/oha
if [ -z "$OHA" ]; then
  log "installing oha (cargo install oha --locked; a few minutes on 2 cores)"
  cargo install oha --locked
  OHA=$HOME/.cargo/bin/oha
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  log "building the $PROFILE binaries"
  cargo build --profile "$PROFILE" -p sluice-gateway --bin sluice -p sluice-benches --bins
fi
BIN=$ROOT/target/$PROFILE
for b in sluice bare_proxy mock_upstream; do [ -x "$BIN/$b" ] || { echo "missing $BIN/$b" >&2; exit 1; }; done

wait_port() { # wait_port HOST:PORT PID
  local hp=$1 pid=$2
  for _ in $(seq 100); do
    alive "$pid" || { echo "process $pid exited before listening on $hp" >&2; return 1; }
    (exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on $hp" >&2; return 1
}

# ---- the mock upstream (and OTLP sink) --------------------------------------------------
"$BIN/mock_upstream" "${UP#*:}" "$MOCK_THREADS" & UP_PID=$!; PIDS+=("$UP_PID")
"$BIN/mock_upstream" "${SINK#*:}" 1 & SINK_PID=$!; PIDS+=("$SINK_PID")
wait_port "$UP" "$UP_PID"; wait_port "$SINK" "$SINK_PID"

# ---- sluice configs ---------------------------------------------------------------------
listener() { cat <<EOF
listeners:
  - name: http
    bind: ${1:-$GW}
    routes:
      - name: bench
        match: {pathPrefix: /}
        backend: up
EOF
}
openai_backend() { cat <<EOF
backends:
  - name: up
    provider: openai
    baseUrl: http://$UP
    apiKey: bench-key
EOF
}
{ echo "name: sluice"; echo "config:"; echo "  logging: {level: 'off'}"; listener "$GW_OFF"; openai_backend; } > "$WORK/off.yaml"
if [ "$OTLP" = closed ]; then
  OTLP_LINES="    otlpEndpoint: http://127.0.0.1:9\n    otlpProtocol: grpc"
  OTLP_NOTE="OTLP/gRPC to a closed port (127.0.0.1:9): every export fails, is counted and dropped"
else
  OTLP_LINES="    otlpEndpoint: http://$SINK\n    otlpProtocol: http"
  OTLP_NOTE="OTLP/HTTP (protobuf) to a local sink (mock_upstream answering POST /v1/traces with 200)"
fi
{
  echo "name: sluice"
  echo "config:"
  echo "  adminAddr: $ADMIN"
  echo "  tracing:"
  printf '%b\n' "$OTLP_LINES"
  cat <<'EOF'
    randomSampling: true
    fields:
      add:
        gen_ai.operation.name: '"chat"'
        gen_ai.system: "llm.provider"
        gen_ai.request.model: "llm.requestModel"
        gen_ai.response.model: "llm.responseModel"
        gen_ai.usage.completion_tokens: "llm.outputTokens"
        gen_ai.usage.prompt_tokens: "llm.inputTokens"
EOF
  listener "$GW_ON"; openai_backend
} > "$WORK/on.yaml"
{ echo "name: sluice"; echo "config:"; echo "  logging: {level: 'off'}"; listener "$GW_GEM"; cat <<EOF
backends:
  - name: up
    provider: gemini
    baseUrl: http://$UP
    model: gemini-2.0-flash
    apiKey: bench-key
EOF
} > "$WORK/gemini.yaml"
if [ -n "$NT" ]; then
  # The same configs with NT worker threads, on their own ports ((d)'s without the admin).
  sed "s/^config:/config:\n  workerThreads: $NT/; s/$GW_OFF/$GW_OFF_N/" "$WORK/off.yaml" > "$WORK/offN.yaml"
  sed "s/^config:/config:\n  workerThreads: $NT/; s/$GW_ON/$GW_ON_N/; /adminAddr/d" "$WORK/on.yaml" > "$WORK/onN.yaml"
  for c in offN onN; do "$BIN/sluice" check -c "$WORK/$c.yaml" >/dev/null; done
fi
# (i), (j): the Messages front door, telemetry off like (c): /anthropic passes natively to an
# Anthropic backend, /openai translates through the hub to an OpenAI one. (i)'s process also
# takes (c)'s chat on /openai, passed natively (its model is the one pinned: the body goes
# untouched, as in (c)), so the diagonal is also compared within one process.
{ echo "name: sluice"; echo "config:"; echo "  logging: {level: 'off'}"; cat <<EOF
listeners:
  - name: http
    bind: $GW_ANT
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
    baseUrl: http://$UP
    apiKey: bench-key
  - name: openai
    provider: openai
    baseUrl: http://$UP
    model: gpt-4o-mini
    apiKey: bench-key
EOF
} > "$WORK/messages.yaml"
sed "s/$GW_ANT/$GW_CC/" "$WORK/messages.yaml" > "$WORK/claude_code.yaml"
# (k): the Responses front door, telemetry off like (c): /openai passes natively to an OpenAI
# backend (no model pinned, so the body goes untouched, as in (c)), /anthropic translates
# through the hub to an Anthropic one.
{ echo "name: sluice"; echo "config:"; echo "  logging: {level: 'off'}"; cat <<EOF
listeners:
  - name: http
    bind: $GW_RSP
    routes:
      - name: openai
        match: {pathPrefix: /openai}
        backend: openai
      - name: anthropic
        match: {pathPrefix: /anthropic}
        backend: anthropic
backends:
  - name: openai
    provider: openai
    baseUrl: http://$UP
    apiKey: bench-key
  - name: anthropic
    provider: anthropic
    baseUrl: http://$UP
    model: claude-sonnet-4-5
    apiKey: bench-key
EOF
} > "$WORK/responses.yaml"
# (l): pricing and budgets, telemetry off like (c), keys required on both routes: /on calls
# OpenAI (the answer's model is priced) as a key with a budget of its own and its team's, on a
# route with a budget (three budgets checked before, charged after); /off calls the same
# upstream as a vLLM server (no price: no cost, no charge) as a key without budgets.
{ echo "name: sluice"; echo "config:"; echo "  logging: {level: 'off'}"; cat <<EOF
teams:
  - name: bench
    budget: {usd: 1000000000, window: month}
listeners:
  - name: http
    bind: $GW_BUD
    auth:
      keys:
        - name: unbudgeted
          key: bench-off
        - name: budgeted
          key: bench-on
          team: bench
          budget: {usd: 1000000000, window: 1d}
    routes:
      - name: "on"
        match: {pathPrefix: /on}
        backend: priced
        budget: {usd: 1000000000, window: month}
      - name: "off"
        match: {pathPrefix: /off}
        backend: unpriced
backends:
  - name: priced
    provider: openai
    baseUrl: http://$UP
    apiKey: bench-key
  - name: unpriced
    provider: vllm
    baseUrl: http://$UP
    apiKey: bench-key
EOF
} > "$WORK/budget.yaml"
# (m): keys from the store beside keys from the config file, telemetry off: one process with an
# SQLite store (spend recorded for both), one config key and one key made through the admin API.
STO_TOKEN=bench-admin-token-0123456789
{ echo "name: sluice"; echo "config:"; echo "  logging: {level: 'off'}"; cat <<EOF
  adminAddr: $STO_ADMIN
  adminToken: $STO_TOKEN
  store: {url: "sqlite://$WORK/store.db"}
listeners:
  - name: http
    bind: $GW_STO
    auth:
      keys:
        - name: from-config
          key: bench-config-key
    routes:
      - name: bench
        match: {pathPrefix: /}
        backend: up
EOF
openai_backend; } > "$WORK/store.yaml"
for c in off on gemini messages claude_code responses budget store; do "$BIN/sluice" check -c "$WORK/$c.yaml" >/dev/null; done
# (h): agentgateway with (d)'s recipe, sink and per-request log line (its default), its OpenAI
# provider pointed at the mock upstream.
{
  echo "config:"
  echo "  adminAddr: 127.0.0.1:18087"
  echo "  statsAddr: 127.0.0.1:18088"
  echo "  readinessAddr: 127.0.0.1:18089"
  [ -z "${AGENTGATEWAY_THREADS:-}" ] || echo "  workerThreads: \"$AGENTGATEWAY_THREADS\""
  echo "  tracing:"
  printf '%b\n' "$OTLP_LINES"
  sed -n '/randomSampling/,/prompt_tokens/p' "$WORK/on.yaml"
  cat <<EOF
binds:
  - port: ${GW_AGW#*:}
    listeners:
      - routes:
          - backends:
              - ai:
                  name: up
                  hostOverride: $UP
                  provider:
                    openAI: {}
            policies:
              backendAuth:
                key: bench-key
EOF
} > "$WORK/agw.yaml"

CHAT='{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain how AI works in simple terms."}],"temperature":0.2,"max_tokens":200}'
STREAM='{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain how AI works in simple terms."}],"temperature":0.2,"max_tokens":200}'
PATHQ=/v1/chat/completions
# The same conversation in Anthropic's Messages API, and Claude Code 2.1.332's first request
# (49 kB: 12 tools, cache_control, thinking; captured, providers/tests/fixtures/claude_code),
# not streamed.
MESSAGES='{"model":"claude-sonnet-4-5","max_tokens":200,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Explain how AI works in simple terms."}],"temperature":0.2}'
MSTREAM='{"model":"claude-sonnet-4-5","max_tokens":200,"stream":true,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Explain how AI works in simple terms."}],"temperature":0.2}'
# (k): the same conversation in the Responses API.
RESPONSES='{"model":"gpt-4o-mini","instructions":"You are a helpful assistant.","input":"Explain how AI works in simple terms.","temperature":0.2,"max_output_tokens":200}'
RSTREAM='{"model":"gpt-4o-mini","stream":true,"instructions":"You are a helpful assistant.","input":"Explain how AI works in simple terms.","temperature":0.2,"max_output_tokens":200}'
CLAUDE_CODE=$(python3 -c 'import json, sys; b = json.load(open(sys.argv[1])); b["stream"] = False; print(json.dumps(b, separators=(",", ":")))' "$ROOT/providers/tests/fixtures/claude_code/first_request.raw.json")

# ---- one run ----------------------------------------------------------------------------
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)
# CPU time the hypervisor took from this VM during the runs (the "st" of top): a noisy host.
cpu_steal() { awk '/^cpu / {print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
STEAL0=$(cpu_steal)
ROWS=$WORK/rows.tsv
: > "$ROWS"
: > "$WORK/overhead.tsv"

# run GROUP NAME KIND PID URL BODY ROUND [KEY]: warm up, measure, record one raw row
#   GROUP: load (-c CONNS as fast as possible) or rate (-q RATE); KEY: sent as a bearer token
run() {
  local group=$1 name=$2 kind=$3 pid=$4 url=$5 body=$6 round=$7 key=${8:-}
  local auth=(-H "authorization: Bearer ${key:-none}")
  local args=(-c "$CONNS" --no-tui -m POST -H 'content-type: application/json' "${auth[@]}" -d "$body")
  local status
  status=$(curl -s -o "$WORK/probe" -w '%{http_code}' -m 5 -H 'content-type: application/json' "${auth[@]}" -d "$body" "$url" || true)
  if [ "$status" != 200 ]; then
    echo "!! $name: probe answered $status: $(head -c 300 "$WORK/probe")" >&2
    printf '%s\t%s\t%s\t%s\tFAILED\n' "$group" "$name" "$kind" "$round" >> "$ROWS"; return
  fi
  timeout 60 "$OHA" -z "$WARMUP" "${args[@]}" --output-format quiet "$url" >/dev/null 2>&1 || true
  local idle_rss="" c0=0
  [ -n "$pid" ] && { idle_rss=$(kb "$pid" VmRSS); c0=$(cpu_ticks "$pid"); }
  local extra=() overhead="" beside=""
  [ "$group" != load ] && extra=(-q "$RATE" --latency-correction)
  # pair: the upstream measured directly at the same time, so a stall of the host hits both.
  if [ "$group" = pair ]; then
    timeout 120 "$OHA" -z "$DURATION" "${args[@]}" "${extra[@]}" --output-format json "$URL_UP" > "$WORK/oha-beside.json" 2>/dev/null & beside=$!
  fi
  # (d) at the fixed rate: its own time per request, from its overhead histogram (below).
  [ "$group" = rate ] && [ -n "$pid" ] && [ "$pid" = "${ON_PID:-}" ] && overhead=1
  [ -n "$overhead" ] && overhead_buckets > "$WORK/ovh-before"
  local t0 t1 sampler=""
  rm -f "$WORK/mid"
  # RSS halfway through: the steady state, before the clients go away at the deadline.
  [ -n "$pid" ] && { (sleep "$(awk -v d="${DURATION%s}" 'BEGIN {print d / 2}')"; kb "$pid" VmRSS > "$WORK/mid") & sampler=$!; }
  t0=$(date +%s.%N)
  if ! timeout 120 "$OHA" -z "$DURATION" "${args[@]}" "${extra[@]}" --output-format json "$url" > "$WORK/oha.json"; then
    echo "!! $name: oha failed" >&2
    [ -z "$beside" ] || wait "$beside" || true
    printf '%s\t%s\t%s\t%s\tFAILED\n' "$group" "$name" "$kind" "$round" >> "$ROWS"; return
  fi
  t1=$(date +%s.%N)
  local beside_p99=""
  if [ -n "$beside" ]; then
    wait "$beside" && beside_p99=$(python3 -c 'import json, sys; print("%.3f" % (json.load(open(sys.argv[1]))["latencyPercentiles"]["p99"] * 1000))' "$WORK/oha-beside.json" 2>/dev/null) || true
  fi
  [ -n "$overhead" ] && { overhead_buckets > "$WORK/ovh-after"; overhead_quantiles "$round" >> "$WORK/overhead.tsv"; }
  local ticks="" hwm="" rss="" mid=""
  [ -n "$sampler" ] && { wait "$sampler" 2>/dev/null || true; mid=$(cat "$WORK/mid" 2>/dev/null || true); }
  if [ -n "$pid" ]; then
    ticks=$(( $(cpu_ticks "$pid") - c0 ))
    hwm=$(kb "$pid" VmHWM); rss=$(kb "$pid" VmRSS)
  fi
  python3 - "$WORK/oha.json" "$group" "$name" "$kind" "$round" "$ticks" "$(awk -v s="$t0" -v e="$t1" 'BEGIN {print e - s}')" "$idle_rss" "$mid" "$rss" "$hwm" "$beside_p99" >> "$ROWS" <<'PY'
import json, sys
f, group, name, kind, rnd, ticks, secs, idle, mid, rss, hwm, beside = sys.argv[1:]
d = json.load(open(f))
p = d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
ok = codes.get("200", 0)
bad = sum(v for k, v in codes.items() if k != "200")
# Requests still in flight at the deadline are reported as errors by oha; they are not failures.
errs = sum(v for k, v in d.get("errorDistribution", {}).items() if "deadline" not in k.lower())
ms = lambda k: "%.3f" % (p[k] * 1000) if p.get(k) is not None else ""
rps = ok / d["summary"]["total"] if d["summary"]["total"] else 0
print("\t".join([group, name, kind, rnd, "%.0f" % rps, ms("p50"), ms("p99"), ms("p99.9"),
                 str(bad + errs), ticks, secs, idle, mid, rss, hwm, beside]))
PY
  tail -n1 "$ROWS" | awk -F'\t' -v t="$TICK" '{printf "   round %s, %s %s: %s req/s, p50 %s ms, p99 %s ms, p99.9 %s ms, errors %s%s%s\n", $4, $1, $2, $5, $6, $7, $8, $9, ($10 == "" ? "" : sprintf(", cpu %.2f, rss mid-run %.1f MB", $10 / t / $11, $13 / 1024)), ($16 == "" ? "" : ", direct beside it p99 " $16 " ms")}' >&2
}

# (d)'s `sluice_gateway_overhead_seconds` buckets (all routes), one `le count` per line.
overhead_buckets() {
  curl -s -m 5 "http://$ADMIN/metrics" |
    awk -F'[{}]' '/^sluice_gateway_overhead_seconds_bucket/ {
      split($2, kv, ","); for (i in kv) if (kv[i] ~ /^le=/) { le = kv[i]; gsub(/le=|"/, "", le) }
      split($3, v, " "); n[le] += v[1] } END {for (le in n) print le, n[le]}'
}
# overhead_quantiles ROUND: p50 and p99 (ms) of what the run added to the histogram,
# interpolated within buckets as Prometheus' histogram_quantile does.
overhead_quantiles() {
  python3 - "$WORK/ovh-before" "$WORK/ovh-after" "$1" <<'PY'
import sys
def read(f):
    return {float("inf") if le == "+Inf" else float(le): float(c) for le, c in (l.split() for l in open(f) if l.strip())}
before, after, rnd = read(sys.argv[1]), read(sys.argv[2]), sys.argv[3]
les = sorted(after)
cum = [(le, after[le] - before.get(le, 0.0)) for le in les]
total = cum[-1][1] if cum else 0.0
def q(p):
    rank, lower, prev = p * total, 0.0, 0.0
    for le, c in cum:
        if c >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * ((rank - prev) / (c - prev) if c > prev else 1.0)
        lower, prev = le, c
    return lower
if total:
    print("%s\t%.3f\t%.3f\t%d" % (rnd, q(0.5) * 1000, q(0.99) * 1000, total))
PY
}

start_bare() { # start_bare [LISTEN THREADS]; each instance logs to its own file
  local listen=${1:-$GW}
  "$BIN/bare_proxy" "$listen" "$UP" "${2:-1}" >"$WORK/bare-${listen#*:}.log" 2>&1 & GW_PID=$!; PIDS+=("$GW_PID"); wait_port "$listen" "$GW_PID"
}
start_agw() { "$AGW_BIN" -f "$WORK/agw.yaml" >/dev/null 2>"$WORK/agw.err" & GW_PID=$!; PIDS+=("$GW_PID"); wait_port "$GW_AGW" "$GW_PID"; }
start_sluice() { # start_sluice CONFIG STDOUT LISTEN
  "$BIN/sluice" run -c "$WORK/$1.yaml" >"$2" 2>"$WORK/$1.err" & GW_PID=$!; PIDS+=("$GW_PID"); wait_port "$3" "$GW_PID"
}

URL_UP=http://$UP$PATHQ
URL_GW=http://$GW$PATHQ
OTLP_COUNTS=""

# Resident memory of a process and all its descendants (LiteLLM runs worker processes), kB.
tree_rss() {
  local pids=("$1") i=0
  while [ $i -lt ${#pids[@]} ]; do
    for c in $(cat /proc/"${pids[$i]}"/task/*/children 2>/dev/null); do pids+=("$c"); done
    i=$((i + 1))
  done
  for p in "${pids[@]}"; do kb "$p" VmRSS; done | awk '{s += $1} END {print s + 0}'
}

# Times to the first byte (s) of N streamed requests, one after another on one connection
# (curl reuses it), appended to FILE: the latency a streaming client feels before the first
# token.
ttfb_samples() { # ttfb_samples URL N FILE
  local args=() i
  for i in $(seq "$2"); do args+=(-o /dev/null "$1"); done
  curl -s -w '%{time_starttransfer}\n' -H 'content-type: application/json' -d "$STREAM" "${args[@]}" >> "$3"
}
median_ms() { sort -n "$1" | awk '{a[NR] = $1} END {printf "%.3f", a[int(NR / 2) + 1] * 1000}'; }

soak() {
  local dur=${SOAK_DURATION:-300s} rate=${SOAK_RATE:-1000}
  local secs=${dur%s}
  log "soak: sluice with the seed's tracing + log line, $rate req/s plain + $((rate / 10)) req/s streamed for $dur"
  start_sluice on /dev/null "$GW_ON"
  local url=http://$GW_ON$PATHQ
  local samples=$WORK/soak.tsv
  : > "$samples"
  "$OHA" -z "$dur" -c "$CONNS" -q "$rate" --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$CHAT" "$url" > "$WORK/soak-plain.json" 2>/dev/null &
  local o1=$!
  "$OHA" -z "$dur" -c 8 -q "$((rate / 10))" --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$STREAM" "$url" > "$WORK/soak-stream.json" 2>/dev/null &
  local o2=$!
  local t=0
  while [ "$t" -lt "$secs" ]; do
    printf '%s\t%s\n' "$t" "$(kb "$GW_PID" VmRSS)" >> "$samples"
    sleep 10; t=$((t + 10))
  done
  wait "$o1" "$o2" || true
  # oha drops its open streams at the deadline: sluice estimates their usage (tiktoken).
  sleep 2
  local hwm after; hwm=$(kb "$GW_PID" VmHWM); after=$(kb "$GW_PID" VmRSS)
  stop "$GW_PID" TERM
  python3 - "$samples" "$WORK/soak-plain.json" "$WORK/soak-stream.json" "$hwm" "$after" > "$WORK/table.md" <<'PY'
import json, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
warm = next((int(r[1]) for r in rows if int(r[0]) >= 30), int(rows[0][1]))
end = int(rows[-1][1])
for name, f in (("plain", sys.argv[2]), ("streamed", sys.argv[3])):
    d = json.load(open(f))
    codes = d.get("statusCodeDistribution", {})
    ok = codes.get("200", 0); bad = sum(v for k, v in codes.items() if k != "200")
    print("- %s: %d × 200, %d other, p50 %.3f ms, p99 %.3f ms" % (name, ok, bad, d["latencyPercentiles"]["p50"] * 1000, d["latencyPercentiles"]["p99"] * 1000))
print()
print("RSS under load: after the 30 s warm-up %.1f MB, at the last sample under load %.1f MB: %+.1f%% (goal: within ±10%%). After the clients left (their open streams cut, usage estimated with tiktoken): %.1f MB; peak (VmHWM) %.1f MB." % (warm / 1024, end / 1024, 100 * (end - warm) / warm, int(sys.argv[5]) / 1024, int(sys.argv[4]) / 1024))
print()
print("| t (s) | " + " | ".join(r[0] for r in rows) + " |")
print("|---|" + "---|" * len(rows))
print("| RSS MB | " + " | ".join("%.1f" % (int(r[1]) / 1024) for r in rows) + " |")
PY
}

faults() {
  local dur=${FAULT_DURATION:-60s} flap=${FLAP:-3}
  local up2=127.0.0.1:19002 up3=127.0.0.1:19003
  "$BIN/mock_upstream" "${up3#*:}" 1 & UP3_PID=$!; PIDS+=("$UP3_PID"); wait_port "$up3" "$UP3_PID"
  { echo "name: sluice"; echo "config:"; echo "  adminAddr: $ADMIN"; echo "  logging: {level: 'off'}"; listener; cat <<YAML
backends:
  - name: up
    provider: openai
    apiKey: bench-key
    retries: 1
    endpoints:
      - url: http://$up2
      - url: http://$up3
    outlierDetection: {consecutiveFailures: 3, ejectFor: 2s}
YAML
  } > "$WORK/faults.yaml"
  "$BIN/sluice" check -c "$WORK/faults.yaml" >/dev/null
  start_sluice faults /dev/null "$GW"
  log "faults: two endpoints, $up2 down ${flap}s / up ${flap}s for $dur, $up3 steady"
  # A shell of its own (no inherited traps): endpoint A up for FLAP s, killed, down FLAP s.
  bash -c 'trap "kill -9 \$p 2>/dev/null; exit 0" TERM
    while :; do "$0" "$1" 1 >/dev/null 2>&1 & p=$!; sleep "$2"; kill -9 "$p"; wait "$p"; sleep "$2"; done' \
    "$BIN/mock_upstream" "${up2#*:}" "$flap" 2>/dev/null & local flapper=$!
  sleep 1
  "$OHA" -z "$dur" -c "$CONNS" --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$CHAT" "$URL_GW" > "$WORK/faults.json" 2>/dev/null || true
  kill "$flapper" 2>/dev/null || true; wait "$flapper" 2>/dev/null || true
  local ejections
  ejections=$(curl -s -m 5 "http://$ADMIN/metrics" | awk '/^sluice_endpoint_ejections_total/ {s += $NF} END {print s + 0}')
  stop "$GW_PID" TERM
  python3 - "$WORK/faults.json" "$ejections" "$dur" "$flap" > "$WORK/table.md" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); codes = d.get("statusCodeDistribution", {})
errs = sum(v for k, v in d.get("errorDistribution", {}).items() if "deadline" not in k.lower())
ok = codes.get("200", 0); bad = sum(v for k, v in codes.items() if k != "200") + errs
p = d["latencyPercentiles"]
print("| requests/s (200s) | error rate | non-200 or failed | p50 ms | p99 ms | p99.9 ms | ejections |")
print("|---|---|---|---|---|---|---|")
print("| %.0f | %.3f%% | %d | %.3f | %.3f | %.3f | %s |" % (ok / d["summary"]["total"], 100 * bad / max(ok + bad, 1), bad, p["p50"] * 1000, p["p99"] * 1000, p["p99.9"] * 1000, sys.argv[2]))
print()
print("Backend `up`: endpoints A (killed with SIGKILL and restarted: %ss down, %ss up, for %s) and B (steady); `retries: 1`, `outlierDetection: {consecutiveFailures: 3, ejectFor: 2s}`." % (sys.argv[4], sys.argv[4], sys.argv[3]))
PY
}

if [ "$MODE" != table ]; then
  "$MODE"
  {
    echo "# Load test ($MODE), $(date -u '+%F %H:%M UTC')"
    echo
    echo "Machine: $(nproc) vCPU $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r), $("$OHA" --version), sluice $(git rev-parse --short HEAD 2>/dev/null || echo '?'). Command: \`benches/load.sh $MODE\`"
    echo
    cat "$WORK/table.md"
  } > "$OUT"
  cat "$OUT"
  log "written to $OUT"
  exit 0
fi

# ---- the table: every gateway up at once, the scenarios interleaved in rounds ------------
log "starting the bare proxy and the sluice instances"
start_bare; BARE_PID=$GW_PID
start_sluice off "$WORK/off.out" "$GW_OFF"; OFF_PID=$GW_PID
start_sluice on /dev/null "$GW_ON"; ON_PID=$GW_PID
start_sluice gemini "$WORK/gemini.out" "$GW_GEM"; GEM_PID=$GW_PID
start_sluice messages "$WORK/messages.out" "$GW_ANT"; ANT_PID=$GW_PID
start_sluice claude_code "$WORK/claude_code.out" "$GW_CC"; CC_PID=$GW_PID
start_sluice responses "$WORK/responses.out" "$GW_RSP"; RSP_PID=$GW_PID
start_sluice budget "$WORK/budget.out" "$GW_BUD"; BUD_PID=$GW_PID
start_sluice store "$WORK/store.out" "$GW_STO"; STO_PID=$GW_PID
wait_port "$STO_ADMIN" "$STO_PID"
STORE_KEY=$(curl -s -m 5 -H "authorization: Bearer $STO_TOKEN" -H 'content-type: application/json' -d '{"name":"bench"}' "http://$STO_ADMIN/admin/keys" | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
if [ -n "$NT" ]; then
  start_bare "$GW_BARE_N" "$NT"; BARE_N_PID=$GW_PID
  start_sluice offN /dev/null "$GW_OFF_N"; OFF_N_PID=$GW_PID
  start_sluice onN /dev/null "$GW_ON_N"; ON_N_PID=$GW_PID
fi
AGW_NOTE="(h) agentgateway: not run (AGENTGATEWAY_BIN unset)."
if [ -n "$AGW_BIN" ]; then
  start_agw; AGW_PID=$GW_PID
  AGW_NOTE="(h) agentgateway (\`$AGW_BIN\`), worker threads: ${AGENTGATEWAY_THREADS:-its default, one per CPU}; the seed's recipe, OTLP and sink as (d); its request log line to /dev/null."
fi

# GROUP|NAME|KIND|PID variable|address|body variable[|path[|key]], in table order
RUNS=(
  "load|(a) upstream direct|plain||$UP|CHAT"
  "load|(f) upstream direct, streaming|stream||$UP|STREAM"
  "load|(b) bare Pingora proxy|plain|BARE_PID|$GW|CHAT"
  "load|(f) bare Pingora proxy, streaming|stream|BARE_PID|$GW|STREAM"
  "load|(c) sluice, telemetry off|plain|OFF_PID|$GW_OFF|CHAT"
  "load|(f) sluice, telemetry off, streaming|stream|OFF_PID|$GW_OFF|STREAM"
  "load|(d) sluice, tracing + log line|plain|ON_PID|$GW_ON|CHAT"
  "load|(e) sluice, OpenAI → Gemini translation|plain|GEM_PID|$GW_GEM|CHAT"
  "load|(i) sluice, Messages → Anthropic (native), telemetry off|plain|ANT_PID|$GW_ANT|MESSAGES|/anthropic/v1/messages"
  "load|(i) sluice, Messages → Anthropic (native), telemetry off, streaming|stream|ANT_PID|$GW_ANT|MSTREAM|/anthropic/v1/messages"
  "load|(i) sluice, chat → OpenAI (native) in (i)'s process, telemetry off|plain|ANT_PID|$GW_ANT|CHAT|/openai$PATHQ"
  "load|(j) sluice, Claude Code's 49 kB request → Anthropic (native)|plain|CC_PID|$GW_CC|CLAUDE_CODE|/anthropic/v1/messages"
  "load|(j) sluice, Claude Code's 49 kB request → OpenAI (through the hub)|plain|CC_PID|$GW_CC|CLAUDE_CODE|/openai/v1/messages"
  "load|(k) sluice, Responses → OpenAI (native), telemetry off|plain|RSP_PID|$GW_RSP|RESPONSES|/openai/v1/responses"
  "load|(k) sluice, Responses → OpenAI (native), telemetry off, streaming|stream|RSP_PID|$GW_RSP|RSTREAM|/openai/v1/responses"
  "load|(k) sluice, Responses → Anthropic (translated), telemetry off|plain|RSP_PID|$GW_RSP|RESPONSES|/anthropic/v1/responses"
  "load|(k) sluice, Responses → Anthropic (translated), telemetry off, streaming|stream|RSP_PID|$GW_RSP|RSTREAM|/anthropic/v1/responses"
  "load|(l) sluice, unpriced, no budget, telemetry off|plain|BUD_PID|$GW_BUD|CHAT|/off$PATHQ|bench-off"
  "load|(l) sluice, priced + key, team and route budgets, telemetry off|plain|BUD_PID|$GW_BUD|CHAT|/on$PATHQ|bench-on"
  "load|(m) sluice, a config-file key, telemetry off|plain|STO_PID|$GW_STO|CHAT|$PATHQ|bench-config-key"
  "load|(m) sluice, a store key (SQLite), telemetry off|plain|STO_PID|$GW_STO|CHAT|$PATHQ|$STORE_KEY"
)
[ -z "$NT" ] || RUNS+=(
  "load|(b) bare Pingora proxy, $TLABEL|plain|BARE_N_PID|$GW_BARE_N|CHAT"
  "load|(c) sluice, telemetry off, $TLABEL|plain|OFF_N_PID|$GW_OFF_N|CHAT"
  "load|(d) sluice, tracing + log line, $TLABEL|plain|ON_N_PID|$GW_ON_N|CHAT"
)
[ -z "$AGW_BIN" ] || RUNS+=("load|(h) agentgateway, tracing + log line|plain|AGW_PID|$GW_AGW|CHAT")
RUNS+=(
  "rate|(a) upstream direct|plain||$UP|CHAT"
  "rate|(b) bare Pingora proxy|plain|BARE_PID|$GW|CHAT"
  "rate|(c) sluice, telemetry off|plain|OFF_PID|$GW_OFF|CHAT"
  "rate|(d) sluice, tracing + log line|plain|ON_PID|$GW_ON|CHAT"
)
[ -z "$NT" ] || RUNS+=(
  "rate|(b) bare Pingora proxy, $TLABEL|plain|BARE_N_PID|$GW_BARE_N|CHAT"
  "rate|(d) sluice, tracing + log line, $TLABEL|plain|ON_N_PID|$GW_ON_N|CHAT"
)
[ -z "$AGW_BIN" ] || RUNS+=("rate|(h) agentgateway, tracing + log line|plain|AGW_PID|$GW_AGW|CHAT")
# The same rate with the upstream measured directly beside each gateway, at the same time.
RUNS+=(
  "pair|(b) bare Pingora proxy|plain|BARE_PID|$GW|CHAT"
  "pair|(d) sluice, tracing + log line|plain|ON_PID|$GW_ON|CHAT"
)
[ -z "$AGW_BIN" ] || RUNS+=("pair|(h) agentgateway, tracing + log line|plain|AGW_PID|$GW_AGW|CHAT")
if [ -n "$PICK" ]; then
  kept=()
  for r in "${RUNS[@]}"; do
    name=$(cut -d'|' -f2 <<< "$r")
    if picked "${name:1:1}"; then kept+=("$r"); fi
  done
  [ ${#kept[@]} -gt 0 ] || picked g || { echo "SCENARIOS=\"$PICK\" selects no row of this run" >&2; exit 2; }
  RUNS=(${kept[@]+"${kept[@]}"})
fi
printf '%s\n' "${RUNS[@]}" | cut -d'|' -f1,2 | tr '|' '\t' > "$WORK/order.tsv"
for round in $(seq "$ROUNDS"); do
  idx=$(seq 0 $((${#RUNS[@]} - 1)))
  [ $((round % 2)) = 0 ] && idx=$(echo "$idx" | tac) # ABBA: a linear drift hits all alike
  log "round $round of $ROUNDS"
  for i in $idx; do
    IFS='|' read -r group name kind pidvar addr bodyvar path key <<< "${RUNS[$i]}"
    run "$group" "$name" "$kind" "${pidvar:+${!pidvar}}" "http://$addr${path:-$PATHQ}" "${!bodyvar}" "$round" "$key"
  done
done
sleep 1 # the exporter sends every 200 ms (or per 512 spans): let the last batch go
OTLP_COUNTS=$(curl -s -m 5 "http://$ADMIN/metrics" | grep -E '^sluice_otlp_' | tr '\n' ' ' || true)

# In ROUNDS slices of 100 requests per target, interleaved like the rounds above, so that a
# passing stall of the host falls on one slice, not on one target.
log "time to first byte, streamed, $ROUNDS x 100 sequential requests each"
: > "$WORK/ttfb-direct"; : > "$WORK/ttfb-bare"; : > "$WORK/ttfb-sluice"
for round in $(seq "$ROUNDS"); do
  targets="direct|$UP bare|$GW sluice|$GW_OFF"
  [ $((round % 2)) = 0 ] && targets="sluice|$GW_OFF bare|$GW direct|$UP"
  for t in $targets; do ttfb_samples "http://${t#*|}$PATHQ" 100 "$WORK/ttfb-${t%%|*}"; done
done
TTFB_DIRECT=$(median_ms "$WORK/ttfb-direct")
TTFB_BARE=$(median_ms "$WORK/ttfb-bare")
TTFB_SLUICE=$(median_ms "$WORK/ttfb-sluice")
TTFB_LINE="Time to first byte, streamed (median of $((ROUNDS * 100)) sequential requests in $ROUNDS interleaved slices of 100 on one connection each, curl): direct $TTFB_DIRECT ms, bare proxy $TTFB_BARE ms, sluice $TTFB_SLUICE ms: added by sluice $(awk -v a="$TTFB_SLUICE" -v b="$TTFB_DIRECT" 'BEGIN {printf "%+.3f", a - b}') ms (goal ≤ 1 ms)."
OVERHEAD_LINE=$(python3 - "$WORK/overhead.tsv" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
if rows:
    med = lambda i: statistics.median_high(float(r[i]) for r in rows)
    print("(d)'s own time per request at the fixed rate, from its `sluice_gateway_overhead_seconds` histogram (duration less the wait on the upstream; quantiles interpolated within buckets, median of the rounds): p50 %.3f ms, p99 %.3f ms (each round's p99: %s; %d requests)."
          % (med(1), med(2), ", ".join(r[2] for r in rows), sum(int(r[3]) for r in rows)))
PY
)
stop "$BARE_PID" INT
for pid in "$OFF_PID" "$ON_PID" "$GEM_PID" "$ANT_PID" "$CC_PID" "$RSP_PID" "$BUD_PID" "$STO_PID"; do stop "$pid" TERM; done
[ -z "$AGW_BIN" ] || stop "$AGW_PID" TERM
[ -z "$NT" ] || { stop "$BARE_N_PID" INT; stop "$OFF_N_PID" TERM; stop "$ON_N_PID" TERM; }

LITELLM_NOTE="(g) LiteLLM: skipped (SKIP_LITELLM=1)."
picked g || LITELLM_NOTE="(g) LiteLLM: not among SCENARIOS."
if [ -z "${SKIP_LITELLM:-}" ] && picked g; then
  VENV=$ROOT/target/litellm-venv
  if [ ! -x "$VENV/bin/litellm" ]; then
    log "installing LiteLLM's proxy into $VENV (pip install 'litellm[proxy]'; a few minutes)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "litellm[proxy]${LITELLM_VERSION:+==$LITELLM_VERSION}"
  fi
  cat > "$WORK/litellm.yaml" <<YAML
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://$UP/v1
      api_key: bench-key
YAML
  LL=127.0.0.1:18082
  log "(g) LiteLLM proxy, 2 workers (start-up takes a while)"
  # No master key (the benchmark sends none): LiteLLM refuses to start without this.
  LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY=true LITELLM_TELEMETRY=False LITELLM_LOG=ERROR "$VENV/bin/litellm" --config "$WORK/litellm.yaml" \
    --host 127.0.0.1 --port "${LL#*:}" --num_workers 2 > "$WORK/litellm.log" 2>&1 & LL_PID=$!; PIDS+=("$LL_PID")
  for _ in $(seq 600); do
    curl -s -o /dev/null -m 2 "http://$LL/health/liveliness" && break
    alive "$LL_PID" || break; sleep 0.2
  done
  if alive "$LL_PID"; then
    printf 'load\t(g) LiteLLM proxy (2 workers)\n' >> "$WORK/order.tsv"
    run load "(g) LiteLLM proxy (2 workers)" plain "" "http://$LL$PATHQ" "$CHAT" 1
    LL_RSS=$(tree_rss "$LL_PID")
    LITELLM_NOTE="(g) LiteLLM $("$VENV/bin/pip" show litellm 2>/dev/null | awk '/^Version/ {print $2}'), \`litellm --config ... --num_workers 2\`, no callbacks: RSS of its processes after the run $(awk -v k="$LL_RSS" 'BEGIN {printf "%.0f", k / 1024}') MB."
  else
    echo "!! LiteLLM did not start: $(tail -5 "$WORK/litellm.log")" >&2
    LITELLM_NOTE="(g) LiteLLM: did not start (see the script's output)."
  fi
  pkill -TERM -P "$LL_PID" 2>/dev/null || true
  stop "$LL_PID" TERM
fi

STEAL=$(echo "$STEAL0 $(cpu_steal)" | awk '{printf "%.0f%%", 100 * ($3 - $1) / ($4 - $2)}')

# ---- the table --------------------------------------------------------------------------
python3 - "$ROWS" "$WORK/order.tsv" "$TICK" > "$WORK/table.md" <<'PY'
import statistics, sys
TICK = float(sys.argv[3])
raw = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
order = [tuple(l.rstrip("\n").split("\t")) for l in open(sys.argv[2]) if l.strip()]
runs = {}  # (group, name) -> rows, in round order
for r in raw:
    runs.setdefault((r[0], r[1]), []).append(r)
ok = lambda rows: [r for r in rows if r[4] != "FAILED"]
med = lambda xs: statistics.median(xs) if xs else None
f3 = lambda v: "%.3f" % v if v is not None else "–"
mb = lambda v: "%.1f" % (int(v) / 1024) if v else "–"
# the bare proxy's requests/s per (kind, round): each ratio is taken within its round
bare = {(r[2], r[3]): float(r[4]) for (g, n), rows in runs.items()
        if g == "load" and n in ("(b) bare Pingora proxy", "(f) bare Pingora proxy, streaming") for r in ok(rows)}

def cpu(rows):
    t = [(int(r[9]), float(r[10])) for r in rows if r[9]]
    return "%.2f" % (sum(a for a, _ in t) / TICK / sum(b for _, b in t)) if t else "–"

print("### Throughput: CONNS connections, as fast as possible (median of the rounds)")
print()
print("| scenario | requests/s | % of bare proxy | % of bare, each round | p50 ms | p99 ms | p99.9 ms | errors | gateway CPU (cores) | RSS idle MB | RSS mid-run MB (max) | RSS after MB | peak RSS (VmHWM) MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for g, n in order:
    if g != "load" or (g, n) not in runs:
        continue
    rows = runs[(g, n)]; good = ok(rows)
    if not good:
        print("| %s | failed (see the script's output) |||||||||||| " % n); continue
    pcts = [100 * float(r[4]) / bare[(r[2], r[3])] for r in good if (r[2], r[3]) in bare] if "upstream direct" not in n else []
    fails = len(rows) - len(good)
    print("| %s | %.0f%s | %s | %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |" % (
        n, med([float(r[4]) for r in good]), " (%d failed)" % fails if fails else "",
        "%.0f%%" % med(pcts) if pcts else "–", ", ".join("%.0f%%" % p for p in pcts) if pcts else "–",
        f3(med([float(r[5]) for r in good])), f3(med([float(r[6]) for r in good])), f3(med([float(r[7]) for r in good])),
        sum(int(r[8]) for r in good), cpu(good), mb(good[0][11]),
        mb(max((int(r[12]) for r in good if r[12]), default=0)), mb(good[-1][13]), mb(good[-1][14])))
# The brief's comparison: sluice with the seed's telemetry against agentgateway with the same.
per_round = lambda n: {r[3]: float(r[4]) for r in ok(runs.get(("load", n), []))}
h = per_round("(h) agentgateway, tracing + log line")
for g, n in order:
    d = per_round(n) if g == "load" and n.startswith("(d)") else {}
    both = sorted(set(d) & set(h), key=int)
    if both:
        ratios = [d[k] / h[k] for k in both]
        print()
        print("%s ÷ (h) agentgateway, requests/s within each round: %s; median %.2f× (goal: 2×)." % (
            n, ", ".join("%.2f×" % x for x in ratios), med(ratios)))
# The diagonal: Messages → Anthropic and Responses → OpenAI passed natively beside chat → OpenAI
# passed natively; Responses → Anthropic translated beside the same.
rsp = "(k) sluice, Responses → %s, telemetry off%s"
chat, chat_stream = "(c) sluice, telemetry off", "(f) sluice, telemetry off, streaming"
for a, b, goal in (
    ("(i) sluice, Messages → Anthropic (native), telemetry off", chat, " (goal: ≥ 1×)"),
    ("(i) sluice, Messages → Anthropic (native), telemetry off", "(i) sluice, chat → OpenAI (native) in (i)'s process, telemetry off", " (goal: ≥ 1×; one process, so no difference between processes enters)"),
    ("(j) sluice, Claude Code's 49 kB request → Anthropic (native)", "(j) sluice, Claude Code's 49 kB request → OpenAI (through the hub)", ""),
    (rsp % ("OpenAI (native)", ""), chat, ""),
    (rsp % ("Anthropic (translated)", ""), chat, ""),
    (rsp % ("OpenAI (native)", ", streaming"), chat_stream, ""),
    (rsp % ("Anthropic (translated)", ", streaming"), chat_stream, ""),
    ("(l) sluice, priced + key, team and route budgets, telemetry off", "(l) sluice, unpriced, no budget, telemetry off", ""),
    ("(m) sluice, a store key (SQLite), telemetry off", "(m) sluice, a config-file key, telemetry off", ""),
):
    x, y = per_round(a), per_round(b)
    both = sorted(set(x) & set(y), key=int)
    if both:
        ratios = [x[k] / y[k] for k in both]
        print()
        print("%s ÷ %s, requests/s within each round: %s; median %.2f×%s." % (
            a, b, ", ".join("%.2f×" % r for r in ratios), med(ratios), goal))
print()
print("### Latency at a fixed rate: RATE requests/s, CONNS connections, latency-corrected (median of the rounds)")
print()
direct = {r[3]: float(r[6]) for r in ok(runs.get(("rate", "(a) upstream direct"), []))}
print("| scenario | p50 ms | p99 ms | p99 ms, each round | p99.9 ms | p99 over direct ms (median of the rounds' differences) | errors | gateway CPU (cores) |")
print("|---|---|---|---|---|---|---|---|")
for g, n in order:
    if g != "rate" or (g, n) not in runs:
        continue
    good = ok(runs[(g, n)])
    if not good:
        print("| %s | failed ||||||| " % n); continue
    over = [float(r[6]) - direct[r[3]] for r in good if r[3] in direct] if not n.startswith("(a)") else []
    print("| %s | %s | %s | %s | %s | %s | %d | %s |" % (
        n, f3(med([float(r[5]) for r in good])), f3(med([float(r[6]) for r in good])),
        ", ".join(r[6] for r in good), f3(med([float(r[7]) for r in good])),
        "%+.3f" % med(over) if over else "–", sum(int(r[8]) for r in good), cpu(good)))
pairs = [(g, n) for g, n in order if g == "pair" and (g, n) in runs]
if pairs:
    print()
    print("### Latency at a fixed rate, beside direct: RATE requests/s to the gateway and RATE to the upstream directly, at the same time (median of the rounds)")
    print()
    print("A stall of the host falls on both measurements alike; the upstream then serves 2 × RATE requests/s.")
    print()
    print("| scenario | p50 ms | p99 ms | direct's p99 beside it ms | p99 over direct ms | p99 over direct, each round ms | errors |")
    print("|---|---|---|---|---|---|---|")
    for g, n in pairs:
        good = [r for r in ok(runs[(g, n)]) if len(r) > 15 and r[15]]
        if not good:
            print("| %s | failed |||||| " % n); continue
        over = [float(r[6]) - float(r[15]) for r in good]
        print("| %s | %s | %s | %s | %+.3f | %s | %d |" % (
            n, f3(med([float(r[5]) for r in good])), f3(med([float(r[6]) for r in good])),
            f3(med([float(r[15]) for r in good])), med(over), ", ".join("%+.2f" % x for x in over),
            sum(int(r[8]) for r in good)))
PY
sed -i "s/CONNS/$CONNS/; s/RATE/$RATE/g" "$WORK/table.md"

{
  echo "# Load test, $(date -u '+%F %H:%M UTC')"
  echo
  echo "Machine: $(nproc) vCPU $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2), $("$OHA" --version), sluice $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')."
  echo "Command: \`${PICK:+SCENARIOS=\"$PICK\" }ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS RATE=$RATE MOCK_THREADS=$MOCK_THREADS OTLP=$OTLP PROFILE=$PROFILE${NT:+ ALSO_THREADS=$NT}${AGW_BIN:+ AGENTGATEWAY_BIN=$AGW_BIN}${AGENTGATEWAY_THREADS:+ AGENTGATEWAY_THREADS=$AGENTGATEWAY_THREADS} benches/load.sh\`"
  echo "oha: \`-z $DURATION -c $CONNS -m POST\`, a 2-message chat body, after a $WARMUP warm-up; everything on 127.0.0.1."
  echo "Rounds: $ROUNDS; every scenario once per round (forward in odd rounds, reversed in even ones), all gateways up throughout; each ratio to the bare proxy is taken within its round, the table gives medians."
  echo "CPU stolen by the hypervisor during the runs: $STEAL of the VM's CPU time."
  echo "Upstream: benches' mock_upstream ($MOCK_THREADS threads). Bare proxy: one worker thread (Pingora's default). sluice: its default \`workerThreads\`, one per CPU ($(nproc) here)."
  echo "(d) telemetry: $OTLP_NOTE; request log lines to /dev/null. OTLP counters after the run: ${OTLP_COUNTS:-none read}"
  echo "(c), (e), (f), (i), (j), (k), (l), (m): \`logging.level: off\`, no tracing. Streaming: 10 content chunks + finish + usage chunk + [DONE] (OpenAI chat); message_start, 10 text deltas, message_delta with usage, message_stop (Anthropic); response.created, response.in_progress, output_item.added, content_part.added, 10 output_text deltas, output_text.done, content_part.done, output_item.done, response.completed with usage (OpenAI Responses). (i): the chat body's conversation as a Messages request, and (c)'s chat body sent to (i)'s process (\`/openai\`, passed natively, its model the one pinned). (j): Claude Code 2.1.332's first request, 49 kB, not streamed. (k): the same conversation as a Responses request (\`instructions\`, \`input\` as a string), to an \`openai\` backend (native: the body passed untouched, the mock's \`/v1/responses\` answering) and to an \`anthropic\` one (translated through the hub to \`/v1/messages\` and back). (l): one process, keys required, telemetry off; the chat to an \`openai\` backend (the answer's model priced) as a key with a USD budget of its own and its team's, on a route with one (three budgets checked before the call and charged after, in memory), beside the same chat to a \`vllm\` backend on the same upstream (no price: nothing charged) as a key without budgets. (m): one process with an SQLite store, keys required, telemetry off; the chat as a key made through the admin API beside the same chat as a config-file key (spend recorded for both)."
  echo "$LITELLM_NOTE"
  echo "$AGW_NOTE"
  [ -z "$NT" ] || echo "ALSO_THREADS=$NT: the bare proxy, (c) and (d) also ran with $NT worker threads (sluice: \`config.workerThreads: $NT\`), beside the default ones; their % of bare is against the one-thread bare proxy."
  echo "$TTFB_LINE"
  echo "$OVERHEAD_LINE"
  echo
  cat "$WORK/table.md"
} > "$OUT"
cat "$OUT"
log "written to $OUT"
