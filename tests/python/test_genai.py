"""sluice's Gemini front door (`<route>/{v1,v1beta}/models/{model}:generateContent`,
`:streamGenerateContent`, `:countTokens`) with the official `google-genai` SDK as client, under
both API versions.

The routes (see conftest.py): `/gemini` (model pinned to gemini-2.0-flash, apiVersion v1beta)
and `/google` (nothing pinned) speak Gemini natively: the body passes to the Gemini mock as the
SDK sent it. `/openai` (Chat Completions) and `/anthropic` (Messages, model pinned to
claude-sonnet-4-5) are translated; `/mock` answers in-process. The SDK sends its key as
`x-goog-api-key`; the upstream must get the backend's key instead. The last test checks the
gateway's log line for every request made above.

Token counting across formats is the gateway's own estimate (no provider is asked to generate):
asserted only to be positive, small for a short prompt and larger for a longer one.
"""

from __future__ import annotations

import json

import pytest
from google import genai
from google.genai import errors, types

from conftest import (
    ANTHROPIC_BACKEND_MODEL,
    UPSTREAM_ANTHROPIC_KEY,
    UPSTREAM_GOOGLE_KEY,
    UPSTREAM_OPENAI_KEY,
)
from mock_upstreams import (
    ANTHROPIC_COUNT_TOKENS,
    ANTHROPIC_MODEL,
    ANTHROPIC_STREAM_OUTPUT_TOKENS,
    ANTHROPIC_TEXT,
    ANTHROPIC_TOOL_FOLLOWUP,
    ANTHROPIC_TOOL_PREAMBLE,
    ANTHROPIC_USAGE,
    GEMINI_COUNT_TOKENS,
    GEMINI_TEXT,
    GEMINI_TOOL_FOLLOWUP,
    GEMINI_USAGE,
    OPENAI_MODEL,
    OPENAI_TEXT,
    OPENAI_TOOL_FOLLOWUP,
    OPENAI_USAGE,
    TOOL_ARGS,
    TOOL_NAME,
)

MODEL = "gemini-2.5-flash"  # what the client asks for
PINNED = "gemini-2.0-flash"  # what the /gemini backend pins
PROMPT = "Explain how AI works in simple terms."
INSTRUCTIONS = "You are a terse assistant. Answer in one sentence."
MAX_OUTPUT_TOKENS = 300
CLIENT_KEY = "client-own-google-key-0000"
TOOL_RESULT = "forecast-marker-7f3a: sunny, 21 degrees"
MOCK_TEXT = f"This is a mock response from sluice. You said: {PROMPT}"

VERSIONS = ["v1", "v1beta"]
NATIVE = ["gemini", "google"]
PROVIDERS = [*NATIVE, "openai", "anthropic"]

# route -> (text, (prompt, candidates) token counts or None when only > 0 is known, modelVersion)
EXPECT = {
    "gemini": (GEMINI_TEXT, (GEMINI_USAGE["promptTokenCount"], GEMINI_USAGE["candidatesTokenCount"]), PINNED),
    "google": (GEMINI_TEXT, (GEMINI_USAGE["promptTokenCount"], GEMINI_USAGE["candidatesTokenCount"]), MODEL),
    "openai": (OPENAI_TEXT, (OPENAI_USAGE["prompt_tokens"], OPENAI_USAGE["completion_tokens"]), OPENAI_MODEL),
    # Streamed, Anthropic's output count is the last cumulative message_delta's, never a sum.
    "anthropic": (ANTHROPIC_TEXT, (ANTHROPIC_USAGE["input_tokens"], ANTHROPIC_USAGE["output_tokens"]),
                  ANTHROPIC_MODEL),
    "mock": (MOCK_TEXT, None, "mock-1"),
}
FOLLOWUP = {"gemini": GEMINI_TOOL_FOLLOWUP, "google": GEMINI_TOOL_FOLLOWUP,
            "openai": OPENAI_TOOL_FOLLOWUP, "anthropic": ANTHROPIC_TOOL_FOLLOWUP}
