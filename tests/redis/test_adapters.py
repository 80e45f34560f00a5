"""``AISA_REDIS_URL``: set it, and the limiter, health, budget and ledger objects the framework
adapters are given (or make) keep their state in that Redis, shared with every worker; a model
pickled into a process pool goes on sharing it."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from aisa_core import Budget, CostLedger, ModelHealth, RateLimiter
from aisa_core.attempts import EVERYWHERE
from aisa_core.errors import UnknownModelError
from aisa_core.standin import Fault, StandIn
from aisa_core.stores import RedisStore


@pytest.fixture
def env_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AISA_REDIS_URL", redis_url)
    return redis_url


def test_chat_aisa_objects_made_under_the_variable_share_redis(
    env_redis: str, aisa_standin: StandIn, raw: Any
) -> None:
    from langchain_aisa import ChatAISA

    common = {"api_key": aisa_standin.api_key, "base_url": aisa_standin.base_url}
    limiter, health, budget = RateLimiter(600, 5), ModelHealth(failure_threshold=1), Budget(1.0)
    one = ChatAISA(
        model="gpt-4.1",
        fallback_models=["gpt-4.1-mini"],
        aisa_rate_limiter=limiter,
        aisa_health=health,
        aisa_budget=budget,
        **common,
    )
    aisa_standin.fail_model("gpt-4.1", Fault(status=503), times=1)
    ledger = CostLedger(label="team-a")
    EVERYWHERE.observe(ledger)  # every client of the process reports to it
    try:
        answer = one.invoke("hi")
    finally:
        EVERYWHERE.unobserve(ledger)
    assert answer.response_metadata["model_name"] == "gpt-4.1-mini"
    # Another worker's objects, made the same way, see the same state.
    assert ModelHealth().state("gpt-4.1") == "cooling"
    assert Budget(1.0).spent() == pytest.approx(budget.spent()) and budget.spent() > 0
    assert CostLedger(label="team-a").total() == pytest.approx(budget.spent())
    keys = {k.decode() for k in raw.keys("aisa:*")}
    assert {"aisa:ratelimit:default:tat", "aisa:health:default:open:gpt-4.1"} <= keys


def test_a_routers_own_health_is_shared_too(env_redis: str, aisa_standin: StandIn) -> None:
    from langchain_aisa.router import LowestLatency, RouterRunnable

    router = RouterRunnable(
        {"a": "gpt-4.1", "b": "gpt-4.1-mini"},
        [LowestLatency()],
        chat_kwargs={"api_key": aisa_standin.api_key, "base_url": aisa_standin.base_url},
    )
    health = router.aisa_health  # made by the router: its strategy reads health
    assert health is not None and isinstance(health.store, RedisStore)
    assert health.store.url == env_redis
    router.close()


def test_llama_index_objects_made_under_the_variable_share_redis(
    env_redis: str, aisa_standin: StandIn
) -> None:
    from llama_index_aisa import AISA

    health = ModelHealth(failure_threshold=1)
    llm = AISA(
        "gpt-4.1",
        api_key=aisa_standin.api_key,
        api_base=aisa_standin.base_url,
        aisa_health=health,
        aisa_rate_limiter=RateLimiter(600, 5),
        max_retries=0,
    )
    aisa_standin.fail_model("gpt-4.1", Fault(status=503), times=1)
    with pytest.raises(UnknownModelError):  # 503 "no available channels"
        llm.complete("hi")
    assert ModelHealth().state("gpt-4.1") == "cooling"


def test_without_the_variable_state_stays_in_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AISA_REDIS_URL", raising=False)
    health = ModelHealth()
    assert not isinstance(health.store, RedisStore)
    assert not isinstance(Budget(1.0).store, RedisStore)


def spend(model: Any, question: str) -> float:
    model.invoke(question)
    return float(model.aisa_budget.spent())


def test_a_model_in_a_process_pool_shares_its_budget(
    redis_url: str, aisa_standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_aisa import ChatAISA

    monkeypatch.setenv("AISA_API_KEY", aisa_standin.api_key)  # workers inherit it
    budget = Budget(1.0, store=RedisStore(redis_url))
    model = ChatAISA(model="gpt-4.1", base_url=aisa_standin.base_url, aisa_budget=budget)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        seen = list(pool.map(spend, [model] * 4, [f"q{i}" for i in range(4)]))
    billed = aisa_standin.spent_micros_usd / 1e6
    assert len(aisa_standin.requests) == 4 and min(seen) > 0  # each saw the shared spend
    assert budget.spent() == pytest.approx(billed)  # all four calls, settled in one budget
