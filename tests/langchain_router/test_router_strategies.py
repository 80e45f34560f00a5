"""Each pure strategy on its own: rules, cheapest fit, weighted split, plain functions."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_aisa.router import (
    CheapestFit,
    FunctionStrategy,
    InvalidWeightsError,
    RouteCapabilityError,
    RouteInfo,
    RouterConfigError,
    RouteRequest,
    Rule,
    UnknownRouteError,
    WeightedSplit,
)

ROUTES = {
    "mini": RouteInfo("mini", ("gpt-4.1-mini",)),
    "nano": RouteInfo("nano", ("gpt-4o-mini",)),  # the cheapest of these at AIsa's prices
    "deepseek": RouteInfo("deepseek", ("deepseek-v3.2",)),  # 128k context, no vision
    "pro": RouteInfo("pro", ("gemini-2.5-pro",)),
    "custom": RouteInfo("custom", ()),
}
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


def decide(strategy: Any, value: Any, **kw: Any) -> Any:
    config = kw.pop("config", {})
    return strategy.decide(RouteRequest(value, config, **kw), ROUTES)


# -- rules -----------------------------------------------------------------------------------


def test_keywords_match_case_insensitively_in_the_last_user_message() -> None:
    rule = Rule("pro", keywords=["Prove", "theorem"])
    decision = decide(rule, "please PROVE this")
    assert (decision.route, decision.strategy) == ("pro", "rule")
    assert decision.reason == "rule for 'pro': keyword 'prove'"
    assert decide(rule, [HumanMessage("prove it"), AIMessage("ok"), HumanMessage("thanks")]) is None


def test_scope_all_searches_every_message() -> None:
    rule = Rule("pro", keywords="prove", scope="all")
    assert decide(rule, [HumanMessage("prove it"), HumanMessage("thanks")]).route == "pro"


def test_case_sensitive_keywords_and_patterns() -> None:
    rule = Rule("pro", keywords=["SQL"], patterns=[r"^SELECT\b"], case_sensitive=True)
    assert decide(rule, "write sql") is None
    assert decide(rule, "SQL please").reason.endswith("keyword 'SQL'")
    assert decide(rule, "SELECT * FROM t").reason.endswith("pattern '^SELECT\\\\b'")
    assert decide(rule, "select * from t") is None


def test_patterns_are_regular_expressions() -> None:
    rule = Rule("deepseek", patterns=[r"\bdef \w+\(", r"```python"])
    assert decide(rule, "fix def parse(x): ...").route == "deepseek"
    assert decide(rule, "define it") is None


def test_size_bounds_in_chars_tokens_and_messages() -> None:
    long = Rule("pro", min_tokens=100)
    assert decide(long, "x" * 396) is None
    assert decide(long, "x" * 400).reason == "rule for 'pro': 100 tokens (estimated) (≥ 100)"
    short = Rule("nano", max_chars=10)
    assert decide(short, "tiny").reason == "rule for 'nano': 4 chars (≤ 10)"
    assert decide(short, "not so tiny") is None
    chat = Rule("mini", min_messages=3, max_messages=4)
    assert decide(chat, ["a", "b"]) is None
    assert decide(chat, ["a", "b", "c"]).route == "mini"
    assert decide(chat, ["a"] * 5) is None


def test_images_and_needs() -> None:
    vision = Rule("pro", has_images=True)
    assert decide(vision, "text only") is None
    assert decide(vision, [HumanMessage([IMAGE])]).reason == "rule for 'pro': 1 image(s)"
    tools = Rule("mini", needs_tools=True)
    assert decide(tools, "hi") is None
    assert decide(tools, "hi", needs_tools=True).reason == "rule for 'mini': tools needed"
    structured = Rule("mini", needs_structured_output=True)
    assert decide(structured, "hi", needs_structured_output=True).route == "mini"
    text_only = Rule("deepseek", has_images=False)
    assert decide(text_only, "plain").reason == "rule for 'deepseek': no images"


def test_all_conditions_must_hold_and_the_reason_lists_them() -> None:
    rule = Rule("pro", keywords=["proof"], min_chars=10, name="hard maths")
    assert decide(rule, "proof") is None
    assert decide(rule, "a long proof").reason == (
        "rule 'hard maths': keyword 'proof'; 12 chars (≥ 10)"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "has no condition"),
        ({"keywords": [""]}, "non-empty"),
        ({"min_chars": 10, "max_chars": 5}, "min_chars=10 > max_chars=5"),
        ({"min_tokens": -1}, "tokens bounds must be >= 0"),
        ({"patterns": ["(unclosed"]}, r"bad pattern '\(unclosed'"),
    ],
)
def test_bad_rules_fail_when_built(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RouterConfigError, match=message):
        Rule("pro", **kwargs)


def test_rule_checks_the_route_exists_and_can_do_what_it_requires() -> None:
    with pytest.raises(UnknownRouteError, match="no route named 'nope'"):
        Rule("nope", keywords=["x"]).check(ROUTES)
    with pytest.raises(RouteCapabilityError, match=r"read images.*deepseek-v3\.2"):
        Rule("deepseek", has_images=True).check(ROUTES)
    with pytest.raises(RouteCapabilityError, match="take 500000 tokens"):
        Rule("deepseek", min_tokens=500_000).check(ROUTES)
    Rule("pro", has_images=True, min_tokens=500_000).check(ROUTES)
    Rule("custom", has_images=True).check(ROUTES)  # an unknown model gets the benefit of the doubt


def test_rule_errors_are_typed_value_errors() -> None:
    assert issubclass(RouteCapabilityError, ValueError)
    assert issubclass(UnknownRouteError, RouterConfigError)


# -- cheapest fit ----------------------------------------------------------------------------


def test_cheapest_priced_route_wins() -> None:
    decision = decide(CheapestFit(["mini", "nano", "pro"]), "short question")
    assert (decision.route, decision.strategy) == ("nano", "cost")
    assert "gpt-4o-mini ≈ $0.000210" in decision.reason  # 4 × 0.105 + 500 × 0.42, per 1M
    assert "~4 input + 500 output tokens" in decision.reason


def test_images_and_context_window_rule_models_out() -> None:
    cost = CheapestFit(["deepseek", "mini"], output_tokens=0)
    assert decide(cost, "text").route == "deepseek"
    assert decide(cost, [HumanMessage([IMAGE, {"type": "text", "text": "?"}])]).route == "mini"
    huge = "x" * (4 * 200_000)  # ~200k tokens: beyond deepseek's 128k window
    assert decide(cost, huge).route == "mini"
    assert decide(CheapestFit(["deepseek"]), huge) is None


def test_user_prices_win_by_route_or_model() -> None:
    by_route = CheapestFit(["mini", "custom"], prices={"custom": (0.01, 0.01)})
    assert decide(by_route, "hi").route == "custom"
    by_model = CheapestFit(["mini", "nano"], prices={"gpt-4.1-mini": (0.0, 0.0)})
    assert decide(by_model, "hi").route == "mini"


def test_every_route_is_a_candidate_by_default() -> None:
    # At AIsa's prices deepseek-v3.2's output is the cheapest of all the routes.
    assert decide(CheapestFit(), "hello").route == "deepseek"


def test_cost_configuration_errors() -> None:
    with pytest.raises(RouterConfigError, match="has a known price"):
        CheapestFit(["custom"]).check(ROUTES)
    with pytest.raises(UnknownRouteError):
        CheapestFit(["mini", "gone"]).check(ROUTES)
    with pytest.raises(RouterConfigError, match="finite"):
        CheapestFit(prices={"mini": (float("nan"), 1.0)})
    CheapestFit(["custom"], prices={"custom": (1, 1)}).check(ROUTES)


# -- weighted split --------------------------------------------------------------------------


def test_split_is_sticky_per_user_and_reproducible() -> None:
    split = WeightedSplit({"mini": 1, "pro": 1}, seed=3)
    config = {"configurable": {"user_id": "alice"}}
    first = decide(split, "q1", config=config)
    assert all(decide(split, f"q{i}", config=config).route == first.route for i in range(20))
    again = WeightedSplit({"mini": 1, "pro": 1}, seed=3)
    assert decide(again, "other", config=config).route == first.route
    assert first.reason == "split 'ab' (mini 50% / pro 50%, seed 3) keyed on configurable.user_id"
    assert "alice" not in first.reason


def test_split_reads_session_and_thread_ids_then_the_input() -> None:
    split = WeightedSplit({"mini": 1, "pro": 1})
    meta = decide(split, "q", config={"metadata": {"session_id": "s1"}})
    assert meta.reason.endswith("keyed on metadata.session_id")
    thread = decide(split, "q", config={"configurable": {"thread_id": "t"}})
    assert thread.reason.endswith("keyed on configurable.thread_id")
    assert decide(split, "same input").route == decide(split, "same input").route
    assert decide(split, "q").reason.endswith("keyed on the input text")


def test_split_follows_the_weights_and_the_seed_reshuffles() -> None:
    users = [{"configurable": {"user_id": f"u{i}"}} for i in range(2000)]
    split = WeightedSplit({"mini": 9, "pro": 1}, seed=1)
    counts = Counter(decide(split, "q", config=c).route for c in users)
    assert 1700 < counts["mini"] < 1900
    other = WeightedSplit({"mini": 9, "pro": 1}, seed=2)
    changed = sum(
        decide(split, "q", config=c).route != decide(other, "q", config=c).route
        for c in users[:200]
    )
    assert changed > 0


def test_zero_weight_arms_are_never_chosen() -> None:
    split = WeightedSplit({"mini": 0, "pro": 2})
    assert {decide(split, f"in {i}").route for i in range(50)} == {"pro"}


def test_key_function_and_its_serialisation() -> None:
    split = WeightedSplit({"mini": 1, "pro": 1}, key_fn=lambda value, config: value[:3])
    assert decide(split, "abc-1").route == decide(split, "abc-2").route
    assert decide(split, "abc-1").reason.endswith("keyed on key_fn")
    assert split.to_json()["type"] == "not_implemented"
    assert WeightedSplit({"mini": 1}).to_json()["type"] == "constructor"


@pytest.mark.parametrize(
    "weights", [{}, {"mini": 0}, {"mini": -1, "pro": 2}, {"mini": float("inf")}]
)
def test_bad_weights_fail_when_built(weights: dict[str, float]) -> None:
    with pytest.raises(InvalidWeightsError):
        WeightedSplit(weights)


def test_split_routes_must_exist() -> None:
    with pytest.raises(UnknownRouteError, match="'gone'"):
        WeightedSplit({"mini": 1, "gone": 1}).check(ROUTES)


# -- functions -------------------------------------------------------------------------------


def test_function_returns_a_route_a_reason_or_nothing() -> None:
    def by_length(value: str) -> Any:
        if len(value) > 10:
            return "pro", "long input"
        return "nano" if value else None

    strategy = FunctionStrategy(by_length)
    assert decide(strategy, "a long enough input").reason == "long input"
    short = decide(strategy, "short")
    assert (short.route, short.reason, short.strategy) == (
        "nano",
        "function 'by_length'",
        "function",
    )
    assert decide(strategy, "") is None
    assert strategy.to_json()["type"] == "not_implemented"


def test_function_naming_an_unknown_route_raises() -> None:
    with pytest.raises(UnknownRouteError, match="function '<lambda>' returned it"):
        decide(FunctionStrategy(lambda value: "gone"), "x")
