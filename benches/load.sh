#!/usr/bin/env bash
# Load tests with oha: the direct upstream, a bare Pingora proxy, and sluice (telemetry off,
# telemetry on, OpenAI → Gemini translation, streaming), each against the same mock upstream.
#
#   benches/load.sh                      # the table: 8 s per run, 32 connections
#   DURATION=4s WARMUP=1s benches/load.sh
#   benches/load.sh soak                 # 5 minutes at a fixed rate, RSS sampled every 10 s
#   benches/load.sh faults               # oha while one of two upstream endpoints flaps
#
# (g) runs LiteLLM's proxy from PyPI (installed into target/litellm-venv the first time, a few
# minutes); SKIP_LITELLM=1 leaves it out. Soak: SOAK_DURATION (300s), SOAK_RATE (1000 plain +
# a tenth of it streamed). Faults: FAULT_DURATION (60s), FLAP (3: seconds down, then up).
#
# Environment: DURATION (8s), WARMUP (2s), CONNS (32), RATE (1000, the fixed-rate runs),
# MOCK_THREADS (2, the mock upstream's tokio workers), OTLP (sink: OTLP/HTTP to a local mock
# sink that accepts and drops spans; closed: OTLP/gRPC to a closed port, so every export fails
# and is counted and dropped), SKIP_BUILD=1 (use the binaries already in target/release).
#
# Everything listens on 127.0.0.1 (ports 19000-19001 and 18080-18081). Prints a Markdown table
# and writes it to benches/results-<date>.md. Every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-32}
RATE=${RATE:-1000}
MOCK_THREADS=${MOCK_THREADS:-2}
OTLP=${OTLP:-sink}
UP=127.0.0.1:19000
SINK=127.0.0.1:19001
GW=127.0.0.1:18080
ADMIN=127.0.0.1:18081
MODE=${1:-table}
case "$MODE" in table|soak|faults) ;; *) echo "usage: $0 [table|soak|faults]" >&2; exit 2;; esac
OUT="$ROOT/benches/results-$(date -u +%F)$([ "$MODE" = table ] || echo "-$MODE").md"
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
  log "building release binaries"
  cargo build --release -p sluice-gateway --bin sluice -p sluice-benches --bins
fi
BIN=$ROOT/target/release
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
    bind: $GW
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
{ echo "name: sluice"; echo "config:"; echo "  logging: {level: 'off'}"; listener; openai_backend; } > "$WORK/off.yaml"
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
  listener; openai_backend
} > "$WORK/on.yaml"
{ echo "name: sluice"; echo "config:"; echo "  logging: {level: 'off'}"; listener; cat <<EOF
backends:
  - name: up
    provider: gemini
    baseUrl: http://$UP
    model: gemini-2.0-flash
    apiKey: bench-key
EOF
} > "$WORK/gemini.yaml"
for c in off on gemini; do "$BIN/sluice" check -c "$WORK/$c.yaml" >/dev/null; done

CHAT='{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain how AI works in simple terms."}],"temperature":0.2,"max_tokens":200}'
STREAM='{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain how AI works in simple terms."}],"temperature":0.2,"max_tokens":200}'
PATHQ=/v1/chat/completions

