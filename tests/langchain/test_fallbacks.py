"""Fallbacks that survive tools and structured output, both ways round: the core's chain
(``fallback_models=``) and LangChain's ``with_fallbacks``."""

from __future__ import annotations

import typing

import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableWithFallbacks
from pydantic import BaseModel

from aisa_core import StreamError
from aisa_core.standin import Fault, StandIn
from langchain_aisa import ChatAISA

from .conftest import MakeLLM

PRIMARY, BACKUP = "gpt-4.1", "claude-haiku-4-5-20251001"


class Weather(BaseModel):
    """Weather in a city."""

    city: str
    celsius: int


def get_weather(city: str) -> str:
    """Look up the weather."""
    return f"sunny in {city}"


def _models(gateway: StandIn) -> list[str]:
    return [r.json["model"] for r in gateway.requests if r.path.endswith("/chat/completions")]


# --- the annotations LangChain's with_fallbacks relies on ---------------------------------------


@pytest.mark.parametrize("name", ["bind_tools", "with_structured_output"])
def test_return_annotations_resolve_at_runtime(name: str) -> None:
    hints = typing.get_type_hints(getattr(ChatAISA, name))
    origin = typing.get_origin(hints["return"]) or hints["return"]
    assert isinstance(origin, type) and issubclass(origin, Runnable)
    # the very check RunnableWithFallbacks.__getattr__ makes
    from langchain_core.runnables.fallbacks import _returns_runnable

    llm = ChatAISA(model=PRIMARY, api_key="sk-aisa-x")
    assert _returns_runnable(getattr(llm, name))


# --- with_fallbacks, both ways round ------------------------------------------------------------


def test_with_fallbacks_then_bind_tools(make_llm: MakeLLM, gateway: StandIn) -> None:
    chain = make_llm().with_fallbacks([make_llm(model=BACKUP)]).bind_tools([get_weather])
    assert isinstance(chain, RunnableWithFallbacks) and len(chain.fallbacks) == 1
    gateway.fail_model(PRIMARY, Fault(status=429, retry_after=0))
    answer = chain.invoke("weather in Oslo?")
    assert isinstance(answer, AIMessage) and answer.tool_calls[0]["name"] == "get_weather"
    assert answer.response_metadata["model_name"] == BACKUP
    assert _models(gateway) == [PRIMARY, BACKUP]
    assert gateway.last_request.json["tools"][0]["function"]["name"] == "get_weather"


def test_bind_tools_then_with_fallbacks(make_llm: MakeLLM, gateway: StandIn) -> None:
    tools = [get_weather]
    chain = make_llm().bind_tools(tools).with_fallbacks([make_llm(model=BACKUP).bind_tools(tools)])
    gateway.fail_model(
        PRIMARY, Fault(status=503, message="upstream down", code="upstream_unavailable")
    )
    answer = chain.invoke("weather in Oslo?")
    assert answer.tool_calls and answer.response_metadata["model_name"] == BACKUP


def test_with_fallbacks_then_structured_output(make_llm: MakeLLM, gateway: StandIn) -> None:
    chain = make_llm().with_fallbacks([make_llm(model=BACKUP)]).with_structured_output(Weather)
    assert isinstance(chain, RunnableWithFallbacks)
    gateway.fail_model(PRIMARY, Fault(status=429, retry_after=0))
    assert isinstance(chain.invoke("weather in Oslo"), Weather)
    assert _models(gateway) == [PRIMARY, BACKUP]


def test_structured_output_then_with_fallbacks(make_llm: MakeLLM, gateway: StandIn) -> None:
    backup = make_llm(model=BACKUP).with_structured_output(Weather, method="function_calling")
    chain = make_llm().with_structured_output(Weather).with_fallbacks([backup])
    gateway.fail_model(PRIMARY, Fault(status=500))
    assert isinstance(chain.invoke("weather in Oslo"), Weather)
    assert gateway.last_request.json["tool_choice"]["function"]["name"] == "Weather"


