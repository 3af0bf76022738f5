"""Mock upstream providers on real HTTP (127.0.0.1, port 0), each in a thread.

- ``OpenAIUpstream``: ``POST .../chat/completions`` answering a fixed completion, an SSE stream
  (with a usage chunk when ``stream_options.include_usage``) or a tool call when the request
  has ``tools``; and ``POST .../responses`` (the Responses API): a ``response`` object or, with
  ``"stream": true``, the Responses event stream (``response.created`` ... ``response.completed``,
  each event with its ``sequence_number``), a ``function_call`` item when the request has
  ``tools``.
- ``GeminiUpstream``: ``POST /{v1,v1beta}/models/{model}:generateContent``,
  ``:streamGenerateContent`` (``?alt=sse``, or without it Google's JSON-array form) and
  ``:countTokens``, Gemini-shaped (candidates/content/parts, usageMetadata, ``functionCall``
  parts when the request declares tools).
- ``AnthropicUpstream``: ``POST /v1/messages``, a ``message`` (text, or a short text then a
  ``tool_use`` block when the request has ``tools``) or, with ``"stream": true``, Anthropic's
  full SSE event sequence (``event:`` lines, ``message_start``, ``ping``, content blocks with
  ``text_delta`` / ``input_json_delta`` pieces, two ``message_delta`` events whose usage is
  cumulative, ``message_stop``); and ``POST /v1/messages/count_tokens``.

Every mock asked for a tool call answers it once: a request that already carries a tool's
result (a ``tool`` message, a ``function_call_output`` item, a ``tool_result`` block, a
``functionResponse`` part) gets that mock's ``*_TOOL_FOLLOWUP`` text instead. All record every
request they get (method, path, headers, JSON body).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OPENAI_TEXT = "Hello from the mock OpenAI upstream, in five pieces."
OPENAI_PIECES = ["Hello ", "from the mock ", "OpenAI upstream", ", in five", " pieces."]
OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
OPENAI_USAGE = {"prompt_tokens": 11, "completion_tokens": 12, "total_tokens": 23}

# The Responses API upstream (``POST /v1/responses`` on the OpenAI mock).
RESPONSES_TEXT = "Responses mock: this output text arrives in four deltas."
RESPONSES_PIECES = ["Responses mock", ": this output text", " arrives in four", " deltas."]
RESPONSES_USAGE = {"input_tokens": 17, "output_tokens": 13, "total_tokens": 30}
RESPONSES_CALL_ID = "call_resp_mock_1"

GEMINI_TEXT = "Gemini says hi: streams arrive in parts."
GEMINI_PIECES = ["Gemini says hi", ": streams arrive", " in parts."]
GEMINI_USAGE = {"promptTokenCount": 9, "candidatesTokenCount": 10, "totalTokenCount": 19}
# What ``:countTokens`` answers, whatever the request.
GEMINI_COUNT_TOKENS = 42

ANTHROPIC_TEXT = "Claude here: this answer streams in four deltas."
ANTHROPIC_PIECES = ["Claude here", ": this answer", " streams in four", " deltas."]
# What the mock answers, whatever model the gateway asks for (the response's `model`).
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"
ANTHROPIC_USAGE = {"input_tokens": 14, "output_tokens": 12}
# What ``/v1/messages/count_tokens`` answers, whatever the request.
ANTHROPIC_COUNT_TOKENS = 27
# Streaming: message_start reports output_tokens 1, then two message_delta events report the
# running totals 5 and 12 (cumulative, so the stream's usage is the last one, 12; never a sum).
ANTHROPIC_STREAM_OUTPUT_TOKENS = [1, 5, ANTHROPIC_USAGE["output_tokens"]]
# The text block Claude puts before a tool_use block.
ANTHROPIC_TOOL_PREAMBLE = "Let me look up the forecast."
ANTHROPIC_TOOL_ID = "toolu_01A09q90qw90lq917835lq9"

TOOL_NAME = "get_weather"
TOOL_ARGS = {"city": "Paris", "unit": "celsius", "days": 3, "details": {"wind": True}}

# The answer after a tool's result came back, per mock.
OPENAI_TOOL_FOLLOWUP = "Chat mock, after the tool: sunny in Paris for three days."
RESPONSES_TOOL_FOLLOWUP = "Responses mock, after the tool: sunny in Paris for three days."
GEMINI_TOOL_FOLLOWUP = "Gemini mock, after the tool: sunny in Paris for three days."
ANTHROPIC_TOOL_FOLLOWUP = "Claude mock, after the tool: sunny in Paris for three days."

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


def send_named_sse(h: _Handler, events: list[tuple[str, dict]], headers: dict[str, str] | None = None) -> None:
    """SSE with ``event:`` lines (the Anthropic Messages and the Responses streams)."""
    h.send_response(200)
    h.send_header("content-type", "text/event-stream; charset=utf-8")
    h.send_header("cache-control", "no-cache")
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("transfer-encoding", "chunked")
    h.end_headers()
    for name, data in events:
        payload = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        h.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        h.wfile.flush()
        time.sleep(STREAM_DELAY)
    h.wfile.write(b"0\r\n\r\n")
    h.wfile.flush()


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


def _halves(text: str) -> list[str]:
    return [text[: len(text) // 2], text[len(text) // 2:]]


class OpenAIUpstream(MockServer):
    """An OpenAI upstream: Chat Completions and the Responses API."""

    def handle(self, h: _Handler, rec: Recorded) -> None:
        path = urlsplit(rec.path).path
        body = rec.body if isinstance(rec.body, dict) else {}
        if path == "/v1/responses":
            self.handle_responses(h, body)
            return
        if not path.endswith("/chat/completions"):
            h.send_json(404, {"error": {"message": f"no such path {rec.path}", "type": "invalid_request_error"}})
            return
        answered = any(m.get("role") == "tool" for m in body.get("messages") or [] if isinstance(m, dict))
        tools = bool(body.get("tools")) and not answered
        text, pieces = (OPENAI_TOOL_FOLLOWUP, _halves(OPENAI_TOOL_FOLLOWUP)) if answered else (OPENAI_TEXT, OPENAI_PIECES)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            h.send_sse(self.stream_events(tools, include_usage, pieces))
        else:
            h.send_json(200, self.completion(tools, text))

    @staticmethod
    def completion(tools: bool, text: str = OPENAI_TEXT) -> dict:
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
            message = {"role": "assistant", "content": text}
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
    def stream_events(tools: bool, include_usage: bool, pieces: list[str] = OPENAI_PIECES) -> list[str]:
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
            for piece in pieces:
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

    # --- the Responses API ----------------------------------------------------------------
    def handle_responses(self, h: _Handler, body: dict) -> None:
        if not body.get("model") or "input" not in body:
            h.send_json(400, {"error": {"message": "model and input are required",
                                        "type": "invalid_request_error", "param": None, "code": None}})
            return
        items = body["input"] if isinstance(body["input"], list) else []
        answered = any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items)
        tools = bool(body.get("tools")) and not answered
        text = RESPONSES_TOOL_FOLLOWUP if answered else RESPONSES_TEXT
        if body.get("stream"):
            pieces = _halves(text) if answered else RESPONSES_PIECES
            send_named_sse(h, self.responses_stream(body, tools, pieces))
        else:
            h.send_json(200, self.response_object(body, [self.output_item(tools, text)]))

    @staticmethod
    def response_object(req: dict, output: list[dict], done: bool = True) -> dict:
        """A Responses API ``response``: completed with usage, or ``in_progress`` without."""
        return {
            "id": "resp_mock_0123456789", "object": "response", "created_at": 1700000000,
            "status": "completed" if done else "in_progress", "background": False, "error": None,
            "incomplete_details": None, "instructions": req.get("instructions"),
            "max_output_tokens": req.get("max_output_tokens"), "model": OPENAI_MODEL,
            "output": output, "parallel_tool_calls": True, "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "service_tier": "default",
            "store": req.get("store", True), "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": req.get("tool_choice", "auto"), "tools": req.get("tools") or [],
            "top_p": 1.0, "truncation": "disabled",
            "usage": {
                "input_tokens": RESPONSES_USAGE["input_tokens"],
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": RESPONSES_USAGE["output_tokens"],
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": RESPONSES_USAGE["total_tokens"],
            } if done else None,
            "user": None, "metadata": {},
        }

    @staticmethod
    def output_item(tools: bool, text: str, done: bool = True) -> dict:
        status = "completed" if done else "in_progress"
        if tools:
            return {"type": "function_call", "id": "fc_mock_0123456789", "call_id": RESPONSES_CALL_ID,
                    "name": TOOL_NAME, "arguments": json.dumps(TOOL_ARGS) if done else "", "status": status}
        content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if done else []
        return {"type": "message", "id": "msg_mock_0123456789", "status": status, "role": "assistant",
                "content": content}

    @classmethod
    def responses_stream(cls, req: dict, tools: bool, pieces: list[str]) -> list[tuple[str, dict]]:
        """The Responses event stream, as the API sends it (one output item)."""
        text = "".join(pieces)
        item = cls.output_item(tools, text)
        iid = item["id"]
        ev: list[dict] = [
            {"type": "response.created", "response": cls.response_object(req, [], done=False)},
            {"type": "response.in_progress", "response": cls.response_object(req, [], done=False)},
            {"type": "response.output_item.added", "output_index": 0, "item": cls.output_item(tools, text, False)},
        ]
        if tools:
            args = item["arguments"]
            third = len(args) // 3
            for part in (args[:third], args[third:2 * third], args[2 * third:]):
                ev.append({"type": "response.function_call_arguments.delta", "item_id": iid,
                           "output_index": 0, "delta": part})
            ev.append({"type": "response.function_call_arguments.done", "item_id": iid,
                       "output_index": 0, "name": TOOL_NAME, "arguments": args})
        else:
            at = {"item_id": iid, "output_index": 0, "content_index": 0}
            ev.append({"type": "response.content_part.added", **at,
                       "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}})
            for p in pieces:
                ev.append({"type": "response.output_text.delta", **at, "delta": p, "logprobs": []})
            ev.append({"type": "response.output_text.done", **at, "text": text, "logprobs": []})
            ev.append({"type": "response.content_part.done", **at, "part": item["content"][0]})
        ev.append({"type": "response.output_item.done", "output_index": 0, "item": item})
        ev.append({"type": "response.completed", "response": cls.response_object(req, [item])})
        return [(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(ev)]



_GEMINI_PATH = re.compile(
    r"^/(?P<version>v1|v1beta)/models/(?P<model>[^/:]+):"
    r"(?P<method>generateContent|streamGenerateContent|countTokens)$")


class GeminiUpstream(MockServer):
    """Google's Gemini API under ``v1`` and ``v1beta``: generateContent, streamGenerateContent
    (SSE with ``?alt=sse``, else a JSON array) and countTokens."""

    def handle(self, h: _Handler, rec: Recorded) -> None:
        url = urlsplit(rec.path)
        m = _GEMINI_PATH.match(url.path)
        if not m:
            h.send_json(404, {"error": {"code": 404, "message": f"no such path {rec.path}", "status": "NOT_FOUND"}})
            return
        body = rec.body if isinstance(rec.body, dict) else {}
        if m.group("method") == "countTokens":
            h.send_json(200, {"totalTokens": GEMINI_COUNT_TOKENS})
            return
        if not body.get("contents"):
            h.send_json(400, {"error": {"code": 400, "message": "contents is required", "status": "INVALID_ARGUMENT"}})
            return
        answered = any("functionResponse" in part for c in body["contents"] for part in c.get("parts") or [])
        tools = not answered and any(
            t.get("functionDeclarations") for t in body.get("tools") or [] if isinstance(t, dict))
        pieces = _halves(GEMINI_TOOL_FOLLOWUP) if answered else GEMINI_PIECES
        model = m.group("model")
        if m.group("method") == "streamGenerateContent":
            events = self.stream_events(model, tools, pieces)
            if parse_qs(url.query).get("alt") == ["sse"]:
                # Google's SSE separates events with CRLF CRLF.
                h.send_sse(events, sep="\r\n\r\n")
            else:
                # Without alt=sse, Google streams one JSON array, an element per chunk.
                h.send_json(200, [json.loads(e) for e in events])
        else:
            h.send_json(200, self.response(model, tools, "".join(pieces)))

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
    def response(cls, model: str, tools: bool, text: str = GEMINI_TEXT) -> dict:
        if tools:
            parts = [{"functionCall": {"name": TOOL_NAME, "args": TOOL_ARGS}}]
        else:
            parts = [{"text": text}]
        return cls._envelope(model, parts, "STOP", dict(GEMINI_USAGE))

    @classmethod
    def stream_events(cls, model: str, tools: bool, pieces: list[str] = GEMINI_PIECES) -> list[str]:
        partial = {"promptTokenCount": GEMINI_USAGE["promptTokenCount"],
                   "totalTokenCount": GEMINI_USAGE["promptTokenCount"]}
        if tools:
            return [json.dumps(cls._envelope(
                model, [{"functionCall": {"name": TOOL_NAME, "args": TOOL_ARGS}}], "STOP", dict(GEMINI_USAGE)))]
        events = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            events.append(json.dumps(cls._envelope(
                model, [{"text": piece}], "STOP" if last else None,
                dict(GEMINI_USAGE) if last else dict(partial))))
        return events


class AnthropicUpstream(MockServer):
    """Anthropic's Messages API (``POST /v1/messages``), streaming and not."""

    def handle(self, h: _Handler, rec: Recorded) -> None:
        if urlsplit(rec.path).path == "/v1/messages/count_tokens":
            h.send_json(200, {"input_tokens": ANTHROPIC_COUNT_TOKENS})
            return
        if urlsplit(rec.path).path != "/v1/messages":
            h.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": f"no such path {rec.path}"}})
            return
        body = rec.body if isinstance(rec.body, dict) else {}
        if not body.get("max_tokens") or not body.get("messages"):
            h.send_json(400, {"type": "error", "error": {
                "type": "invalid_request_error", "message": "max_tokens and messages are required"}})
            return
        answered = any(
            isinstance(b, dict) and b.get("type") == "tool_result"
            for m in body["messages"] if isinstance(m.get("content"), list) for b in m["content"])
        tools = bool(body.get("tools")) and not answered
        pieces = _halves(ANTHROPIC_TOOL_FOLLOWUP) if answered else ANTHROPIC_PIECES
        if body.get("stream"):
            self.send_events(h, self.stream_events(tools, pieces))
        else:
            h.send_json(200, self.message(tools, "".join(pieces)))

    @staticmethod
    def _usage(input_tokens: int, output_tokens: int) -> dict:
        return {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }

    @classmethod
    def message(cls, tools: bool, text: str = ANTHROPIC_TEXT) -> dict:
        if tools:
            content = [
                {"type": "text", "text": ANTHROPIC_TOOL_PREAMBLE},
                {"type": "tool_use", "id": ANTHROPIC_TOOL_ID, "name": TOOL_NAME, "input": TOOL_ARGS},
            ]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": text}]
            stop = "end_turn"
        return {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": ANTHROPIC_MODEL,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": cls._usage(ANTHROPIC_USAGE["input_tokens"], ANTHROPIC_USAGE["output_tokens"]),
        }

    @classmethod
    def stream_events(cls, tools: bool, pieces: list[str] = ANTHROPIC_PIECES) -> list[tuple[str, dict]]:
        first, middle, last = ANTHROPIC_STREAM_OUTPUT_TOKENS
        ev: list[tuple[str, dict]] = [
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_01StreamMockAnthropic", "type": "message", "role": "assistant",
                "model": ANTHROPIC_MODEL, "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": cls._usage(ANTHROPIC_USAGE["input_tokens"], first)}}),
            ("ping", {"type": "ping"}),
        ]

        def text_block(index: int, pieces: list[str]) -> None:
            ev.append(("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": {"type": "text", "text": ""}}))
            for p in pieces:
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "text_delta", "text": p}}))
            ev.append(("content_block_stop", {"type": "content_block_stop", "index": index}))

        if tools:
            text_block(0, [ANTHROPIC_TOOL_PREAMBLE[:9], ANTHROPIC_TOOL_PREAMBLE[9:]])
            ev.append(("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
                "type": "tool_use", "id": ANTHROPIC_TOOL_ID, "name": TOOL_NAME, "input": {}}}))
            args = json.dumps(TOOL_ARGS)
            third = len(args) // 3
            # Claude's first input_json_delta is often empty.
            for part in ("", args[:third], args[third:2 * third], args[2 * third:]):
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": 1,
                                                   "delta": {"type": "input_json_delta", "partial_json": part}}))
            ev.append(("content_block_stop", {"type": "content_block_stop", "index": 1}))
            stop = "tool_use"
        else:
            text_block(0, pieces)
            stop = "end_turn"
        # Running totals, not increments: 5, then 12 (the last one carries input_tokens too, as
        # the API does now).
        ev.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": None, "stop_sequence": None},
                                     "usage": {"output_tokens": middle}}))
        ev.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"input_tokens": ANTHROPIC_USAGE["input_tokens"],
                                               "output_tokens": last}}))
        ev.append(("message_stop", {"type": "message_stop"}))
        return ev

    @staticmethod
    def send_events(h: _Handler, events: list[tuple[str, dict]]) -> None:
        send_named_sse(h, events, {"request-id": "req_mock_anthropic"})
