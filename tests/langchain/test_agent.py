"""A LangGraph agent with tools completes on its fallback model when the primary fails
(429, 503 "No available channels", an in-band stream error), invoked and streamed."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import tool

from aisa_core.standin import Fault, StandIn

from .conftest import MakeLLM

pytestmark = pytest.mark.filterwarnings("ignore:create_react_agent has been moved")

PRIMARY, BACKUP = "gpt-4.1", "claude-haiku-4-5-20251001"

FAULTS = {
    "429": Fault(status=429, retry_after=0),
    "503": Fault(status=503),
    "in-band": Fault(error_after_chunks=0),
}


@tool
def get_weather(city: str) -> str:
    """Look up the current weather in a city."""
    return f"It is sunny in {city}."


def _agent(model: Any) -> Runnable[Any, Any]:
    from langgraph.prebuilt import create_react_agent

    agent: Runnable[Any, Any] = create_react_agent(model, [get_weather])
    return agent


def _check_run(messages: list[Any], gateway: StandIn) -> None:
    call, result, final = messages[-3:]
    assert isinstance(call, AIMessage) and call.tool_calls[0]["name"] == "get_weather"
    assert isinstance(result, ToolMessage) and result.content.startswith("It is sunny in")
    assert isinstance(final, AIMessage) and final.text.startswith("The tool returned: It is sunny")
    for answer in (call, final):
        assert answer.response_metadata["model_name"] == BACKUP
    served = [r.json["model"] for r in gateway.requests]
    assert served.count(BACKUP) == 2 and set(served) == {PRIMARY, BACKUP}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_agent_on_fallback_models(
    make_llm: MakeLLM, gateway: StandIn, fault: Fault, streamed: bool
) -> None:
    gateway.fail_model(PRIMARY, fault)
    agent = _agent(make_llm(fallback_models=[BACKUP], streaming=streamed))
    state = agent.invoke({"messages": [HumanMessage("What is the weather in Oslo?")]})
    _check_run(state["messages"], gateway)
    [attempt] = state["messages"][-3].response_metadata["fallback_attempts"]
    assert attempt["model"] == PRIMARY


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_agent_on_with_fallbacks_streaming_messages(
    make_llm: MakeLLM, gateway: StandIn, fault: Fault
) -> None:
    """LangChain's own with_fallbacks (tools bound through it), streamed token by token."""
    gateway.fail_model(PRIMARY, fault)
    model = make_llm().with_fallbacks([make_llm(model=BACKUP)]).bind_tools([get_weather])
    agent = _agent(model)
    tokens: list[str] = []
    final_state: dict[str, Any] = {}
    async for mode, event in agent.astream(
        {"messages": [HumanMessage("What is the weather in Oslo?")]},
        stream_mode=["messages", "values"],
    ):
        if mode == "messages":
            tokens.append(str(event[0].content))
        else:
            final_state = event
    _check_run(final_state["messages"], gateway)
    assert "".join(tokens).count("The tool returned") == 1
