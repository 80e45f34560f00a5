"""The pure translations (``_convert``, ``_responses``): exact wire dicts in, exact messages out."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from aisa_core import ChatCompletion, ChatCompletionChunk, ResponseMeta, Usage
from aisa_core import ToolCall as WireToolCall
from aisa_core.errors import Attempt, InvalidInputError, RateLimitError
from aisa_core.protocol.accumulate import StreamAccumulator
from langchain_aisa._convert import _convert_block, _convert_message
from langchain_aisa._responses import (
    ChunkConverter,
    _convert_completion,
    _convert_finish_reason,
    _convert_tool_calls,
    _convert_usage,
)

B64 = "aGVsbG8="


# --- messages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (SystemMessage("be brief"), {"role": "system", "content": "be brief"}),
        (HumanMessage("hi", name="ann"), {"role": "user", "content": "hi", "name": "ann"}),
        (
            SystemMessage("rules", additional_kwargs={"__openai_role__": "developer"}),
            {"role": "developer", "content": "rules"},
        ),
        (ChatMessage(role="developer", content="x"), {"role": "developer", "content": "x"}),
        (
            FunctionMessage(name="f", content="42"),
            {"role": "function", "name": "f", "content": "42"},
        ),
        (
            ToolMessage("3", tool_call_id="c1", status="error"),
            {"role": "tool", "tool_call_id": "c1", "content": "3"},
        ),
    ],
)
def test_plain_messages(message: Any, wire: dict[str, Any]) -> None:
    assert _convert_message(message) == wire


def test_system_and_tool_text_parts_become_one_string() -> None:
    parts = [{"type": "text", "text": "a"}, "b"]
    assert _convert_message(SystemMessage(parts))["content"] == "ab"
    assert _convert_message(ToolMessage(parts, tool_call_id="1"))["content"] == "ab"
    assert _convert_message(HumanMessage(parts))["content"] == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
    ]


def test_tool_message_with_an_image_keeps_parts() -> None:
    message = ToolMessage(
        [{"type": "image", "base64": B64, "mime_type": "image/png"}], tool_call_id="1"
    )
    assert _convert_message(message)["content"] == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}}
    ]


def test_ai_message_keeps_text_tool_calls_and_reasoning() -> None:
    """Non-text blocks are dropped from the content; a ``thinking`` block's text becomes the
    turn's ``reasoning_content`` (the core sends it only to models that need it back)."""
    message = AIMessage(
        [
            {"type": "text", "text": "Let me check. "},
            {"type": "tool_use", "id": "c1", "name": "add", "input": {"a": 1}},
            {"type": "thinking", "thinking": "hmm"},
        ],
        tool_calls=[{"name": "add", "args": {"city": "東京"}, "id": "c1", "type": "tool_call"}],
        invalid_tool_calls=[
            {"name": "bad", "args": "{oops", "id": "c2", "error": "x", "type": "invalid_tool_call"}
        ],
        additional_kwargs={"tool_call_extras": {"c1": {"extra_content": {"sig": "s1"}}}},
    )
    assert _convert_message(message) == {
        "role": "assistant",
        "content": "Let me check. ",
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "add", "arguments": '{"city":"東京"}'},
                "extra_content": {"sig": "s1"},
            },
            {"id": "c2", "type": "function", "function": {"name": "bad", "arguments": "{oops"}},
        ],
        "reasoning_content": "hmm",
    }


def test_ai_message_reasoning_from_additional_kwargs_wins() -> None:
    message = AIMessage(
        [{"type": "reasoning", "reasoning": "from a block"}],
        additional_kwargs={"reasoning_content": "from the answer"},
    )
    assert _convert_message(message)["reasoning_content"] == "from the answer"
    assert "reasoning_content" not in _convert_message(AIMessage("plain"))


def test_ai_message_with_only_tool_calls_has_null_content() -> None:
    message = AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c", "type": "tool_call"}])
    assert _convert_message(message)["content"] is None
    assert _convert_message(AIMessage(""))["content"] == ""


def test_unknown_message_type_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError):
        _convert_message(SimpleNamespace(content="x"))  # type: ignore[arg-type]


