"""get_aisa_callback totals tokens, cost and calls per served model, across threads and tasks."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from aisa_core.standin import Fault, StandIn
from langchain_aisa import ChatAISA, get_aisa_callback

from .conftest import MakeLLM


def test_invoke_and_stream_are_totalled(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm()
    with get_aisa_callback() as cb:
        first = llm.invoke("hi")
        streamed = list(llm.stream("hello"))
    assert first.usage_metadata is not None
    usage = cb.per_model["gpt-4.1"]
    assert usage.calls == 2 == cb.successful_requests
    stream_usage = next(c.usage_metadata for c in streamed if c.usage_metadata)
    assert usage.total_tokens == first.usage_metadata["total_tokens"] + stream_usage["total_tokens"]
    assert math.isclose(cb.total_cost, gateway.spent_micros_usd / 1e6)
    assert cb.calls_without_cost == 0
    assert "Total Cost (USD)" in repr(cb)


def test_batch_threads_and_per_model(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm()
    with get_aisa_callback() as cb:
        llm.batch(["a", "b", "c", "d", "e", "f"], config={"max_concurrency": 3})
        llm.invoke("x", model="gpt-4.1-mini")
    assert cb.per_model["gpt-4.1"].calls == 6
    assert cb.per_model["gpt-4.1-mini"].calls == 1
    assert math.isclose(cb.total_cost, gateway.spent_micros_usd / 1e6)


async def test_async_tasks(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm()
    with get_aisa_callback() as cb:
        await asyncio.gather(*(llm.ainvoke(f"q{i}") for i in range(8)))
        _ = [c async for c in llm.astream("streamed")]
    assert cb.successful_requests == 9
    assert math.isclose(cb.total_cost, gateway.spent_micros_usd / 1e6)


def test_nothing_is_recorded_outside_and_nested_blocks_add_up(make_llm: MakeLLM) -> None:
    llm = make_llm()
    with get_aisa_callback() as outer:
        llm.invoke("a")
        with get_aisa_callback() as inner:
            llm.invoke("b")
        llm.invoke("c")
    llm.invoke("after")
    assert inner.successful_requests == 1
    assert outer.successful_requests == 3


def test_fallbacks_and_failures_are_counted(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.fail_model("gpt-4.1", Fault(status=429, retry_after=0))
    with get_aisa_callback() as cb:
        make_llm(fallback_models=["gpt-4.1-mini"]).invoke("hi")
        with pytest.raises(Exception, match="Rate limit"):
            make_llm().invoke("hi")
    assert cb.per_model["gpt-4.1"].failed_attempts == 1
    assert cb.per_model["gpt-4.1"].calls == 0
    assert cb.per_model["gpt-4.1-mini"].calls == 1
    assert cb.failed_requests == 1


def test_a_missing_cost_is_not_zero() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "model": "gpt-4.1",
            "choices": [{"message": {"content": "hi"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return httpx.Response(200, json=body)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        llm = ChatAISA(model="gpt-4.1", api_key="sk-aisa-x", http_client=client)
        with get_aisa_callback() as cb:
            answer = llm.invoke("hi")
    assert "cost" not in answer.response_metadata
    assert cb.calls_without_cost == 1 and cb.total_cost == 0 and cb.total_tokens == 2