UPSTREAM_OF = {"gemini": "gemini", "google": "gemini", "openai": "openai", "anthropic": "anthropic"}

# The tool's parameters as JSON Schema (what OpenAI and Anthropic get), and as Gemini's Schema.
PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"},
        "details": {"type": "object", "properties": {"wind": {"type": "boolean"}}},
    },
    "required": ["city"],
}
S = types.Schema
GEMINI_SCHEMA = S(type="OBJECT", required=["city"], properties={
    "city": S(type="STRING"),
    "unit": S(type="STRING", enum=["celsius", "fahrenheit"]),
    "days": S(type="INTEGER"),
    "details": S(type="OBJECT", properties={"wind": S(type="BOOLEAN")}),
})


def client(gateway, route: str, version: str) -> genai.Client:
    return genai.Client(api_key=CLIENT_KEY, http_options=types.HttpOptions(
        base_url=gateway.url(f"/{route}"), api_version=version, httpx_client=gateway.http_client(),
        retry_options=types.HttpRetryOptions(attempts=1)))


def config(**kw) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(system_instruction=INSTRUCTIONS, max_output_tokens=MAX_OUTPUT_TOKENS, **kw)


def tools_config(declaration: types.FunctionDeclaration) -> types.GenerateContentConfig:
    return config(tools=[types.Tool(function_declarations=[declaration])],
                  automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))


@pytest.fixture
def upstreams(openai_upstream, gemini_upstream, anthropic_upstream) -> dict:
    return {"openai": openai_upstream, "gemini": gemini_upstream, "anthropic": anthropic_upstream}


def text_of(content) -> str:
    """A chat/Messages `content` or `system`: a string or a list of text blocks."""
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content)


def check_upstream(route, upstreams, gateway, version: str, method: str, *, stream: bool = False,
                   tools: bool = False):
    """The request the route's upstream got: path, the backend's key (never the client's), body."""
    if route == "mock":
        return None
    up = upstreams[UPSTREAM_OF[route]].last()
    assert CLIENT_KEY not in up.path, up.path
    assert CLIENT_KEY not in json.dumps(up.headers), "the client's key must not reach the provider"
    if route in NATIVE:
        # /gemini pins the model and the API version; /google passes the client's.
        want_version, want_model = ("v1beta", PINNED) if route == "gemini" else (version, MODEL)
        query = "?alt=sse" if stream else ""
        assert up.path == f"/{want_version}/models/{want_model}:{method}{query}", up.path
        assert up.headers.get("x-goog-api-key") == UPSTREAM_GOOGLE_KEY, up.headers
        sent = gateway.last_sent(f"/{route}/{version}/models/{MODEL}:{method}")
        assert up.body == sent.json(), f"upstream got {up.body}\nSDK sent {sent.json()}"
        return up
    body = up.body
    assert "x-goog-api-key" not in up.headers, up.headers
    assert bool(body.get("stream")) == stream, body
    if route == "openai":
        assert up.path == "/v1/chat/completions", up.path
        assert up.headers.get("authorization") == f"Bearer {UPSTREAM_OPENAI_KEY}", up.headers
        assert body["model"] == MODEL, body
        assert body["messages"][0]["role"] in ("system", "developer"), body["messages"]
        assert text_of(body["messages"][0]["content"]) == INSTRUCTIONS, body["messages"]
        assert (body.get("max_completion_tokens") or body.get("max_tokens")) == MAX_OUTPUT_TOKENS, body
        if tools:
            assert [t["function"]["name"] for t in body["tools"]] == [TOOL_NAME], body["tools"]
            assert body["tools"][0]["function"]["parameters"] == PARAMS, body["tools"]
    else:
        assert up.path == "/v1/messages", up.path
        assert up.headers.get("x-api-key") == UPSTREAM_ANTHROPIC_KEY, up.headers
        assert "authorization" not in up.headers, up.headers
        assert body["model"] == ANTHROPIC_BACKEND_MODEL, body
        assert text_of(body.get("system")) == INSTRUCTIONS, body
        assert body["max_tokens"] == MAX_OUTPUT_TOKENS, body
        if tools:
            assert [t["name"] for t in body["tools"]] == [TOOL_NAME], body["tools"]
            assert body["tools"][0]["input_schema"] == PARAMS, body["tools"]
    return up