# --- content blocks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "wire"),
    [
        ("hi", {"type": "text", "text": "hi"}),
        ({"type": "text", "text": "hi", "id": "b1", "index": 0}, {"type": "text", "text": "hi"}),
        (
            {"type": "text-plain", "text": "doc", "mime_type": "text/plain"},
            {"type": "text", "text": "doc"},
        ),
        (
            {"type": "image", "url": "https://x/cat.png"},
            {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
        ),
        (
            {
                "type": "image",
                "base64": B64,
                "mime_type": "image/jpeg",
                "extras": {"detail": "low"},
            },
            {
                "type": "image_url",
                "image_url": {"url": f"data:image/jpeg;base64,{B64}", "detail": "low"},
            },
        ),
        (
            {"type": "image", "source_type": "base64", "data": B64, "mime_type": "image/png"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}},
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": B64}},
            {"type": "image_url", "image_url": {"url": f"data:image/gif;base64,{B64}"}},
        ),
        (
            {"type": "image_url", "image_url": "https://x/a.png"},
            {"type": "image_url", "image_url": {"url": "https://x/a.png"}},
        ),
        (
            {"type": "file", "base64": B64, "mime_type": "application/pdf"},
            {
                "type": "file",
                "file": {
                    "filename": "document.pdf",
                    "file_data": f"data:application/pdf;base64,{B64}",
                },
            },
        ),
        (
            {"type": "file", "base64": B64, "mime_type": "text/csv", "filename": "t.csv"},
            {
                "type": "file",
                "file": {"filename": "t.csv", "file_data": f"data:text/csv;base64,{B64}"},
            },
        ),
        ({"type": "file", "file_id": "file-1"}, {"type": "file", "file": {"file_id": "file-1"}}),
        (
            {"type": "file", "file": {"file_id": "file-2"}},
            {"type": "file", "file": {"file_id": "file-2"}},
        ),
        (
            {"type": "audio", "base64": B64, "mime_type": "audio/mpeg"},
            {"type": "input_audio", "input_audio": {"data": B64, "format": "mp3"}},
        ),
        (
            {"type": "audio", "base64": B64, "mime_type": "audio/wav"},
            {"type": "input_audio", "input_audio": {"data": B64, "format": "wav"}},
        ),
        (
            {"type": "video", "url": "https://x/v.mp4"},
            {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}},
        ),
        (
            {"type": "non_standard", "value": {"type": "custom", "k": 1}},
            {"type": "custom", "k": 1},
        ),
        ({"type": "something_new", "k": 1}, {"type": "something_new", "k": 1}),
    ],
)
def test_blocks(block: Any, wire: dict[str, Any]) -> None:
    assert _convert_block(block) == wire


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "base64": B64},  # no mime type
        {"type": "image", "file_id": "f"},  # Chat Completions has no image file ids
        {"type": "file", "url": "https://x/doc.pdf"},  # nor file URLs
        {"type": "audio", "url": "https://x/a.wav"},
    ],
)
def test_blocks_that_cannot_be_sent(block: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        _convert_block(block)


# --- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("stop", "stop"),
        ("end_turn", "stop"),
        ("MAX_TOKENS", "length"),
        ("tool_use", "tool_calls"),
        ("SAFETY", "content_filter"),
        ("new_reason", "new_reason"),
        (None, None),
    ],
)
def test_finish_reasons(raw: str | None, expected: str | None) -> None:
    assert _convert_finish_reason(raw) == expected


def test_usage_has_ints_only() -> None:
    usage = Usage.model_validate(
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2},
            "cost": 0.5,
            "credits_remaining": 9.5,
        }
    )
    assert _convert_usage(usage) == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "input_token_details": {"cache_read": 4},
        "output_token_details": {"reasoning": 2},
    }


def test_tool_calls_valid_invalid_and_extras() -> None:
    raw = [
        WireToolCall.model_validate(
            {"id": "a", "function": {"name": "f", "arguments": '{"x":1}'}, "extra_content": 1}
        ),
        WireToolCall.model_validate({"id": "b", "function": {"name": "g", "arguments": "{bad"}}),
        WireToolCall.model_validate({"id": "c", "function": {"name": "h", "arguments": "[1]"}}),
        WireToolCall.model_validate({"function": {"name": "k", "arguments": ""}}),
    ]
    calls, invalid, extras = _convert_tool_calls(raw)
    assert [(c["name"], c["args"], c["id"]) for c in calls[:1]] == [("f", {"x": 1}, "a")]
    assert calls[1]["name"] == "k" and calls[1]["args"] == {}
    assert (calls[1]["id"] or "").startswith("call_")
    assert [(c["name"], c["args"]) for c in invalid] == [("g", "{bad"), ("h", "[1]")]
    assert extras == {"a": {"extra_content": 1}}


