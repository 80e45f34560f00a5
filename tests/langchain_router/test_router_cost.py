"""Money in routing: CheapestFit on AIsa's prices and on the gateway's quotes, and a shared
budget that moves calls to the cheapest route that fits (``on_exceed="cheapest"``)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from langchain_core.exceptions import ModelPermissionDeniedError
from langchain_core.messages import BaseMessage

from aisa_core import Budget, capabilities
from aisa_core.standin import Fault, StandIn
from langchain_aisa import AISABudgetExceededError
from langchain_aisa.router import CheapestFit, RouteInfo, RouteRequest, Rule

from .conftest import BuildRouter
from .helpers import standin_kwargs

CATALOG = json.loads((Path(__file__).parents[2] / "data" / "aisa-catalog.json").read_text())
MINI, DEEP, FLASH = "gpt-4.1-mini", "deepseek-v3.1", "gemini-2.5-flash"
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


def chats(gateway: StandIn) -> list[tuple[str, bool]]:
    """(model, was it a quote) of every chat request, in order."""
    return [
        (r.json["model"], r.headers.get("x-aisa-cost-mode") == "quote")
        for r in gateway.requests
        if r.path == "/v1/chat/completions"
    ]


# --- CheapestFit on AIsa's prices --------------------------------------------------------------


def test_cheapest_fit_decides_on_aisa_prices_and_shows_them() -> None:
    routes = {name: RouteInfo(name, (name,)) for name in (MINI, DEEP, FLASH)}
    decision = CheapestFit(output_tokens=500).decide(RouteRequest("hi", {}), routes)
    assert decision is not None
    for model, row in decision.figures.items():
        published = CATALOG["models"][model]
        assert (row["input_price"], row["output_price"]) == (
            published["price_usd_per_1m_input"],
            published["price_usd_per_1m_output"],
        )
        assert row["estimate_usd"] == pytest.approx(
            (1 * row["input_price"] + 500 * row["output_price"]) / 1e6
        )
    cheapest = min(decision.figures, key=lambda m: decision.figures[m]["estimate_usd"])
    assert decision.route == cheapest == MINI
    # At the providers' list prices (the stand-in's table: 0.40 / 1.60 per 1M) it would say more.
    assert "gpt-4.1-mini ≈ $0.000560" in decision.reason
    assert capabilities(MINI).output_price == 1.12


# --- CheapestFit on the gateway's quotes ------------------------------------------------------

# The table, with the mini overpriced, ranks deepseek < flash < mini; the stand-in's quotes
# (at AIsa's prices) rank mini ($1.12 per M out) < deepseek ($1.2047) < flash ($1.75).
OVERPRICED = {MINI: (1.0, 2.0)}
ROUTES = {"mini": MINI, "deep": DEEP, "flash": FLASH}


def test_quotes_decide_among_the_cheapest_few(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    router = build_router(ROUTES, [CheapestFit(prices=OVERPRICED, quote=True)])
    message = router.invoke("hi")
    assert chats(aisa_standin) == [(DEEP, True), (FLASH, True), (MINI, True), (MINI, False)]
    meta = message.response_metadata
    assert (meta["aisa_route"], meta["model_name"]) == ("mini", MINI)
    assert meta["aisa_route_reason"].startswith(
        "lowest of 3 gateway quotes: gpt-4.1-mini ≈ $0.00056"
    )


def test_only_the_top_few_are_quoted(aisa_standin: StandIn, build_router: BuildRouter) -> None:
    router = build_router(ROUTES, [CheapestFit(prices=OVERPRICED, quote=True, quote_top=2)])
    assert router.invoke("hi").response_metadata["aisa_route"] == "deep"
    assert chats(aisa_standin) == [(DEEP, True), (FLASH, True), (DEEP, False)]


async def test_async_quotes_are_asked_together(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    router = build_router(ROUTES, [CheapestFit(prices=OVERPRICED, quote=True)])
    message = await router.ainvoke("hi")
    assert message.response_metadata["aisa_route"] == "mini"
    sent = chats(aisa_standin)
    assert sorted(sent[:3]) == [(DEEP, True), (FLASH, True), (MINI, True)] and sent[3] == (
        MINI,
        False,
    )


def test_a_failed_quote_leaves_its_route_out(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    router = build_router(ROUTES, [CheapestFit(prices=OVERPRICED, quote=True)])
    aisa_standin.enqueue_fault(Fault(status=503), model=MINI)
    decision_meta = router.invoke("hi").response_metadata
    assert decision_meta["aisa_route"] == "deep"
    assert decision_meta["aisa_route_reason"].startswith("lowest of 2 gateway quotes")


def test_without_any_quote_the_table_decides(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    router = build_router(ROUTES, [CheapestFit(prices=OVERPRICED, quote=True)])
    for model in (MINI, DEEP, FLASH):
        aisa_standin.enqueue_fault(Fault(status=503), model=model)
    meta = router.invoke("hi").response_metadata
    assert meta["aisa_route"] == "deep"
    assert "(no quote could be had)" in meta["aisa_route_reason"]


def test_explain_asks_no_quote_but_shows_the_prices(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    router = build_router(ROUTES, [CheapestFit(prices=OVERPRICED, quote=True)])
    decision = router.explain("hi")
    assert aisa_standin.requests == []
    assert decision.route == "deep"
    assert decision.reason.endswith("a call asks the gateway's quotes for deep, flash, mini first")
    assert decision.figures["mini"]["input_price"] == 1.0  # the override
    assert decision.figures["deep"]["input_price"] == capabilities(DEEP).input_price


def test_quotes_need_a_router_or_a_quoter() -> None:
    from langchain_aisa.router import RouterConfigError

    routes = {"a": RouteInfo("a", (MINI,))}
    with pytest.raises(RouterConfigError, match="quoter"):
        CheapestFit(quote=True).check(routes)
    with pytest.raises(RouterConfigError, match="quote_top"):
        CheapestFit(quote=True, quote_top=0)


# --- a shared budget -----------------------------------------------------------------------------

PRICEY = {"gpt-5": (1000.0, 1000.0), MINI: (0.1, 0.1)}
TWO = {"strong": "gpt-5", "mini": MINI}


def test_a_call_that_would_not_fit_goes_to_the_cheapest_route_that_does(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    budget = Budget(usd=0.01, prices=PRICEY)
    router = build_router(TWO, default="strong", aisa_budget=budget, on_exceed="cheapest")
    decision = router.explain("hi")
    assert (decision.route, decision.strategy, decision.model) == ("mini", "budget", MINI)
    assert decision.reason.startswith("no strategy matched; default route; but route 'strong'")
    assert "cheapest route that fits is 'mini'" in decision.reason
    assert decision.figures["budget"] == {"usd": 0.01, "per": "day", "remaining_usd": 0.01}
    assert (
        decision.figures["estimates_usd"]["strong"]
        > 0.01
        > decision.figures["estimates_usd"]["mini"]
    )
    message = router.invoke("hi")
    assert message.response_metadata["aisa_route_strategy"] == "budget"
    assert chats(aisa_standin) == [(MINI, False)]
    assert budget.spent() == pytest.approx(aisa_standin.spent_micros_usd / 1e6)


def test_by_default_the_call_is_refused_before_sending(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    router = build_router(TWO, default="strong", aisa_budget=Budget(usd=0.01, prices=PRICEY))
    with pytest.raises(ModelPermissionDeniedError) as caught:
        router.invoke("hi")
    assert isinstance(caught.value, AISABudgetExceededError)
    assert chats(aisa_standin) == []


def test_when_nothing_fits_or_the_key_is_explicit_the_core_refuses(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    tight = Budget(usd=1e-7, prices=PRICEY)
    router = build_router(TWO, default="strong", aisa_budget=tight, on_exceed="cheapest")
    assert router.explain("hi").route == "strong"  # nothing cheaper fits: the decision stands
    with pytest.raises(AISABudgetExceededError):
        router.invoke("hi")
    roomy = build_router(
        TWO, default="strong", aisa_budget=Budget(usd=0.01, prices=PRICEY), on_exceed="cheapest"
    )
    with pytest.raises(AISABudgetExceededError):
        roomy.invoke({"key": "strong", "input": "hi"})  # an explicit key is not second-guessed
    assert chats(aisa_standin) == []


def test_the_cheaper_route_must_also_take_the_input(build_router: BuildRouter) -> None:
    prices = {**PRICEY, "deepseek-v3.2": (0.01, 0.01), MINI: (0.2, 0.2)}
    router = build_router(
        {"strong": "gpt-5", "text": "deepseek-v3.2", "mini": MINI},
        [Rule("strong", has_images=True)],
        default="strong",
        aisa_budget=Budget(usd=0.01, prices=prices),
        on_exceed="cheapest",
    )
    assert router.explain("hi").route == "text"
    with_image: list[BaseMessage] | Any = [("user", [{"type": "text", "text": "?"}, IMAGE])]
    assert router.explain(with_image).route == "mini"  # deepseek-v3.2 reads no images


def test_without_a_budget_on_exceed_changes_nothing(build_router: BuildRouter) -> None:
    router = build_router(TWO, default="strong", on_exceed="cheapest")
    assert router.explain("hi").route == "strong"


def test_the_budget_reaches_every_route_and_survives_bind_tools(build_router: BuildRouter) -> None:
    budget = Budget(usd=1.0)
    router = build_router(TWO, default="strong", aisa_budget=budget)
    assert all(r.target.aisa_budget is budget for r in router.routes.values())  # type: ignore[union-attr]
    derived = router.with_structured_output({"title": "T", "type": "object", "properties": {}})
    assert derived.aisa_budget is budget and derived.on_exceed == router.on_exceed


def test_many_threads_share_one_budget_through_the_router(
    aisa_standin: StandIn, build_router: BuildRouter
) -> None:
    # The budget prices the calls at twice the stand-in's bill, so reservations cover them.
    prices = {"gpt-4.1": (4.0, 16.0), MINI: (0.8, 3.2)}
    budget = Budget(usd=0.004, prices=prices)
    router = build_router(
        {"strong": "gpt-4.1", "mini": MINI},
        default="strong",
        aisa_budget=budget,
        on_exceed="cheapest",
        chat_kwargs=standin_kwargs(aisa_standin, max_tokens=50),
    )

    def calls(_: int) -> list[str]:
        outcomes = []
        for _ in range(8):
            try:
                message = router.invoke("hi")
            except AISABudgetExceededError:
                outcomes.append("refused")
            else:
                outcomes.append(message.response_metadata["aisa_route"])
        return outcomes

    with ThreadPoolExecutor(32) as pool:
        outcomes = [o for batch in pool.map(calls, range(32)) for o in batch]
    assert set(outcomes) <= {"strong", "mini", "refused"} and "refused" in outcomes
    one_call = max(budget.estimate(_info(m)) or 0.0 for m in ("gpt-4.1", MINI))
    assert budget.spent() <= budget.usd + one_call
    # Every reservation was settled to what the gateway billed: nothing left held.
    assert budget.spent() == pytest.approx(aisa_standin.spent_micros_usd / 1e6)
    billed = sum(1 for model, quoted in chats(aisa_standin) if not quoted)
    assert billed == len(outcomes) - outcomes.count("refused")


def _info(model: str) -> Any:
    from aisa_core import AttemptInfo

    return AttemptInfo("chat", model, prompt_tokens=64, max_output_tokens=50)