def test_with_fallbacks_stream_switches_on_an_early_in_band_error(
    make_llm: MakeLLM, gateway: StandIn
) -> None:
    """No empty leading chunk: the in-band error arrives before anything was yielded, so
    LangChain can still switch models."""
    gateway.fail_model(PRIMARY, Fault(error_after_chunks=0))
    chain = make_llm().with_fallbacks([make_llm(model=BACKUP)])
    chunks = list(chain.stream("hi"))
    assert chunks[0].response_metadata["model_name"] == BACKUP
    assert "".join(str(c.content) for c in chunks).startswith(
        f"Hello from the AIsa stand-in ({BACKUP})"
    )


async def test_with_fallbacks_astream_with_tools(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.fail_model(PRIMARY, Fault(error_after_chunks=0))
    chain = make_llm().with_fallbacks([make_llm(model=BACKUP)]).bind_tools([get_weather])
    full = None
    async for chunk in chain.astream("weather in Oslo?"):
        full = chunk if full is None else full + chunk
    assert full is not None and full.tool_calls[0]["name"] == "get_weather"


# --- fallback_models: the core's chain ----------------------------------------------------------


def test_fallback_models_survive_bind_tools(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm(fallback_models=[BACKUP]).bind_tools([get_weather], tool_choice="any")
    gateway.fail_model(PRIMARY, Fault(status=503))  # "No available channels"
    answer = llm.invoke("weather in Oslo?")
    assert answer.tool_calls and answer.response_metadata["model_name"] == BACKUP
    assert answer.response_metadata["requested_model"] == BACKUP
    [attempt] = answer.response_metadata["fallback_attempts"]
    assert attempt["model"] == PRIMARY and attempt["error"] == "UnknownModelError"


async def test_fallback_models_survive_structured_output(
    make_llm: MakeLLM, gateway: StandIn
) -> None:
    llm = make_llm(fallback_models=[BACKUP]).with_structured_output(Weather, include_raw=True)
    gateway.fail_model(PRIMARY, Fault(status=429, retry_after=0))
    out = await llm.ainvoke("weather in Oslo")
    assert isinstance(out, dict) and isinstance(out["parsed"], Weather)
    assert out["raw"].response_metadata["fallback_attempts"][0]["model"] == PRIMARY


def test_fallback_models_stream_before_the_first_token(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.fail_model(PRIMARY, Fault(error_after_chunks=0))
    chunks = list(make_llm(fallback_models=[BACKUP]).stream("hi"))
    head = chunks[0].response_metadata
    assert head["model_name"] == BACKUP and head["fallback_attempts"][0]["model"] == PRIMARY


def test_no_fallback_after_the_first_token(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.fail_model(PRIMARY, Fault(error_after_chunks=2))
    got: list[str] = []
    with pytest.raises(StreamError):
        for chunk in make_llm(fallback_models=[BACKUP]).stream("hi"):
            got.append(str(chunk.content))
    assert len(got) == 2 and _models(gateway) == [PRIMARY]


@pytest.mark.parametrize(("retry_first", "primary_calls"), [(False, 1), (True, 3)])
def test_fail_over_fast_unless_asked_to_retry_first(
    make_llm: MakeLLM, gateway: StandIn, retry_first: bool, primary_calls: int
) -> None:
    gateway.fail_model(PRIMARY, Fault(status=429, retry_after=0))
    llm = make_llm(fallback_models=[BACKUP], max_retries=2, retry_before_fallback=retry_first)
    assert llm.invoke("hi").response_metadata["model_name"] == BACKUP
    assert _models(gateway) == [PRIMARY] * primary_calls + [BACKUP]


def test_per_call_fallback_models(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.fail_model(PRIMARY, Fault(status=429, retry_after=0))
    llm = make_llm(fallback_models=[BACKUP])
    with pytest.raises(Exception, match="Rate limit"):
        llm.invoke("hi", fallback_models=[])
    assert (
        llm.bind(fallback_models=["gpt-5"]).invoke("hi").response_metadata["model_name"] == "gpt-5"
    )
