"""sluice's Responses front door (`POST <route>/v1/responses`) with the official `openai` SDK
(`client.responses.create`, `client.responses.stream`, function tools) and the OpenAI Agents
SDK's default agent as clients.

The routes (see conftest.py): `/openai` speaks the Responses API natively (the body passes to
the OpenAI mock's `/v1/responses` as the SDK sent it, the gateway's key replacing the
client's); `/anthropic` (model pinned to claude-sonnet-4-5) and `/gemini` (model pinned to
gemini-2.0-flash, v1beta) are translated to the Messages API and to generateContent; `/mock`
answers in-process. The last test checks the gateway's log line for every request made above.
"""

from __future__ import annotations

import json
import os

os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"  # else the Agents SDK uploads traces

import openai
import pytest
from agents import Agent, Runner, function_tool, set_default_openai_client, set_tracing_disabled
from agents.models.default_models import get_default_model
from pydantic import BaseModel

from conftest import (
    ANTHROPIC_BACKEND_MODEL,
    UPSTREAM_ANTHROPIC_KEY,
    UPSTREAM_GOOGLE_KEY,
    UPSTREAM_OPENAI_KEY,
)
from mock_upstreams import (
    ANTHROPIC_MODEL,
    ANTHROPIC_STREAM_OUTPUT_TOKENS,
    ANTHROPIC_TEXT,
    ANTHROPIC_TOOL_FOLLOWUP,
    ANTHROPIC_TOOL_ID,
    ANTHROPIC_TOOL_PREAMBLE,
    ANTHROPIC_USAGE,
    GEMINI_TEXT,
    GEMINI_TOOL_FOLLOWUP,
    GEMINI_USAGE,
    OPENAI_MODEL,
    RESPONSES_CALL_ID,
    RESPONSES_TEXT,
    RESPONSES_TOOL_FOLLOWUP,
    RESPONSES_USAGE,
    TOOL_ARGS,
    TOOL_NAME,
)

set_tracing_disabled(True)

PROMPT = "Explain how AI works in simple terms."
INSTRUCTIONS = "You are a terse assistant. Answer in one sentence."
MAX_OUTPUT_TOKENS = 300
CLIENT_KEY = "sk-client-own-key"
# What our tool returns; it must reach the upstream inside the tool's result.
TOOL_RESULT = "forecast-marker-7f3a: sunny, 21 degrees"
MOCK_TEXT = f"This is a mock response from sluice. You said: {PROMPT}"

# route -> (text, (input, output) usage or None when only > 0 is known, the answer's model)
EXPECT = {
    "openai": (RESPONSES_TEXT, (RESPONSES_USAGE["input_tokens"], RESPONSES_USAGE["output_tokens"]), OPENAI_MODEL),
    # Streamed, Anthropic's output count is the last cumulative message_delta's, never a sum.
    "anthropic": (ANTHROPIC_TEXT, (ANTHROPIC_USAGE["input_tokens"], ANTHROPIC_USAGE["output_tokens"]),
                  ANTHROPIC_MODEL),
    "gemini": (GEMINI_TEXT, (GEMINI_USAGE["promptTokenCount"], GEMINI_USAGE["candidatesTokenCount"]),
               "gemini-2.0-flash"),
    "mock": (MOCK_TEXT, None, "mock-1"),
}
FOLLOWUP = {"openai": RESPONSES_TOOL_FOLLOWUP, "anthropic": ANTHROPIC_TOOL_FOLLOWUP, "gemini": GEMINI_TOOL_FOLLOWUP}
PROVIDERS = ["openai", "anthropic", "gemini"]

TOOLS = [{
    "type": "function",
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
}]

# A text answer's stream, with the runs of deltas counted once: what the Responses API sends.
TEXT_EVENTS = [
    "response.created", "response.in_progress", "response.output_item.added",
    "response.content_part.added", "response.output_text.delta", "response.output_text.done",
    "response.content_part.done", "response.output_item.done", "response.completed",
]


