"""sluice's OpenInference recipe (conf/tracing/openinference.yaml, as shipped) against a real Arize
Phoenix: what Phoenix makes of the spans, read back through its own APIs.

Phoenix runs on loopback with its telemetry off (`phoenix serve`, ports and working directory of
the test's own); sluice (the real binary, `$SLUICE_BIN`) exports to Phoenix's OTLP/gRPC port and
calls a mock OpenAI upstream (tests/python/mock_upstreams.py). Three requests: a chat, a streamed
chat and a tool call. For each span the test reads Phoenix's REST API (`/v1/projects/default/spans`:
the flat attributes as stored) and its GraphQL API (what the UI shows: span kind, input and output,
token counts, cost, and the attributes unflattened into message lists).

Run by scripts/phoenix-test.sh, which installs Phoenix into a venv of its own.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "python"))

from mock_upstreams import (  # noqa: E402
    OPENAI_MODEL,
    OPENAI_TEXT,
    OPENAI_USAGE,
    TOOL_ARGS,
    TOOL_NAME,
    OpenAIUpstream,
)

WAIT = 30.0
PHOENIX_READY = 180.0
MODEL = "gpt-4o-mini"
SYSTEM = "You are a terse assistant."
CACHED = 4


class CachingOpenAI(OpenAIUpstream):
    """The chat mock, reporting some prompt tokens as read from OpenAI's cache."""

    @staticmethod
    def completion(tools: bool, text: str = OPENAI_TEXT) -> dict:
        body = OpenAIUpstream.completion(tools, text)
        body["usage"]["prompt_tokens_details"] = {"cached_tokens": CACHED}
        return body


_NEXT_PORT = itertools.count(os.getpid() * 7919 + 5000)
_HELD = []


