"""Tool calling: the request options, reading tool calls back, streamed merging, provider extras."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ToolCallBlock
from llama_index.core.tools import FunctionTool

from aisa_core import InvalidInputError
from tests.llama_index.conftest import MakeLLM
from tests.llama_index.helpers import Gateway, chunk, completion, sse, tool_delta, usage_chunk


def weather(city: str, unit: str = "C") -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def time_in(city: str) -> str:
    """Local time in a city."""
    return f"12:00 in {city}"


TOOLS = [FunctionTool.from_defaults(weather), FunctionTool.from_defaults(time_in)]
SIGNATURE = {"google": {"thought_signature": "c2lnLUE="}}


def tool_call(call_id: str, name: str, args: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
        **extra,
    }


def answer_with_calls(*calls: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=completion(None, tool_calls=list(calls)))


def test_tools_are_sent_with_parallel_flag(make_llm: MakeLLM, gateway: Gateway) -> None:
    make_llm().chat_with_tools(TOOLS, "weather in Paris?")
    body = gateway.body
    assert [t["function"]["name"] for t in body["tools"]] == ["weather", "time_in"]
    assert body["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert body["parallel_tool_calls"] is False
    assert "tool_choice" not in body  # "auto" is the provider default: nothing to send
    assert body["messages"] == [{"role": "user", "content": "weather in Paris?"}]


@pytest.mark.parametrize(
    ("kwargs", "sent"),
    [
        ({"tool_required": True}, "required"),
        ({"tool_choice": "time_in"}, {"type": "function", "function": {"name": "time_in"}}),
        (
            {"tool_choice": {"type": "function", "function": {"name": "weather"}}},
            {"type": "function", "function": {"name": "weather"}},
        ),
        ({"tool_choice": "none", "tool_required": True}, "none"),
    ],
)
def test_tool_choice(
    make_llm: MakeLLM, gateway: Gateway, kwargs: dict[str, Any], sent: Any
) -> None:
    make_llm().chat_with_tools(TOOLS, "hi", **kwargs)
    assert gateway.body["tool_choice"] == sent


def test_unknown_tool_choice_fails_before_sending(make_llm: MakeLLM, gateway: Gateway) -> None:
    with pytest.raises(InvalidInputError, match="nope"):
        make_llm().chat_with_tools(TOOLS, "hi", tool_choice="nope")
    assert gateway.requests == []


def test_no_tools_means_no_tool_options(make_llm: MakeLLM, gateway: Gateway) -> None:
    make_llm().chat_with_tools(
        [], "hi", tool_required=True, tool_choice="weather", allow_parallel_tool_calls=True
    )
    assert set(gateway.body) == {"model", "messages"}


def test_strict(make_llm: MakeLLM, gateway: Gateway) -> None:
    make_llm(strict=True).chat_with_tools(TOOLS, "hi")
    function = gateway.body["tools"][0]["function"]
    assert function["strict"] is True
    assert function["parameters"]["additionalProperties"] is False
    make_llm(strict=True).chat_with_tools(TOOLS, "hi", strict=False)
    assert gateway.body["tools"][0]["function"]["strict"] is False


def test_chat_history_is_not_mutated(make_llm: MakeLLM) -> None:
    history = [ChatMessage(role="system", content="be brief")]
    make_llm().chat_with_tools(TOOLS, "hi", chat_history=history)
    assert len(history) == 1


def test_tool_calls_are_read_back(make_llm: MakeLLM, gateway: Gateway) -> None:
    llm = make_llm()
    gateway.add(
        answer_with_calls(
            tool_call("c1", "weather", {"city": "Paris"}),
            tool_call("c2", "time_in", {"city": "Oslo"}),
        )
    )
    response = llm.chat_with_tools(TOOLS, "hi", allow_parallel_tool_calls=True)
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert [(b.tool_call_id, b.tool_name, b.tool_kwargs) for b in blocks] == [
        ("c1", "weather", {"city": "Paris"}),
        ("c2", "time_in", {"city": "Oslo"}),
    ]
    selections = llm.get_tool_calls_from_response(response)
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        ("c1", "weather", {"city": "Paris"}),
        ("c2", "time_in", {"city": "Oslo"}),
    ]


def test_single_tool_call_unless_parallel(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(
        answer_with_calls(
            tool_call("c1", "weather", {"city": "Paris"}),
            tool_call("c2", "time_in", {"city": "Oslo"}),
        )
    )
    response = make_llm().chat_with_tools(TOOLS, "hi")
    assert [s.tool_id for s in make_llm().get_tool_calls_from_response(response)] == ["c1"]
    assert len(response.message.additional_kwargs["tool_calls"]) == 1


def test_no_tool_call(make_llm: MakeLLM) -> None:
    llm = make_llm()
    response = llm.chat_with_tools(TOOLS, "hi")
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="at least one tool call"):
        llm.get_tool_calls_from_response(response)


@pytest.mark.parametrize(
    ("arguments", "parsed"),
    [
        ('{"city": "Par', {"city": "Par"}),
        ('{"city": "Paris", "unit"', {"city": "Paris"}),
        ('{"city": "Paris", "unit":', {"city": "Paris"}),
        ('{"ci', {}),
        ('{"a": {"b": [1, 2', {"a": {"b": [1, 2]}}),
        ('{"a": 1,', {"a": 1}),
        ('{"a": tr', {}),
        ('{"a": -', {}),
        ('{"q": "say \\"hi', {"q": 'say "hi'}),
        ('{"q": "x\\', {"q": "x"}),
        ("", {}),
        ("[1, 2]", {}),
        ("not json at all }", {}),
    ],
)
def test_partial_arguments_parse(make_llm: MakeLLM, arguments: str, parsed: dict[str, Any]) -> None:
    block = ToolCallBlock(tool_call_id="c", tool_name="weather", tool_kwargs=arguments)
    response = ChatResponse(message=ChatMessage(role="assistant", blocks=[block]))
    assert make_llm().get_tool_calls_from_response(response)[0].tool_kwargs == parsed


def streamed_calls() -> httpx.Response:
    """Two calls; the first chunk opens both, later fragments interleave, as some providers do."""
    return sse(
        chunk(
            role="assistant",
            tool_calls=[
                tool_delta(0, id="c1", name="weather", arguments=""),
                tool_delta(1, id="c2", name="time_in", arguments='{"ci'),
            ],
        ),
        chunk(
            tool_calls=[tool_delta(0, arguments='{"city": "Pa'), tool_delta(1, arguments='ty":')]
        ),
        chunk(tool_calls=[tool_delta(1, arguments=' "Oslo"}'), tool_delta(0, arguments='ris"}')]),
        chunk(finish="tool_calls"),
        usage_chunk(20, 30),
    )


def test_streamed_tool_calls_merge_by_index_into_snapshots(
    make_llm: MakeLLM, gateway: Gateway
) -> None:
    llm = make_llm()
    gateway.add(streamed_calls())
    seen: list[tuple[ChatResponse, str]] = []
    for response in llm.stream_chat_with_tools(TOOLS, "hi", allow_parallel_tool_calls=True):
        seen.append((response, response.model_dump_json()))
        llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)  # as agents do
    for response, frozen in seen:
        assert response.model_dump_json() == frozen  # later chunks changed no earlier snapshot
    progress = [
        [(s.tool_name, s.tool_kwargs) for s in llm.get_tool_calls_from_response(r)]
        for r, _ in seen[:3]
    ]
    assert progress == [
        [("weather", {}), ("time_in", {})],
        [("weather", {"city": "Pa"}), ("time_in", {})],
        [("weather", {"city": "Paris"}), ("time_in", {"city": "Oslo"})],
    ]
    final = seen[-1][0]
    assert final.additional_kwargs["total_tokens"] == 50
    assert final.message.additional_kwargs["tool_calls"][1]["function"]["arguments"] == (
        '{"city": "Oslo"}'
    )


async def test_async_tool_calls(make_llm: MakeLLM, gateway: Gateway) -> None:
    llm = make_llm()
    gateway.add(answer_with_calls(tool_call("c1", "weather", {"city": "Rome"})), streamed_calls())
    response = await llm.achat_with_tools(TOOLS, "hi", tool_required=True)
    assert gateway.body["tool_choice"] == "required"
    assert llm.get_tool_calls_from_response(response)[0].tool_kwargs == {"city": "Rome"}
    stream = await llm.astream_chat_with_tools(TOOLS, "hi", allow_parallel_tool_calls=True)
    last = [r async for r in stream][-1]
    assert [s.tool_id for s in llm.get_tool_calls_from_response(last)] == ["c1", "c2"]


def test_gemini_thought_signature_goes_back_next_turn(make_llm: MakeLLM, gateway: Gateway) -> None:
    llm = make_llm("gemini-2.5-pro")
    gateway.add(
        answer_with_calls(tool_call("c1", "weather", {"city": "Paris"}, extra_content=SIGNATURE))
    )
    first = llm.chat_with_tools(TOOLS, "weather in Paris?")
    result = ChatMessage(role="tool", content="Sunny", additional_kwargs={"tool_call_id": "c1"})
    llm.chat_with_tools(
        TOOLS, chat_history=[ChatMessage(role="user", content="weather?"), first.message, result]
    )
    sent = gateway.body["messages"][1]
    assert sent["tool_calls"][0]["extra_content"] == SIGNATURE
    assert gateway.body["messages"][2] == {"role": "tool", "content": "Sunny", "tool_call_id": "c1"}


def test_streamed_thought_signature_is_kept(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(
        sse(
            chunk(
                tool_calls=[
                    tool_delta(
                        0,
                        id="c1",
                        name="weather",
                        arguments='{"city":"Paris"}',
                        extra_content=SIGNATURE,
                    )
                ]
            ),
            chunk(finish="tool_calls"),
        )
    )
    *_, last = make_llm("gemini-2.5-flash").stream_chat_with_tools(TOOLS, "hi")
    assert last.message.additional_kwargs["tool_calls"][0]["extra_content"] == SIGNATURE


def test_predict_and_call(make_llm: MakeLLM, gateway: Gateway) -> None:
    gateway.add(answer_with_calls(tool_call("c1", "weather", {"city": "Lima"})))
    assert make_llm().predict_and_call(TOOLS, "weather in Lima?").response == "Sunny in Lima"
