"""Chunk parsing and merging: tool calls by index, reasoning, usage anywhere, in-band errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aisa_core import errors as E
from aisa_core.protocol.accumulate import StreamAccumulator
from aisa_core.protocol.events import parse_event
from aisa_core.protocol.sse import ServerSentEvent
from aisa_core.types import ChatCompletionChunk
from tests.core.helpers import chunk


def parsed(data: dict[str, Any]) -> ChatCompletionChunk:
    result = parse_event(ServerSentEvent(json.dumps(data)))
    assert result is not None
    return result


def merge(*deltas: dict[str, Any]) -> StreamAccumulator:
    acc = StreamAccumulator()
    for d in deltas:
        acc.add(parsed(chunk(**d)))
    return acc


def tc(
    index: int | None = None,
    id: str | None = None,
    name: str | None = None,
    args: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if index is not None:
        out["index"] = index
    if id:
        out["id"] = id
    fn = {k: v for k, v in (("name", name), ("arguments", args)) if v is not None}
    if fn:
        out["function"] = fn
    return out


def test_done_ends_the_stream() -> None:
    assert parse_event(ServerSentEvent("[DONE]")) is None


def test_in_band_error_raises_typed_error() -> None:
    with pytest.raises(E.ServerError) as info:
        parse_event(
            ServerSentEvent('{"error":{"message":"upstream died","code":"upstream_unavailable"}}'),
            model="gpt-4.1",
        )
    assert info.value.model == "gpt-4.1" and info.value.message == "upstream died"


def test_bare_string_error_event_raises() -> None:
    with pytest.raises(E.StreamError, match="overloaded"):
        parse_event(ServerSentEvent('{"error":"overloaded"}'))


def test_malformed_event_raises_malformed() -> None:
    with pytest.raises(E.MalformedResponseError):
        parse_event(ServerSentEvent('{"choices": [oops'))
    with pytest.raises(E.MalformedResponseError):
        parse_event(ServerSentEvent("[1,2]"))


def test_text_reasoning_and_finish() -> None:
    acc = merge(
        {"role": "assistant", "content": ""},
        {"reasoning_content": "think "},
        {"reasoning_content": "more"},
        {"content": "Hel"},
        {"content": "lo"},
        {"finish_reason": "stop"},
    )
    done = acc.completion()
    assert (done.text, done.message.reasoning_content, done.finish_reason) == (
        "Hello",
        "think more",
        "stop",
    )
    assert done.tool_calls == []


def test_several_tool_calls_in_one_chunk() -> None:
    acc = merge(
        {"tool_calls": [tc(0, "a", "f", '{"x"'), tc(1, "b", "g", '{"y"')]},
        {"tool_calls": [tc(1, args=": 2}"), tc(0, args=": 1}")]},
    )
    calls = acc.completion().tool_calls
    assert [(c.id, c.name, c.function.arguments) for c in calls] == [
        ("a", "f", '{"x": 1}'),
        ("b", "g", '{"y": 2}'),
    ]
    assert acc.completion().message.content is None


def test_missing_index_continues_last_call_or_starts_new_on_new_id() -> None:
    acc = merge(
        {"tool_calls": [tc(None, "a", "f", '{"q":')]},
        {"tool_calls": [tc(None, args=' "x"}')]},
        {"tool_calls": [tc(None, "b", "g", "{}")]},
    )
    calls = acc.completion().tool_calls
    assert [(c.id, c.name, c.function.arguments) for c in calls] == [
        ("a", "f", '{"q": "x"}'),
        ("b", "g", "{}"),
    ]


def test_name_repeated_in_every_delta_is_not_doubled() -> None:
    acc = merge(
        {"tool_calls": [tc(0, "a", "lookup", '{"k":')]},
        {"tool_calls": [tc(0, "a", "lookup", '"v"}')]},
    )
    (call,) = acc.completion().tool_calls
    assert (call.name, call.parsed_arguments()) == ("lookup", {"k": "v"})


def test_resolved_index_is_written_back_for_callers() -> None:
    acc = StreamAccumulator()
    c = parsed(chunk(tool_calls=[tc(None, "a", "f", "{}")]))
    acc.add(c)
    assert c.choices[0].delta.tool_calls is not None
    assert c.choices[0].delta.tool_calls[0].index == 0


def test_provider_extras_on_tool_calls_are_kept() -> None:
    extra = {
        "index": 0,
        "id": "a",
        "function": {"name": "f", "arguments": "{}"},
        "extra_content": {"google": {"thought_signature": "sig"}},
    }
    acc = merge({"tool_calls": [extra]})
    (call,) = acc.completion().tool_calls
    assert call.model_extra == {"extra_content": {"google": {"thought_signature": "sig"}}}


def test_usage_from_a_chunk_with_empty_choices() -> None:
    acc = StreamAccumulator()
    acc.add(parsed(chunk("hi")))
    acc.add(
        parsed(
            {
                "id": "c1",
                "model": "gpt-4.1",
                "choices": [],
                "usage": {
                    "prompt_tokens": 4,
                    "completion_tokens": 1,
                    "total_tokens": 5,
                    "cost": 0.0002,
                },
            }
        )
    )
    usage = acc.completion().usage
    assert usage is not None and (usage.total_tokens, usage.cost) == (5, 0.0002)


def test_events_for_handlers_in_order() -> None:
    acc = StreamAccumulator()
    events: list[tuple[str, Any]] = []
    acc.add(
        parsed(chunk("a", reasoning_content="r", tool_calls=[tc(None, "x", "f", "{}")])), events
    )
    assert [name for name, _ in events] == ["reasoning", "token", "tool_call_delta"]
    assert events[2][1][0].index == 0


def test_empty_role_chunk_is_empty_but_finish_is_not() -> None:
    assert parsed(chunk("", role="assistant")).is_empty
    assert not parsed(chunk(finish_reason="stop")).is_empty
    assert not parsed({"choices": [], "usage": {"total_tokens": 1}}).is_empty


def test_too_many_tool_calls_is_an_error() -> None:
    acc = StreamAccumulator()
    with pytest.raises(E.MalformedResponseError):
        for i in range(200):
            acc.add(parsed(chunk(tool_calls=[tc(i, f"id{i}", "f", "{}")])))


@settings(max_examples=150, deadline=None)
@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(["f", "g", "h"]),
            st.dictionaries(st.sampled_from("abc"), st.integers(), max_size=3),
        ),
        min_size=1,
        max_size=4,
    ),
    sizes=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=5),
)
def test_any_fragmentation_reassembles_every_call(
    calls: list[tuple[str, dict[str, int]]], sizes: list[int]
) -> None:
    acc = StreamAccumulator()
    for i, (name, args) in enumerate(calls):
        text = json.dumps(args)
        acc.add(parsed(chunk(tool_calls=[tc(i, f"id{i}", name, "")])))
        pos, k = 0, 0
        while pos < len(text):
            step = sizes[k % len(sizes)]
            acc.add(parsed(chunk(tool_calls=[tc(i, args=text[pos : pos + step])])))
            pos, k = pos + step, k + 1
    got = [(c.name, c.parsed_arguments()) for c in acc.completion().tool_calls]
    assert got == calls