def check_first_turn(route, up):
    """The first user turn reached the upstream as the prompt."""
    if route == "openai":
        users = [m for m in up.body["messages"] if m["role"] == "user"]
        assert text_of(users[0]["content"]) == PROMPT, up.body["messages"]
    elif route == "anthropic":
        assert up.body["messages"][0]["role"] == "user", up.body["messages"]
        assert text_of(up.body["messages"][0]["content"]) == PROMPT, up.body["messages"]


def check_function_result_reached(route, up):
    """The upstream's last request carries the model's call and the function's result."""
    body = up.body
    if route in NATIVE:
        resp = [p["functionResponse"] for c in body["contents"] for p in c["parts"] if "functionResponse" in p]
        assert resp == [{"name": TOOL_NAME, "response": {"result": TOOL_RESULT}}], body["contents"]
    elif route == "openai":
        calls = [tc for m in body["messages"] if m["role"] == "assistant" for tc in m.get("tool_calls") or []]
        assert len(calls) == 1, body["messages"]
        assert calls[0]["function"]["name"] == TOOL_NAME
        assert json.loads(calls[0]["function"]["arguments"]) == TOOL_ARGS
        results = [m for m in body["messages"] if m["role"] == "tool"]
        assert len(results) == 1, body["messages"]
        assert results[0]["tool_call_id"] == calls[0]["id"], (results, calls)
        assert TOOL_RESULT in text_of(results[0]["content"]), results
        assert body["messages"][-1]["role"] == "tool", body["messages"]
    elif route == "anthropic":
        uses = [b for m in body["messages"] if m["role"] == "assistant" and isinstance(m["content"], list)
                for b in m["content"] if b.get("type") == "tool_use"]
        assert [(u["name"], u["input"]) for u in uses] == [(TOOL_NAME, TOOL_ARGS)], body["messages"]
        results = [b for m in body["messages"] if m["role"] == "user" and isinstance(m["content"], list)
                   for b in m["content"] if b.get("type") == "tool_result"]
        assert len(results) == 1, body["messages"]
        assert results[0]["tool_use_id"] == uses[0]["id"], (results, uses)
        assert TOOL_RESULT in text_of(results[0]["content"]), results


# --- generateContent / streamGenerateContent ----------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("route", [*PROVIDERS, "mock"])
def test_generate_content(gateway, upstreams, route, version):
    text, usage, model = EXPECT[route]
    r = client(gateway, route, version).models.generate_content(model=MODEL, contents=PROMPT, config=config())
    assert r.text == text
    assert len(r.candidates) == 1
    assert r.candidates[0].content.role == "model"
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.model_version == model
    u = r.usage_metadata
    assert u is not None and u.prompt_token_count > 0 and u.candidates_token_count > 0
    assert u.total_token_count == u.prompt_token_count + u.candidates_token_count
    if usage:
        assert (u.prompt_token_count, u.candidates_token_count) == usage
    up = check_upstream(route, upstreams, gateway, version, "generateContent")
    check_first_turn(route, up)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("route", [*PROVIDERS, "mock"])
def test_generate_content_stream(gateway, upstreams, route, version):
    text, usage, model = EXPECT[route]
    chunks = list(client(gateway, route, version).models.generate_content_stream(
        model=MODEL, contents=PROMPT, config=config()))
    pieces = [c.text for c in chunks if c.text]
    assert len(pieces) >= 2, f"expected the text in several chunks, got {pieces}"
    assert "".join(pieces) == text
    finishes = [c.candidates[0].finish_reason for c in chunks if c.candidates and c.candidates[0].finish_reason]
    assert finishes == [types.FinishReason.STOP], finishes
    last = chunks[-1].usage_metadata
    assert last is not None and last.prompt_token_count > 0 and last.candidates_token_count > 0
    if usage:
        assert (last.prompt_token_count, last.candidates_token_count) == usage
    if route == "anthropic":
        first, middle, final = ANTHROPIC_STREAM_OUTPUT_TOKENS
        assert last.candidates_token_count == final, f"not {first + middle + final}: a running total"
    assert {c.model_version for c in chunks if c.model_version} == {model}
    up = check_upstream(route, upstreams, gateway, version, "streamGenerateContent", stream=True)
    check_first_turn(route, up)


