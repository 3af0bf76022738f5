"""sluice end to end with the official `openai` and `anthropic` Python SDKs as clients.

One real gateway (this module's `gateway` fixture) routes `/openai` to an OpenAI-compatible
mock, `/gemini` to a Gemini mock (model pinned to gemini-2.0-flash), `/anthropic` to an
Anthropic Messages API mock (model pinned to claude-sonnet-4-5) and `/mock` to the
in-process mock provider. Tests run in file order: the last two check the gateway's log lines
for every request made above, then stop it with SIGTERM and expect exit status 0.
"""

from __future__ import annotations

import json
from collections import Counter

import anthropic
import openai
import pytest

from conftest import (
    ANTHROPIC_BACKEND_MODEL,
    UPSTREAM_ANTHROPIC_KEY,
    UPSTREAM_GOOGLE_KEY,
    UPSTREAM_OPENAI_KEY,
    WAIT,
)
from mock_upstreams import (
    ANTHROPIC_MODEL,
    ANTHROPIC_STREAM_OUTPUT_TOKENS,
    ANTHROPIC_TEXT,
    ANTHROPIC_TOOL_ID,
    ANTHROPIC_TOOL_PREAMBLE,
    ANTHROPIC_USAGE,
    GEMINI_TEXT,
    GEMINI_USAGE,
    OPENAI_MODEL,
    OPENAI_TEXT,
    OPENAI_USAGE,
    TOOL_ARGS,
    TOOL_NAME,
)

PROMPT = "Explain how AI works in simple terms."
# Sent on the /anthropic route, where it must reach the upstream as the top-level `system`.
SYSTEM = "You are a terse assistant. Answer in one sentence."
MOCK_TEXT = f"This is a mock response from sluice. You said: {PROMPT}"

# route -> (expected text, expected (input, output) usage or None when only > 0 is known)
ROUTES = {
    "openai": (OPENAI_TEXT, (OPENAI_USAGE["prompt_tokens"], OPENAI_USAGE["completion_tokens"])),
    "gemini": (GEMINI_TEXT, (GEMINI_USAGE["promptTokenCount"], GEMINI_USAGE["candidatesTokenCount"])),
    # Streamed, the output count is the LAST cumulative message_delta's (12), not 1 + 5 + 12.
    "anthropic": (ANTHROPIC_TEXT, (ANTHROPIC_USAGE["input_tokens"], ANTHROPIC_USAGE["output_tokens"])),
    "mock": (MOCK_TEXT, None),
}

OPENAI_TOOLS = [{
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": "The weather forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
                "details": {"type": "object", "properties": {"wind": {"type": "boolean"}}},
            },
            "required": ["city"],
        },
    },
}]
ANTHROPIC_TOOLS = [{
    "name": TOOL_NAME,
    "description": "The weather forecast for a city.",
    "input_schema": OPENAI_TOOLS[0]["function"]["parameters"],
}]


def oai(gateway, route: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=gateway.url(f"/{route}/v1"),
        api_key="sk-client-own-key",
        max_retries=0,
        http_client=gateway.http_client(),
    )


def anth(gateway, route: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gateway.url(f"/{route}"),
        api_key="x",
        max_retries=0,
        http_client=gateway.http_client(),
    )


def messages(route: str = ""):
    """The chat messages; on /anthropic with a system message first."""
    user = [{"role": "user", "content": PROMPT}]
    return [{"role": "system", "content": SYSTEM}, *user] if route == "anthropic" else user


def system_kwargs(route: str) -> dict:
    """The Anthropic SDK's top-level `system`, sent on the /anthropic route."""
    return {"system": SYSTEM} if route == "anthropic" else {}


@pytest.fixture
def upstreams(openai_upstream, gemini_upstream, anthropic_upstream) -> dict:
    return {"openai": openai_upstream, "gemini": gemini_upstream, "anthropic": anthropic_upstream}


def _text_of(content) -> str:
    """An Anthropic message `content`: a string or a list of text blocks."""
    if isinstance(content, str):
        return content
    assert isinstance(content, list) and all(b.get("type") == "text" for b in content), content
    return "".join(b["text"] for b in content)


