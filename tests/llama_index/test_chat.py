"""chat / complete / stream_chat / stream_complete and their async twins, on literal frames."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, TextBlock, ThinkingBlock
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler

from aisa_core import (
    AuthenticationError,
    ChatCompletion,
    ChatCompletionChunk,
    RateLimitError,
    StreamHandler,
)
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import Gateway, chunk, completion, error, sse, usage_chunk

USER = [ChatMessage(role="user", content="hi")]
USAGE = {
    "prompt_tokens": 11,
    "completion_tokens": 4,
    "total_tokens": 15,
    "cost": 0.00021,
    "credits_remaining": 12.5,
    "completion_tokens_details": {"reasoning_tokens": 3},
}


def stream_frames() -> httpx.Response:
    return sse(
        chunk(role="assistant"),
        chunk("Hel"),
        chunk("lo", finish="stop"),
        usage_chunk(11, 4, cost=0.00021),
    )


def test_chat(make_llm: MakeLLM, gateway: Gateway) -> None:
    headers = {"x-request-id": "req-9", "x-aisa-customer-cost-micros-usd": "250"}
    gateway.add(
        httpx.Response(
            200, json=completion("Hello", model="gpt-4.1-2025-04-14", usage=USAGE), headers=headers
        )
    )
    response = make_llm().chat(USER)
    assert response.message.role == "assistant"
    assert response.message.content == "Hello"
    assert isinstance(response.raw, ChatCompletion) and response.raw.usage is not None
    assert response.additional_kwargs == {
        "prompt_tokens": 11,
        "completion_tokens": 4,
        "total_tokens": 15,
        "reasoning_tokens": 3,
        "credits_remaining": 12.5,
        "cost_usd": 0.00025,  # the settled header wins over usage.cost
        "model": "gpt-4.1",
        "served_model": "gpt-4.1-2025-04-14",
        "request_id": "req-9",
        "finish_reason": "stop",
    }


def test_cost_is_absent_not_zero(make_llm: MakeLLM, gateway: Gateway) -> None:
    assert "cost_usd" not in make_llm().chat(USER).additional_kwargs


def test_complete(make_llm: MakeLLM, gateway: Gateway) -> None:
    response = make_llm().complete("Say hi")
    assert response.text == "Hello"
    assert gateway.body["messages"] == [{"role": "user", "content": "Say hi"}]
    assert response.additional_kwargs["total_tokens"] == 9


def test_stream_chat(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(stream_frames())
    responses = list(make_llm().stream_chat(USER))
    assert [r.delta for r in responses] == ["Hel", "lo", ""]  # no empty role-only first chunk
    assert [r.message.content for r in responses] == ["Hel", "Hello", "Hello"]
    assert gateway.body["stream"] is True
    assert gateway.body["stream_options"] == {"include_usage": True}
    last = responses[-1]
    assert isinstance(last.raw, ChatCompletionChunk) and last.raw.usage is not None
    assert last.additional_kwargs["total_tokens"] == 15
    assert last.additional_kwargs["cost_usd"] == 0.00021
    assert last.additional_kwargs["finish_reason"] == "stop"


def test_stream_complete(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(stream_frames())
    responses = list(make_llm().stream_complete("hi"))
    assert [(r.delta, r.text) for r in responses] == [
        ("Hel", "Hel"),
        ("lo", "Hello"),
        ("", "Hello"),
    ]
    assert responses[-1].additional_kwargs["prompt_tokens"] == 11


async def test_async_twins(make_llm: MakeLLM, gateway: Gateway) -> None:
    llm = make_llm()
    gateway.add(
        httpx.Response(200, json=completion("A")),
        httpx.Response(200, json=completion("B")),
        stream_frames(),
        stream_frames(),
    )
    assert (await llm.achat(USER)).message.content == "A"
    assert (await llm.acomplete("x")).text == "B"
    chats = [r async for r in await llm.astream_chat(USER)]
    assert [r.message.content for r in chats] == ["Hel", "Hello", "Hello"]
    completions = [r async for r in await llm.astream_complete("x")]
    assert completions[-1].text == "Hello"
    assert completions[-1].additional_kwargs["completion_tokens"] == 4


def test_reasoning_becomes_a_thinking_block(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(
        httpx.Response(200, json=completion("42", reasoning_content="6 times 7", usage=USAGE))
    )
    blocks = make_llm("claude-sonnet-4-5-20250929-thinking").chat(USER).message.blocks
    assert isinstance(blocks[0], ThinkingBlock)
    assert (blocks[0].content, blocks[0].num_tokens) == ("6 times 7", 3)
    assert isinstance(blocks[1], TextBlock) and blocks[1].text == "42"


def test_streamed_reasoning_is_a_thinking_delta(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(
        sse(
            chunk(reasoning_content="6 times"),
            chunk(reasoning_content=" 7"),
            chunk("42", finish="stop"),
        )
    )
    responses = list(make_llm().stream_chat(USER))
    assert [r.additional_kwargs.get("thinking_delta") for r in responses] == ["6 times", " 7", None]
    final = responses[-1].message.blocks
    assert isinstance(final[0], ThinkingBlock) and final[0].content == "6 times 7"
    assert responses[-1].message.content == "42"


def test_list_content_answer(make_llm: MakeLLM, gateway: Gateway) -> None:
    parts = [{"type": "text", "text": "Here:"}, {"type": "image", "image": "https://x.test/i.png"}]
    gateway.add(httpx.Response(200, json=completion(parts)))  # type: ignore[arg-type]
    blocks = make_llm("wan2.5-t2i").chat(USER).message.blocks
    assert isinstance(blocks[0], TextBlock) and blocks[0].text == "Here:"
    assert isinstance(blocks[1], ImageBlock) and str(blocks[1].url) == "https://x.test/i.png"


def test_token_counting_handler_sees_usage(make_llm: MakeLLM, gateway: Gateway) -> None:
    counter = TokenCountingHandler(tokenizer=lambda text: text.split())
    llm = make_llm(callback_manager=CallbackManager([counter]))
    gateway.add(httpx.Response(200, json=completion(usage=USAGE)), stream_frames())
    llm.chat(USER)
    list(llm.stream_chat(USER))
    assert counter.prompt_llm_token_count == 22
    assert counter.completion_llm_token_count == 8


def test_errors_are_typed(make_llm: MakeLLM, gateway: Gateway) -> None:
    llm = make_llm(max_retries=0)
    gateway.add(error(401, "invalid_api_key"), error(429, "rate_limit_exceeded"))
    with pytest.raises(AuthenticationError):
        llm.chat(USER)
    with pytest.raises(RateLimitError):
        list(llm.stream_chat(USER))


def test_in_band_stream_error_raises_after_the_text(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(
        sse(chunk("Hel"), {"error": {"code": "upstream_timeout", "message": "slow"}}, done=False)
    )
    seen: list[str] = []
    with pytest.raises(Exception, match="slow") as caught:
        for response in make_llm().stream_chat(USER):
            seen.append(response.delta or "")
    assert seen == ["Hel"]
    assert type(caught.value).__module__ == "aisa_core.errors"


def test_retries_happen_in_the_core_only(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(error(503, "upstream_unavailable"), error(503, "upstream_unavailable"))
    assert make_llm(max_retries=2).chat(USER).message.content == "Hello"
    assert len(gateway.requests) == 3  # 1 + 2 retries, never multiplied by a second layer


def test_stream_handlers_are_reachable(make_llm: MakeLLM, gateway: Gateway) -> None:
    class Tokens(StreamHandler):
        def __init__(self) -> None:
            self.seen: list[Any] = []

        def on_token(self, text: str) -> None:
            self.seen.append(text)

        def on_usage(self, usage: Any) -> None:
            self.seen.append(usage.total_tokens)

    instance_handler, call_handler = Tokens(), Tokens()
    gateway.add(stream_frames())
    list(make_llm(stream_handlers=[instance_handler]).stream_chat(USER, handlers=[call_handler]))
    assert instance_handler.seen == call_handler.seen == ["Hel", "lo", 15]


class _TrackedBody(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.closed = False

    def __iter__(self) -> Any:
        yield from (self.data[i : i + 40] for i in range(0, len(self.data), 40))

    def close(self) -> None:
        self.closed = True


def test_closing_a_stream_early_closes_the_response(make_llm: MakeLLM, gateway: Gateway) -> None:
    body = _TrackedBody(stream_frames().content)
    gateway.add(httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"}))
    stream = make_llm().stream_chat(USER)
    assert next(stream).delta == "Hel"
    assert not body.closed
    stream.close()
    assert body.closed
