"""Streams: callbacks in order, no empty leading chunk, every fact on exactly one chunk, typed
errors for in-band failures and dropped connections (sync and async)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ModelAPIError, ModelConnectionError
from langchain_core.messages import AIMessageChunk

from aisa_core import StreamError, StreamInterruptedError
from aisa_core.standin import Fault, StandIn

from .conftest import MakeLLM

TEXT = "One two three four five."


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.events.append(("start", None))

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append(("token", token))

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.events.append(("end", response.generations[0][0].message))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.events.append(("error", error))


def _count(chunks: list[AIMessageChunk], key: str) -> int:
    return sum(key in c.response_metadata for c in chunks)


def test_stream_shape(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_text(TEXT)
    chunks = list(make_llm().stream("hi"))
    assert chunks[0].content == "One", "no empty leading chunk"
    assert "".join(str(c.content) for c in chunks) == TEXT
    assert sum(c.usage_metadata is not None for c in chunks) == 1
    for key in ("model_name", "id", "request_id", "fallback_attempts", "finish_reason", "cost"):
        assert _count(chunks, key) == 1, key
    assert chunks[0].response_metadata["model_name"] == "gpt-4.1"
    assert chunks[-1].chunk_position == "last" and chunks[-1].usage_metadata is not None
    assert all(c.chunk_position is None for c in chunks[:-1])


def test_callbacks_see_each_token_once_in_order(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_text(TEXT)
    recorder = Recorder()
    streamed = [c.content for c in make_llm().stream("hi", config={"callbacks": [recorder]})]
    kinds = [kind for kind, _ in recorder.events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    tokens = [value for kind, value in recorder.events if kind == "token"]
    assert tokens == streamed and tokens[0] == "One"
    assert "".join(tokens) == TEXT


def test_streaming_invoke_reports_tokens_too(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_text(TEXT)
    recorder = Recorder()
    answer = make_llm(streaming=True).invoke("hi", config={"callbacks": [recorder]})
    assert answer.content == TEXT
    assert "".join(v for k, v in recorder.events if k == "token") == TEXT


async def test_astream_shape_and_callbacks(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_text(TEXT)
    recorder = Recorder()
    chunks = [c async for c in make_llm().astream("hi", config={"callbacks": [recorder]})]
    assert chunks[0].content == "One"
    assert "".join(v for k, v in recorder.events if k == "token") == TEXT
    assert sum(c.usage_metadata is not None for c in chunks) == 1
    assert _count(chunks, "cost") == 1 and _count(chunks, "model_name") == 1


def test_streamed_tool_calls_by_index(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_tool_calls([("get_weather", {"city": "Oslo"}), ("get_time", {"tz": "CET"})])
    llm = make_llm().bind_tools(
        [
            {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
            {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
        ]
    )
    chunks = list(llm.stream("weather and time"))
    indexes = {tc["index"] for c in chunks for tc in c.tool_call_chunks}
    assert indexes == {0, 1}
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_time", {"tz": "CET"}),
    ]
    assert full.response_metadata["finish_reason"] == "tool_calls"


def test_in_band_error_mid_stream_raises_typed(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_fault(Fault(error_after_chunks=2))
    recorder = Recorder()
    got: list[Any] = []
    with pytest.raises(ModelAPIError) as caught:
        for chunk in make_llm().stream("hi", config={"callbacks": [recorder]}):
            got.append(chunk.content)
    assert isinstance(caught.value, StreamError)
    assert len(got) == 2, "tokens before the error were delivered, then it raised"
    assert recorder.events[-1][0] == "error"


def test_dropped_connection_raises_not_retryable(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_fault(Fault(drop_after_chunks=2))
    with pytest.raises(ModelConnectionError) as caught:
        list(make_llm(max_retries=2).stream("hi"))
    assert isinstance(caught.value, StreamInterruptedError)
    assert caught.value.is_retryable is False
    assert len(gateway.requests) == 1


async def test_async_in_band_error_raises_typed(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_fault(Fault(error_after_chunks=1))
    with pytest.raises(ModelAPIError):
        _ = [c async for c in make_llm().astream("hi")]


def test_early_stop_closes_the_stream(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_text(TEXT)
    llm = make_llm()
    stream = llm.stream("hi")
    assert next(stream).content == "One"
    stream.close()
    assert llm.invoke("again").content  # the pool is healthy afterwards