def check_upstream(route, upstreams, *, stream: bool, tools: bool = False, max_tokens: int | None = None,
                   sdk: str = "openai"):
    """The request the route's upstream got: path, the gateway's credentials, translated body."""
    if route == "openai":
        up = upstreams["openai"].last()
        assert up.path == "/v1/chat/completions", up.path
        assert up.headers.get("authorization") == f"Bearer {UPSTREAM_OPENAI_KEY}"
        assert up.body["model"] == "gpt-4o-mini"
        assert up.body["messages"][-1]["content"] == PROMPT
        assert bool(up.body.get("stream")) == stream
        if stream:
            # The gateway always asks for stream usage (README: "stream usage requested").
            assert up.body.get("stream_options", {}).get("include_usage") is True, up.body
        if tools:
            assert up.body["tools"][0]["function"]["name"] == TOOL_NAME
    elif route == "gemini":
        up = upstreams["gemini"].last()
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        assert up.path == f"/v1beta/models/gemini-2.0-flash:{method}", up.path
        assert up.headers.get("x-goog-api-key") == UPSTREAM_GOOGLE_KEY
        assert "authorization" not in up.headers, "the client's key must not reach the provider"
        assert up.body["contents"][-1]["role"] == "user"
        assert up.body["contents"][-1]["parts"] == [{"text": PROMPT}]
        if tools:
            decls = [d for t in up.body["tools"] for d in t.get("functionDeclarations", [])]
            assert [d["name"] for d in decls] == [TOOL_NAME], up.body["tools"]
    elif route == "anthropic":
        up = upstreams["anthropic"].last()
        assert up.path == "/v1/messages", up.path
        assert up.headers.get("x-api-key") == UPSTREAM_ANTHROPIC_KEY, up.headers
        assert "authorization" not in up.headers, "the client's key must not reach the provider"
        if sdk == "anthropic":
            # Native pass-through: the client's own `anthropic-version` travels on.
            want = anthropic.Anthropic(api_key="k").default_headers["anthropic-version"]
        else:
            want = "2023-06-01"  # translated: the version sluice speaks
        assert up.headers.get("anthropic-version") == want, up.headers
        body = up.body
        assert isinstance(body, dict), body
        assert body["model"] == ANTHROPIC_BACKEND_MODEL, body
        assert isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0, body
        if max_tokens is not None:
            assert body["max_tokens"] == max_tokens, body
        assert bool(body.get("stream")) == stream, body
        # The system prompt is the top-level `system`, never a message.
        assert _text_of(body.get("system")) == SYSTEM, body
        assert [m["role"] for m in body["messages"]] == ["user"], body["messages"]
        assert _text_of(body["messages"][0]["content"]) == PROMPT, body["messages"]
        if tools:
            assert [t["name"] for t in body["tools"]] == [TOOL_NAME], body["tools"]
            assert body["tools"][0]["input_schema"] == OPENAI_TOOLS[0]["function"]["parameters"]
        else:
            assert not body.get("tools"), body


# --- OpenAI SDK ---------------------------------------------------------------------------

@pytest.mark.parametrize("route", ["openai", "gemini", "anthropic", "mock"])
def test_openai_sdk_chat(gateway, upstreams, route):
    text, usage = ROUTES[route]
    resp = oai(gateway, route).chat.completions.create(model="gpt-4o-mini", messages=messages(route))
    assert resp.object == "chat.completion"
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == text
    assert choice.finish_reason == "stop"
    assert resp.usage is not None
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    if usage:
        assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == usage
    expected_model = {
        "openai": OPENAI_MODEL, "gemini": "gemini-2.0-flash", "anthropic": ANTHROPIC_MODEL, "mock": "mock-1",
    }[route]
    assert resp.model == expected_model
    check_upstream(route, upstreams, stream=False)


@pytest.mark.parametrize("include_usage", [False, True], ids=["no-usage", "include-usage"])
@pytest.mark.parametrize("route", ["openai", "gemini", "anthropic", "mock"])
def test_openai_sdk_stream(gateway, upstreams, route, include_usage):
    text, usage = ROUTES[route]
    kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
    with oai(gateway, route).chat.completions.create(
        model="gpt-4o-mini", messages=messages(route), stream=True, **kwargs
    ) as stream:
        chunks = list(stream)
    assert chunks, "no chunks"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) >= 2, f"expected the text in several chunks, got {len(content_chunks)}"
    assembled = "".join(c.choices[0].delta.content for c in content_chunks)
    assert assembled == text
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    if include_usage:
        last = chunks[-1]
        assert last.usage is not None, f"last chunk has no usage: {last}"
        assert last.choices == []
        assert last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
        if usage:
            assert (last.usage.prompt_tokens, last.usage.completion_tokens) == usage
        assert all(c.usage is None for c in chunks[:-1]), "usage before the last chunk"
    else:
        with_usage = [c for c in chunks if c.usage is not None]
        assert with_usage == [], f"usage not asked for but sent: {with_usage}"
    check_upstream(route, upstreams, stream=True)


