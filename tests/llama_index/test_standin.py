"""``AISA`` against the stand-in gateway: a real HTTP server on a loopback socket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock, ToolCallBlock
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from aisa_core import StreamInterruptedError, UnknownModelError
from aisa_core.standin import Fault, StandIn
from llama_index_aisa import AISA
from tests.llama_index.conftest import MakeLLM

USER = [ChatMessage(role="user", content="Where is Lima?")]


def lookup(city: str) -> str:
    """Find the country a city is in."""
    return f"{city} is in Peru"


class City(BaseModel):
    name: str
    country: str


def test_every_call_shape(standin_llm: MakeLLM, standin: StandIn) -> None:
    llm = standin_llm()
    standin.enqueue_text("Lima is in Peru.")
    assert llm.chat(USER).message.content == "Lima is in Peru."
    standin.enqueue_text("In Peru.")
    assert llm.complete("Where is Lima?").text == "In Peru."
    standin.enqueue_text("Lima is the capital of Peru.")
    chunks = list(llm.stream_chat(USER))
    assert "".join(c.delta or "" for c in chunks) == "Lima is the capital of Peru."
    assert len(chunks) > 2 and chunks[-1].additional_kwargs["total_tokens"] > 0
    standin.enqueue_text("Peru.")
    assert list(llm.stream_complete("Where?"))[-1].text == "Peru."
    assert [r.json["model"] for r in standin.requests] == ["gpt-4.1"] * 4
    assert standin.requests[0].headers["x-aisa-source"] == "aisa-llm-llama-index"


async def test_every_async_call_shape(astandin_llm: MakeLLM, standin: StandIn) -> None:
    llm = astandin_llm("claude-sonnet-4-5-20250929")
    standin.enqueue_text("one")
    assert (await llm.achat(USER)).message.content == "one"
    standin.enqueue_text("two")
    assert (await llm.acomplete("x")).text == "two"
    standin.enqueue_text("three four five")
    chats = [r async for r in await llm.astream_chat(USER)]
    assert chats[-1].message.content == "three four five"
    standin.enqueue_text("six")
    completions = [r async for r in await llm.astream_complete("x")]
    assert completions[-1].text == "six"
    assert completions[-1].additional_kwargs["model"] == "claude-sonnet-4-5-20250929"


def test_usage_and_cost_reach_token_counting(standin_llm: MakeLLM) -> None:
    counter = TokenCountingHandler(tokenizer=lambda text: text.split())
    llm = standin_llm(callback_manager=CallbackManager([counter]))
    response = llm.chat(USER)
    streamed = list(llm.stream_chat(USER))[-1]
    for extra in (response.additional_kwargs, streamed.additional_kwargs):
        assert extra["prompt_tokens"] > 0 and extra["cost_usd"] > 0
    expected = (
        response.additional_kwargs["prompt_tokens"] + streamed.additional_kwargs["prompt_tokens"]
    )
    assert counter.prompt_llm_token_count == expected


def test_reasoning_model(standin_llm: MakeLLM, standin: StandIn) -> None:
    llm = standin_llm("claude-sonnet-4-5-20250929-thinking")
    blocks = llm.chat(USER).message.blocks
    assert isinstance(blocks[0], ThinkingBlock) and blocks[0].content
    streamed = list(llm.stream_chat(USER))
    assert any(r.additional_kwargs.get("thinking_delta") for r in streamed)


def test_tools(standin_llm: MakeLLM, standin: StandIn) -> None:
    llm = standin_llm("gemini-2.5-flash")
    tools = [FunctionTool.from_defaults(lookup)]
    response = llm.chat_with_tools(
        tools, "Which country is Lima in? use lookup", tool_required=True
    )
    calls = llm.get_tool_calls_from_response(response)
    assert calls[0].tool_name == "lookup" and isinstance(calls[0].tool_kwargs["city"], str)
    assert standin.last_request.json["tool_choice"] == "required"
    *_, last = llm.stream_chat_with_tools(tools, "lookup Lima")
    assert any(isinstance(b, ToolCallBlock) for b in last.message.blocks)


def test_structured_both_ways(standin_llm: MakeLLM, standin: StandIn) -> None:
    prompt = PromptTemplate("Describe {city}.")
    city = standin_llm("gpt-4.1").structured_predict(City, prompt, city="Lima")
    assert isinstance(city, City)
    assert standin.last_request.json["response_format"]["type"] == "json_schema"
    city = standin_llm("deepseek-v3.1").structured_predict(City, prompt, city="Lima")
    assert isinstance(city, City)
    assert standin.last_request.json["tools"][0]["function"]["name"] == "City"
    partials = list(standin_llm("gpt-4.1").stream_structured_predict(City, prompt, city="Lima"))
    assert isinstance(partials[-1], City)


def test_failing_primary_completes_on_its_fallback(standin_llm: MakeLLM, standin: StandIn) -> None:
    standin.fail_model("gpt-4.1", Fault(status=503))
    llm = standin_llm("gpt-4.1", fallback_models=["claude-haiku-4-5-20251001"])
    response = llm.chat(USER)
    assert "claude-haiku-4-5-20251001" in (response.message.content or "")
    assert response.additional_kwargs["model"] == "claude-haiku-4-5-20251001"
    assert response.additional_kwargs["failed_models"] == ["gpt-4.1"]
    streamed = list(llm.stream_chat(USER))
    assert streamed[-1].additional_kwargs["model"] == "claude-haiku-4-5-20251001"


def test_unknown_model_falls_back(standin_llm: MakeLLM) -> None:
    with pytest.raises(UnknownModelError):
        standin_llm("retired-model-1").chat(USER)
    llm = standin_llm("retired-model-1", fallback_models=["qwen3-max"])
    assert llm.chat(USER).additional_kwargs["model"] == "qwen3-max"


def test_dropped_stream_after_tokens_raises(standin_llm: MakeLLM, standin: StandIn) -> None:
    standin.enqueue_fault(Fault(drop_after_chunks=2))
    seen: list[Any] = []
    with pytest.raises(StreamInterruptedError):
        for response in standin_llm(fallback_models=["qwen3-max"]).stream_chat(USER):
            seen.append(response.delta)
    assert len(seen) == 2
    assert [json.loads(r.body)["model"] for r in standin.requests] == ["gpt-4.1"]


def test_rate_limiter_reaches_the_core_client(aisa_standin: StandIn) -> None:
    from aisa_core import RateLimiter

    limiter = RateLimiter(None, 1)
    llm = AISA(
        "gpt-4.1",
        api_key=aisa_standin.api_key,
        base_url=aisa_standin.base_url,
        aisa_rate_limiter=limiter,
    )
    gen = llm.stream_complete("hello there")
    next(gen)
    assert limiter.in_flight == 1
    for _ in gen:
        pass
    assert limiter.in_flight == 0
    assert "aisa_rate_limiter" not in llm.to_json()
