"""Mock upstream providers on real HTTP (127.0.0.1, port 0), each in a thread.

- ``OpenAIUpstream``: ``POST .../chat/completions`` answering a fixed completion, an SSE stream
  (with a usage chunk when ``stream_options.include_usage``) or a tool call when the request
  has ``tools``.
- ``GeminiUpstream``: ``POST /v1beta/models/{model}:generateContent`` and
  ``:streamGenerateContent?alt=sse``, Gemini-shaped (candidates/content/parts, usageMetadata,
  ``functionCall`` parts when the request declares tools).

Both record every request they get (method, path, headers, JSON body).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

OPENAI_TEXT = "Hello from the mock OpenAI upstream, in five pieces."
OPENAI_PIECES = ["Hello ", "from the mock ", "OpenAI upstream", ", in five", " pieces."]
OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
OPENAI_USAGE = {"prompt_tokens": 11, "completion_tokens": 12, "total_tokens": 23}

GEMINI_TEXT = "Gemini says hi: streams arrive in parts."
GEMINI_PIECES = ["Gemini says hi", ": streams arrive", " in parts."]
GEMINI_USAGE = {"promptTokenCount": 9, "candidatesTokenCount": 10, "totalTokenCount": 19}

TOOL_NAME = "get_weather"
TOOL_ARGS = {"city": "Paris", "unit": "celsius", "days": 3, "details": {"wind": True}}

STREAM_DELAY = 0.01  # seconds between SSE events, so the gateway sees them one by one


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Base:
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, r: Recorded) -> None:
        with self.lock:
            self.requests.append(r)

    def snapshot(self) -> list[Recorded]:
        with self.lock:
            return list(self.requests)

    def last(self) -> Recorded:
        reqs = self.snapshot()
        assert reqs, "the upstream got no request"
        return reqs[-1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: "MockServer"  # set on the subclass

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = Recorded(
            method="POST",
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.upstream.state.record(rec)
        self.upstream.handle(self, rec)

    def do_GET(self) -> None:  # noqa: N802
        self.send_json(404, {"error": {"message": "not here", "type": "invalid_request_error"}})

    # helpers -----------------------------------------------------------------------------
    def send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def send_sse(self, events: list[str], sep: str = "\n\n") -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for ev in events:
            data = f"data: {ev}{sep}".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
            time.sleep(STREAM_DELAY)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class MockServer:
    def __init__(self) -> None:
        self.state = _Base()
        handler = type("H", (_Handler,), {"upstream": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[Recorded]:
        return self.state.snapshot()

    def last(self) -> Recorded:
        return self.state.last()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, h: _Handler, rec: Recorded) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class OpenAIUpstream(MockServer):
    """An OpenAI-compatible Chat Completions upstream."""

    def handle(self, h: _Handler, rec: Recorded) -> None:
        if not urlsplit(rec.path).path.endswith("/chat/completions"):
            h.send_json(404, {"error": {"message": f"no such path {rec.path}", "type": "invalid_request_error"}})
            return
        body = rec.body if isinstance(rec.body, dict) else {}
        tools = bool(body.get("tools"))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            h.send_sse(self.stream_events(tools, include_usage))
        else:
            h.send_json(200, self.completion(tools))

    @staticmethod
    def completion(tools: bool) -> dict:
        if tools:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{
                    "id": "call_abc123",
                    "type": "function",
                    "function": {"name": TOOL_NAME, "arguments": json.dumps(TOOL_ARGS)},
                }],
            }
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": OPENAI_TEXT}
            finish = "stop"
        return {
            "id": "chatcmpl-mock-1",
            "object": "chat.completion",
            "created": 1700000000,
            "model": OPENAI_MODEL,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": dict(OPENAI_USAGE),
            "system_fingerprint": "fp_mock",
        }

    @staticmethod
    def stream_events(tools: bool, include_usage: bool) -> list[str]:
        def chunk(delta: dict, finish: str | None = None) -> str:
            c = {
                "id": "chatcmpl-mock-2",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": OPENAI_MODEL,
                "system_fingerprint": "fp_mock",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                c["usage"] = None
            return json.dumps(c)

        events = []
        if tools:
            args = json.dumps(TOOL_ARGS)
            events.append(chunk({"role": "assistant", "content": None, "tool_calls": [{
                "index": 0, "id": "call_abc123", "type": "function",
                "function": {"name": TOOL_NAME, "arguments": ""}}]}))
            third = len(args) // 3
            for part in (args[:third], args[third:2 * third], args[2 * third:]):
                events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
            events.append(chunk({}, "tool_calls"))
        else:
            events.append(chunk({"role": "assistant", "content": ""}))
            for piece in OPENAI_PIECES:
                events.append(chunk({"content": piece}))
            events.append(chunk({}, "stop"))
        if include_usage:
            events.append(json.dumps({
                "id": "chatcmpl-mock-2", "object": "chat.completion.chunk", "created": 1700000000,
                "model": OPENAI_MODEL, "system_fingerprint": "fp_mock", "choices": [],
                "usage": dict(OPENAI_USAGE),
            }))
        events.append("[DONE]")
        return events


_GEMINI_PATH = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")


class GeminiUpstream(MockServer):
    """Google's Gemini API (v1beta generateContent / streamGenerateContent?alt=sse)."""

    def handle(self, h: _Handler, rec: Recorded) -> None:
        url = urlsplit(rec.path)
        m = _GEMINI_PATH.match(url.path)
        if not m:
            h.send_json(404, {"error": {"code": 404, "message": f"no such path {rec.path}", "status": "NOT_FOUND"}})
            return
        body = rec.body if isinstance(rec.body, dict) else {}
        tools = any(t.get("functionDeclarations") for t in body.get("tools") or [] if isinstance(t, dict))
        model = m.group("model")
        if m.group("method") == "streamGenerateContent":
            if url.query != "alt=sse":
                h.send_json(400, {"error": {"code": 400, "message": "this mock only streams SSE", "status": "INVALID_ARGUMENT"}})
                return
            # Google's SSE separates events with CRLF CRLF.
            h.send_sse(self.stream_events(model, tools), sep="\r\n\r\n")
        else:
            h.send_json(200, self.response(model, tools))

    @staticmethod
    def _envelope(model: str, parts: list[dict], finish: str | None, usage: dict) -> dict:
        cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            cand["finishReason"] = finish
        return {
            "candidates": [cand],
            "usageMetadata": usage,
            "modelVersion": model,
            "responseId": "gemini-mock-response-id",
        }

    @classmethod
    def response(cls, model: str, tools: bool) -> dict:
        if tools:
            parts = [{"functionCall": {"name": TOOL_NAME, "args": TOOL_ARGS}}]
        else:
            parts = [{"text": GEMINI_TEXT}]
        return cls._envelope(model, parts, "STOP", dict(GEMINI_USAGE))

    @classmethod
    def stream_events(cls, model: str, tools: bool) -> list[str]:
        partial = {"promptTokenCount": GEMINI_USAGE["promptTokenCount"],
                   "totalTokenCount": GEMINI_USAGE["promptTokenCount"]}
        if tools:
            return [json.dumps(cls._envelope(
                model, [{"functionCall": {"name": TOOL_NAME, "args": TOOL_ARGS}}], "STOP", dict(GEMINI_USAGE)))]
        events = []
        for i, piece in enumerate(GEMINI_PIECES):
            last = i == len(GEMINI_PIECES) - 1
            events.append(json.dumps(cls._envelope(
                model, [{"text": piece}], "STOP" if last else None,
                dict(GEMINI_USAGE) if last else dict(partial))))
        return events