# --- countTokens -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("route", [*PROVIDERS, "mock"])
def test_count_tokens(gateway, upstreams, route, version):
    before = {k: len(u.requests) for k, u in upstreams.items()}
    c = client(gateway, route, version)
    n = c.models.count_tokens(model=MODEL, contents=PROMPT).total_tokens
    if route in NATIVE:
        assert n == GEMINI_COUNT_TOKENS
        check_upstream(route, upstreams, gateway, version, "countTokens")
        return
    new = {k: [r.path for r in u.requests[before[k]:]] for k, u in upstreams.items()}
    if route == "anthropic" and new["anthropic"]:
        # Anthropic's own counter may be asked; nothing else.
        assert new["anthropic"] == ["/v1/messages/count_tokens"], new
        assert n == ANTHROPIC_COUNT_TOKENS
        return
    # The gateway's estimate: no provider was asked to generate anything.
    assert new == {k: [] for k in upstreams}, f"counting must not call a provider: {new}"
    assert 0 < n < 64, n
    longer = c.models.count_tokens(model=MODEL, contents=PROMPT + " " + "Then say it again, slowly. " * 20)
    assert longer.total_tokens > n + 40, (n, longer.total_tokens)


# --- function calling --------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("route", PROVIDERS)
def test_function_call_round_trip(gateway, upstreams, route, version):
    decl = types.FunctionDeclaration(name=TOOL_NAME, description="The weather forecast for a city.",
                                     parameters=GEMINI_SCHEMA)
    c = client(gateway, route, version)
    r = c.models.generate_content(model=MODEL, contents=PROMPT, config=tools_config(decl))
    assert r.function_calls and len(r.function_calls) == 1, r.candidates
    call = r.function_calls[0]
    assert call.name == TOOL_NAME
    assert call.args == TOOL_ARGS
    kinds = ["text" if p.text else "functionCall" if p.function_call else "?" for p in r.candidates[0].content.parts]
    if route == "anthropic":
        # Claude's text before its tool_use block stays a text part before the call.
        assert kinds == ["text", "functionCall"], r.candidates[0].content.parts
        assert r.candidates[0].content.parts[0].text == ANTHROPIC_TOOL_PREAMBLE
    else:
        assert kinds == ["functionCall"], r.candidates[0].content.parts
    assert r.usage_metadata.prompt_token_count > 0 and r.usage_metadata.candidates_token_count > 0
    up = check_upstream(route, upstreams, gateway, version, "generateContent", tools=True)
    check_first_turn(route, up)

    # The function's result back, as the SDK's automatic function calling sends it: the model's
    # turn as it came, then a user turn with a function_response part (no call id).
    follow = c.models.generate_content(model=MODEL, config=tools_config(decl), contents=[
        types.Content(role="user", parts=[types.Part(text=PROMPT)]),
        r.candidates[0].content,
        types.Content(role="user", parts=[
            types.Part.from_function_response(name=TOOL_NAME, response={"result": TOOL_RESULT})]),
    ])
    assert follow.text == FOLLOWUP[route]
    assert not follow.function_calls
    up = check_upstream(route, upstreams, gateway, version, "generateContent", tools=True)
    check_function_result_reached(route, up)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("route", PROVIDERS)