def oai(gateway, route: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url(f"/{route}/v1"), api_key=CLIENT_KEY, max_retries=0,
                         http_client=gateway.http_client())


@pytest.fixture
def upstreams(openai_upstream, gemini_upstream, anthropic_upstream) -> dict:
    return {"openai": openai_upstream, "gemini": gemini_upstream, "anthropic": anthropic_upstream}


def collapse(types: list[str]) -> list[str]:
    """Event types with each run of one type counted once."""
    return [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]


def text_of(content) -> str:
    """An Anthropic `system`/`content`, or an OpenAI message content: a string or text blocks."""
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content)


def check_upstream(route, upstreams, gateway, *, stream: bool, tools: bool = False,
                   instructions: str | None = INSTRUCTIONS, model: str = "gpt-4o-mini"):
    """The request the route's upstream got: path, the gateway's key (never the client's), body."""
    if route == "openai":
        up = upstreams["openai"].last()
        assert up.path == "/v1/responses", up.path
        assert up.headers.get("authorization") == f"Bearer {UPSTREAM_OPENAI_KEY}", up.headers
        sent = gateway.last_sent("/openai/v1/responses")
        assert sent.headers.get("authorization") == f"Bearer {CLIENT_KEY}"
        # Native: the body the SDK sent, untouched.
        assert up.body == sent.json(), f"upstream got {up.body}\nSDK sent {sent.json()}"
        assert up.body["model"] == model
        assert bool(up.body.get("stream")) == stream
        return up
    if route == "anthropic":
        up = upstreams["anthropic"].last()
        assert up.path == "/v1/messages", up.path
        assert up.headers.get("x-api-key") == UPSTREAM_ANTHROPIC_KEY, up.headers
        assert "authorization" not in up.headers, "the client's key must not reach the provider"
        body = up.body
        assert body["model"] == ANTHROPIC_BACKEND_MODEL, body
        assert bool(body.get("stream")) == stream, body
        assert isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0, body
        if instructions is not None:
            assert text_of(body.get("system")) == instructions, body
        assert body["messages"][0]["role"] == "user", body["messages"]
        if tools:
            assert [t["name"] for t in body["tools"]] == [TOOL_NAME], body["tools"]
        return up
    if route == "gemini":
        up = upstreams["gemini"].last()
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        assert up.path == f"/v1beta/models/gemini-2.0-flash:{method}", up.path
        assert up.headers.get("x-goog-api-key") == UPSTREAM_GOOGLE_KEY, up.headers
        assert "authorization" not in up.headers, "the client's key must not reach the provider"
        body = up.body
        if instructions is not None:
            sys_parts = (body.get("systemInstruction") or body.get("system_instruction") or {}).get("parts", [])
            assert "".join(p.get("text", "") for p in sys_parts) == instructions, body
        assert body["contents"][0]["role"] == "user", body["contents"]
        if tools:
            decls = [d for t in body["tools"] for d in t.get("functionDeclarations", [])]
            assert [d["name"] for d in decls] == [TOOL_NAME], body["tools"]
        return up
    assert route == "mock", route
    return None


