#!/usr/bin/env bash
# Load tests with oha: the direct upstream, a bare Pingora proxy, and sluice (telemetry off,
# telemetry on, OpenAI → Gemini translation, streaming), each against the same mock upstream.
#
#   benches/load.sh                      # 8 s per run, 32 connections
#   DURATION=4s WARMUP=1s benches/load.sh
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
OUT="$ROOT/benches/results-$(date -u +%F).md"
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
    if [ "$pid" = "${UP_PID:-}" ] || [ "$pid" = "${SINK_PID:-}" ]; then stop "$pid" TERM; else stop "$pid" INT; fi
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
  local t0 t1
  t0=$(date +%s.%N)
  if ! timeout 120 "$OHA" -z "$DURATION" "${args[@]}" "${extra[@]}" --output-format json "$url" > "$WORK/oha.json"; then
    echo "!! $name: oha failed" >&2
    printf '%s\t%s\t%s\tFAILED\n' "$group" "$name" "$kind" >> "$ROWS"; return
  fi
  t1=$(date +%s.%N)
  local cpu="" hwm="" rss=""
  if [ -n "$pid" ]; then
    cpu=$(awk -v a="$c0" -v b="$(cpu_ticks "$pid")" -v t="$TICK" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.2f", (b - a) / t / (e - s)}')
    hwm=$(kb "$pid" VmHWM); rss=$(kb "$pid" VmRSS)
  fi
  python3 - "$WORK/oha.json" "$group" "$name" "$kind" "$cpu" "$idle_rss" "$rss" "$hwm" >> "$ROWS" <<'PY'
import json, sys
f, group, name, kind, cpu, idle, rss, hwm = sys.argv[1:]
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
                 str(bad + errs), cpu, mb(idle), mb(rss), mb(hwm)]))
PY
  tail -n1 "$ROWS" | awk -F'\t' '{printf "   %s %s: %s req/s, p50 %s ms, p99 %s ms, p99.9 %s ms, errors %s, cpu %s, rss %s MB (peak %s)\n", $1, $2, $4, $5, $6, $7, $8, $9, $11, $12}' >&2
}

start_bare() { "$BIN/bare_proxy" "$GW" "$UP" >"$WORK/bare.log" 2>&1 & GW_PID=$!; PIDS+=("$GW_PID"); wait_port "$GW" "$GW_PID"; }
start_sluice() { # start_sluice CONFIG STDOUT
  "$BIN/sluice" run -c "$WORK/$1.yaml" >"$2" 2>"$WORK/$1.err" & GW_PID=$!; PIDS+=("$GW_PID"); wait_port "$GW" "$GW_PID"
}

URL_UP=http://$UP$PATHQ
URL_GW=http://$GW$PATHQ
OTLP_COUNTS=""

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
sleep 6 # let the batch span processor flush (5 s schedule) before reading its counters
OTLP_COUNTS=$(curl -s -m 5 "http://$ADMIN/metrics" | grep -E '^sluice_otlp_' | tr '\n' ' ' || true)
stop "$GW_PID" TERM

log "(e) sluice, OpenAI → Gemini"; start_sluice gemini "$WORK/gemini.out"
run load "(e) sluice, OpenAI → Gemini translation" plain "$GW_PID" "$URL_GW" "$CHAT"
stop "$GW_PID" TERM

STEAL=$(echo "$STEAL0 $(cpu_steal)" | awk '{printf "%.0f%%", 100 * ($3 - $1) / ($4 - $2)}')

# ---- the table --------------------------------------------------------------------------
python3 - "$ROWS" > "$WORK/table.md" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
bare = {r[2]: float(r[3]) for r in rows if r[0] == "load" and "bare" in r[1] and r[3] != "FAILED"}
print("### Throughput: %s connections, as fast as possible" % "CONNS")
print()
print("| scenario | requests/s | % of bare proxy | p50 ms | p99 ms | p99.9 ms | errors | gateway CPU (cores) | RSS idle MB | RSS after MB | peak RSS (VmHWM) MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r[0] != "load":
        continue
    if r[3] == "FAILED":
        print("| %s | failed (see the script's output) |||||||||| " % r[1]); continue
    pct = "%.0f%%" % (100 * float(r[3]) / bare[r[2]]) if r[2] in bare and "upstream direct" not in r[1] else "–"
    d = lambda v: v if v else "–"
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (r[1], r[3], pct, r[4], r[5], r[6], r[7], d(r[8]), d(r[9]), d(r[10]), d(r[11])))
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
  echo
  cat "$WORK/table.md"
} > "$OUT"
cat "$OUT"
log "written to $OUT"
