"""A router's decisions as tables (``explain()`` in Jupyter and as a DataFrame), and what its
calls add to ``get_aisa_callback()``: routed models, fallback routes, skipped models."""

from __future__ import annotations

import math

import pytest

from aisa_core import Budget, ModelHealth
from aisa_core.standin import Fault, StandIn
from langchain_aisa import ChatAISA, get_aisa_callback
from langchain_aisa.router import (
    CheapestFit,
    HealthAware,
    LowestLatency,
    Route,
    RouteDecision,
    RouteInfo,
    RouteRequest,
    Rule,
)
from tests.without_pandas import MISSING, tables_without_pandas

from .conftest import BuildRouter
from .helpers import standin_kwargs

MINI, DEEP, FLASH = "gpt-4.1-mini", "deepseek-v3.1", "gemini-2.5-flash"


def test_a_cost_decision_is_a_table_of_its_routes_and_their_prices() -> None:
    routes = {name: RouteInfo(name, (name,)) for name in (MINI, DEEP, FLASH)}
    decision = CheapestFit(output_tokens=500).explain(RouteRequest("hi", {}), routes)
    assert decision is not None
    frame = decision.to_pandas().set_index("route")
    assert sorted(frame.index) == sorted(routes)
    assert list(frame.columns[:2]) == ["chosen", "model"]
    assert list(frame.index[frame["chosen"]]) == [decision.route] == [MINI]
    for name, row in decision.figures.items():
        assert frame.loc[name, "estimate_usd"] == row["estimate_usd"]
        assert frame.loc[name, "input_price"] == row["input_price"]
    page = decision._repr_html_()
    assert page.count("<tr>") == 4 and "estimate_usd" in page
    assert "route &#x27;gpt-4.1-mini&#x27; by cost: cheapest fit" in page


def test_a_latency_decision_shows_health_and_latency() -> None:
    health = ModelHealth()
    routes = {"fast": RouteInfo("fast", (MINI,)), "deep": RouteInfo("deep", (DEEP,))}
    decision = LowestLatency(health=health, min_samples=0).explain(RouteRequest("hi", {}), routes)
    assert decision is not None
    records = {r["route"]: r for r in decision.records()}
    assert set(records) == {"fast", "deep"}
    assert records["fast"]["health"] == "ok" and records["fast"]["samples"] == 0
    columns = decision.table_columns()
    assert {"health", "ttft_s", "latency_s", "samples", "error_rate"} <= set(columns)


def test_a_budget_decision_and_a_health_order_show_in_the_table(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    budget = Budget(usd=0.01, prices={"gpt-5": (1000.0, 1000.0), MINI: (0.1, 0.1)})
    router = build_router(
        {"strong": "gpt-5", "mini": MINI},
        default="strong",
        aisa_budget=budget,
        on_exceed="cheapest",
    )
    decision = router.explain("hi")
    rows = {r["route"]: r for r in decision.records()}
    assert rows["mini"]["chosen"] and not rows["strong"]["chosen"]
    estimates = decision.figures["estimates_usd"]
    assert rows["strong"]["budget_estimate_usd"] == estimates["strong"] > 0.01
    assert "budget: $0.01 of $0.01 per day left" in decision.table_caption()

    health = ModelHealth(failure_threshold=1, cooldown=60)
    primary = ChatAISA(model="model-p", **standin_kwargs(aisa_standin))
    backup = ChatAISA(model="model-q", **standin_kwargs(aisa_standin))
    ordered = build_router(
        {"r": Route(primary, [backup], order=HealthAware())}, default="r", aisa_health=health
    )
    aisa_standin.fail_model("model-p", Fault(status=503))
    ordered.invoke("trips model-p")
    tries = [r for r in ordered.explain("hi").records() if "try" in r]
    assert [(r["try"], r["model"], r["health"]) for r in tries] == [
        (1, "model-q", "ok"),
        (2, "model-p", "cooling"),
    ]


def test_a_decision_without_figures_is_one_row_and_everything_is_escaped() -> None:
    decision = Rule("deep", keywords=["prove"]).decide(
        RouteRequest("prove it", {}), {"deep": RouteInfo("deep", (DEEP,))}
    )
    assert decision is not None
    assert decision.records() == [{"route": "deep", "chosen": True, "model": decision.model}]
    assert decision.table_columns() == ["route", "chosen", "model"]
    hostile = RouteDecision(
        "<b>r</b>",
        "because <script>alert(1)</script>",
        "rule",
        figures={"<b>r</b>": {"model": "<i>m</i>", "health": "<u>ok</u>"}},
    )
    page = hostile._repr_html_()
    assert not any(tag in page for tag in ("<b>", "<i>", "<u>", "<script>"))
    assert "&lt;script&gt;" in page and "&lt;i&gt;m&lt;/i&gt;" in page


def test_without_pandas_tables_still_show_and_to_pandas_names_pandas() -> None:
    setup = """
        from langchain_aisa import AISACallbackHandler
        from langchain_aisa.router import RouteDecision
    """
    tables = "(AISACallbackHandler(), RouteDecision('a', 'why', 'rule'))"
    assert tables_without_pandas(setup, tables) == [MISSING] * 2


# --- what routed calls add to get_aisa_callback() ----------------------------------------------


def test_routed_calls_are_counted_under_the_model_that_served(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    router = build_router(
        {"fast": MINI, "deep": DEEP}, [Rule("deep", keywords=["prove"])], default="fast"
    )
    with get_aisa_callback() as cb:
        router.invoke("hello")
        router.batch(["prove it", "hi", "hey"])
    assert cb.per_model[MINI].calls == 3 and cb.per_model[DEEP].calls == 1
    assert math.isclose(cb.total_cost, aisa_standin.spent_micros_usd / 1e6)


@pytest.mark.parametrize("ordered", [True, False])
def test_a_fallback_route_counts_its_failed_primary(
    aisa_standin: StandIn, build_router: BuildRouter, ordered: bool
) -> None:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    primary = ChatAISA(model="model-p", **standin_kwargs(aisa_standin))
    backup = ChatAISA(model="model-q", **standin_kwargs(aisa_standin))
    route = Route(primary, [backup], order=HealthAware() if ordered else None)
    router = build_router({"r": route}, default="r", aisa_health=health)
    aisa_standin.fail_model("model-p", Fault(status=503))
    with get_aisa_callback() as cb:
        for _ in range(3):
            router.invoke("hi")
    failed = cb.per_model["model-p"]
    # With the health order the cooling primary is not called again; without it, LangChain's
    # fallbacks call it each time, and its own chain (one model) tries it while it cools.
    assert failed.failed_attempts == (1 if ordered else 3) and failed.calls == 0
    assert cb.failed_requests == failed.failed_attempts
    assert cb.per_model["model-q"].calls == 3