def test_function_call_stream_json_schema(gateway, upstreams, route, version):
    """Streamed, with the declaration's parameters as JSON Schema (`parameters_json_schema`)."""
    decl = types.FunctionDeclaration(name=TOOL_NAME, description="The weather forecast for a city.",
                                     parameters_json_schema=PARAMS)
    chunks = list(client(gateway, route, version).models.generate_content_stream(
        model=MODEL, contents=PROMPT, config=tools_config(decl)))
    calls = [fc for ch in chunks for fc in ch.function_calls or []]
    assert [(fc.name, fc.args) for fc in calls] == [(TOOL_NAME, TOOL_ARGS)], chunks
    if route == "anthropic":
        assert "".join(ch.text or "" for ch in chunks if ch.candidates) == ANTHROPIC_TOOL_PREAMBLE
    last = chunks[-1].usage_metadata
    assert last is not None and last.candidates_token_count > 0
    check_upstream(route, upstreams, gateway, version, "streamGenerateContent", stream=True, tools=True)


# --- without the SDK: the JSON-array stream and a key in the query --------------------------

@pytest.mark.parametrize("route", ["google", "openai", "anthropic"])
def test_stream_json_array_with_key_in_query(gateway, upstreams, route):
    """`:streamGenerateContent` without `alt=sse` streams one JSON array; `?key=` is the client's
    key, which never reaches the provider."""
    text, usage, _ = EXPECT[route]
    with gateway.http_client() as http:
        resp = http.post(gateway.url(f"/{route}/v1beta/models/{MODEL}:streamGenerateContent"),
                         params={"key": CLIENT_KEY},
                         json={"contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
                               "systemInstruction": {"parts": [{"text": INSTRUCTIONS}]},
                               "generationConfig": {"maxOutputTokens": MAX_OUTPUT_TOKENS}})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    chunks = resp.json()
    assert isinstance(chunks, list) and len(chunks) >= 2, chunks
    got = "".join(p.get("text", "") for ch in chunks for c in ch.get("candidates", [])
                  for p in c.get("content", {}).get("parts", []))
    assert got == text
    u = chunks[-1]["usageMetadata"]
    assert (u["promptTokenCount"], u["candidatesTokenCount"]) == usage
    up = upstreams[UPSTREAM_OF[route]].last()
    assert CLIENT_KEY not in up.path and CLIENT_KEY not in json.dumps(up.headers), (up.path, up.headers)
    if route == "google":
        # Passed as it came, or asked of Google as SSE and answered as an array again.
        assert up.path in (f"/v1beta/models/{MODEL}:streamGenerateContent",
                           f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"), up.path
        assert up.headers.get("x-goog-api-key") == UPSTREAM_GOOGLE_KEY


# --- errors ---------------------------------------------------------------------------------

def test_no_route_is_not_found(gateway):
    with pytest.raises(errors.ClientError) as ei:
        client(gateway, "nowhere", "v1beta").models.generate_content(model=MODEL, contents=PROMPT)
    assert ei.value.code == 404
    assert ei.value.status == "NOT_FOUND", ei.value.details
    assert ei.value.message, ei.value.details


# --- log lines (keep last) -----------------------------------------------------------------

def test_every_gemini_request_logged_with_tokens(gateway):
    seen = gateway.expected_log_keys()
    assert sum(seen.values()) > 0
    logs = gateway.wait_for_request_logs(sum(seen.values()))
    logged: dict = {}
    for l in logs:
        key = (l.get("http.path", "").split("?")[0], int(l.get("http.status", 0)))
        logged[key] = logged.get(key, 0) + 1
    assert logged == dict(seen), f"log lines {logged} != responses {dict(seen)}"
    provider = {"gemini": "gemini", "google": "gemini", "openai": "openai", "anthropic": "anthropic",
                "mock": "mock"}
    for l in logs:
        if l.get("http.status") != "200" or l["http.path"].split("?")[0].endswith(":countTokens"):
            continue
        route = l["http.path"].split("/")[1]
        assert l.get("route") == route and l.get("llm.provider") == provider[route], l
        assert int(l.get("llm.request.tokens") or 0) > 0 and int(l.get("llm.response.tokens") or 0) > 0, l