def check_tool_result_reached(route, up, call_id: str, result: str = TOOL_RESULT):
    """The upstream's last request carries the tool's result for `call_id`, in its own shape."""
    body = up.body
    if route == "openai":
        outs = [i for i in body["input"] if isinstance(i, dict) and i.get("type") == "function_call_output"]
        assert [(o["call_id"], o["output"]) for o in outs] == [(call_id, result)], body["input"]
    elif route == "anthropic":
        uses = [b for m in body["messages"] if m["role"] == "assistant" and isinstance(m["content"], list)
                for b in m["content"] if b.get("type") == "tool_use"]
        assert [(u["id"], u["name"], u["input"]) for u in uses] == [(call_id, TOOL_NAME, TOOL_ARGS)], body
        results = [b for m in body["messages"] if m["role"] == "user" and isinstance(m["content"], list)
                   for b in m["content"] if b.get("type") == "tool_result"]
        assert len(results) == 1, body["messages"]
        assert results[0]["tool_use_id"] == call_id, results
        assert text_of(results[0]["content"]) == result, results
    elif route == "gemini":
        calls = [p["functionCall"] for c in body["contents"] for p in c["parts"] if "functionCall" in p]
        assert [(c["name"], c["args"]) for c in calls] == [(TOOL_NAME, TOOL_ARGS)], body["contents"]
        responses = [p["functionResponse"] for c in body["contents"] for p in c["parts"] if "functionResponse" in p]
        assert len(responses) == 1, body["contents"]
        assert responses[0]["name"] == TOOL_NAME, responses
        # The function's `response` is an object; the tool's output text is somewhere inside it.
        assert isinstance(responses[0]["response"], dict), responses
        assert result in json.dumps(responses[0]["response"]), responses
        assert body["contents"][-1]["role"] in ("user", "function"), body["contents"]


# --- openai SDK: responses.create / responses.stream --------------------------------------

@pytest.mark.parametrize("route", [*PROVIDERS, "mock"])
def test_responses_create_text(gateway, upstreams, route):
    text, usage, model = EXPECT[route]
    r = oai(gateway, route).responses.create(
        model="gpt-4o-mini", input=PROMPT, instructions=INSTRUCTIONS, max_output_tokens=MAX_OUTPUT_TOKENS)
    assert r.object == "response"
    assert r.status == "completed"
    assert r.id
    assert [o.type for o in r.output] == ["message"], r.output
    assert r.output[0].role == "assistant"
    assert r.output_text == text
    assert r.model == model
    assert r.usage is not None
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    if usage:
        assert (r.usage.input_tokens, r.usage.output_tokens) == usage
    up = check_upstream(route, upstreams, gateway, stream=False)
    if route == "anthropic":
        assert up.body["max_tokens"] == MAX_OUTPUT_TOKENS, up.body
        assert [m["role"] for m in up.body["messages"]] == ["user"]
        assert text_of(up.body["messages"][0]["content"]) == PROMPT
    if route == "gemini":
        assert up.body["contents"] == [{"role": "user", "parts": [{"text": PROMPT}]}], up.body
        assert up.body["generationConfig"]["maxOutputTokens"] == MAX_OUTPUT_TOKENS, up.body


@pytest.mark.parametrize("route", [*PROVIDERS, "mock"])
def test_responses_stream_text(gateway, upstreams, route):
    text, usage, model = EXPECT[route]
    with oai(gateway, route).responses.stream(
        model="gpt-4o-mini", input=PROMPT, instructions=INSTRUCTIONS, max_output_tokens=MAX_OUTPUT_TOKENS
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [e.type for e in events]
    assert collapse(types) == TEXT_EVENTS, types
    assert [e.sequence_number for e in events] == list(range(len(events))), "sequence_number must count from 0"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) >= 2, f"expected the text in several deltas, got {deltas}"
    assert "".join(deltas) == text
    done = [e for e in events if e.type == "response.output_text.done"]
    assert done[0].text == text
    # Every event of the one message names the same item.
    item_ids = {e.item_id for e in events if hasattr(e, "item_id")}
    assert item_ids == {events[2].item.id}, item_ids
    assert events[0].response.status == "in_progress"
    assert final.status == "completed"
    assert final.output_text == text
    assert final.model == model
    assert final.usage is not None and final.usage.output_tokens > 0
    assert final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens
    if usage:
        assert (final.usage.input_tokens, final.usage.output_tokens) == usage
    if route == "anthropic":
        first, middle, last = ANTHROPIC_STREAM_OUTPUT_TOKENS
        assert final.usage.output_tokens == last, f"not {first + middle + last}: a running total, not a sum"
    check_upstream(route, upstreams, gateway, stream=True)


