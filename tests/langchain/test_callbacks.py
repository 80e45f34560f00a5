"""get_aisa_callback totals tokens, cost and calls per served model, across threads and tasks."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx
import pytest

from aisa_core import ModelHealth
from aisa_core.standin import Fault, StandIn
from aisa_core.usage import CallUsage
from langchain_aisa import AISACallbackHandler, AISAEmbeddings, ChatAISA, get_aisa_callback

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
        assert cb.per_model["gpt-4.1"].failed_attempts == 1
        with pytest.raises(Exception, match="Rate limit"):
            make_llm().invoke("hi")
    # Read from the seam: the attempt of the call that failed counts too (it used to be lost).
    assert cb.per_model["gpt-4.1"].failed_attempts == 2
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


# --- read from the attempt seam ---------------------------------------------------------------


def _mock_gateway(usage: dict[str, Any]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"model": "o4-mini", "choices": [{"message": {"content": "hi"}}], "usage": usage}
        return httpx.Response(200, json=body, headers={"x-aisa-customer-cost-micros-usd": "1500"})

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_cached_and_reasoning_tokens_and_the_served_model() -> None:
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 30,
        "total_tokens": 40,
        "prompt_tokens_details": {"cached_tokens": 6},
        "completion_tokens_details": {"reasoning_tokens": 20},
    }
    with _mock_gateway(usage) as client:
        llm = ChatAISA(model="aisa/o4-mini", api_key="sk-aisa-x", http_client=client)
        with get_aisa_callback() as cb:
            llm.invoke("hi")
    assert set(cb.per_model) == {"o4-mini"}
    totals = cb.per_model["o4-mini"]
    assert (totals.input_tokens, totals.output_tokens, totals.total_tokens) == (10, 30, 40)
    assert (totals.cached_tokens, totals.reasoning_tokens) == (6, 20)
    assert math.isclose(totals.cost, 0.0015) and totals.calls_without_cost == 0


def test_calls_of_the_core_clients_are_counted_without_langchain_callbacks(
    make_llm: MakeLLM, gateway: StandIn
) -> None:
    """The handler hears the core clients themselves, not LangChain's run callbacks: a call made
    on ``_core()`` (as the router's quoter does for quotes) and a stream closed early count."""
    llm = make_llm()
    with get_aisa_callback() as cb:
        llm._core().chat("straight to the core", model="gpt-4.1")
        llm._core().quote("hi", model="gpt-4.1")  # housekeeping: never counted
        stream = llm.stream("a long answer, please, word by word")
        next(stream)
        stream.close()  # served, so it may be billed: a call, its cost unknown
    assert cb.successful_requests == 2 and cb.failed_requests == 0
    assert cb.calls_without_cost == 1


async def test_a_closed_async_stream_is_counted_once(make_llm: MakeLLM) -> None:
    llm = make_llm()
    with get_aisa_callback() as cb:
        stream = llm.astream("a long answer, please, word by word")
        await anext(stream)
        await stream.aclose()
    assert (cb.successful_requests, cb.calls_without_cost, cb.failed_requests) == (1, 1, 0)


def test_with_fallbacks_counts_the_failed_model(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.fail_model("gpt-4.1", Fault(status=503))
    chain = make_llm().with_fallbacks([make_llm(model="gpt-4.1-mini")])
    with get_aisa_callback() as cb:
        chain.invoke("hi")
    assert cb.per_model["gpt-4.1"].failed_attempts == 1 and cb.failed_requests == 1
    assert cb.per_model["gpt-4.1-mini"].calls == 1 and cb.successful_requests == 1


def test_models_skipped_by_health_are_counted(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.fail_model("gpt-4.1", Fault(status=503))
    health = ModelHealth(failure_threshold=1, cooldown=60)
    llm = make_llm(fallback_models=["gpt-4.1-mini"], aisa_health=health)
    with get_aisa_callback() as cb:
        llm.invoke("fails over")
        llm.invoke("skips the cooling model")
    primary = cb.per_model["gpt-4.1"]
    assert (primary.failed_attempts, primary.skipped, primary.calls) == (1, 1, 0)
    assert cb.per_model["gpt-4.1-mini"].calls == 2


def test_embedding_batches_on_worker_threads_reach_the_block(aisa_standin: StandIn) -> None:
    embeddings = AISAEmbeddings(
        api_key=aisa_standin.api_key,
        base_url=aisa_standin.base_url,
        batch_size=1,
        max_concurrency=4,
    )
    with get_aisa_callback() as cb:
        embeddings.embed_documents(["one", "two", "three", "four"])
    totals = cb.per_model["text-embedding-3-small"]
    assert totals.calls == 4  # one per request
    assert totals.input_tokens > 0 and totals.output_tokens == 0
    assert math.isclose(cb.total_cost, aisa_standin.spent_micros_usd / 1e6)
    embeddings.close()


# --- as a table ---------------------------------------------------------------------------


def test_the_totals_show_as_a_table_and_a_dataframe(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.fail_model("gpt-4.1", Fault(status=503))
    with get_aisa_callback() as cb:
        make_llm(fallback_models=["gpt-4.1-mini"]).invoke("hi")
        make_llm(model="claude-haiku-4-5-20251001").invoke("hello")
    frame = cb.to_pandas()
    assert list(frame["model"]) == ["claude-haiku-4-5-20251001", "gpt-4.1", "gpt-4.1-mini", "total"]
    assert list(frame.columns[:3]) == ["model", "calls", "input_tokens"]
    total = frame.set_index("model").loc["total"]
    assert (total["calls"], total["failed_attempts"]) == (2, 1)
    assert total["total_tokens"] == cb.total_tokens and math.isclose(total["cost"], cb.total_cost)
    page = cb._repr_html_()
    assert page.count("<tr>") == 5 and "failed_attempts" in page and "<caption>" in page


def test_model_names_are_escaped_in_the_table() -> None:
    cb = AISACallbackHandler()
    cb.record_call(CallUsage("chat", "<img src=x onerror=alert(1)>", True, cost_usd=0.5))
    page = cb._repr_html_()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_outside_a_block_the_core_makes_no_report(make_llm: MakeLLM) -> None:
    """The seam's observer listens only inside ``get_aisa_callback()``: a plain call pays for
    no attempt or call report."""
    llm = make_llm()
    settings = llm._core().settings  # the core client's
    assert not settings.watch.watched
    with get_aisa_callback() as totals:
        assert settings.watch.watched
        llm.invoke("hi")
    assert totals.per_model and not settings.watch.watched
