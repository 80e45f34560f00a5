"""Routing on live signals: LowestLatency (against the stand-in's latency profiles, and on
recorded samples), HealthAware fallback order, and how the router shares its health."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.load import dumps, load
from langchain_core.runnables import RunnableBinding
from langchain_core.tools import tool

from aisa_core import ModelHealth
from aisa_core.attempts import AttemptInfo, AttemptReport
from aisa_core.standin import Fault, StandIn
from aisa_core.stores import MemoryStore
from langchain_aisa import ChatAISA
from langchain_aisa.router import (
    HealthAware,
    HealthOrderedFallbacks,
    LowestLatency,
    Route,
    RouteInfo,
    RouterConfigError,
    RouteRequest,
    RouterRunnable,
)

from .conftest import BuildRouter
from .helpers import EchoChat, standin_kwargs

FAST, SLOW = "gpt-4.1-mini", "gpt-4.1"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# --- LowestLatency against the stand-in's profiles -------------------------------------------


def test_lowest_latency_sends_nearly_all_streams_to_the_fast_model(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    aisa_standin.set_profile(SLOW, ttft=0.25)
    aisa_standin.set_profile(FAST, ttft=0.02)
    health = ModelHealth()
    fastest = LowestLatency(metric="ttft", min_samples=3, explore=0.05, seed=7)
    router = build_router({"slow": SLOW, "fast": FAST}, [fastest], aisa_health=health)
    routes = []
    for i in range(46):
        stream = router.stream("hello there")
        routes.append(next(iter(stream)).response_metadata["aisa_route"])
        if i % 2:  # half the streams are read to the end, half closed after the first chunk
            list(stream)
    warm, after = routes[:6], routes[6:]
    assert Counter(warm) == {"slow": 3, "fast": 3}  # each route measured min_samples times
    assert after.count("fast") >= 0.9 * len(after)
    slow, fast = health.stats(SLOW), health.stats(FAST)
    assert slow.first_chunk_s is not None and fast.first_chunk_s is not None
    assert slow.first_chunk_s >= 0.25 > fast.first_chunk_s  # the profiles, as measured


async def test_lowest_latency_by_total_time_in_async_calls(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    aisa_standin.set_profile(SLOW, ttft=0.2)
    router = build_router(
        {"slow": SLOW, "fast": FAST},
        [LowestLatency(metric="total", min_samples=2, explore=0.0)],
    )
    routes = [(await router.ainvoke("hi")).response_metadata["aisa_route"] for _ in range(10)]
    assert routes[4:] == ["fast"] * 6
    assert isinstance(router.aisa_health, ModelHealth)  # the router made one for itself


# --- LowestLatency on recorded samples ---------------------------------------------------------

ROUTES = {"a": RouteInfo("a", ("model-a",)), "b": RouteInfo("b", ("model-b",))}


def record(health: ModelHealth, model: str, seconds: float, error: Any = None) -> None:
    ticket = health.admit(AttemptInfo("chat", model))
    outcome = "ok" if error is None else "error"
    report = AttemptReport(
        "chat", model, outcome, 0.0, seconds, first_chunk_s=seconds, error=error, stream=True
    )
    health.record(ticket, report)


def simulate(
    strategy: LowestLatency, calls: int, latency: Callable[[str, int], float]
) -> list[str]:
    """``calls`` decisions, each followed by a sample of the chosen model's latency."""
    assert strategy.health is not None
    chosen = []
    for i in range(calls):
        decision = strategy.decide(RouteRequest("hi", {}), ROUTES)
        assert decision is not None and decision.route is not None
        chosen.append(decision.route)
        model = ROUTES[decision.route].models[0]
        record(strategy.health, model, latency(model, i))
    return chosen


def a_slow_first_sample(model: str, i: int) -> float:
    """model-a is truly the fastest (10 ms), but its first sample took 1 s; model-b is 100 ms."""
    if model == "model-b":
        return 0.1
    return 1.0 if i == 0 else 0.01