# ---- one run ----------------------------------------------------------------------------
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)
# CPU time the hypervisor took from this VM during the runs (the "st" of top): a noisy host.
cpu_steal() { awk '/^cpu / {print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
STEAL0=$(cpu_steal)
ROWS=$WORK/rows.tsv
: > "$ROWS"

# run GROUP NAME KIND PID URL BODY: warm up, measure, record one row
#   GROUP: load (-c CONNS as fast as possible) or rate (-q RATE)
run() {
  local group=$1 name=$2 kind=$3 pid=$4 url=$5 body=$6
  local args=(-c "$CONNS" --no-tui -m POST -H 'content-type: application/json' -d "$body")
  local status
  status=$(curl -s -o "$WORK/probe" -w '%{http_code}' -m 5 -H 'content-type: application/json' -d "$body" "$url" || true)
  if [ "$status" != 200 ]; then
    echo "!! $name: probe answered $status: $(head -c 300 "$WORK/probe")" >&2
    printf '%s\t%s\t%s\tFAILED\n' "$group" "$name" "$kind" >> "$ROWS"; return
  fi
  timeout 60 "$OHA" -z "$WARMUP" "${args[@]}" --output-format quiet "$url" >/dev/null 2>&1 || true
  local idle_rss="" c0=0
  [ -n "$pid" ] && { idle_rss=$(kb "$pid" VmRSS); c0=$(cpu_ticks "$pid"); }
  local extra=()
  [ "$group" = rate ] && extra=(-q "$RATE" --latency-correction)
  local t0 t1 sampler=""
  rm -f "$WORK/mid"
  # RSS halfway through: the steady state, before the clients go away at the deadline.
  [ -n "$pid" ] && { (sleep "$(awk -v d="${DURATION%s}" 'BEGIN {print d / 2}')"; kb "$pid" VmRSS > "$WORK/mid") & sampler=$!; }
  t0=$(date +%s.%N)
  if ! timeout 120 "$OHA" -z "$DURATION" "${args[@]}" "${extra[@]}" --output-format json "$url" > "$WORK/oha.json"; then
    echo "!! $name: oha failed" >&2
    printf '%s\t%s\t%s\tFAILED\n' "$group" "$name" "$kind" >> "$ROWS"; return
  fi
  t1=$(date +%s.%N)
  local cpu="" hwm="" rss="" mid=""
  [ -n "$sampler" ] && { wait "$sampler" 2>/dev/null || true; mid=$(cat "$WORK/mid" 2>/dev/null || true); }
  if [ -n "$pid" ]; then
    cpu=$(awk -v a="$c0" -v b="$(cpu_ticks "$pid")" -v t="$TICK" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.2f", (b - a) / t / (e - s)}')
    hwm=$(kb "$pid" VmHWM); rss=$(kb "$pid" VmRSS)
  fi
  python3 - "$WORK/oha.json" "$group" "$name" "$kind" "$cpu" "$idle_rss" "$mid" "$rss" "$hwm" >> "$ROWS" <<'PY'
import json, sys
f, group, name, kind, cpu, idle, mid, rss, hwm = sys.argv[1:]
d = json.load(open(f))
p = d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
ok = codes.get("200", 0)
bad = sum(v for k, v in codes.items() if k != "200")
# Requests still in flight at the deadline are reported as errors by oha; they are not failures.
errs = sum(v for k, v in d.get("errorDistribution", {}).items() if "deadline" not in k.lower())
ms = lambda k: "%.3f" % (p[k] * 1000) if p.get(k) is not None else ""
mb = lambda v: "%.1f" % (int(v) / 1024) if v else ""
rps = ok / d["summary"]["total"] if d["summary"]["total"] else 0
print("\t".join([group, name, kind, "%.0f" % rps, ms("p50"), ms("p99"), ms("p99.9"),
                 str(bad + errs), cpu, mb(idle), mb(mid), mb(rss), mb(hwm)]))
PY
  tail -n1 "$ROWS" | awk -F'\t' '{printf "   %s %s: %s req/s, p50 %s ms, p99 %s ms, p99.9 %s ms, errors %s, cpu %s, rss mid-run %s, after %s MB (peak %s)\n", $1, $2, $4, $5, $6, $7, $8, $9, $11, $12, $13}' >&2
}

start_bare() { "$BIN/bare_proxy" "$GW" "$UP" >"$WORK/bare.log" 2>&1 & GW_PID=$!; PIDS+=("$GW_PID"); wait_port "$GW" "$GW_PID"; }
start_sluice() { # start_sluice CONFIG STDOUT
  "$BIN/sluice" run -c "$WORK/$1.yaml" >"$2" 2>"$WORK/$1.err" & GW_PID=$!; PIDS+=("$GW_PID"); wait_port "$GW" "$GW_PID"
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

# Median time to the first byte (ms) of N streamed requests, one after another on one
# connection (curl reuses it): the latency a streaming client feels before the first token.
ttfb() { # ttfb URL N
  local args=() i
  for i in $(seq "$2"); do args+=(-o /dev/null "$1"); done
  curl -s -w '%{time_starttransfer}\n' -H 'content-type: application/json' -d "$STREAM" "${args[@]}" \
    | sort -n | awk '{a[NR] = $1} END {printf "%.3f", a[int(NR / 2) + 1] * 1000}'
}

soak() {
  local dur=${SOAK_DURATION:-300s} rate=${SOAK_RATE:-1000}
  local secs=${dur%s}
  log "soak: sluice with the seed's tracing + log line, $rate req/s plain + $((rate / 10)) req/s streamed for $dur"
  start_sluice on /dev/null
  local samples=$WORK/soak.tsv
  : > "$samples"
  "$OHA" -z "$dur" -c "$CONNS" -q "$rate" --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$CHAT" "$URL_GW" > "$WORK/soak-plain.json" 2>/dev/null &
  local o1=$!
  "$OHA" -z "$dur" -c 8 -q "$((rate / 10))" --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$STREAM" "$URL_GW" > "$WORK/soak-stream.json" 2>/dev/null &
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
  start_sluice faults /dev/null
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

log "(a) upstream direct";               run load "(a) upstream direct" plain "" "$URL_UP" "$CHAT"
log "(a) upstream direct, $RATE req/s";  run rate "(a) upstream direct" plain "" "$URL_UP" "$CHAT"
log "(f) upstream direct, streaming";    run load "(f) upstream direct, streaming" stream "" "$URL_UP" "$STREAM"

log "(b) bare Pingora proxy"; start_bare
run load "(b) bare Pingora proxy" plain "$GW_PID" "$URL_GW" "$CHAT"
run rate "(b) bare Pingora proxy" plain "$GW_PID" "$URL_GW" "$CHAT"
run load "(f) bare Pingora proxy, streaming" stream "$GW_PID" "$URL_GW" "$STREAM"
stop "$GW_PID" INT

log "(c) sluice, telemetry off"; start_sluice off "$WORK/off.out"
run load "(c) sluice, telemetry off" plain "$GW_PID" "$URL_GW" "$CHAT"
run rate "(c) sluice, telemetry off" plain "$GW_PID" "$URL_GW" "$CHAT"
run load "(f) sluice, telemetry off, streaming" stream "$GW_PID" "$URL_GW" "$STREAM"
stop "$GW_PID" TERM

log "(d) sluice, seed default tracing recipe + text log line"; start_sluice on /dev/null
run load "(d) sluice, tracing + log line" plain "$GW_PID" "$URL_GW" "$CHAT"
run rate "(d) sluice, tracing + log line" plain "$GW_PID" "$URL_GW" "$CHAT"
sleep 1 # the exporter sends every 200 ms (or per 512 spans): let the last batch go
OTLP_COUNTS=$(curl -s -m 5 "http://$ADMIN/metrics" | grep -E '^sluice_otlp_' | tr '\n' ' ' || true)
stop "$GW_PID" TERM

log "(e) sluice, OpenAI → Gemini"; start_sluice gemini "$WORK/gemini.out"
run load "(e) sluice, OpenAI → Gemini translation" plain "$GW_PID" "$URL_GW" "$CHAT"
stop "$GW_PID" TERM

log "time to first byte, streamed, 200 sequential requests each"
TTFB_DIRECT=$(ttfb "$URL_UP" 200)
start_bare; TTFB_BARE=$(ttfb "$URL_GW" 200); stop "$GW_PID" INT
start_sluice off "$WORK/off.out"; TTFB_SLUICE=$(ttfb "$URL_GW" 200); stop "$GW_PID" TERM
TTFB_LINE="Time to first byte, streamed (median of 200 sequential requests on one connection, curl): direct $TTFB_DIRECT ms, bare proxy $TTFB_BARE ms, sluice $TTFB_SLUICE ms: added by sluice $(awk -v a="$TTFB_SLUICE" -v b="$TTFB_DIRECT" 'BEGIN {printf "%+.3f", a - b}') ms (goal ≤ 1 ms)."

LITELLM_NOTE="(g) LiteLLM: skipped (SKIP_LITELLM=1)."
if [ -z "${SKIP_LITELLM:-}" ]; then
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
    run load "(g) LiteLLM proxy (2 workers)" plain "" "http://$LL$PATHQ" "$CHAT"
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
python3 - "$ROWS" > "$WORK/table.md" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
bare = {r[2]: float(r[3]) for r in rows if r[0] == "load" and "bare" in r[1] and r[3] != "FAILED"}
print("### Throughput: %s connections, as fast as possible" % "CONNS")
print()
print("| scenario | requests/s | % of bare proxy | p50 ms | p99 ms | p99.9 ms | errors | gateway CPU (cores) | RSS idle MB | RSS mid-run MB | RSS after MB | peak RSS (VmHWM) MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r[0] != "load":
        continue
    if r[3] == "FAILED":
        print("| %s | failed (see the script's output) ||||||||||| " % r[1]); continue
    pct = "%.0f%%" % (100 * float(r[3]) / bare[r[2]]) if r[2] in bare and "upstream direct" not in r[1] else "–"
    d = lambda v: v if v else "–"
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (r[1], r[3], pct, r[4], r[5], r[6], r[7], d(r[8]), d(r[9]), d(r[10]), d(r[11]), d(r[12])))
print()
print("### Latency at a fixed rate: RATE requests/s, CONNS connections, latency-corrected")
print()
direct = next((r for r in rows if r[0] == "rate" and r[1].startswith("(a)") and r[3] != "FAILED"), None)
print("| scenario | p50 ms | p99 ms | p99.9 ms | p99 over direct ms | errors | gateway CPU (cores) |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if r[0] != "rate":
        continue
    if r[3] == "FAILED":
        print("| %s | failed |||||| " % r[1]); continue
    over = "%+.3f" % (float(r[5]) - float(direct[5])) if direct and r is not direct else "–"
    print("| %s | %s | %s | %s | %s | %s | %s |" % (r[1], r[4], r[5], r[6], over, r[7], r[8] or "–"))
PY
sed -i "s/CONNS/$CONNS/; s/RATE/$RATE/" "$WORK/table.md"

{
  echo "# Load test, $(date -u '+%F %H:%M UTC')"
  echo
  echo "Machine: $(nproc) vCPU $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2), $("$OHA" --version), sluice $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')."
  echo "Command: \`DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS RATE=$RATE MOCK_THREADS=$MOCK_THREADS OTLP=$OTLP benches/load.sh\`"
  echo "oha: \`-z $DURATION -c $CONNS -m POST\`, a 2-message chat body, after a $WARMUP warm-up; everything on 127.0.0.1."
  echo "CPU stolen by the hypervisor during the runs: $STEAL of the VM's CPU time."
  echo "Upstream: benches' mock_upstream ($MOCK_THREADS threads). bare proxy and sluice: one worker thread."
  echo "(d) telemetry: $OTLP_NOTE; request log lines to /dev/null. OTLP counters after the run: ${OTLP_COUNTS:-none read}"
  echo "(c), (e), (f): \`logging.level: off\`, no tracing. Streaming: 10 content chunks + finish + usage chunk + [DONE]."
  echo "$LITELLM_NOTE"
  echo "$TTFB_LINE"
  echo
  cat "$WORK/table.md"
} > "$OUT"
cat "$OUT"
log "written to $OUT"
