"""Structured output: JSON schema where the model follows one, function calling otherwise."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import Gateway, chunk, completion, sse, tool_delta

PROMPT = PromptTemplate("Invent a city in {country}.")
CITY = {"name": "Lumen", "population": 120000}


class City(BaseModel):
    """A city."""

    name: str
    population: int


def tool_answer(args: dict[str, Any]) -> httpx.Response:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "City", "arguments": json.dumps(args)},
    }
    return httpx.Response(200, json=completion(None, tool_calls=[call]))


def test_json_schema_for_models_that_follow_one(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=completion(json.dumps(CITY))))
    city = make_llm("gpt-4.1").structured_predict(City, PROMPT, country="Peru")
    assert city == City(**CITY)
    body = gateway.body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": City.model_json_schema()},
    }
    assert "tools" not in body and "tool_choice" not in body
    assert body["messages"] == [{"role": "user", "content": "Invent a city in Peru."}]


def test_function_calling_for_the_others(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(tool_answer(CITY))
    city = make_llm("deepseek-v3.1").structured_predict(City, PROMPT, country="Peru")
    assert city == City(**CITY)
    body = gateway.body
    assert [t["function"]["name"] for t in body["tools"]] == ["City"]
    assert body["tool_choice"] == "required"
    assert "response_format" not in body


async def test_async_both_ways(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=completion(json.dumps(CITY))), tool_answer(CITY))
    assert await make_llm("gemini-2.5-pro").astructured_predict(City, PROMPT, country="x") == City(
        **CITY
    )
    assert await make_llm("deepseek-v3.1").astructured_predict(City, PROMPT, country="x") == City(
        **CITY
    )


def test_code_fence_is_tolerated(make_llm: MakeLLM, gateway: Gateway) -> None:
    fenced = "```json\n" + json.dumps(CITY) + "\n```"
    gateway.add(httpx.Response(200, json=completion(fenced)))
    assert make_llm().structured_predict(City, PROMPT, country="x").population == 120000


def test_invalid_answer_is_a_clear_error(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=completion("I cannot do that")))
    with pytest.raises(ValueError, match="not a valid City"):
        make_llm().structured_predict(City, PROMPT, country="x")


def test_llm_kwargs_tool_options_are_not_sent(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=completion(json.dumps(CITY))))
    llm_kwargs = {"tool_choice": "required", "temperature": 0.0}
    make_llm().structured_predict(City, PROMPT, llm_kwargs=llm_kwargs, country="x")
    assert "tool_choice" not in gateway.body and gateway.body["temperature"] == 0.0


def test_stream_structured_predict_json(make_llm: MakeLLM, gateway: Gateway) -> None:
    text = json.dumps(CITY)
    gateway.add(sse(chunk(text[:12]), chunk(text[12:30]), chunk(text[30:], finish="stop")))
    partials = list(make_llm().stream_structured_predict(City, PROMPT, country="x"))
    assert partials[0].name == "Lu"  # type: ignore[union-attr]
    assert partials[-1] == City(**CITY)
    assert gateway.body["stream"] is True and "response_format" in gateway.body


def test_stream_structured_predict_tools(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(
        sse(
            chunk(tool_calls=[tool_delta(0, id="c1", name="City", arguments='{"name": "Lu')]),
            chunk(tool_calls=[tool_delta(0, arguments='men", "population": 120000}')]),
            chunk(finish="tool_calls"),
        )
    )
    partials = list(make_llm("deepseek-v3.1").stream_structured_predict(City, PROMPT, country="x"))
    assert partials[0].name == "Lu"  # type: ignore[union-attr]
    assert partials[-1] == City(**CITY)


async def test_astream_structured_predict(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(sse(chunk(json.dumps(CITY), finish="stop")))
    stream = await make_llm().astream_structured_predict(City, PROMPT, country="x")
    partials = [p async for p in stream]
    assert partials[-1] == City(**CITY)


def test_as_structured_llm(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(httpx.Response(200, json=completion(json.dumps(CITY))))
    structured = make_llm().as_structured_llm(City)
    response = structured.chat([ChatMessage(role="user", content="Invent a city")])
    assert response.raw == City(**CITY)
    assert json.loads(response.message.content or "") == CITY