def test_without_exploration_a_slow_first_sample_starves_a_route() -> None:
    strategy = LowestLatency(min_samples=1, explore=0.0, health=ModelHealth())
    chosen = simulate(strategy, 300, a_slow_first_sample)
    assert chosen[:2] == ["a", "b"] and set(chosen[2:]) == {"b"}


def test_exploration_lets_a_route_with_a_slow_first_sample_win_back() -> None:
    strategy = LowestLatency(min_samples=1, explore=0.2, seed=3, health=ModelHealth())
    chosen = simulate(strategy, 300, a_slow_first_sample)
    assert chosen[-100:].count("a") >= 85  # measured again, it is the fastest


def test_routes_below_min_samples_are_measured_first() -> None:
    health = ModelHealth()
    for _ in range(5):
        record(health, "model-b", 0.01)
    strategy = LowestLatency(min_samples=4, explore=0.0, health=health)
    chosen = simulate(strategy, 6, lambda model, i: 0.5)
    assert chosen == ["a", "a", "a", "a", "b", "b"]
    decision = strategy.explain(RouteRequest("hi", {}), ROUTES)
    assert decision is not None and "lowest time to first token" in decision.reason


def test_cooling_routes_are_left_out_and_all_cooling_passes() -> None:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    record(health, "model-a", 0.01)
    record(health, "model-b", 0.5)
    strategy = LowestLatency(min_samples=1, explore=0.0, health=health)
    request = RouteRequest("hi", {})
    from aisa_core import ServerError

    record(health, "model-a", 0.01, ServerError("down", status_code=503))
    decision = strategy.decide(request, ROUTES)
    assert decision is not None and decision.route == "b"
    assert decision.figures["a"]["health"] == "cooling" and decision.figures["a"]["until"]
    assert "a (model-a) cooling down" in decision.reason
    record(health, "model-b", 0.01, ServerError("down", status_code=503))
    assert strategy.decide(request, ROUTES) is None  # the next strategy decides


def test_explain_shows_health_latency_and_samples_without_exploring() -> None:
    clock = Clock(1_000.0)
    health = ModelHealth(failure_threshold=1, cooldown=30, store=MemoryStore(clock=clock))
    for seconds in (0.2, 0.1):
        record(health, "model-a", seconds)
    record(health, "model-b", 0.3)
    strategy = LowestLatency(min_samples=1, explore=1.0, seed=1, health=health)
    request = RouteRequest("hi", {})
    decisions = {strategy.explain(request, ROUTES) for _ in range(20)}
    assert len(decisions) == 1
    [decision] = decisions
    assert decision is not None and decision.route == "a" and decision.strategy == "latency"
    a, b = decision.figures["a"], decision.figures["b"]
    assert (a["health"], a["samples"], b["samples"]) == ("ok", 2, 1)
    assert a["ttft_s"] == pytest.approx(0.2 + 0.2 * (0.1 - 0.2))  # the EWMA, alpha 0.2
    assert b["latency_s"] == pytest.approx(0.3) and b["error_rate"] == 0.0
    assert "a (model-a) 0.180 s over 2 samples; b (model-b) 0.300 s over 1 samples" in (
        decision.reason
    )
    # A model whose cooldown has passed is half-open: still a candidate, and shown so.
    from aisa_core import ServerError

    record(health, "model-b", 0.3, ServerError("down", status_code=503))
    clock.now += 31  # the cooldown has passed
    decision = strategy.explain(request, ROUTES)
    assert decision is not None and decision.figures["b"]["health"] == "half-open"
    assert "b (model-b) 0.300 s over 2 samples, half-open" in decision.reason


def test_bad_latency_settings_fail_when_built() -> None:
    with pytest.raises(RouterConfigError, match="explore"):
        LowestLatency(explore=1.5)
    with pytest.raises(RouterConfigError, match="min_samples"):
        LowestLatency(min_samples=-1)
    with pytest.raises(RouterConfigError, match="ModelHealth"):
        LowestLatency().check(ROUTES)


# --- how the router shares its health ----------------------------------------------------------


