"""RouterRunnable over real ChatAISA models, against the offline stand-in gateway: model-id
routes, fallbacks, token streams, tools, structured output, a LangGraph agent, serialisation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessageChunk
from langchain_core.runnables import RunnableBinding
from langchain_core.tools import tool
from pydantic import BaseModel

from aisa_core.standin import Fault, StandIn
from langchain_aisa import ChatAISA
from langchain_aisa.router import (
    CheapestFit,
    LLMClassifier,
    Route,
    RouterRunnable,
    Rule,
    WeightedSplit,
)

from .helpers import standin_kwargs

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
KEY = "sk-aisa-router-test-secret-0042"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Verdict(BaseModel):
    answer: str
    confident: bool


Make = Callable[..., RouterRunnable]


@pytest.fixture
def make_router(aisa_standin: StandIn, routers: list[RouterRunnable]) -> Make:
    def make(*args: Any, **kwargs: Any) -> RouterRunnable:
        if not args:
            args = (
                {
                    "fast": "gpt-4.1-mini",
                    "strong": Route("retired-gpt-4", ["gpt-5"], description="hard problems"),
                    "vision": "gemini-2.5-flash",
                },
                [
                    Rule("vision", has_images=True),
                    Rule("strong", keywords=["prove"]),
                    CheapestFit(),
                ],
            )
            kwargs.setdefault("default", "fast")
        kwargs.setdefault("chat_kwargs", standin_kwargs(aisa_standin))
        routers.append(RouterRunnable(*args, **kwargs))
        return routers[-1]

    return make


def test_model_id_routes_become_chat_models(aisa_standin: StandIn, make_router: Make) -> None:
    router = make_router()
    assert isinstance(router.routes["fast"].target, ChatAISA)
    assert router.route_info["strong"].models == ("retired-gpt-4", "gpt-5")
    message = router.invoke("What is 2 + 2?")
    meta = message.response_metadata
    assert aisa_standin.last_request.json["model"] == "gpt-4.1-mini"
    assert (meta["aisa_route"], meta["aisa_route_strategy"], meta["model_name"]) == (
        "fast",
        "cost",
        "gpt-4.1-mini",
    )
    assert meta["aisa_route_reason"].startswith("cheapest fit of 3 routes: gpt-4.1-mini")


def test_images_go_to_the_vision_route(aisa_standin: StandIn, make_router: Make) -> None:
    message = make_router().invoke([("user", [{"type": "text", "text": "?"}, IMAGE])])
    assert message.response_metadata["model_name"] == "gemini-2.5-flash"
    assert "I see 1 image" in str(message.content)


def test_a_failing_primary_falls_back_inside_the_route(
    aisa_standin: StandIn, make_router: Make
) -> None:
    message = make_router().invoke("prove that 2 is prime")
    meta = message.response_metadata
    assert (meta["aisa_route"], meta["aisa_route_model"], meta["model_name"]) == (
        "strong",
        "retired-gpt-4",
        "gpt-5",
    )
    assert [r.json["model"] for r in aisa_standin.requests] == ["retired-gpt-4", "gpt-5"]


def test_runnable_fallbacks_survive_a_failing_primary(
    aisa_standin: StandIn, make_router: Make
) -> None:
    aisa_standin.fail_model("gpt-4.1", Fault(status=503))
    kwargs = standin_kwargs(aisa_standin)
    router = make_router(
        {
            "main": Route(
                ChatAISA(model="gpt-4.1", **kwargs), [ChatAISA(model="claude-haiku-4-5", **kwargs)]
            )
        },
        default="main",
    )
    assert router.invoke("hi").response_metadata["model_name"] == "claude-haiku-4-5"


def test_a_routed_stream_is_token_by_token(aisa_standin: StandIn, make_router: Make) -> None:
    chunks = list(make_router().stream("prove it, please, in many words"))
    texts = [c.content for c in chunks if c.content]
    assert len(texts) > 3
    assert chunks[0].response_metadata["aisa_route"] == "strong"
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert isinstance(merged, AIMessageChunk)
    assert merged.response_metadata["aisa_route"] == "strong"
    assert merged.response_metadata["model_name"] == "gpt-5"


async def test_async_invoke_and_stream(aisa_standin: StandIn, make_router: Make) -> None:
    router = make_router()
    message = await router.ainvoke("hello")
    assert message.response_metadata["aisa_route"] == "fast"
    chunks = [c async for c in router.astream("prove it")]
    assert chunks[0].response_metadata["model_name"] == "gpt-5"


def test_batch(aisa_standin: StandIn, make_router: Make) -> None:
    outputs = make_router().batch(["hi", "prove", {"key": "vision", "input": "x"}])
    assert [o.response_metadata["model_name"] for o in outputs] == [
        "gpt-4.1-mini",
        "gpt-5",
        "gemini-2.5-flash",
    ]


def test_tools_bound_through_the_router_reach_the_gateway(
    aisa_standin: StandIn, make_router: Make
) -> None:
    message = make_router().bind_tools([add]).invoke("prove 2 + 3 = 5 with add")
    assert message.tool_calls[0]["name"] == "add"
    sent = [r.json for r in aisa_standin.requests]
    assert [s["model"] for s in sent] == ["retired-gpt-4", "gpt-5"]
    assert all(s["tools"][0]["function"]["name"] == "add" for s in sent)


def test_structured_output_through_the_router(aisa_standin: StandIn, make_router: Make) -> None:
    verdict = make_router().with_structured_output(Verdict).invoke("prove it")
    assert isinstance(verdict, Verdict)
    assert aisa_standin.last_request.json["model"] == "gpt-5"


@pytest.mark.filterwarnings("ignore::langgraph.warnings.LangGraphDeprecatedSinceV10")
def test_a_langgraph_agent_whose_model_is_a_router(
    aisa_standin: StandIn, make_router: Make
) -> None:
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(make_router(), [add])
    result = agent.invoke({"messages": [("user", "prove it: use add on 2 and 3")]})
    messages = result["messages"]
    assert [m.type for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[1].tool_calls[0]["name"] == "add"
    assert messages[-1].content.startswith("The tool returned:")
    assert all(m.response_metadata["model_name"] == "gpt-5" for m in messages[1::2])
    assert all(m.response_metadata["aisa_route"] == "strong" for m in messages[1::2])


@pytest.mark.filterwarnings("ignore::langgraph.warnings.LangGraphDeprecatedSinceV10")
async def test_a_langgraph_agent_streams_messages_with_the_route(
    aisa_standin: StandIn, make_router: Make
) -> None:
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(make_router(), [add])
    routes = set()
    async for _chunk, meta in agent.astream(
        {"messages": [("user", "add 2 and 3")]}, stream_mode="messages"
    ):
        if meta.get("langgraph_node") == "agent":
            routes.add(meta.get("aisa_route"))
    assert routes == {"fast"}


def test_the_classifier_is_a_chat_model_built_from_an_id(
    aisa_standin: StandIn, make_router: Make
) -> None:
    aisa_standin.enqueue_text("strong", model="gpt-4.1-nano")
    router = make_router(
        {"fast": "gpt-4.1-mini", "strong": "gpt-5"},
        [LLMClassifier("gpt-4.1-nano", fallback="fast")],
    )
    message = router.invoke("a hard question")
    assert message.response_metadata["model_name"] == "gpt-5"
    assert [r.json["model"] for r in aisa_standin.requests] == ["gpt-4.1-nano", "gpt-5"]
    router.invoke("a hard question")
    assert len(aisa_standin.requests) == 3  # the label came from the cache


def test_serialisation_round_trip_keeps_the_key_out(
    aisa_standin: StandIn, make_router: Make, routers: list[RouterRunnable]
) -> None:
    router = make_router(
        {"fast": "gpt-4.1-mini", "strong": Route("gpt-5", ["claude-sonnet-4-5"], description="d")},
        [
            Rule("strong", keywords=["prove"]),
            CheapestFit(prices={"fast": (0.1, 0.2)}),
            WeightedSplit({"fast": 1, "strong": 3}, seed=5),
            LLMClassifier("gpt-4.1-nano", fallback="fast"),
        ],
        default="fast",
        chat_kwargs={"api_key": KEY, "base_url": aisa_standin.base_url},
    )
    text = dumps(router.bind_tools([add]))
    assert KEY not in text
    allowed = [RouterRunnable, Route, Rule, CheapestFit, WeightedSplit, LLMClassifier, ChatAISA]
    with pytest.warns(Warning, match="beta"):
        loaded = loads(
            text,
            allowed_objects=[*allowed, RunnableBinding],
            valid_namespaces=["langchain_aisa"],
            secrets_map={"AISA_API_KEY": aisa_standin.api_key},
        )
    assert isinstance(loaded, RouterRunnable)
    routers.append(loaded)
    assert loaded.requires == ("tools",)
    assert loaded.route_info == router.route_info
    assert dumps(loaded) == text
    message = loaded.invoke("prove it with add")
    assert message.tool_calls[0]["name"] == "add"
    assert message.response_metadata["model_name"] == "gpt-5"


def test_a_function_strategy_is_not_serialisable(aisa_standin: StandIn, make_router: Make) -> None:
    router = make_router({"a": "gpt-4.1"}, [lambda value: "a"])
    assert '"type": "not_implemented"' in dumps(router)


@pytest.mark.filterwarnings("ignore:The function `loads` is in beta")
def test_loads_with_allowed_objects_all_revives_every_router_part(
    aisa_standin: StandIn,
    make_router: Make,
    routers: list[RouterRunnable],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``allowed_objects="all"`` trusts the router's classes as it trusts ChatAISA, with no
    ``valid_namespaces=`` needed; ``"core"`` (the default) still refuses them."""
    router = make_router(
        {"fast": "gpt-4.1-mini", "strong": Route("gpt-5", ["claude-sonnet-4-5"])},
        [
            Rule("strong", keywords=["prove"]),
            CheapestFit(),
            WeightedSplit({"fast": 1}),
            LLMClassifier("gpt-4.1-nano"),
        ],
        default="fast",
        chat_kwargs={"api_key": KEY, "base_url": aisa_standin.base_url},
    )
    monkeypatch.setenv("AISA_API_KEY", aisa_standin.api_key)
    parts: list[Any] = [router, router.routes["strong"], *router.strategies]
    for part in parts:
        text = dumps(part)
        assert KEY not in text
        revived = loads(text, allowed_objects="all", secrets_from_env=True)
        assert type(revived) is type(part)
        assert dumps(revived) == text
        with pytest.raises(ValueError, match="not allowed"):
            loads(text, allowed_objects="core", secrets_from_env=True)
    loaded = loads(dumps(router), allowed_objects="all", secrets_from_env=True)
    routers.append(loaded)
    assert loaded.invoke("prove it").response_metadata["aisa_route"] == "strong"