@pytest.mark.parametrize("route", PROVIDERS)
def test_responses_function_call_round_trip(gateway, upstreams, route):
    client = oai(gateway, route)
    r = client.responses.create(model="gpt-4o-mini", input=PROMPT, instructions=INSTRUCTIONS, tools=TOOLS)
    calls = [o for o in r.output if o.type == "function_call"]
    assert len(calls) == 1, r.output
    call = calls[0]
    assert call.name == TOOL_NAME
    assert json.loads(call.arguments) == TOOL_ARGS
    assert call.call_id
    if route == "openai":
        assert call.call_id == RESPONSES_CALL_ID
    if route == "anthropic":
        # Claude's text before its tool_use block is a message item before the call.
        assert [o.type for o in r.output] == ["message", "function_call"], r.output
        assert r.output_text == ANTHROPIC_TOOL_PREAMBLE
        assert call.call_id == ANTHROPIC_TOOL_ID
    else:
        assert [o.type for o in r.output] == ["function_call"], r.output
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    up = check_upstream(route, upstreams, gateway, stream=False, tools=True)
    if route == "anthropic":
        assert up.body["tools"][0]["input_schema"] == TOOLS[0]["parameters"]

    # The tool's output back, with the conversation so far (no stored state).
    follow = client.responses.create(
        model="gpt-4o-mini", instructions=INSTRUCTIONS, tools=TOOLS,
        input=[{"role": "user", "content": PROMPT},
               *[o.model_dump(exclude_none=True) for o in r.output],
               {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT}],
    )
    assert [o.type for o in follow.output] == ["message"], follow.output
    assert follow.output_text == FOLLOWUP[route]
    up = check_upstream(route, upstreams, gateway, stream=False, tools=True)
    check_tool_result_reached(route, up, call.call_id)


