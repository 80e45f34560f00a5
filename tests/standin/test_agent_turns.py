"""What agent loops need from the stand-in: a forced tool choice that ends (the answer tool after
a tool result), and thinking models that reason and refuse a history without their reasoning."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from aisa_core.standin import StandIn


def tool(name: str, **properties: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": sorted(properties)}
    return {"type": "function", "function": {"name": name, "parameters": schema}}


WEATHER = tool("get_weather", city={"type": "string"})
SEARCH = tool("search", query={"type": "string"})
ANSWER = tool("WeatherResponse", city={"type": "string"}, conditions={"type": "string"})
USER = {"role": "user", "content": "What is the weather in Oslo?"}


def call(call_id: str, name: str, arguments: str = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def turn(*calls: dict[str, Any], reasoning: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": list(calls)}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return message


def result(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "sunny"}


def chat(client: httpx.Client, model: str = "gpt-4.1", **body: Any) -> httpx.Response:
    return client.post("/chat/completions", json={"model": model, **body})


def called(response: httpx.Response) -> list[str]:
    message = response.json()["choices"][0]["message"]
    return [c["function"]["name"] for c in message.get("tool_calls") or ()]


# -- tool_choice "required" -----------------------------------------------------------------


@pytest.mark.parametrize("choice", ["required", "any"])
def test_required_calls_the_answer_tool_after_a_tool_result(
    client: httpx.Client, choice: str
) -> None:
    tools = [WEATHER, ANSWER]
    first = chat(client, messages=[USER], tools=tools, tool_choice=choice)
    assert called(first) == ["get_weather"]
    history = [USER, turn(call("c1", "get_weather")), result("c1")]
    second = chat(client, messages=history, tools=tools, tool_choice=choice)
    assert called(second) == ["WeatherResponse"]
    [answer] = second.json()["choices"][0]["message"]["tool_calls"]
    assert set(json.loads(answer["function"]["arguments"])) == {"city", "conditions"}


def test_required_moves_on_to_tools_not_yet_called(client: httpx.Client) -> None:
    tools = [WEATHER, SEARCH, ANSWER]
    history = [USER, turn(call("c1", "WeatherResponse")), result("c1")]
    assert called(chat(client, messages=history, tools=tools, tool_choice="required")) == ["search"]
    everything = [*history, turn(call("c2", "search"), call("c3", "get_weather")), result("c2")]
    assert called(chat(client, messages=everything, tools=tools, tool_choice="required")) == [
        "WeatherResponse"
    ]


def test_required_counts_calls_only_since_the_user_spoke(client: httpx.Client) -> None:
    earlier = [USER, turn(call("c1", "WeatherResponse")), result("c1"), USER]
    history = [*earlier, turn(call("c2", "get_weather")), result("c2")]
    response = chat(client, messages=history, tools=[WEATHER, ANSWER], tool_choice="required")
    assert called(response) == ["WeatherResponse"]


RESPONSE = {"name": "get_weather", "response": {"result": "sunny"}}


def test_gemini_any_mode_ends_the_same_way(client: httpx.Client) -> None:
    declarations = [
        {"name": "get_weather", "parameters": {"type": "object"}},
        {"name": "WeatherResponse", "parameters": {"type": "object"}},
    ]
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "weather in Oslo?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": RESPONSE}]},
        ],
        "tools": [{"functionDeclarations": declarations}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
    }
    url = client.base_url.copy_with(path="/v1beta/models/gemini-2.5-flash:generateContent")
    parts = client.post(url, json=body).json()["candidates"][0]["content"]["parts"]
    assert [p["functionCall"]["name"] for p in parts if "functionCall" in p] == ["WeatherResponse"]


# -- thinking models --------------------------------------------------------------------------

KEEPERS = [
    "deepseek-v3.2",
    "deepseek-v4-flash",
    "deepseek-reasoner",
    "kimi-k2-thinking",
    "kimi-k2.5",
]
OTHERS = ["deepseek-v3.1", "deepseek-r1", "kimi-k2-0905-preview", "gpt-4.1"]


@pytest.mark.parametrize("model", KEEPERS)
def test_thinking_models_reason_and_want_it_back(client: httpx.Client, model: str) -> None:
    first = chat(client, model, messages=[USER], tools=[WEATHER]).json()["choices"][0]["message"]
    assert first["reasoning_content"] and first["tool_calls"]
    history = [USER, turn(*first["tool_calls"]), result(first["tool_calls"][0]["id"])]
    refused = chat(client, model, messages=history, tools=[WEATHER])
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "The reasoning_content in the thinking mode must be passed back to the API."
    )
    history[1]["reasoning_content"] = first["reasoning_content"]
    answer = chat(client, model, messages=history, tools=[WEATHER])
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == "The tool returned: sunny"


def test_only_tool_call_turns_need_their_reasoning(client: httpx.Client) -> None:
    plain = {"role": "assistant", "content": "Hello."}
    response = chat(client, "deepseek-v4-flash", messages=[USER, plain, USER])
    assert response.status_code == 200


@pytest.mark.parametrize("model", KEEPERS[:2])
def test_thinking_disabled_neither_reasons_nor_checks(client: httpx.Client, model: str) -> None:
    history = [USER, turn(call("c1", "get_weather")), result("c1")]
    body = {"messages": history, "tools": [WEATHER], "thinking": {"type": "disabled"}}
    message = chat(client, model, **body).json()["choices"][0]["message"]
    assert "reasoning_content" not in message


@pytest.mark.parametrize("model", OTHERS)
def test_other_models_do_not_check(client: httpx.Client, model: str) -> None:
    history = [USER, turn(call("c1", "get_weather")), result("c1")]
    assert chat(client, model, messages=history, tools=[WEATHER]).status_code == 200


KINDS = ("role", "reasoning_content", "tool_calls")


def test_streamed_reasoning_comes_first(client: httpx.Client, standin: StandIn) -> None:
    standin.set_reasoning("deepseek-v4-pro", "Check the weather tool.")
    response = chat(client, "deepseek-v4-pro", messages=[USER], tools=[WEATHER], stream=True)
    lines = [line for line in response.text.splitlines() if line.startswith("data: {")]
    deltas = [json.loads(line[6:])["choices"][0]["delta"] for line in lines]
    first = {key: next(i for i, d in enumerate(deltas) if key in d) for key in KINDS}
    assert first["role"] < first["reasoning_content"] < first["tool_calls"]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Check the weather tool."