def test_the_router_gives_its_health_to_every_chat_model(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    health = ModelHealth()
    given = ChatAISA(model="gpt-5", **standin_kwargs(aisa_standin))
    router = build_router(
        {"ids": Route(FAST, [SLOW]), "given": given, "chained": Route(given, [FAST])},
        [LowestLatency(["ids", "given"])],
        aisa_health=health,
    )
    leaves = [m for r in router.routes.values() for m in r.members()]
    assert all(leaf.aisa_health is health for leaf in leaves)
    assert given.aisa_health is None  # the caller's object is left as it was
    assert router.strategies[0].health is health  # type: ignore[attr-defined]
    tools = router.bind_tools([add])
    assert tools.aisa_health is health and tools.strategies[0].health is health  # type: ignore[attr-defined]
    bound = tools.runnables["ids"]
    assert isinstance(bound, RunnableBinding) and bound.bound.aisa_health is health  # type: ignore[attr-defined]


def test_health_can_come_through_chat_kwargs(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    health = ModelHealth()
    router = build_router(
        {"a": FAST}, [], chat_kwargs={**standin_kwargs(aisa_standin), "aisa_health": health}
    )
    assert router.aisa_health is health and router.routes["a"].target.aisa_health is health  # type: ignore[union-attr]
    with pytest.raises(RouterConfigError, match="different objects"):
        build_router(
            {"a": FAST},
            chat_kwargs={**standin_kwargs(aisa_standin), "aisa_health": health},
            aisa_health=ModelHealth(),
        )


def test_a_model_with_another_health_object_is_refused(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    own = ChatAISA(model=FAST, aisa_health=ModelHealth(), **standin_kwargs(aisa_standin))
    with pytest.raises(RouterConfigError, match="its own aisa_health"):
        build_router({"a": own}, aisa_health=ModelHealth())


def test_latency_routes_must_report_to_the_health_they_are_judged_by(
    build_router: BuildRouter,
) -> None:
    with pytest.raises(RouterConfigError, match="route 'echo' does not serve from a ChatAISA"):
        build_router({"echo": EchoChat(), "a": FAST}, [LowestLatency()])
    build_router({"echo": EchoChat(), "a": FAST}, [LowestLatency(["a"])], default="echo")


def test_a_serialised_latency_router_loads_and_gets_a_health_again(
    aisa_standin: StandIn, build_router: BuildRouter, routers: list[RouterRunnable]
) -> None:
    router = build_router(
        {"a": FAST, "b": _two_models(aisa_standin, HealthAware())},
        [LowestLatency(["a"], seed=4)],
        default="b",
        aisa_health=ModelHealth(),
    )
    text = dumps(router)
    assert "ModelHealth" not in text and '"seed": 4' in text
    allowed = [RouterRunnable, Route, LowestLatency, HealthAware, ChatAISA]
    # ``load``, not ``loads``: each warns that it is beta once per process, and the round trip
    # test of test_router_standin expects the warning of ``loads``.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*beta", category=Warning)
        loaded = load(
            json.loads(text),
            allowed_objects=allowed,
            valid_namespaces=["langchain_aisa"],
            secrets_map={"AISA_API_KEY": aisa_standin.api_key},
        )
    routers.append(loaded)
    assert isinstance(loaded.aisa_health, ModelHealth)
    assert loaded.aisa_health is not router.aisa_health  # live objects are never serialised
    assert loaded.strategies[0].health is loaded.aisa_health  # type: ignore[attr-defined]
    order = loaded.routes["b"].order
    assert order is not None and order.health is loaded.aisa_health
    assert loaded.invoke("hi").response_metadata["aisa_route"] == "a"


# --- HealthAware ------------------------------------------------------------------------------


def test_health_aware_puts_cooling_models_last_soonest_first() -> None:
    clock = Clock(1_000.0)
    health = ModelHealth(failure_threshold=1, cooldown=30, store=MemoryStore(clock=clock))
    from aisa_core import RateLimitError, ServerError

    record(health, "a", 0.1, ServerError("down", status_code=503))  # cooling until 1030
    record(health, "c", 0.1, RateLimitError("slow", status_code=429, retry_after=100))  # 1100
    order = HealthAware(health=health)
    assert order.arrange(["a", "b", "c", "d", None]) == [1, 3, 4, 0, 2]
    assert HealthAware(health=health, cooling="drop").arrange(["a", "b", "c"]) == [1]
    assert HealthAware(health=health, cooling="drop").arrange(["c", "a"]) == [1]  # soonest
    assert HealthAware().arrange(["a", "b"]) == [0, 1]  # no health: as given
    clock.now += 50
    assert health.state("a") == "half-open"
    assert order.arrange(["a", "b", "c"]) == [0, 1, 2]  # a half-open model keeps its place


def _two_models(gateway: StandIn, order: HealthAware | None) -> Route:
    primary = ChatAISA(model="model-p", **standin_kwargs(gateway))
    backup = ChatAISA(model="model-q", **standin_kwargs(gateway))
    return Route(primary, [backup], order=order)


@pytest.mark.parametrize("ordered", [True, False])
def test_a_cooling_primary_is_not_called_first_with_health_aware_order(
    aisa_standin: StandIn, build_router: BuildRouter, ordered: bool
) -> None:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    order = HealthAware() if ordered else None
    router = build_router({"r": _two_models(aisa_standin, order)}, default="r", aisa_health=health)
    aisa_standin.fail_model("model-p", Fault(status=503))
    assert router.invoke("hi").response_metadata["model_name"] == "model-q"  # trips model-p
    before = len(aisa_standin.requests)
    for _ in range(3):
        assert router.invoke("hi").response_metadata["model_name"] == "model-q"
    sent = [r.json["model"] for r in aisa_standin.requests[before:]]
    # Without the order each call still tries the lone cooling primary first (its own chain
    # has nothing to skip to), and pays for the failure.
    assert sent == (["model-q"] * 3 if ordered else ["model-p", "model-q"] * 3)
    figures = router.explain("hi").figures
    if ordered:
        assert [(row["model"], row["health"]) for row in figures["order"]] == [
            ("model-q", "ok"),
            ("model-p", "cooling"),
        ]
        assert figures["order"][1]["until"] == health.cooling_until("model-p")
    else:
        assert "order" not in figures


async def test_health_aware_order_streams_and_survives_bind_tools(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    router = build_router(
        {"r": _two_models(aisa_standin, HealthAware())}, default="r", aisa_health=health
    )
    assert isinstance(router.runnables["r"], HealthOrderedFallbacks)
    aisa_standin.fail_model("model-p", Fault(status=503))
    await router.ainvoke("hi")
    before = len(aisa_standin.requests)
    chunks = [c async for c in router.astream("hello there")]
    assert chunks[0].response_metadata["model_name"] == "model-q"
    tooled = router.bind_tools([add])
    chain = tooled.runnables["r"]
    assert isinstance(chain, HealthOrderedFallbacks) and chain.order.health is health
    message = tooled.invoke("add 2 and 3")
    assert message.tool_calls[0]["name"] == "add"
    sent = [r.json["model"] for r in aisa_standin.requests[before:]]
    assert sent == ["model-q", "model-q"]


def test_health_aware_wraps_runnables_outside_a_router() -> None:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    record(health, "x", 0.1, __import__("aisa_core").ServerError("down", status_code=503))
    chain = HealthAware(health=health).fallbacks(EchoChat(model="x"), [EchoChat(model="y")])
    assert chain.member_models == ("x", "y")
    assert chain.invoke("hi").content == "y: hi"
    assert "health" not in dumps(HealthAware(health=health))


def test_a_health_ordered_chain_serialises_under_this_package() -> None:
    chain = HealthAware(health=ModelHealth()).fallbacks(EchoChat(model="x"), [EchoChat(model="y")])
    data = json.loads(dumps(chain))
    assert data["id"] == ["langchain_aisa", "router", "HealthOrderedFallbacks"]
    assert data["kwargs"]["order"]["id"] == ["langchain_aisa", "router", "HealthAware"]
    assert data["kwargs"]["member_models"] == ["x", "y"]
    assert "health" not in data["kwargs"]["order"]["kwargs"]
