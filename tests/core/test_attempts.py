"""The attempt seam, model health and budgets, through real clients and the stand-in."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from aisa_core import AISAClient, AsyncAISAClient, Budget, ModelHealth
from aisa_core import errors as E
from aisa_core.attempts import AttemptInfo, AttemptReport, CallReport
from aisa_core.standin import Fault, StandIn

A, B, C = "gpt-4.1", "claude-haiku-4-5-20251001", "gemini-2.5-flash"


class Recorder:
    def __init__(self) -> None:
        self.attempts: list[AttemptReport] = []
        self.calls: list[CallReport] = []

    def on_attempt(self, report: AttemptReport) -> None:
        self.attempts.append(report)

    def on_call(self, report: CallReport) -> None:
        self.calls.append(report)


def client(gw: StandIn, **kw: Any) -> AISAClient:
    kw.setdefault("max_retries", 0)
    kw.setdefault("retry_before_fallback", False)
    return AISAClient(api_key="k", base_url=gw.base_url, model=A, **kw)


def sent_models(gw: StandIn) -> list[str]:
    return [r.json["model"] for r in gw.requests if r.json and "model" in r.json]


def test_a_plain_call_reports_one_attempt_and_the_call(aisa_standin: StandIn) -> None:
    seen = Recorder()
    answer = client(aisa_standin, observers=[seen]).chat("hello", temperature=0.5)
    [attempt] = seen.attempts
    assert (attempt.operation, attempt.model, attempt.outcome, attempt.status) == (
        "chat",
        A,
        "ok",
        200,
    )
    assert attempt.usage == answer.usage and attempt.cost_usd == answer.cost_usd is not None
    assert attempt.request_id == answer.meta.request_id and attempt.served_model == answer.model
    assert attempt.finish_reasons == ("stop",) and attempt.first_chunk_s is None
    assert attempt.duration_s > 0 and attempt.started > 1.7e9
    [call] = seen.calls
    assert (call.outcome, call.models, call.attempts, call.stream) == (
        "ok",
        (A,),
        (attempt,),
        False,
    )
    assert call.request["temperature"] == 0.5 and call.server_address == "127.0.0.1"
    assert call.result is answer


def test_each_fallback_attempt_is_reported_in_order(aisa_standin: StandIn) -> None:
    aisa_standin.fail_model(A, Fault(status=503))
    aisa_standin.fail_model(B, Fault(status=429, retry_after=0))
    seen = Recorder()
    answer = client(aisa_standin, fallback_models=[B, C], observers=[seen]).chat("hi")
    assert answer.meta.requested_model == C
    assert [(a.model, a.outcome, a.status, a.error_type) for a in seen.attempts] == [
        (A, "error", 503, "UnknownModelError"),
        (B, "error", 429, "RateLimitError"),
        (C, "ok", 200, None),
    ]
    assert [a.index for a in seen.attempts] == [0, 1, 2]
    assert seen.calls[0].attempts == tuple(seen.attempts)


def test_a_failed_call_reports_its_error(aisa_standin: StandIn) -> None:
    aisa_standin.fail_model(A, Fault(status=401, code="invalid_api_key"))
    seen = Recorder()
    with pytest.raises(E.AuthenticationError) as info:
        client(aisa_standin, fallback_models=[B], observers=[seen]).chat("hi")
    [call] = seen.calls
    assert call.outcome == "error" and call.error is info.value
    assert [a.error for a in call.attempts] == [info.value]


def test_streams_report_time_to_first_chunk_and_early_close(aisa_standin: StandIn) -> None:
    seen = Recorder()
    c = client(aisa_standin, observers=[seen])
    text = c.stream("one two three four").completion().text
    assert text
    [attempt] = seen.attempts
    assert attempt.stream and attempt.outcome == "ok" and attempt.first_chunk_s is not None
    assert 0 < attempt.first_chunk_s <= attempt.duration_s
    assert attempt.usage is not None and seen.calls[0].stream
    with c.stream("one two three four") as stream:
        next(stream)
    assert seen.attempts[-1].outcome == "cancelled" and seen.calls[-1].outcome == "cancelled"
    assert seen.attempts[-1].first_chunk_s is not None


def test_an_observer_that_raises_never_fails_the_call(
    aisa_standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def on_attempt(self, report: AttemptReport) -> None:
            raise RuntimeError("observer bug")

    seen = Recorder()
    with caplog.at_level(logging.ERROR, logger="aisa_core.attempts"):
        assert client(aisa_standin, observers=[Broken(), seen]).chat("hi").text
    assert len(seen.attempts) == 1 and "observer bug" in caplog.text


async def test_async_observers_are_awaited(aisa_standin: StandIn) -> None:
    got: list[str] = []

    class Async:
        async def on_attempt(self, report: AttemptReport) -> None:
            await asyncio.sleep(0)
            got.append(report.outcome)

        async def on_call(self, report: CallReport) -> None:
            got.append("call:" + report.outcome)

    aclient = AsyncAISAClient(
        api_key="k", base_url=aisa_standin.base_url, model=A, observers=[Async()]
    )
    await aclient.chat("hi")
    await aclient.stream("hi there").completion()
    assert got == ["ok", "call:ok", "ok", "call:ok"]
    await aclient.aclose()


def test_observers_can_be_added_and_removed(aisa_standin: StandIn) -> None:
    seen = Recorder()
    c = client(aisa_standin)
    c.settings.observe(seen)
    c.chat("a")
    c.settings.unobserve(seen)
    c.chat("b")
    assert len(seen.attempts) == 1


# --- model health through the client ----------------------------------------------------------


def test_a_cooling_model_is_skipped_and_said_so(aisa_standin: StandIn) -> None:
    health = ModelHealth(failure_threshold=2, cooldown=60)
    c = client(aisa_standin, fallback_models=[B], health=health)
    aisa_standin.fail_model(A, Fault(status=503))
    for _ in range(2):
        assert c.chat("hi").meta.requested_model == B
    before = sent_models(aisa_standin).count(A)
    answer = c.chat("hi")
    assert answer.meta.requested_model == B and answer.meta.attempts == ()
    [skipped] = answer.meta.skipped
    assert skipped.model == A and skipped.reason == "cooling down" and skipped.until
    assert sent_models(aisa_standin).count(A) == before  # nothing was sent to it
    # A second client given the same object skips it too.
    other = client(aisa_standin, fallback_models=[B], health=health)
    assert other.chat("hi").meta.skipped[0].model == A


def test_when_every_model_cools_the_soonest_is_tried(aisa_standin: StandIn) -> None:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    aisa_standin.fail_model(A, Fault(status=503))
    aisa_standin.fail_model(B, Fault(status=503))
    c = client(aisa_standin, fallback_models=[B], health=health)
    with pytest.raises(E.AllModelsFailedError):
        c.chat("hi")  # both fail once: both cool down, A first
    aisa_standin.heal_model(A)
    aisa_standin.heal_model(B)
    answer = c.chat("hi")
    assert answer.meta.requested_model == A  # A's cooldown ends first: tried anyway
    assert [s.model for s in answer.meta.skipped] == [A, B]
    assert health.is_available(A)  # and its success closed the breaker


async def test_health_skips_in_the_async_client_and_in_streams(aisa_standin: StandIn) -> None:
    health = ModelHealth(failure_threshold=1, cooldown=60)
    aisa_standin.fail_model(A, Fault(status=429, retry_after=0))
    aclient = AsyncAISAClient(
        api_key="k",
        base_url=aisa_standin.base_url,
        model=A,
        fallback_models=[B],
        health=health,
        max_retries=0,
        retry_before_fallback=False,
    )
    assert (await aclient.chat("hi")).meta.requested_model == B
    stream = aclient.stream("hi")
    await stream.completion()
    assert stream.model == B and [s.model for s in stream.meta.skipped] == [A]
    await aclient.aclose()


# --- budgets through the client ---------------------------------------------------------------


def test_a_call_over_budget_is_refused_before_sending(aisa_standin: StandIn) -> None:
    budget = Budget(0.0001, prices={A: (2.0, 8.0)})
    c = client(aisa_standin, budget=budget)
    with pytest.raises(E.BudgetExceededError) as info:
        c.chat("hello " * 20, max_tokens=50)
    error = info.value
    assert error.limit == 0.0001 and error.spent == 0 and error.estimate is not None
    assert error.estimate > 0.0001 and aisa_standin.requests == []
    assert not error.retryable


def test_the_settled_cost_replaces_the_reservation(aisa_standin: StandIn) -> None:
    budget = Budget(1.0, prices={A: (2.0, 8.0)})
    answer = client(aisa_standin, budget=budget).chat("hello", max_tokens=10)
    assert answer.cost_usd is not None
    assert budget.spent() == pytest.approx(answer.cost_usd)


def test_a_failed_attempt_gives_its_reservation_back(aisa_standin: StandIn) -> None:
    budget = Budget(1.0, prices={A: (2.0, 8.0)})
    aisa_standin.fail_model(A, Fault(status=500))
    with pytest.raises(E.ServerError):
        client(aisa_standin, budget=budget).chat("hello", max_tokens=10)
    assert budget.spent() == 0


def test_concurrent_calls_never_overspend(aisa_standin: StandIn) -> None:
    prices = {A: (2.0, 8.0)}
    budget = Budget(0.002, prices=prices)
    c = client(aisa_standin, budget=budget)
    estimate = Budget(1, prices=prices).estimate  # same arithmetic, no state

    def one(i: int) -> str:
        try:
            return c.chat(f"question {i}", max_tokens=16).text
        except E.BudgetExceededError:
            return "refused"

    with ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(one, range(200)))
    assert "refused" in outcomes and any(o != "refused" for o in outcomes)
    sent = [r for r in aisa_standin.requests if r.path == "/v1/chat/completions"]
    assert len(sent) == len(outcomes) - outcomes.count("refused")  # refusals sent nothing
    one_call = estimate(AttemptInfo("chat", A, prompt_tokens=40, max_output_tokens=16))
    assert one_call is not None
    assert budget.spent() <= 0.002 + one_call


def test_the_price_cap_goes_to_the_gateway_and_its_402_is_a_budget_error(
    aisa_standin: StandIn,
) -> None:
    budget = Budget(5.0, max_price_usd=0.25)
    aisa_standin.fail_model(A, Fault(status=402, code="estimated_price_exceeds_max_price"))
    with pytest.raises(E.PriceCapExceededError) as info:
        client(aisa_standin, budget=budget, fallback_models=[B]).chat("hi")
    assert isinstance(info.value, E.BudgetExceededError)
    assert isinstance(info.value, E.InsufficientCreditsError)  # still the 402 it is
    assert aisa_standin.requests[0].headers["x-aisa-max-price-usd"] == "0.250000"
    assert sent_models(aisa_standin) == [A]  # never a fallback: the next would cost as much


def test_quote_mode_reserves_the_gateways_quote(aisa_standin: StandIn) -> None:
    budget = Budget(1.0, quote=True)
    seen = Recorder()
    client(aisa_standin, budget=budget, observers=[seen]).chat("hello", max_tokens=10)
    quotes = [r for r in aisa_standin.requests if r.headers.get("x-aisa-cost-mode") == "quote"]
    assert len(quotes) == 1 and len(aisa_standin.requests) == 2
    assert budget.spent() == pytest.approx(seen.attempts[0].cost_usd)


def test_an_idle_observer_costs_no_report(aisa_standin: StandIn) -> None:
    class Idle(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.on = False

        def listening(self) -> bool:
            return self.on

    idle = Idle()
    c = client(aisa_standin, observers=[idle])
    assert not c.settings.watch.watched  # nothing listens: the call makes no report
    c.chat("a")
    assert idle.attempts == [] and idle.calls == []
    idle.on = True
    c.chat("b")
    assert len(idle.attempts) == 1 and len(idle.calls) == 1
    always = Recorder()  # an observer that cannot say it is idle is always told
    idle.on = False
    c.settings.observe(always)
    c.chat("c")
    assert len(always.calls) == 1 and len(idle.calls) == 2


def test_compare_models_reports_in_the_callers_context(aisa_standin: StandIn) -> None:
    """Its calls run on worker threads, but observers hear them in the caller's context (its
    trace span, its usage tracker)."""
    import contextvars

    where: contextvars.ContextVar[str | None] = contextvars.ContextVar("where", default=None)
    seen: list[str | None] = []

    class Where:
        def on_call(self, report: CallReport) -> None:
            seen.append(where.get())

    c = client(aisa_standin, observers=[Where()])
    where.set("the caller")
    assert all(r.ok for r in c.compare_models("hi", [A, B, C]))
    assert seen == ["the caller"] * 3
