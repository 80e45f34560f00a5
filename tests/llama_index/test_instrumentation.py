"""LlamaIndex's standard LLM events fire for every call shape, errors included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from pydantic import Field

from aisa_core import BadRequestError, StreamError
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import Gateway, chunk, completion, error, sse

USER = [ChatMessage(role="user", content="hi")]


class Collect(BaseEventHandler):
    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "Collect"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)

    def names(self) -> list[str]:
        return [e.class_name() for e in self.events if e.class_name().startswith(("LLM", "Exc"))]


@pytest.fixture
def events() -> Iterator[Collect]:
    handler = Collect(events=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    yield handler
    root.event_handlers.remove(handler)


def test_chat_events(make_llm: MakeLLM, events: Collect) -> None:
    make_llm().chat(USER)
    assert events.names() == ["LLMChatStartEvent", "LLMChatEndEvent"]
    start = events.events[0]
    assert start.model_dict["class_name"] == "AISA"  # type: ignore[attr-defined]


def test_stream_events(make_llm: MakeLLM, gateway: Gateway, events: Collect) -> None:
    gateway.add(sse(chunk("a"), chunk("b", finish="stop")))
    list(make_llm().stream_chat(USER))
    assert events.names() == [
        "LLMChatStartEvent",
        "LLMChatInProgressEvent",
        "LLMChatInProgressEvent",
        "LLMChatEndEvent",
    ]


async def test_async_completion_events(
    make_llm: MakeLLM, gateway: Gateway, events: Collect
) -> None:
    gateway.add(httpx.Response(200, json=completion()), sse(chunk("a"), chunk("b", finish="stop")))
    await make_llm().acomplete("x")
    async for _ in await make_llm().astream_complete("x"):
        pass
    assert events.names() == [
        "LLMCompletionStartEvent",
        "LLMCompletionEndEvent",
        "LLMCompletionStartEvent",
        "LLMCompletionInProgressEvent",
        "LLMCompletionInProgressEvent",
        "LLMCompletionEndEvent",
    ]


def test_stream_error_event(make_llm: MakeLLM, gateway: Gateway, events: Collect) -> None:
    gateway.add(sse(chunk("a"), {"error": {"message": "boom"}}, done=False))
    with pytest.raises(StreamError):
        list(make_llm().stream_chat(USER))
    assert events.names() == ["LLMChatStartEvent", "LLMChatInProgressEvent", "ExceptionEvent"]


def test_chat_error_drops_the_span(make_llm: MakeLLM, gateway: Gateway, events: Collect) -> None:
    gateway.add(error(400, "invalid_request", "bad"))
    with pytest.raises(BadRequestError):
        make_llm().chat(USER)
    names = [e.class_name() for e in events.events]
    assert names[0] == "LLMChatStartEvent" and "SpanDropEvent" in names
    assert "LLMChatEndEvent" not in names


def test_key_not_in_event_payloads(make_llm: MakeLLM, events: Collect) -> None:
    llm = make_llm()
    llm.chat(USER)
    key = llm.client.settings.api_key.get_secret_value()
    assert all(key not in repr(e.model_dump()) for e in events.events)
