"""RouterRunnable with offline fakes: routing, every way of running, what each answer says,
fallbacks, tools and structured output through the router, configuration errors."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_aisa.router import (
    CheapestFit,
    InvalidWeightsError,
    LLMClassifier,
    NoRouteError,
    Route,
    RouteCapabilityError,
    RouteDecision,
    RouterConfigError,
    RouterRunnable,
    Rule,
    UnknownRouteError,
    WeightedSplit,
)

from .helpers import EchoChat, Recorder

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


class Answer(BaseModel):
    text: str


def make_router(**overrides: Any) -> RouterRunnable:
    routes = overrides.pop(
        "routes",
        {
            "fast": EchoChat(model="gpt-4.1-mini"),
            "strong": EchoChat(model="gpt-5"),
            "vision": EchoChat(model="gemini-2.5-flash"),
        },
    )
    strategies = overrides.pop(
        "strategies",
        [Rule("vision", has_images=True), Rule("strong", keywords=["prove"])],
    )
    return RouterRunnable(routes, strategies, default=overrides.pop("default", "fast"), **overrides)


ROUTED = [
    ("hello", "fast", "no strategy matched; default route", "default"),
    ("please prove it", "strong", "rule for 'strong': keyword 'prove'", "rule"),
    ([HumanMessage([IMAGE])], "vision", "rule for 'vision': 1 image(s)", "rule"),
]


@pytest.mark.parametrize(("value", "route", "reason", "strategy"), ROUTED)
def test_invoke_routes_and_says_why(value: Any, route: str, reason: str, strategy: str) -> None:
    router = make_router()
    message = router.invoke(value)
    meta = message.response_metadata
    assert meta["aisa_route"] == route
    assert meta["aisa_route_reason"] == reason
    assert meta["aisa_route_strategy"] == strategy
    assert meta["aisa_route_model"] == meta["model_name"] == router.route_info[route].model


@pytest.mark.parametrize(("value", "route", "reason", "strategy"), ROUTED)
async def test_ainvoke_routes_the_same(value: Any, route: str, reason: str, strategy: str) -> None:
    message = await make_router().ainvoke(value)
    assert message.response_metadata["aisa_route"] == route


def test_explain_gives_the_decision_without_a_model_call() -> None:
    routes = {"fast": EchoChat(model="gpt-4.1-mini"), "strong": EchoChat(model="gpt-5")}
    router = make_router(routes=routes, strategies=[Rule("strong", keywords=["prove"])])
    assert router.explain("prove it") == RouteDecision(
        "strong", "rule for 'strong': keyword 'prove'", "rule", "gpt-5"
    )
    assert router.explain({"key": "fast", "input": "x"}).reason == "explicit key 'fast'"
    assert routes["fast"].calls == routes["strong"].calls == []


def test_first_matching_strategy_wins_and_plain_functions_are_strategies() -> None:
    def shouting(value: Any) -> str | None:
        return "strong" if isinstance(value, str) and value.isupper() else None

    router = make_router(strategies=[shouting, Rule("fast", keywords=["prove"])])
    assert router.invoke("PROVE IT").response_metadata["aisa_route"] == "strong"
    assert router.invoke("prove it").response_metadata["aisa_route"] == "fast"


def test_keyed_inputs_route_by_key_and_say_so() -> None:
    message = make_router().invoke({"key": "strong", "input": "hello"})
    assert message.content == "gpt-5: hello"
    assert message.response_metadata["aisa_route_strategy"] == "key"


def test_call_options_reach_the_route() -> None:
    fast = EchoChat(model="gpt-4.1-mini")
    make_router(routes={"fast": fast}, strategies=[]).invoke("hi", mood="calm")
    assert fast.calls == [{"mood": "calm"}]


def test_no_route_without_default_raises() -> None:
    router = RouterRunnable({"a": EchoChat()}, [Rule("a", keywords=["x"])])
    assert router.invoke("x").response_metadata["aisa_route"] == "a"
    with pytest.raises(NoRouteError, match="no default"):
        router.invoke("y")


# -- streaming -------------------------------------------------------------------------------


def test_stream_is_token_by_token_with_the_route_on_the_first_chunk_only() -> None:
    chunks = list(make_router().stream("please prove it now"))
    words = ["gpt-5: ", "please ", "prove ", "it ", "now"]
    assert [c.content for c in chunks if c.content] == words
    assert chunks[0].response_metadata["aisa_route"] == "strong"
    assert all("aisa_route" not in c.response_metadata for c in chunks[1:])
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert isinstance(merged, AIMessageChunk)
    assert merged.response_metadata["aisa_route"] == "strong"  # not "strongstrong"
    assert merged.response_metadata["model_name"] == "gpt-5"


async def test_astream_is_token_by_token() -> None:
    chunks = [c async for c in make_router().astream([HumanMessage([IMAGE, "look"])])]
    assert [c.content for c in chunks if c.content] == ["gemini-2.5-flash: ", "look"]
    assert chunks[0].response_metadata["aisa_route"] == "vision"


async def test_astream_events_carry_the_route() -> None:
    events = [e async for e in make_router().astream_events("hi there", version="v2")]
    start = events[0]
    assert (start["event"], start["name"]) == ("on_chat_model_start", "EchoChat")
    assert start["metadata"]["aisa_route"] == "fast"
    assert "aisa_route:fast" in start["tags"]
    assert any(e["event"] == "on_chat_model_stream" for e in events)


def test_batch_mixes_keyed_and_routed_inputs() -> None:
    outputs = make_router().batch(["hi", {"key": "vision", "input": "x"}, "prove"])
    assert [o.response_metadata["aisa_route"] for o in outputs] == ["fast", "vision", "strong"]


async def test_abatch() -> None:
    outputs = await make_router().abatch(["hi", "prove"], {"max_concurrency": 1})
    assert [o.response_metadata["aisa_route"] for o in outputs] == ["fast", "strong"]


# -- tracing ---------------------------------------------------------------------------------


def test_the_routed_run_carries_the_route(recorder: Recorder) -> None:
    router = make_router()
    router.invoke("prove", {"callbacks": [recorder], "tags": ["mine"], "run_name": "pick"})
    [(kind, name, tags, meta)] = recorder.events
    assert (kind, name) == ("chat", "pick")
    assert set(tags) == {"mine", "aisa_route:strong"}
    assert meta["aisa_route"] == "strong"
    assert meta["aisa_route_reason"] == "rule for 'strong': keyword 'prove'"
    assert meta["aisa_route_model"] == "gpt-5"


def test_any_output_is_traced(recorder: Recorder) -> None:
    def double(x: int) -> int:
        return 2 * x

    router = RouterRunnable({"double": RunnableLambda(double)}, default="double")
    assert router.invoke(21, {"callbacks": [recorder]}) == 42
    assert recorder.named("double")[3]["aisa_route"] == "double"
    assert "aisa_route:double" in recorder.named("double")[2]


async def test_async_runs_are_traced_too(recorder: Recorder) -> None:
    await make_router().ainvoke("prove", {"callbacks": [recorder]})
    assert recorder.named("EchoChat")[3]["aisa_route"] == "strong"
    chunks = [c async for c in make_router().astream("hi", {"callbacks": [recorder]})]
    assert chunks
    assert recorder.events[-1][3]["aisa_route"] == "fast"


def test_a_given_run_id_names_the_routed_run() -> None:
    from uuid import uuid4

    from langchain_core.tracers.context import collect_runs

    run_id = uuid4()
    with collect_runs() as collector:
        make_router().invoke("hi", {"run_id": run_id})
    assert collector.traced_runs[0].id == run_id
    assert collector.traced_runs[0].extra["metadata"]["aisa_route"] == "fast"


# -- fallbacks -------------------------------------------------------------------------------


def test_a_failing_route_falls_back() -> None:
    primary = EchoChat(model="gpt-5", fail=True)
    backup = EchoChat(model="claude-sonnet-4-5")
    router = make_router(routes={"fast": Route(primary, fallbacks=[backup])}, strategies=[])
    message = router.invoke("hi")
    assert message.content == "claude-sonnet-4-5: hi"
    assert message.response_metadata["model_name"] == "claude-sonnet-4-5"
    assert message.response_metadata["aisa_route_model"] == "gpt-5"
    assert router.route_info["fast"].models == ("gpt-5", "claude-sonnet-4-5")
    chunks = list(router.stream("streamed"))
    assert "".join(str(c.content) for c in chunks) == "claude-sonnet-4-5: streamed"


def test_a_route_without_fallbacks_raises_its_error() -> None:
    router = make_router(routes={"fast": EchoChat(model="x", fail=True)}, strategies=[])
    with pytest.raises(RuntimeError, match="x is down"):
        router.invoke("hi")


# -- tools and structured output -------------------------------------------------------------


def test_bind_tools_reaches_every_route_and_its_fallbacks() -> None:
    primary = EchoChat(model="gpt-5", fail=True, tool_args={"a": 1, "b": 2})
    backup = EchoChat(model="gpt-4.1", tool_args={"a": 1, "b": 2})
    fast = EchoChat(model="gpt-4.1-mini")
    router = make_router(
        routes={"fast": fast, "strong": Route(primary, fallbacks=[backup])},
        strategies=[Rule("strong", needs_tools=True)],
    )
    bound = router.bind_tools([add])
    assert isinstance(bound, RouterRunnable)
    assert bound.requires == ("tools",)
    message = bound.invoke("add 1 and 2")
    assert message.tool_calls[0]["name"] == "add"
    assert message.response_metadata["aisa_route"] == "strong"
    assert message.response_metadata["aisa_route_reason"] == "rule for 'strong': tools needed"
    assert [c["tools"][0]["function"]["name"] for c in (primary.calls[0], backup.calls[0])] == [
        "add",
        "add",
    ]
    assert router.invoke("no tools here").response_metadata["aisa_route"] == "fast"


def test_bind_tools_keeps_bound_options_and_replaces_earlier_tools() -> None:
    chat = EchoChat(model="gpt-4.1")

    @tool
    def other(x: int) -> int:
        """Other."""
        return x

    router = RouterRunnable({"a": chat.bind(mood="calm")}, default="a")
    router.bind_tools([other]).bind_tools([add]).invoke("go")
    assert chat.calls[-1]["mood"] == "calm"
    assert [t["function"]["name"] for t in chat.calls[-1]["tools"]] == ["add"]


def test_bind_tools_through_with_fallbacks() -> None:
    primary = EchoChat(model="a", fail=True)
    backup = EchoChat(model="b")
    router = RouterRunnable({"r": primary.with_fallbacks([backup])}, default="r")
    router.bind_tools([add]).invoke("go")
    assert backup.calls[0]["tools"][0]["function"]["name"] == "add"


def test_bind_tools_on_a_route_that_cannot_raises_a_typed_error() -> None:
    router = RouterRunnable({"lambda": RunnableLambda(lambda x: x)}, default="lambda")
    with pytest.raises(RouteCapabilityError, match="route 'lambda' cannot bind_tools"):
        router.bind_tools([add])


def test_with_structured_output_returns_a_router_of_parsed_answers() -> None:
    strong = EchoChat(model="gpt-5", tool_args={"text": "proof"})
    router = make_router(
        routes={
            "fast": EchoChat(model="gpt-4.1-mini", tool_args={"text": "quick"}),
            "strong": strong,
        },
        strategies=[Rule("strong", keywords=["prove"])],
    )
    structured = router.with_structured_output(Answer)
    assert isinstance(structured, RouterRunnable)
    assert structured.invoke("prove it") == Answer(text="proof")
    assert structured.invoke("hi") == Answer(text="quick")
    raw = router.with_structured_output(Answer, include_raw=True).invoke("prove it")
    assert raw["parsed"] == Answer(text="proof")
    assert raw["raw"].response_metadata["aisa_route"] == "strong"


def test_rules_can_require_structured_output() -> None:
    router = make_router(strategies=[Rule("strong", needs_structured_output=True)])
    assert router.explain("x").route == "fast"
    assert router.with_structured_output(Answer).explain("x").route == "strong"
    assert router.explain("x", response_format={"type": "json_object"}).route == "strong"


# -- the classifier and the split inside a router --------------------------------------------


def test_classifier_routes(recorder: Recorder) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    classifier = LLMClassifier(FakeListChatModel(responses=["strong"]), fallback="fast")
    router = make_router(strategies=[classifier])
    assert router.explain("tricky").route is None
    message = router.invoke("tricky", {"callbacks": [recorder]})
    assert message.response_metadata["aisa_route_reason"] == "classifier labelled it 'strong'"
    assert router.explain("tricky").route == "strong"
    names = [e[1] for e in recorder.events]
    assert names == ["aisa_router_classifier", "EchoChat"]


async def test_classifier_routes_async() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    router = make_router(strategies=[LLMClassifier(FakeListChatModel(responses=["vision"]))])
    message = await router.ainvoke("what is in the picture?")
    assert message.response_metadata["aisa_route"] == "vision"


def test_split_is_sticky_per_user_through_the_router() -> None:
    router = make_router(strategies=[WeightedSplit({"fast": 1, "strong": 1}, seed=11)])
    for user in ("ann", "bob", "cy"):
        config = {"configurable": {"user_id": user}}
        routes = {router.invoke(f"q{i}", config).response_metadata["aisa_route"] for i in range(5)}
        assert len(routes) == 1


# -- configuration errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"default": "gone"}, UnknownRouteError, "default: there is no route named 'gone'"),
        ({"strategies": [Rule("gone", keywords=["x"])]}, UnknownRouteError, "'gone'"),
        ({"strategies": [CheapestFit(["fast", "gone"])]}, UnknownRouteError, "'gone'"),
        (
            {
                "strategies": [Rule("fast", has_images=True)],
                "routes": {"fast": EchoChat(model="deepseek-v3.1")},
            },
            RouteCapabilityError,
            "able to read images, but route 'fast' serves from deepseek-v3.1",
        ),
        ({"strategies": ["not a strategy"]}, RouterConfigError, "a strategy must be"),
        ({"routes": {}}, RouterConfigError, "at least one route"),
        ({"routes": {"": EchoChat()}}, RouterConfigError, "non-empty strings"),
        ({"runnables": {"x": EchoChat()}}, RouterConfigError, "not both"),
    ],
)
def test_bad_configurations_fail_at_construction(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make_router(**kwargs)


def test_bad_weights_fail_at_construction() -> None:
    with pytest.raises(InvalidWeightsError, match="positive"):
        make_router(strategies=[WeightedSplit({"fast": 0, "strong": 0})])


def test_a_route_model_hint_is_used_for_capability_checks() -> None:
    opaque = RunnableLambda(lambda x: x)
    with pytest.raises(RouteCapabilityError):
        RouterRunnable({"v": Route(opaque, model="deepseek-v3.1")}, [Rule("v", has_images=True)])
    router = RouterRunnable({"v": Route(opaque, model="gpt-4.1")}, [Rule("v", has_images=True)])
    assert router.route_info["v"].models == ("gpt-4.1",)


def test_public_api_is_pinned() -> None:
    import langchain_aisa
    import langchain_aisa.router as module

    assert sorted(module.__all__) == [
        "CheapestFit",
        "FunctionStrategy",
        "HealthAware",
        "HealthOrderedFallbacks",
        "InputFeatures",
        "InvalidWeightsError",
        "LLMClassifier",
        "LowestLatency",
        "NoRouteError",
        "Route",
        "RouteCapabilityError",
        "RouteDecision",
        "RouteInfo",
        "RouteRequest",
        "RouterConfigError",
        "RouterError",
        "RouterRunnable",
        "RoutingStrategy",
        "Rule",
        "UnknownRouteError",
        "WeightedSplit",
        "estimate_tokens",
        "features_of",
        "parse_label",
    ]
    assert langchain_aisa.RouterRunnable is RouterRunnable