@pytest.mark.parametrize("route", PROVIDERS)
def test_responses_function_call_stream(gateway, upstreams, route):
    with oai(gateway, route).responses.create(
        model="gpt-4o-mini", input=PROMPT, instructions=INSTRUCTIONS, tools=TOOLS, stream=True
    ) as stream:
        events = list(stream)
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"], types
    assert types[-1] == "response.completed", types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added = [e.item for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"]
    assert len(added) == 1 and added[0].name == TOOL_NAME, added
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(args) == TOOL_ARGS
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(done) == 1 and json.loads(done[0].arguments) == TOOL_ARGS
    final = events[-1].response
    calls = [o for o in final.output if o.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [(TOOL_NAME, TOOL_ARGS)], final.output
    assert calls[0].call_id == added[0].call_id
    assert final.usage is not None and final.usage.output_tokens > 0
    if route == "anthropic":
        assert final.output_text == ANTHROPIC_TOOL_PREAMBLE
        assert calls[0].call_id == ANTHROPIC_TOOL_ID
        assert final.usage.output_tokens == ANTHROPIC_STREAM_OUTPUT_TOKENS[-1]
    check_upstream(route, upstreams, gateway, stream=True, tools=True)


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("route", ["anthropic", "gemini"])
def test_responses_untranslatable_tool_is_refused(gateway, upstreams, route):
    """A hosted tool with no counterpart on the provider: a 400 naming it; nothing sent upstream."""
    before = len(upstreams[route].requests)
    with pytest.raises(openai.BadRequestError) as ei:
        oai(gateway, route).responses.create(
            model="gpt-4o-mini", input=PROMPT,
            tools=[{"type": "file_search", "vector_store_ids": ["vs_0123456789"]}])
    assert ei.value.status_code == 400
    assert isinstance(ei.value.body, dict) and "file_search" in ei.value.body.get("message", ""), ei.value.body
    assert ei.value.body.get("type") == "invalid_request_error", ei.value.body
    assert len(upstreams[route].requests) == before, "a refused request must not reach the upstream"


def test_responses_no_route_is_not_found(gateway):
    with pytest.raises(openai.NotFoundError) as ei:
        oai(gateway, "nowhere").responses.create(model="gpt-4o-mini", input=PROMPT)
    assert ei.value.status_code == 404
    assert isinstance(ei.value.body, dict) and ei.value.body.get("message"), ei.value.body


# --- OpenAI Agents SDK: the default agent -------------------------------------------------

@pytest.fixture
def agents_client(gateway, request):
    """The Agents SDK's default client pointed at `<route>/v1`; its default model stays."""

    def use(route: str) -> None:
        client = openai.AsyncOpenAI(base_url=gateway.url(f"/{route}/v1"), api_key=CLIENT_KEY,
                                    max_retries=0, http_client=gateway.async_http_client())
        set_default_openai_client(client, use_for_tracing=False)

    yield use
    set_default_openai_client(openai.AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1"),
                              use_for_tracing=False)


@pytest.mark.parametrize("route", PROVIDERS)
def test_agent_default_model_text(gateway, upstreams, agents_client, route):
    agents_client(route)
    agent = Agent(name="Assistant", instructions=INSTRUCTIONS)
    result = Runner.run_sync(agent, PROMPT)
    assert result.final_output == EXPECT[route][0]
    # The default model speaks the Responses API.
    sent = gateway.last_sent(f"/{route}/v1/responses")
    assert sent.json()["model"] == get_default_model()
    up = check_upstream(route, upstreams, gateway, stream=False, model=get_default_model())
    usage = result.context_wrapper.usage
    assert (usage.input_tokens, usage.output_tokens) == EXPECT[route][1]
    if route == "openai":
        assert up.body["instructions"] == INSTRUCTIONS


class Details(BaseModel):
    wind: bool


@pytest.mark.parametrize("route", PROVIDERS)
def test_agent_function_tool(gateway, upstreams, agents_client, route):
    calls: list[tuple] = []

    @function_tool
    def get_weather(city: str, unit: str, days: int, details: Details) -> str:
        """The weather forecast for a city."""
        calls.append((city, unit, days, details.wind))
        return TOOL_RESULT

    agents_client(route)
    agent = Agent(name="Forecaster", instructions=INSTRUCTIONS, tools=[get_weather])
    result = Runner.run_sync(agent, PROMPT)
    assert calls == [("Paris", "celsius", 3, True)], "the tool did not run with the mock's arguments"
    assert result.final_output == FOLLOWUP[route]
    up = check_upstream(route, upstreams, gateway, stream=False, tools=True, model=get_default_model())
    call_id = {"openai": RESPONSES_CALL_ID, "anthropic": ANTHROPIC_TOOL_ID}.get(route)
    if call_id is None:  # Gemini's functionCall has no id: the gateway made one
        call_id = next(i["call_id"] for i in gateway.last_sent("/gemini/v1/responses").json()["input"]
                       if i.get("type") == "function_call")
    check_tool_result_reached(route, up, call_id)


# --- log lines (keep last) -----------------------------------------------------------------

def test_every_responses_request_logged_with_tokens(gateway):
    seen = gateway.expected_log_keys()
    assert sum(seen.values()) > 0
    logs = gateway.wait_for_request_logs(sum(seen.values()))
    logged = {}
    for l in logs:
        key = (l.get("http.path", "").split("?")[0], int(l.get("http.status", 0)))
        logged[key] = logged.get(key, 0) + 1
    assert logged == dict(seen), f"log lines {logged} != responses {dict(seen)}"
    provider = {"openai": "openai", "anthropic": "anthropic", "gemini": "gemini", "mock": "mock"}
    for l in logs:
        if l.get("http.status") != "200":
            continue
        route = l["http.path"].split("/")[1]
        assert l.get("route") == route and l.get("llm.provider") == provider[route], l
        assert int(l.get("llm.request.tokens") or 0) > 0 and int(l.get("llm.response.tokens") or 0) > 0, l
