"""POST /v1/chat/completions without streaming: default answers, validation, usage, cost."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from aisa_core.standin import StandIn, StandInApp

USER_TEXT = "What is the weather in Paris?"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit", "days"],
        },
    },
}
CALC_TOOL = {
    "type": "function",
    "function": {
        "name": "multiply",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
}


def ceil4(text: str) -> int:
    return -(-len(text) // 4)


def chat(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("model", "gpt-4.1")
    body.setdefault("messages", [{"role": "user", "content": USER_TEXT}])
    return client.post("/chat/completions", json=body)


def message_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["choices"][0]["message"]
    return result


def test_default_answer_is_a_complete_chat_completion(client: httpx.Client) -> None:
    response = chat(client)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "req-standin-1"
    body = response.json()
    content = f"Hello from the AIsa stand-in (gpt-4.1). You said: {USER_TEXT}"
    prompt = ceil4(USER_TEXT + "1234")  # text plus 4 chars of per-message overhead: 9
    completion = ceil4(content)
    # gpt-4.1 costs AIsa's $1.40 / $5.60 per million tokens: 9 * 1.4 + 20 * 5.6 = 124.6
    # micro-USD, billed rounded up: 125.
    assert (prompt, completion) == (9, 20)
    assert response.headers["x-aisa-customer-cost-micros-usd"] == "125"
    assert isinstance(body.pop("created"), int)
    assert body == {
        "id": "chatcmpl-standin-1",
        "object": "chat.completion",
        "model": "gpt-4.1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 20,
            "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
            "cost": 0.000125,
        },
    }


def test_ids_count_up_per_request(client: httpx.Client) -> None:
    first, second = chat(client), chat(client)
    assert [first.json()["id"], second.json()["id"]] == ["chatcmpl-standin-1", "chatcmpl-standin-2"]
    assert [first.headers["x-request-id"], second.headers["x-request-id"]] == [
        "req-standin-1",
        "req-standin-2",
    ]


def test_served_model_is_the_requested_id(client: httpx.Client) -> None:
    response = chat(client, model="some-new-model-2099")
    assert response.json()["model"] == "some-new-model-2099"
    assert "(some-new-model-2099)" in message_of(response)["content"]


def test_long_user_text_is_truncated_to_200_chars(client: httpx.Client) -> None:
    text = "x" * 150 + " " + "y" * 150
    content = message_of(chat(client, messages=[{"role": "user", "content": text}]))["content"]
    assert content == "Hello from the AIsa stand-in (gpt-4.1). You said: " + text[:200]


def test_image_parts_are_counted(client: httpx.Client) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    parts = [{"type": "text", "text": "Describe these"}, image, image]
    content = message_of(chat(client, messages=[{"role": "user", "content": parts}]))["content"]
    assert content.endswith("You said: Describe these I see 2 images.")
    one = [{"type": "text", "text": "And this?"}, image]
    content = message_of(chat(client, messages=[{"role": "user", "content": one}]))["content"]
    assert content.endswith("You said: And this? I see 1 image.")


def test_system_and_earlier_turns_do_not_change_what_is_echoed(client: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]
    assert message_of(chat(client, messages=messages))["content"].endswith("You said: second")


def test_tool_call_when_tools_are_offered_and_the_user_spoke_last(client: httpx.Client) -> None:
    response = chat(client, tools=[WEATHER_TOOL])
    body = response.json()
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    message = body["choices"][0]["message"]
    assert message["content"] is None
    [call] = message["tool_calls"]
    assert call["id"] == "call_standin_1"
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    Draft202012Validator(WEATHER_TOOL["function"]["parameters"]).validate(arguments)
    assert arguments == {"city": "Paris", "unit": "celsius", "days": 1}


def test_tool_result_gets_a_text_answer_so_agents_stop(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": USER_TEXT},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
    ]
    response = chat(client, messages=messages, tools=[WEATHER_TOOL])
    assert response.json()["choices"][0]["finish_reason"] == "stop"
    assert message_of(response) == {
        "role": "assistant",
        "content": "The tool returned: 18C and sunny",
    }


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("required", "get_weather"),
        ({"type": "function", "function": {"name": "multiply"}}, "multiply"),
        ("auto", "get_weather"),
        ("none", None),
    ],
)
def test_tool_choice(client: httpx.Client, tool_choice: Any, expected: str | None) -> None:
    message = message_of(chat(client, tools=[WEATHER_TOOL, CALC_TOOL], tool_choice=tool_choice))
    if expected is None:
        assert "tool_calls" not in message
        assert message["content"].startswith("Hello from the AIsa stand-in")
    else:
        assert [c["function"]["name"] for c in message["tool_calls"]] == [expected]


def test_forced_tool_is_called_even_after_a_tool_result(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "3 times 4"},
        {"role": "tool", "tool_call_id": "c", "content": "12"},
    ]
    choice = {"type": "function", "function": {"name": "multiply"}}
    message = message_of(chat(client, messages=messages, tools=[CALC_TOOL], tool_choice=choice))
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"a": 3, "b": 4}


def test_auto_prefers_the_tool_the_user_names(client: httpx.Client) -> None:
    messages = [{"role": "user", "content": "Please multiply 6 by 7"}]
    message = message_of(chat(client, messages=messages, tools=[WEATHER_TOOL, CALC_TOOL]))
    call = message["tool_calls"][0]["function"]
    assert (call["name"], json.loads(call["arguments"])) == ("multiply", {"a": 6, "b": 7})


def test_forcing_an_unknown_function_is_a_400(client: httpx.Client) -> None:
    choice = {"type": "function", "function": {"name": "nope"}}
    response = chat(client, tools=[WEATHER_TOOL], tool_choice=choice)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_malformed_tools_are_a_400(client: httpx.Client) -> None:
    response = chat(client, tools=[{"type": "function", "function": {}}])
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "tools[0].function.name is required"


def test_json_object_response_format(client: httpx.Client) -> None:
    content = message_of(chat(client, response_format={"type": "json_object"}))["content"]
    assert json.loads(content) == {
        "answer": f"Hello from the AIsa stand-in (gpt-4.1). You said: {USER_TEXT}"
    }


def test_json_schema_response_format_validates(client: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "temperature": {"type": "number", "minimum": -50, "maximum": 60},
            "conditions": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "alert": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["city", "temperature", "conditions", "alert"],
        "additionalProperties": False,
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "w", "schema": schema}}
    content = message_of(chat(client, response_format=response_format))["content"]
    instance = json.loads(content)
    Draft202012Validator(schema).validate(instance)
    assert instance["city"] == "Paris"


def test_thinking_models_add_reasoning(client: httpx.Client) -> None:
    model = "claude-sonnet-4-5-20250929-thinking"
    body = chat(client, model=model).json()
    message = body["choices"][0]["message"]
    reasoning = f'The user wrote "{USER_TEXT}". A short, direct reply fits best.'
    assert message["reasoning_content"] == reasoning
    usage = body["usage"]
    assert usage["completion_tokens_details"] == {"reasoning_tokens": ceil4(reasoning)}
    assert usage["completion_tokens"] == ceil4(message["content"]) + ceil4(reasoning)


def test_plain_models_have_no_reasoning(client: httpx.Client) -> None:
    assert "reasoning_content" not in message_of(chat(client, model="gpt-4o"))


def test_small_max_tokens_truncates_with_finish_reason_length(client: httpx.Client) -> None:
    body = chat(client, max_tokens=3).json()
    assert body["choices"][0]["message"]["content"] == "Hello from the"
    assert body["choices"][0]["finish_reason"] == "length"
    body = chat(client, max_completion_tokens=5).json()
    assert body["choices"][0]["message"]["content"] == "Hello from the AIsa stand-in"
    assert chat(client, max_tokens=100).json()["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("value", [0, -1, "5", True])
def test_invalid_max_tokens_is_a_400(client: httpx.Client, value: Any) -> None:
    response = chat(client, max_tokens=value)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "invalid_request",
        "message": "max_tokens must be a positive integer",
        "request_id": "req-standin-1",
    }


@pytest.mark.parametrize("model", ["unknown-model", "retired-gpt-3", "aisa/gpt-4.1"])
def test_unknown_models_get_no_available_channels(client: httpx.Client, model: str) -> None:
    response = chat(client, model=model)
    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "type": "new_api_error",
            "code": "provider_unavailable",
            "message": f"No available channels for model {model} under group default",
            "request_id": "req-standin-1",
        }
    }


def test_cost_quote_does_not_run_the_model(client: httpx.Client, standin: StandIn) -> None:
    standin.enqueue_text("kept for later")
    response = client.post(
        "/chat/completions",
        json={"model": "gpt-4.1", "messages": [{"role": "user", "content": USER_TEXT}]},
        headers={"X-AISA-Cost-Mode": "quote"},
    )
    assert response.status_code == 200
    body = response.json()
    stamp = datetime.fromisoformat(body.pop("estimated_at").replace("Z", "+00:00"))
    assert stamp.tzinfo is not None and abs(time.time() - stamp.timestamp()) < 600
    # 9 prompt tokens; 1024 expected and 4096 maximum completion tokens at AIsa's $1.40/$5.60
    # per M, rounded up: 9 * 1.4 + 1024 * 5.6 = 5747.0 and 9 * 1.4 + 4096 * 5.6 = 22950.2.
    assert body == {
        "object": "cost_estimate",
        "currency": "USD",
        "estimate_kind": "upper_bound",
        "estimated_cost_micros_usd": 5747,
        "max_cost_micros_usd": 22951,
        "may_exceed_estimate": False,
    }
    assert standin.pending == 1
    assert standin.spent_micros_usd == 0
    assert message_of(chat(client))["content"] == "kept for later"


@pytest.mark.parametrize(
    ("headers", "code", "message"),
    [
        ({}, "missing_api_key", "Missing API key: send Authorization: Bearer <your AIsa key>."),
        (
            {"Authorization": "Bearer"},
            "missing_api_key",
            "Missing API key: send Authorization: Bearer <your AIsa key>.",
        ),
        (
            {"Authorization": "Basic c2stYWlzYQ=="},
            "missing_api_key",
            "Missing API key: send Authorization: Bearer <your AIsa key>.",
        ),
        ({"Authorization": "Bearer sk-aisa-invalid"}, "invalid_api_key", "Invalid API key."),
    ],
)
def test_auth_errors(
    anon_client: httpx.Client, headers: dict[str, str], code: str, message: str
) -> None:
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
    response = anon_client.post("/chat/completions", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "type": "authentication_error",
            "code": code,
            "message": message,
            "request_id": "req-standin-1",
        }
    }


def test_any_other_key_is_accepted(anon_client: httpx.Client) -> None:
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": "Bearer sk-aisa-whatever-you-like"}
    response = anon_client.post("/chat/completions", json=body, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (b"{not json", "json_parse_error", "The request body is not JSON."),
        (b"", "json_parse_error", "The request body is not JSON."),
        (b"[1, 2]", "invalid_request", "The body must be a JSON object."),
        (b'{"messages": []}', "missing_parameter", "Missing parameter: model"),
        (b'{"model": "gpt-4.1"}', "missing_parameter", "Missing parameter: messages"),
        (b'{"model": "", "messages": [1]}', "missing_parameter", "Missing parameter: model"),
        (
            b'{"model": "gpt-4.1", "messages": []}',
            "invalid_request",
            "messages must be a non-empty array",
        ),
        (b'{"model": 5, "messages": [1]}', "invalid_request", "model must be a string"),
    ],
)
def test_bad_request_bodies(client: httpx.Client, content: bytes, code: str, message: str) -> None:
    response = client.post(
        "/chat/completions", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": code,
        "message": message,
        "request_id": "req-standin-1",
    }


def test_calls_are_billed_in_the_balance(client: httpx.Client, standin: StandIn) -> None:
    costs = [int(chat(client).headers["x-aisa-customer-cost-micros-usd"]) for _ in range(3)]
    assert costs == [125, 125, 125]
    assert standin.spent_micros_usd == 375
    balance = client.get("/credits/balance").json()
    assert balance["api_key"]["used_micros_usd"] == 375
    assert balance["api_key"]["remaining_micros_usd"] == 50_000_000 - 375


async def test_app_options_in_process() -> None:
    """StandInApp is a plain ASGI app: options can be checked without a server."""
    app = StandInApp(reasoning_models=["gpt-4o"], unknown_models=["gpt-4.1"], created=1_700_000_000)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer k"}
    async with httpx.AsyncClient(transport=transport, base_url="http://x", headers=headers) as c:
        messages = [{"role": "user", "content": "hi"}]
        body = (
            await c.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": messages})
        ).json()
        assert body["created"] == 1_700_000_000
        assert body["choices"][0]["message"]["reasoning_content"].startswith("The user wrote")
        gone = await c.post("/v1/chat/completions", json={"model": "gpt-4.1", "messages": messages})
        assert gone.status_code == 503
        fine = await c.post(
            "/v1/chat/completions", json={"model": "unknown-x", "messages": messages}
        )
        assert fine.status_code == 200
