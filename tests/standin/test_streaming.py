"""Streaming chat completions: the SSE frames, exactly."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from aisa_core.standin import StandIn

USER_TEXT = "What is the weather in Paris?"
GREETING = f"Hello from the AIsa stand-in (gpt-4.1). You said: {USER_TEXT}"
SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "forecast": {
            "type": "array",
            "items": {"$ref": "#/$defs/day"},
            "minItems": 2,
        },
    },
    "required": ["city", "forecast"],
    "$defs": {
        "day": {
            "type": "object",
            "properties": {
                "date": {"type": "string", "format": "date"},
                "high": {"type": "number"},
            },
            "required": ["date", "high"],
        }
    },
}
TOOL = {"type": "function", "function": {"name": "get_forecast", "parameters": SCHEMA}}
Parse = Callable[[str], list[Any]]


def stream(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("model", "gpt-4.1")
    body.setdefault("messages", [{"role": "user", "content": USER_TEXT}])
    response = client.post("/chat/completions", json={"stream": True, **body})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    return response


def deltas(payloads: list[Any]) -> list[dict[str, Any]]:
    return [p["choices"][0]["delta"] for p in payloads if isinstance(p, dict) and p["choices"]]


def test_text_stream_frames(client: httpx.Client, parse_sse: Parse) -> None:
    response = stream(client)
    assert response.text.startswith(": keep-alive\n\ndata: {")
    payloads = parse_sse(response.text)
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    created = chunks[0]["created"]
    for chunk in chunks:
        assert chunk["id"] == "chatcmpl-standin-1"
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "gpt-4.1"
        assert chunk["created"] == created
    assert chunks[0]["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    pieces = [d["content"] for d in deltas(chunks)[1:-1]]
    assert "".join(pieces) == GREETING
    assert pieces[:3] == ["Hello", " from", " the"]
    assert len(pieces) == len(GREETING.split())
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    ]
    assert all("usage" not in c for c in chunks)


def test_usage_chunk_only_with_include_usage(client: httpx.Client, parse_sse: Parse) -> None:
    expected = client.post(
        "/chat/completions",
        json={"model": "gpt-4.1", "messages": [{"role": "user", "content": USER_TEXT}]},
    ).json()["usage"]
    payloads = parse_sse(stream(client, stream_options={"include_usage": True}).text)
    assert payloads[-1] == "[DONE]"
    usage_chunk = payloads[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == expected
    assert usage_chunk["id"] == payloads[0]["id"]
    assert payloads[-3]["choices"][0]["finish_reason"] == "stop"
    without = parse_sse(stream(client, stream_options={"include_usage": False}).text)
    assert [p for p in without if isinstance(p, dict) and "usage" in p] == []


def test_streamed_answer_is_billed_without_a_cost_header(
    client: httpx.Client, standin: StandIn
) -> None:
    response = stream(client)
    assert "x-aisa-customer-cost-micros-usd" not in response.headers
    assert response.headers["x-request-id"] == "req-standin-1"
    assert standin.spent_micros_usd == 125  # 9 and 20 tokens at AIsa's $1.40 / $5.60 per M


def test_tool_call_deltas_reassemble_to_valid_arguments(
    client: httpx.Client, parse_sse: Parse
) -> None:
    payloads = parse_sse(stream(client, tools=[TOOL]).text)
    tool_deltas = [d["tool_calls"] for d in deltas(payloads) if "tool_calls" in d]
    first = tool_deltas[0]
    assert first == [
        {
            "index": 0,
            "id": "call_standin_1",
            "type": "function",
            "function": {"name": "get_forecast", "arguments": ""},
        }
    ]
    later = [d[0] for d in tool_deltas[1:]]
    assert len(later) >= 2
    assert all(set(d) == {"index", "function"} and d["index"] == 0 for d in later)
    assert all(set(d["function"]) == {"arguments"} for d in later)
    arguments = json.loads("".join(d["function"]["arguments"] for d in later))
    Draft202012Validator(SCHEMA).validate(arguments)
    assert arguments["city"] == "Paris"
    assert len(arguments["forecast"]) == 2
    assert payloads[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert not any("content" in d and d["content"] for d in deltas(payloads))


def test_parallel_tool_calls_are_indexed(
    client: httpx.Client, standin: StandIn, parse_sse: Parse
) -> None:
    standin.enqueue_tool_calls([("a", {"x": 1}), ("b", {"y": "two"})])
    payloads = parse_sse(stream(client).text)
    calls: dict[int, dict[str, str]] = {}
    for delta in deltas(payloads):
        for fragment in delta.get("tool_calls", []):
            call = calls.setdefault(fragment["index"], {"name": "", "arguments": ""})
            call["name"] += fragment["function"].get("name", "")
            call["arguments"] += fragment["function"]["arguments"]
    assert calls == {
        0: {"name": "a", "arguments": '{"x":1}'},
        1: {"name": "b", "arguments": '{"y":"two"}'},
    }


def test_reasoning_deltas_come_before_content(client: httpx.Client, parse_sse: Parse) -> None:
    model = "claude-sonnet-4-5-20250929-thinking"
    payloads = parse_sse(stream(client, model=model).text)
    kinds = [next(iter(d)) for d in deltas(payloads)[1:-1]]
    reasoning_count = kinds.count("reasoning_content")
    assert reasoning_count > 1
    assert kinds == ["reasoning_content"] * reasoning_count + ["content"] * (
        len(kinds) - reasoning_count
    )
    reasoning = "".join(d.get("reasoning_content", "") for d in deltas(payloads))
    assert reasoning == f'The user wrote "{USER_TEXT}". A short, direct reply fits best.'


def test_scripted_text_streams_exactly(
    client: httpx.Client, standin: StandIn, parse_sse: Parse
) -> None:
    text = "Line one,\n\n  indented  ✓ — naïve\tend \u2028 after"
    standin.enqueue_text(text)
    payloads = parse_sse(stream(client).text)
    assert "".join(d.get("content", "") for d in deltas(payloads)) == text


def test_empty_scripted_text_streams_only_role_and_finish(
    client: httpx.Client, standin: StandIn, parse_sse: Parse
) -> None:
    standin.enqueue_text("")
    payloads = parse_sse(stream(client).text)
    assert deltas(payloads) == [{"role": "assistant", "content": ""}, {}]


def test_stream_true_only_when_boolean(client: httpx.Client) -> None:
    response = client.post(
        "/chat/completions",
        json={"model": "gpt-4.1", "messages": [{"role": "user", "content": "x"}], "stream": "yes"},
    )
    assert response.headers["content-type"] == "application/json"


async def test_async_client_reads_the_stream_incrementally(aclient: httpx.AsyncClient) -> None:
    body = {
        "model": "gpt-4.1",
        "stream": True,
        "messages": [{"role": "user", "content": USER_TEXT}],
    }
    lines: list[str] = []
    async with aclient.stream("POST", "/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            lines.append(line)
    data = [line for line in lines if line.startswith("data: ")]
    assert data[-1] == "data: [DONE]"
    text = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content", "") for line in data[:-1]
    )
    assert text == GREETING