def test_openai_sdk_stream_anthropic_usage_is_last_message_delta(gateway, upstreams):
    """Anthropic's message_delta usage is a running total: the stream's usage is the last one."""
    with oai(gateway, "anthropic").chat.completions.create(
        model="gpt-4o-mini", messages=messages("anthropic"), stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = list(stream)
    usage = chunks[-1].usage
    assert usage is not None, chunks[-1]
    first, middle, last = ANTHROPIC_STREAM_OUTPUT_TOKENS
    assert usage.completion_tokens == last, (
        f"completion_tokens {usage.completion_tokens}: expected the last message_delta's {last} "
        f"(not {middle + last} or {first + middle + last})"
    )
    assert usage.prompt_tokens == ANTHROPIC_USAGE["input_tokens"], usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    # Each chunk names the model the upstream answered with.
    assert {c.model for c in chunks} == {ANTHROPIC_MODEL}
    check_upstream("anthropic", upstreams, stream=True)
    # The gateway's own accounting (its log line) agrees with what the client saw.
    logs = gateway.wait_for_request_logs(len(gateway.responses))
    mine = [l for l in logs if l.get("http.path") == "/anthropic/v1/chat/completions"]
    assert mine, logs
    assert int(mine[-1].get("llm.request.tokens") or 0) == ANTHROPIC_USAGE["input_tokens"], mine[-1]
    assert int(mine[-1].get("llm.response.tokens") or 0) == last, mine[-1]


@pytest.mark.parametrize("route", ["openai", "gemini", "anthropic"])
def test_openai_sdk_tools(gateway, upstreams, route):
    resp = oai(gateway, route).chat.completions.create(
        model="gpt-4o-mini", messages=messages(route), tools=OPENAI_TOOLS
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls and len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == TOOL_NAME
    assert json.loads(call.function.arguments) == TOOL_ARGS
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    if route == "anthropic":
        # Claude's text before the tool_use block stays the message's content.
        assert choice.message.content == ANTHROPIC_TOOL_PREAMBLE
        assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == ROUTES[route][1]
    check_upstream(route, upstreams, stream=False, tools=True)


@pytest.mark.parametrize("route", ["openai", "gemini", "anthropic"])
def test_openai_sdk_tools_stream(gateway, upstreams, route):
    with oai(gateway, route).chat.completions.create(
        model="gpt-4o-mini", messages=messages(route), tools=OPENAI_TOOLS, stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = list(stream)
    name, args, ids, text = "", "", set(), ""
    for c in chunks:
        if not c.choices:
            continue
        text += c.choices[0].delta.content or ""
        for tc in c.choices[0].delta.tool_calls or []:
            assert tc.index == 0
            if tc.id:
                ids.add(tc.id)
            if tc.function and tc.function.name:
                name += tc.function.name
            if tc.function and tc.function.arguments:
                args += tc.function.arguments
    assert len(ids) == 1
    assert name == TOOL_NAME
    assert json.loads(args) == TOOL_ARGS
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    if route == "anthropic":
        assert text == ANTHROPIC_TOOL_PREAMBLE
        assert ids == {ANTHROPIC_TOOL_ID}
        assert chunks[-1].usage.completion_tokens == ANTHROPIC_STREAM_OUTPUT_TOKENS[-1]
    check_upstream(route, upstreams, stream=True, tools=True)


# --- Anthropic SDK ------------------------------------------------------------------------

@pytest.mark.parametrize("route", ["gemini", "anthropic", "mock"])
def test_anthropic_sdk_create(gateway, upstreams, route):
    text, usage = ROUTES[route]
    msg = anth(gateway, route).messages.create(
        model="claude-x", max_tokens=200, messages=messages(), **system_kwargs(route)
    )
    assert msg.type == "message"
    assert msg.role == "assistant"
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == text
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    if usage:
        assert (msg.usage.input_tokens, msg.usage.output_tokens) == usage
    check_upstream(route, upstreams, stream=False, max_tokens=200, sdk="anthropic")


@pytest.mark.parametrize("route", ["gemini", "anthropic", "mock"])
def test_anthropic_sdk_stream(gateway, upstreams, route):
    text, usage = ROUTES[route]
    with anth(gateway, route).messages.stream(
        model="claude-x", max_tokens=200, messages=messages(), **system_kwargs(route)
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) >= 2, f"expected the text in several deltas, got {pieces}"
    assert "".join(pieces) == text
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    if usage:
        assert final.usage.output_tokens == usage[1]
    if route == "anthropic":
        assert final.usage.input_tokens == usage[0]
    check_upstream(route, upstreams, stream=True, max_tokens=200, sdk="anthropic")


@pytest.mark.parametrize("route", ["gemini", "anthropic"])
def test_anthropic_sdk_tools(gateway, upstreams, route):
    msg = anth(gateway, route).messages.create(
        model="claude-x", max_tokens=200, messages=messages(), tools=ANTHROPIC_TOOLS,
        **system_kwargs(route),
    )
    assert msg.stop_reason == "tool_use"
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert len(uses) == 1, msg.content
    assert uses[0].id
    assert uses[0].name == TOOL_NAME
    assert uses[0].input == TOOL_ARGS
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    if route == "anthropic":
        assert [b.type for b in msg.content] == ["text", "tool_use"], msg.content
        assert msg.content[0].text == ANTHROPIC_TOOL_PREAMBLE
    check_upstream(route, upstreams, stream=False, tools=True, max_tokens=200, sdk="anthropic")


@pytest.mark.parametrize("route", ["gemini", "anthropic"])
def test_anthropic_sdk_tools_stream(gateway, upstreams, route):
    with anth(gateway, route).messages.stream(
        model="claude-x", max_tokens=200, messages=messages(), tools=ANTHROPIC_TOOLS,
        **system_kwargs(route),
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    uses = [b for b in final.content if b.type == "tool_use"]
    assert len(uses) == 1, final.content
    assert uses[0].name == TOOL_NAME
    assert uses[0].input == TOOL_ARGS
    assert final.usage.output_tokens > 0
    if route == "anthropic":
        assert [b.type for b in final.content] == ["text", "tool_use"], final.content
        assert final.content[0].text == ANTHROPIC_TOOL_PREAMBLE
        assert final.usage.output_tokens == ANTHROPIC_STREAM_OUTPUT_TOKENS[-1]
    check_upstream(route, upstreams, stream=True, tools=True, max_tokens=200, sdk="anthropic")


# --- Errors -------------------------------------------------------------------------------

def test_anthropic_sdk_bad_request(gateway, gemini_upstream):
    before = len(gemini_upstream.requests)
    with pytest.raises(anthropic.BadRequestError) as ei:
        anth(gateway, "gemini").messages.create(
            model="claude-x", max_tokens=100,
            messages=[{"role": "moderator", "content": "moderator is not a message role"}],
        )
    err = ei.value
    assert err.status_code == 400
    assert isinstance(err.body, dict) and err.body.get("type") == "error", err.body
    assert err.body["error"]["type"] == "invalid_request_error"
    assert "role" in err.body["error"]["message"]
    assert len(gemini_upstream.requests) == before, "a rejected request must not reach the upstream"


def test_openai_sdk_no_route_is_not_found(gateway):
    with pytest.raises(openai.NotFoundError) as ei:
        oai(gateway, "nowhere").chat.completions.create(model="gpt-4o-mini", messages=messages())
    err = ei.value
    assert err.status_code == 404
    # The SDK keeps the `error` object of an OpenAI-shaped error body.
    assert isinstance(err.body, dict), err.body
    assert err.body.get("message"), err.body
    assert err.body.get("type") == "invalid_request_error", err.body


# --- Log lines and shutdown (keep these last) --------------------------------------------

def test_every_request_logged_with_tokens(gateway):
    seen = Counter(gateway.responses)
    n = sum(seen.values())
    assert n > 0, "no requests were made before this test"
    logs = gateway.wait_for_request_logs(n, WAIT)
    logged = Counter((l.get("http.path"), int(l.get("http.status", 0))) for l in logs)
    assert logged == seen, f"log lines {logged} != responses {seen}"
    ok = [l for l in logs if l.get("http.status") == "200"]
    assert ok
    bad = [
        l for l in ok
        if int(l.get("llm.request.tokens") or 0) <= 0 or int(l.get("llm.response.tokens") or 0) <= 0
    ]
    assert bad == [], "log lines without token counts:\n" + "\n".join(map(str, bad))
    for l in ok:
        route = l["http.path"].split("/")[1]
        assert l.get("route") == route, l
        assert l.get("llm.provider") == route, l


def test_sigterm_exits_zero(gateway):
    rc = gateway.terminate()
    assert rc == 0, "sluice exited with {}; stderr:\n{}".format(rc, "\n".join(gateway.stderr))
