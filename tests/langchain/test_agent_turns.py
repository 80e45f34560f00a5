"""LangGraph agents that used to fail against the stand-in: a structured-output tool under
``tool_choice="any"`` (it looped forever), and thinking models that need their reasoning back
(DeepSeek and Kimi answer 400 when a tool-call turn comes back without it)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import BaseModel

from aisa_core.standin import StandIn
from langchain_aisa import ChatAISA

from .conftest import MakeLLM

pytestmark = pytest.mark.filterwarnings("ignore:create_react_agent has been moved")

QUESTION = "What is the weather in Oslo?"


@tool
def get_weather(city: str) -> str:
    """Look up the current weather in a city."""
    return f"It is sunny in {city}."


class WeatherResponse(BaseModel):
    """The final answer to the user."""

    city: str
    conditions: str


def _answer_tool_graph(model: Any) -> Any:
    """LangGraph's "bind the output as a tool" agent: every turn must call a tool, and the
    graph ends when the model calls the answer tool."""
    bound = model.bind_tools([get_weather, WeatherResponse], tool_choice="any")

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [bound.invoke(state["messages"])]}

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)
        return END if last.tool_calls[0]["name"] == "WeatherResponse" else "tools"

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([get_weather]))
    graph.set_entry_point("agent")
    graph.add_conditional_edges("agent", route)
    graph.add_edge("tools", "agent")
    return graph.compile()


@pytest.mark.parametrize("streaming", [False, True])
def test_structured_output_tool_agent_ends(
    make_llm: MakeLLM, gateway: StandIn, streaming: bool
) -> None:
    graph = _answer_tool_graph(make_llm(model="deepseek-v3.1", streaming=streaming))
    state = graph.invoke({"messages": [HumanMessage(QUESTION)]}, {"recursion_limit": 8})
    call, result, answer = state["messages"][1:]
    assert call.tool_calls[0]["name"] == "get_weather"
    assert isinstance(result, ToolMessage) and result.content == "It is sunny in Oslo."
    [final] = answer.tool_calls
    assert final["name"] == "WeatherResponse"
    assert WeatherResponse.model_validate(final["args"]).city
    assert [r.json["tool_choice"] for r in gateway.requests] == ["required", "required"]


def test_react_agent_with_response_format(make_llm: MakeLLM, gateway: StandIn) -> None:
    """create_react_agent's own structured response (a forced named tool on a model without
    JSON-schema output) completes."""
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(
        make_llm(model="deepseek-v3.1"), [get_weather], response_format=WeatherResponse
    )
    state = agent.invoke({"messages": [HumanMessage(QUESTION)]}, {"recursion_limit": 8})
    assert isinstance(state["structured_response"], WeatherResponse)
    forced = gateway.requests[-1].json["tool_choice"]
    assert forced == {"type": "function", "function": {"name": "WeatherResponse"}}


# -- thinking models --------------------------------------------------------------------------

REASONING = "The user wants the weather; call get_weather for Oslo."


@pytest.mark.parametrize("model", ["deepseek-v4-flash", "deepseek-v3.2", "kimi-k2-thinking"])
@pytest.mark.parametrize("streaming", [False, True], ids=["invoke", "stream"])
def test_react_agent_with_a_thinking_model(
    make_llm: MakeLLM, gateway: StandIn, model: str, streaming: bool
) -> None:
    from langgraph.prebuilt import create_react_agent

    gateway.set_reasoning(model, REASONING)
    agent = create_react_agent(make_llm(model=model, streaming=streaming), [get_weather])
    state = agent.invoke({"messages": [HumanMessage(QUESTION)]}, {"recursion_limit": 8})
    call, final = state["messages"][1], state["messages"][-1]
    assert call.additional_kwargs["reasoning_content"] == REASONING
    assert final.content == "The tool returned: It is sunny in Oslo."
    sent = gateway.requests[-1].json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["reasoning_content"] == REASONING


async def test_async_agent_with_a_thinking_model_and_a_fallback(
    make_llm: MakeLLM, gateway: StandIn
) -> None:
    """A chain mixing families: DeepSeek calls the tool, then fails; GPT, which answers, gets
    the history without the reasoning."""
    from langgraph.prebuilt import create_react_agent

    gateway.set_reasoning("deepseek-v4-pro", REASONING)
    gateway.enqueue_tool_call("get_weather", {"city": "Oslo"}, model="deepseek-v4-pro")
    gateway.enqueue_fault("503", model="deepseek-v4-pro")
    llm = make_llm(model="deepseek-v4-pro", fallback_models=["gpt-4.1"])
    agent = create_react_agent(llm, [get_weather])
    state = await agent.ainvoke({"messages": [HumanMessage(QUESTION)]}, {"recursion_limit": 8})
    call, final = state["messages"][1], state["messages"][-1]
    assert call.additional_kwargs["reasoning_content"] == REASONING
    assert final.response_metadata["model_name"] == "gpt-4.1"
    assert [r.json["model"] for r in gateway.requests] == ["deepseek-v4-pro"] * 2 + ["gpt-4.1"]
    second, third = (r.json["messages"][1] for r in gateway.requests[1:])
    assert second["reasoning_content"] == REASONING
    assert "reasoning_content" not in third


def test_reasoning_blocks_of_another_provider_go_back(make_llm: MakeLLM, gateway: StandIn) -> None:
    """History from elsewhere: reasoning as v1 ``reasoning`` content blocks."""
    call = AIMessage(
        content=[{"type": "reasoning", "reasoning": "Use the tool."}],
        tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "c1"}],
    )
    history = [HumanMessage(QUESTION), call, ToolMessage("sunny", tool_call_id="c1")]
    answer = make_llm(model="deepseek-v4-flash").bind_tools([get_weather]).invoke(history)
    assert answer.content == "The tool returned: sunny"
    assert gateway.last_request.json["messages"][1]["reasoning_content"] == "Use the tool."


def test_history_without_reasoning_is_refused_by_a_thinking_model(make_llm: MakeLLM) -> None:
    from langchain_core.exceptions import ModelInvalidRequestError

    call = AIMessage("", tool_calls=[{"name": "get_weather", "args": {}, "id": "c1"}])
    history = [HumanMessage(QUESTION), call, ToolMessage("sunny", tool_call_id="c1")]
    llm: ChatAISA = make_llm(model="kimi-k2.5")
    with pytest.raises(ModelInvalidRequestError, match="reasoning_content"):
        llm.invoke(history)