def _completion(**meta: Any) -> ChatCompletion:
    completion = ChatCompletion.model_validate(
        {
            "id": "cmpl-1",
            "model": "gpt-4.1-2025-04-14",
            "choices": [
                {
                    "message": {
                        "content": "Hi",
                        "reasoning_content": "think",
                        "tool_calls": [
                            {"id": "t1", "function": {"name": "f", "arguments": '{"a":1}'}}
                        ],
                    },
                    "finish_reason": "tool_use",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5, "cost": 0.25},
        }
    )
    completion.meta = ResponseMeta(requested_model="gpt-4.1", request_id="req-1", **meta)
    return completion


def test_completion_metadata() -> None:
    error = RateLimitError("slow down", status_code=429, code="rate_limit_exceeded")
    result = _convert_completion(_completion(attempts=(Attempt("claude-x", error),)))
    message = result.generations[0].message
    assert isinstance(message, AIMessage)
    assert message.content == "Hi"
    assert message.additional_kwargs == {"reasoning_content": "think"}
    assert message.tool_calls[0]["args"] == {"a": 1}
    assert message.usage_metadata == {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    assert message.id == "cmpl-1"
    assert message.response_metadata == {
        "model_provider": "aisa",
        "model_name": "gpt-4.1-2025-04-14",
        "requested_model": "gpt-4.1",
        "id": "cmpl-1",
        "request_id": "req-1",
        "finish_reason": "tool_calls",
        "native_finish_reason": "tool_use",
        "cost": 0.25,
        "fallback_attempts": [
            {
                "model": "claude-x",
                "error": "RateLimitError",
                "status_code": 429,
                "code": "rate_limit_exceeded",
                "message": "slow down",
            }
        ],
    }


def test_settled_cost_header_wins_and_no_cost_is_not_zero() -> None:
    with_header = _convert_completion(_completion(cost_micros_usd=1234)).generations[0].message
    assert with_header.response_metadata["cost"] == 0.001234
    assert with_header.response_metadata["cost_micros_usd"] == 1234
    completion = _completion()
    assert completion.usage is not None
    completion.usage.cost = None
    without = _convert_completion(completion).generations[0].message
    assert "cost" not in without.response_metadata


# --- stream chunks --------------------------------------------------------------------------


def _chunk(delta: dict[str, Any] | None = None, **extra: Any) -> ChatCompletionChunk:
    choices = [] if delta is None else [{"index": 0, "delta": delta, **extra.pop("choice", {})}]
    return ChatCompletionChunk.model_validate(
        {"id": "s1", "model": "gpt-4.1-served", "choices": choices, **extra}
    )


def _stream(chunks: list[ChatCompletionChunk]) -> tuple[list[AIMessageChunk], Any]:
    accumulator = StreamAccumulator()
    fake = SimpleNamespace(model="gpt-4.1", meta=ResponseMeta(requested_model="gpt-4.1"))
    fake.accumulator = accumulator
    converter = ChunkConverter()
    out = []
    for chunk in chunks:
        accumulator.add(chunk)
        converted = converter.convert(chunk, fake)  # type: ignore[arg-type]
        if converted is not None:
            out.append(converted.message)
    out.append(converter.last(fake).message)  # type: ignore[arg-type]
    return out, fake  # type: ignore[return-value]


def test_stream_metadata_is_on_one_chunk_each() -> None:
    chunks, _ = _stream(
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"reasoning_content": "hmm"}),
            _chunk({"content": "Hel"}),
            _chunk({"content": "lo"}),
            _chunk({}, choice={"finish_reason": "stop"}),
            _chunk(
                usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cost": 0.1}
            ),
        ]
    )
    assert [c.content for c in chunks] == ["", "Hel", "lo", ""]
    assert chunks[0].additional_kwargs == {"reasoning_content": "hmm"}
    assert chunks[0].response_metadata["model_name"] == "gpt-4.1-served"
    assert all("model_name" not in c.response_metadata for c in chunks[1:])
    last = chunks[-1]
    assert last.chunk_position == "last"
    assert last.response_metadata == {
        "model_provider": "aisa",
        "finish_reason": "stop",
        "cost": 0.1,
    }
    assert [c.usage_metadata for c in chunks[:-1]] == [None, None, None]
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert full.content == "Hello"
    assert full.usage_metadata == {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}


def test_repeated_tool_names_and_ids_are_sent_once() -> None:
    def fragment(args: str) -> ChatCompletionChunk:
        call = {"index": 0, "id": "c1", "function": {"name": "add", "arguments": args}}
        return _chunk({"tool_calls": [call]})

    chunks, _ = _stream([fragment('{"a":'), fragment("1}")])
    full = chunks[0] + chunks[1] + chunks[2]
    assert full.tool_calls == [{"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]


def test_stream_without_content_still_ends_with_one_chunk() -> None:
    chunks, _ = _stream(
        [_chunk({"role": "assistant"}), _chunk({}, choice={"finish_reason": "stop"})]
    )
    assert len(chunks) == 1
    assert chunks[0].response_metadata["model_name"] == "gpt-4.1-served"
    assert chunks[0].response_metadata["finish_reason"] == "stop"
