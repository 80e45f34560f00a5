"""LLM-cache hits cost nothing in get_aisa_callback(), and ``llm_output`` carries ``token_usage``
and ``model_name`` (as ChatOpenAI's does) for callbacks that still read it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import set_llm_cache
from langchain_core.messages import HumanMessage
from langchain_core.outputs import LLMResult

from aisa_core.standin import StandIn
from langchain_aisa import get_aisa_callback

from .conftest import MakeLLM


@pytest.fixture
def global_cache() -> Iterator[InMemoryCache]:
    cache = InMemoryCache()
    set_llm_cache(cache)
    yield cache
    set_llm_cache(None)


def test_global_cache_hits_are_not_billed_again(
    make_llm: MakeLLM, gateway: StandIn, global_cache: InMemoryCache
) -> None:
    llm = make_llm()
    with get_aisa_callback() as cb:
        first = llm.invoke("the same question")
        again = llm.invoke("the same question")
    assert again.content == first.content
    assert len(gateway.requests) == 1
    usage = cb.per_model["gpt-4.1"]
    assert (usage.calls, usage.cache_hits, cb.cache_hits) == (1, 1, 1)
    assert first.usage_metadata is not None
    assert usage.total_tokens == first.usage_metadata["total_tokens"] == cb.total_tokens
    assert math.isclose(cb.total_cost, gateway.spent_micros_usd / 1e6)
    assert cb.successful_requests == 1 and cb.calls_without_cost == 0


async def test_model_cache_hits_are_not_billed_again(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm(cache=InMemoryCache())
    with get_aisa_callback() as outer:
        await llm.ainvoke("once")
        with get_aisa_callback() as inner:
            await llm.ainvoke("once")
            llm.invoke("once")
    assert len(gateway.requests) == 1
    assert (inner.successful_requests, inner.cache_hits, inner.total_cost) == (0, 2, 0.0)
    assert (outer.successful_requests, outer.cache_hits) == (1, 2)
    assert math.isclose(outer.total_cost, gateway.spent_micros_usd / 1e6)


class _LegacyUsage(BaseCallbackHandler):
    """What older callbacks (and LangChain's own OpenAI callback) read: ``llm_output``."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, Any] | None] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.outputs.append(response.llm_output)


def test_llm_output_has_token_usage_and_model_name(make_llm: MakeLLM) -> None:
    legacy = _LegacyUsage()
    answer = make_llm().invoke("hi", config={"callbacks": [legacy]})
    [output] = legacy.outputs
    assert output is not None and answer.usage_metadata is not None
    assert output["model_name"] == "gpt-4.1"
    usage = output["token_usage"]
    assert usage["prompt_tokens"] == answer.usage_metadata["input_tokens"]
    assert usage["completion_tokens"] == answer.usage_metadata["output_tokens"]
    assert usage["total_tokens"] == answer.usage_metadata["total_tokens"]
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 0}
    assert answer.response_metadata["token_usage"] == usage  # as ChatOpenAI's answers have it


def test_generate_sums_token_usage_over_a_batch(make_llm: MakeLLM) -> None:
    prompts = [[HumanMessage("first question")], [HumanMessage("a second, longer question")]]
    result = make_llm().generate(prompts)
    messages = [gen[0].message for gen in result.generations]  # type: ignore[attr-defined]
    totals = [m.usage_metadata["total_tokens"] for m in messages]
    assert result.llm_output is not None
    assert result.llm_output["model_name"] == "gpt-4.1"
    assert result.llm_output["token_usage"]["total_tokens"] == sum(totals)
    cost = result.llm_output["token_usage"]["cost"]
    assert math.isclose(cost, sum(m.response_metadata["cost"] for m in messages))