def free_port() -> int:
    """A free port below the ephemeral range, reserved with the lock files the other test
    harnesses use (so no concurrent test takes it)."""
    lock_dir = os.path.join(tempfile.gettempdir(), "sluice-test-ports")
    os.makedirs(lock_dir, exist_ok=True)
    for _ in range(12000):
        port = 20000 + next(_NEXT_PORT) % 12000
        f = open(os.path.join(lock_dir, f"{port}.lock"), "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            f.close()
            continue
        _HELD.append(f)
        return port
    raise RuntimeError("no free port left in 20000-31999")


def http_json(url: str, body: dict | None = None, timeout: float = 10) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"content-type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_until(what: str, timeout: float, probe):
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


class Process:
    """A child process whose output lines are kept."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: str | None = None):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(args, env={**os.environ, **env}, cwd=cwd, text=True, bufsize=1,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return "\n".join(self.lines[-60:])


@pytest.fixture(scope="module")
def phoenix(pytestconfig):
    web, grpc = free_port(), free_port()
    workdir = tempfile.TemporaryDirectory(prefix="sluice-phoenix-")
    server = Process(
        [str(Path(sys.executable).parent / "phoenix"), "serve"],
        {
            "PHOENIX_WORKING_DIR": workdir.name,
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(web),
            "PHOENIX_GRPC_PORT": str(grpc),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        },
        cwd=workdir.name,
    )
    started = time.monotonic()

    def ready():
        if not server.alive():
            raise AssertionError(f"phoenix exited with {server.proc.returncode}:\n{server.output()}")
        try:
            return http_json(f"http://127.0.0.1:{web}/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    try:
        wait_until("Phoenix's /healthz", PHOENIX_READY, ready)
        # past pytest's capture: how long Phoenix takes to start is worth seeing in every run
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\nPhoenix on :{web} ready after {time.monotonic() - started:.1f} s")
        yield {"web": f"http://127.0.0.1:{web}", "grpc": f"http://127.0.0.1:{grpc}"}
    finally:
        server.stop()
        workdir.cleanup()


@pytest.fixture(scope="module")
def upstream():
    up = CachingOpenAI()
    yield up
    up.close()


@pytest.fixture(scope="module")
def gateway(phoenix, upstream):
    """sluice with the recipe's `tracing:` block as shipped, exporting to Phoenix's gRPC port."""
    recipe = (ROOT / "conf" / "tracing" / "openinference.yaml").read_text()
    tracing = recipe[recipe.index("  tracing:\n"):recipe.index("\nlisteners:") + 1]
    assert "otlpEndpoint: http://localhost:4317" in tracing
    tracing = tracing.replace("otlpEndpoint: http://localhost:4317", f"otlpEndpoint: {phoenix['grpc']}")
    listener, admin = free_port(), free_port()
    config = (
        f"name: sluice\nconfig:\n  adminAddr: 127.0.0.1:{admin}\n{tracing}"
        f"listeners:\n  - name: http\n    bind: 127.0.0.1:{listener}\n    routes:\n"
        f"      - name: openai\n        match: {{pathPrefix: /}}\n        backend: openai\n"
        f"backends:\n  - name: openai\n    provider: openai\n    apiKey: sk-upstream\n"
        f"    baseUrl: {upstream.base_url}/v1\n"
    )
    binary = os.environ.get("SLUICE_BIN") or str(ROOT / "target" / "debug" / "sluice")
    assert Path(binary).is_file(), f"no sluice binary at {binary}: cargo build -p sluice-gateway --bin sluice"
    with tempfile.TemporaryDirectory(prefix="sluice-phoenix-gw-") as d:
        path = Path(d) / "config.yaml"
        path.write_text(config)
        gw = Process([binary, "run", "-c", str(path)], {})

        def ready():
            if not gw.alive():
                raise AssertionError(f"sluice exited with {gw.proc.returncode}:\n{gw.output()}")
            try:
                return http_json(f"http://127.0.0.1:{admin}/readyz", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until("sluice's /readyz", WAIT, ready)
        gw.url = f"http://127.0.0.1:{listener}"
        try:
            yield gw
        finally:
            gw.stop()


def chat(gateway: Process, question: str, **extra) -> str:
    """Sends a chat (SSE read whole when streamed) and returns the trace id of its log line."""
    before = len([l for l in gateway.lines if l.startswith("info request ")])
    body = {
        "model": MODEL,
        "temperature": 0.2,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
        **extra,
    }
    req = urllib.request.Request(f"{gateway.url}/v1/chat/completions", json.dumps(body).encode(),
                                 {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=WAIT) as r:
        assert r.status == 200
        r.read()
    logs = wait_until("the request's log line", WAIT,
                      lambda: [l for l in gateway.lines if l.startswith("info request ")][before:])
    trace = [f.split("=", 1)[1] for f in logs[0].split() if f.startswith("trace.id=")]
    assert trace, logs[0]
    return trace[0]


def phoenix_span(phoenix, trace_id: str) -> dict:
    """The span of `trace_id` as Phoenix's REST API returns it, once Phoenix has it."""

    def find():
        status, got = http_json(f"{phoenix['web']}/v1/projects/default/spans?limit=100")
        if status != 200:
            return None
        return next((s for s in got["data"] if s["context"]["trace_id"] == trace_id), None)

    return wait_until(f"span of trace {trace_id} in Phoenix", WAIT, find)


GRAPHQL = """query ($id: ID!) { node(id: $id) { ... on Span {
  name spanKind input { value mimeType } output { value mimeType }
  tokenCountPrompt tokenCountCompletion tokenCountTotal tokenPromptDetails { cacheRead }
  costSummary { total { cost } } attributes } } }"""


def ui_view(phoenix, span: dict) -> dict:
    """What Phoenix's UI reads for the span (its GraphQL API), attributes unflattened."""
    status, got = http_json(f"{phoenix['web']}/graphql", {"query": GRAPHQL, "variables": {"id": span["id"]}})
    assert status == 200 and not got.get("errors"), got
    node = got["data"]["node"]
    node["attributes"] = json.loads(node["attributes"])
    return node


def assert_common(span: dict, view: dict, question: str, prompt: int, completion: int) -> None:
    attrs = span["attributes"]
    assert span["name"] == f"chat {MODEL}"
    # `openinference.span.kind`, which Phoenix keeps as the span's kind
    assert span["span_kind"] == "LLM"
    assert view["spanKind"] == "llm"
    assert attrs["llm.model_name"] == OPENAI_MODEL
    assert attrs["llm.provider"] == "openai" and attrs["llm.system"] == "openai"
    assert json.loads(attrs["llm.invocation_parameters"]) == {"temperature": 0.2}
    # the conversation, flat as stored and as the UI's message list
    assert attrs["llm.input_messages.0.message.role"] == "system"
    assert attrs["llm.input_messages.0.message.content"] == SYSTEM
    assert attrs["llm.input_messages.1.message.role"] == "user"
    assert attrs["llm.input_messages.1.message.content"] == question
    assert view["attributes"]["llm"]["input_messages"] == [
        {"message": {"role": "system", "content": SYSTEM}},
        {"message": {"role": "user", "content": question}},
    ]
    assert view["input"]["mimeType"] == "json"
    assert json.loads(view["input"]["value"])["messages"][1] == {"role": "user", "content": question}
    # token counts: ints as stored, and Phoenix's own columns
    assert (attrs["llm.token_count.prompt"], attrs["llm.token_count.completion"]) == (prompt, completion)
    assert attrs["llm.token_count.total"] == prompt + completion
    assert (view["tokenCountPrompt"], view["tokenCountCompletion"], view["tokenCountTotal"]) == (
        prompt, completion, prompt + completion)
    # model and provider are what Phoenix prices the call by
    assert view["costSummary"]["total"]["cost"] > 0, view["costSummary"]


def test_chat(phoenix, gateway):
    question = "Explain how AI works in simple terms."
    span = phoenix_span(phoenix, chat(gateway, question))
    view = ui_view(phoenix, span)
    assert_common(span, view, question, OPENAI_USAGE["prompt_tokens"], OPENAI_USAGE["completion_tokens"])
    attrs = span["attributes"]
    assert attrs["llm.output_messages.0.message.role"] == "assistant"
    assert attrs["llm.output_messages.0.message.content"] == OPENAI_TEXT
    assert view["attributes"]["llm"]["output_messages"] == [
        {"message": {"role": "assistant", "content": OPENAI_TEXT}}]
    assert view["output"] == {"value": OPENAI_TEXT, "mimeType": "text"}
    assert attrs["llm.finish_reason"] == "stop"
    assert attrs["llm.token_count.prompt_details.cache_read"] == CACHED
    assert view["tokenPromptDetails"]["cacheRead"] == CACHED


def test_streamed_chat(phoenix, gateway):
    question = "Stream me an answer."
    span = phoenix_span(phoenix, chat(gateway, question, stream=True, stream_options={"include_usage": True}))
    view = ui_view(phoenix, span)
    assert_common(span, view, question, OPENAI_USAGE["prompt_tokens"], OPENAI_USAGE["completion_tokens"])
    attrs = span["attributes"]
    assert attrs["llm.output_messages.0.message.content"] == OPENAI_TEXT, "the stream's pieces, assembled"
    assert view["output"] == {"value": OPENAI_TEXT, "mimeType": "text"}
    assert "llm.token_count.prompt_details.cache_read" not in attrs, "none reported in the stream"


def test_tool_call(phoenix, gateway):
    question = "What is the weather in Paris?"
    tools = [{"type": "function", "function": {"name": TOOL_NAME, "parameters": {"type": "object"}}}]
    span = phoenix_span(phoenix, chat(gateway, question, tools=tools))
    view = ui_view(phoenix, span)
    assert_common(span, view, question, OPENAI_USAGE["prompt_tokens"], OPENAI_USAGE["completion_tokens"])
    attrs = span["attributes"]
    call = "llm.output_messages.0.message.tool_calls.0.tool_call"
    assert attrs["llm.output_messages.0.message.role"] == "assistant"
    assert "llm.output_messages.0.message.content" not in attrs, "a tool call alone has no text"
    assert attrs[f"{call}.id"] == "call_abc123"
    assert attrs[f"{call}.function.name"] == TOOL_NAME
    assert json.loads(attrs[f"{call}.function.arguments"]) == TOOL_ARGS
    # the UI's output message: the assistant's tool call
    (message,) = view["attributes"]["llm"]["output_messages"]
    (tool_call,) = message["message"]["tool_calls"]
    assert tool_call["tool_call"]["function"]["name"] == TOOL_NAME
    assert attrs["llm.finish_reason"] == "tool_calls"
    # the tool offered, as Phoenix lists a span's tools
    assert json.loads(attrs["llm.tools.0.tool.json_schema"]) == tools[0] | {
        "function": {"name": TOOL_NAME, "description": None, "parameters": {"type": "object"}}}
    (tool,) = view["attributes"]["llm"]["tools"]
    assert json.loads(tool["tool"]["json_schema"])["function"]["name"] == TOOL_NAME
    assert view["output"]["mimeType"] == "json"
    (choice,) = json.loads(view["output"]["value"])
    assert choice["toolCalls"][0]["name"] == TOOL_NAME and choice["finishReason"] == "tool_call"
