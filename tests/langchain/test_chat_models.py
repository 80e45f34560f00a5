"""ChatAISA's settings and requests, asserted on exactly what reaches the (stand-in) gateway."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field, ValidationError

from aisa_core import AISAClient
from aisa_core.errors import InvalidInputError
from aisa_core.standin import StandIn
from langchain_aisa import ChatAISA

from .conftest import MakeLLM, png_bytes

PNG = "data:image/png;base64,iVBORw0KGgo="


class Weather(BaseModel):
    """Weather in a city."""

    city: str = Field(description="the city")
    celsius: int


def get_weather(city: str) -> str:
    """Look up the weather."""
    return f"sunny in {city}"


# --- construction -----------------------------------------------------------------------------


def test_unknown_argument_is_an_error() -> None:
    with pytest.raises(ValidationError, match=r"unknown argument.*max_completion_tokns"):
        ChatAISA(model="gpt-4.1", api_key="sk-aisa-x", max_completion_tokns=5)


def test_declared_field_inside_model_kwargs_is_an_error() -> None:
    with pytest.raises(ValidationError, match="set temperature directly"):
        ChatAISA(model="gpt-4.1", api_key="sk-aisa-x", model_kwargs={"temperature": 1})


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ValidationError, match="AISA_API_KEY"):
        ChatAISA(model="gpt-4.1")


def test_plain_http_only_to_loopback() -> None:
    with pytest.raises(ValidationError, match="plain http"):
        ChatAISA(model="gpt-4.1", api_key="sk-aisa-x", base_url="http://gateway.example/v1")


def test_construction_does_no_io_and_builds_no_client() -> None:
    # pytest-socket refuses any non-loopback connection, so I/O here would fail the test.
    llm = ChatAISA(model="gpt-4.1", api_key="sk-aisa-x", base_url="https://gateway.example")
    assert llm._client is None and llm._async_client is None


def test_aliases_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISA_API_KEY", "sk-aisa-env")
    monkeypatch.setenv("AISA_BASE_URL", "https://gw.example")
    llm = ChatAISA(model="gpt-4.1", stop_sequences=["END"])
    assert llm.model_name == "gpt-4.1" and llm.stop == ["END"]
    assert llm.api_key is not None and llm.api_key.get_secret_value() == "sk-aisa-env"
    assert llm._core().settings.base_url == "https://gw.example/v1"


def test_token_counts_are_local_estimates() -> None:
    llm = ChatAISA(model="gpt-4.1", api_key="sk-aisa-x")
    assert llm.get_num_tokens("abcdefgh") == 2
    assert llm.get_num_tokens_from_messages([HumanMessage("abcdefgh" * 10)]) > 20


def test_identity_for_langsmith_and_profile() -> None:
    llm = ChatAISA(model="gpt-4.1", api_key="sk-aisa-x", temperature=0.2, max_tokens=9, stop="X")
    assert llm._get_ls_params() == {
        "ls_provider": "aisa",
        "ls_model_name": "gpt-4.1",
        "ls_model_type": "chat",
        "ls_temperature": 0.2,
        "ls_max_tokens": 9,
        "ls_stop": ["X"],
    }
    assert llm._get_ls_params(model="gpt-5")["ls_model_name"] == "gpt-5"
    assert ChatAISA.is_lc_serializable() and llm.lc_secrets == {"api_key": "AISA_API_KEY"}
    assert llm.profile is not None
    assert llm.profile["max_input_tokens"] == 1_048_576 and llm.profile["image_inputs"] is True
    unknown = ChatAISA(model="someone-new", api_key="sk-aisa-x")
    assert unknown.profile is not None and unknown.profile["image_inputs"] is False


# --- what is sent -----------------------------------------------------------------------------


def test_parameters_on_the_wire(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm(
        temperature=0.3,
        max_tokens=50,
        top_p=0.9,
        seed=7,
        stop=["END"],
        model_kwargs={"reasoning_effort": "low", "logprobs": False},
        extra_body={"user": "u-1"},
        default_headers={"X-Team": "search"},
    )
    llm.invoke([SystemMessage("be brief"), HumanMessage("hi")], logprobs=True)
    sent = gateway.last_request
    assert sent.json == {
        "model": "gpt-4.1",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
        "temperature": 0.3,
        "max_tokens": 50,
        "top_p": 0.9,
        "seed": 7,
        "stop": ["END"],
        "reasoning_effort": "low",
        "logprobs": True,  # per call wins over model_kwargs
        "user": "u-1",
    }
    assert sent.headers["x-team"] == "search"
    assert sent.headers["x-aisa-source"] == "langchain-aisa"
    assert sent.headers["authorization"] == f"Bearer {gateway.api_key}"


def test_empty_stop_is_not_sent_and_call_stop_wins(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm(stop=[])
    llm.invoke("hi")
    assert "stop" not in gateway.last_request.json
    make_llm(stop=["a"]).invoke("hi", stop=["b"])
    assert gateway.last_request.json["stop"] == ["b"]


def test_per_call_model_override(make_llm: MakeLLM, gateway: StandIn) -> None:
    answer = make_llm().invoke("hi", model="claude-haiku-4-5-20251001")
    assert gateway.last_request.json["model"] == "claude-haiku-4-5-20251001"
    assert answer.response_metadata["model_name"] == "claude-haiku-4-5-20251001"


def test_timeout_is_seconds_and_max_retries_reach_the_core(make_llm: MakeLLM) -> None:
    core = make_llm(timeout=7.5, max_retries=4)._core()
    assert core.settings.timeouts.read == 7.5
    assert core.settings.retry.max_retries == 4


def test_retries_happen_once_in_the_core(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm(max_retries=1)
    gateway.enqueue_fault("status=502;retry_after=0")
    assert llm.invoke("hi").content
    assert len(gateway.requests) == 2


def test_client_is_made_once_and_rebuilt_when_a_setting_changes(make_llm: MakeLLM) -> None:
    llm = make_llm()
    first = llm._core()
    assert llm._core() is first
    llm.max_retries = 3
    assert llm._core() is not first and llm._core().settings.retry.max_retries == 3


def test_injected_http_clients(gateway: StandIn) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "id": "x",
            "model": "gpt-4.1",
            "choices": [{"message": {"role": "assistant", "content": "mocked"}}],
        }
        return httpx.Response(200, json=body)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        llm = ChatAISA(model="gpt-4.1", api_key="sk-aisa-x", http_client=client)
        assert llm.invoke("hi").content == "mocked"
    assert str(seen[0].url) == "https://api.aisa.one/v1/chat/completions"


async def test_injected_async_http_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"model": "gpt-4.1", "choices": [{"message": {"content": "async mocked"}}]}
        return httpx.Response(200, json=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        llm = ChatAISA(model="gpt-4.1", api_key="sk-aisa-x", http_async_client=client)
        assert (await llm.ainvoke("hi")).content == "async mocked"


def test_streaming_flag_streams_invoke(make_llm: MakeLLM, gateway: StandIn) -> None:
    answer = make_llm(streaming=True).invoke("hi")
    assert gateway.last_request.json["stream"] is True
    assert answer.usage_metadata is not None and answer.response_metadata["finish_reason"] == "stop"


def test_stream_usage_can_be_turned_off(make_llm: MakeLLM, gateway: StandIn) -> None:
    chunks = list(make_llm(stream_usage=False).stream("hi"))
    assert gateway.last_request.json["stream_options"] == {"include_usage": False}
    assert all(c.usage_metadata is None for c in chunks)
    list(make_llm().stream("hi", stream_usage=False))
    assert gateway.last_request.json["stream_options"] == {"include_usage": False}


def test_batch_with_max_concurrency(make_llm: MakeLLM, gateway: StandIn) -> None:
    answers = make_llm().batch(["a", "b", "c", "d"], config={"max_concurrency": 2})
    assert [a.content.endswith(f"You said: {x}") for a, x in zip(answers, "abcd", strict=True)]
    assert len(gateway.requests) == 4


# --- tools ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
        (
            {"type": "function", "function": {"name": "Weather"}},
            {"type": "function", "function": {"name": "Weather"}},
        ),
    ],
)
def test_tool_choice_on_the_wire(
    make_llm: MakeLLM, gateway: StandIn, choice: Any, wire: Any
) -> None:
    make_llm().bind_tools([get_weather, Weather], tool_choice=choice).invoke("weather in Oslo?")
    assert gateway.last_request.json["tool_choice"] == wire
    assert [t["function"]["name"] for t in gateway.last_request.json["tools"]] == [
        "get_weather",
        "Weather",
    ]


def test_tool_choice_naming_an_unbound_tool_fails_at_bind_time(make_llm: MakeLLM) -> None:
    with pytest.raises(InvalidInputError, match="not among"):
        make_llm().bind_tools([get_weather], tool_choice="send_email")


def test_strict_and_parallel_tool_calls(make_llm: MakeLLM, gateway: StandIn) -> None:
    make_llm().bind_tools([Weather], strict=True, parallel_tool_calls=False).invoke("Oslo")
    sent = gateway.last_request.json
    assert sent["parallel_tool_calls"] is False
    function = sent["tools"][0]["function"]
    assert function["strict"] is True and function["parameters"]["additionalProperties"] is False


def test_tool_round_trip_with_list_content_and_images(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm().bind_tools([get_weather])
    call = llm.invoke("weather in Oslo?")
    assert isinstance(call, AIMessage) and call.tool_calls[0]["name"] == "get_weather"
    result = ToolMessage(
        [{"type": "text", "text": "sunny"}, {"type": "image", "url": "https://x/sky.png"}],
        tool_call_id=call.tool_calls[0]["id"],
    )
    answer = llm.invoke([HumanMessage("weather in Oslo?"), call, result])
    assert answer.content.startswith("The tool returned: sunny")
    sent = gateway.last_request.json["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.tool_calls[0]["id"]
    assert sent[2] == {
        "role": "tool",
        "tool_call_id": call.tool_calls[0]["id"],
        "content": [
            {"type": "text", "text": "sunny"},
            {"type": "image_url", "image_url": {"url": "https://x/sky.png"}},
        ],
    }


# --- structured output ------------------------------------------------------------------------


def test_structured_output_methods_on_the_wire(make_llm: MakeLLM, gateway: StandIn) -> None:
    llm = make_llm()
    parsed = llm.with_structured_output(Weather).invoke("weather in Oslo")
    assert isinstance(parsed, Weather)
    fmt = gateway.last_request.json["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Weather"
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"city", "celsius"}

    assert isinstance(
        llm.with_structured_output(Weather, method="function_calling").invoke("x"), Weather
    )
    assert gateway.last_request.json["tool_choice"] == {
        "type": "function",
        "function": {"name": "Weather"},
    }
    gateway.enqueue_text('{"city": "Oslo", "celsius": 3}')
    as_dict = llm.with_structured_output(Weather.model_json_schema(), method="json_mode")
    assert as_dict.invoke("x") == {"city": "Oslo", "celsius": 3}
    assert gateway.last_request.json["response_format"] == {"type": "json_object"}


def test_structured_output_default_follows_the_capability_table(
    make_llm: MakeLLM, gateway: StandIn
) -> None:
    make_llm(model="deepseek-v3.1").with_structured_output(Weather).invoke("Oslo")
    assert "response_format" not in gateway.last_request.json
    assert gateway.last_request.json["tool_choice"]["function"]["name"] == "Weather"


def test_structured_output_include_raw(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.enqueue_text("not json")
    out = make_llm().with_structured_output(Weather, include_raw=True).invoke("x")
    assert isinstance(out, dict)
    assert isinstance(out["raw"], AIMessage) and out["parsed"] is None
    assert out["parsing_error"] is not None
    good = make_llm().with_structured_output(Weather, include_raw=True).invoke("x")
    assert isinstance(good, dict) and isinstance(good["parsed"], Weather)


def test_structured_output_rejects_unknown_arguments(make_llm: MakeLLM) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        make_llm().with_structured_output(Weather, tools=[])
    with pytest.raises(ValueError, match="method must be"):
        make_llm().with_structured_output(Weather, method="xml")  # type: ignore[arg-type]


# --- content ------------------------------------------------------------------------------------


def test_vision_blocks_in_human_and_system_messages(make_llm: MakeLLM, gateway: StandIn) -> None:
    import base64

    data = base64.b64encode(png_bytes()).decode()
    message = HumanMessage(
        [
            {"type": "text", "text": "what is this?"},
            {"type": "image", "base64": data, "mime_type": "image/png"},
            {"type": "image_url", "image_url": {"url": "https://x/cat.jpg", "detail": "low"}},
        ]
    )
    answer = make_llm().invoke(
        [SystemMessage([{"type": "image", "url": "https://x/a.png"}]), message]
    )
    assert "I see 2 images" in answer.text
    sent = gateway.last_request.json["messages"]
    assert sent[0]["content"] == [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]
    assert sent[1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{data}"},
    }


def test_reasoning_content(make_llm: MakeLLM, gateway: StandIn) -> None:
    gateway.set_reasoning("claude-sonnet-4-5-20250929-thinking", "Because Rayleigh.")
    llm = make_llm(model="claude-sonnet-4-5-20250929-thinking")
    assert llm.invoke("why blue?").additional_kwargs["reasoning_content"] == "Because Rayleigh."
    full = None
    for chunk in llm.stream("why blue?"):
        full = chunk if full is None else full + chunk
    assert full is not None and full.additional_kwargs["reasoning_content"] == "Because Rayleigh."
    assert full.usage_metadata is not None
    assert full.usage_metadata.get("output_token_details", {}).get("reasoning", 0) > 0


def test_response_metadata_from_invoke(make_llm: MakeLLM, gateway: StandIn) -> None:
    answer = make_llm().invoke("hi")
    metadata = answer.response_metadata
    assert metadata["model_provider"] == "aisa" and metadata["model_name"] == "gpt-4.1"
    assert metadata["finish_reason"] == "stop" and metadata["id"] == answer.id
    assert metadata["request_id"].startswith("req-")
    assert metadata["cost"] == metadata["cost_micros_usd"] / 1e6 > 0
    assert metadata["fallback_attempts"] == []
    assert json.dumps(metadata)  # plain data, safe for tracers


def test_core_client_type(make_llm: MakeLLM) -> None:
    assert isinstance(make_llm()._core(), AISAClient)


def test_model_kwargs_may_carry_request_fields_langchain_also_uses(
    make_llm: MakeLLM, gateway: StandIn
) -> None:
    """``metadata`` is both a LangChain field (run metadata) and an OpenAI request field."""
    make_llm(model_kwargs={"metadata": {"team": "search"}}).invoke("hi")
    assert gateway.last_request.json["metadata"] == {"team": "search"}


def test_rate_limiter_is_shared_by_the_core_client(aisa_standin: Any) -> None:
    from aisa_core import RateLimiter

    limiter = RateLimiter(None, 1)
    llm = ChatAISA(
        model="gpt-4.1",
        api_key=aisa_standin.api_key,
        base_url=aisa_standin.base_url,
        aisa_rate_limiter=limiter,
    )
    stream = llm.stream("hello there")
    next(stream)
    assert limiter.in_flight == 1  # the stream holds its slot until it ends
    for _ in stream:
        pass
    assert limiter.in_flight == 0
    assert "aisa_rate_limiter" not in str(llm.to_json())
