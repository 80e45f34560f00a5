"""Soak: thousands of requests, half streamed, at high concurrency, with ~10 % injected faults
of every kind, against the stand-in over real sockets.

Every request must end in a correct answer (directly, after a retry, or on a fallback model) or
in the typed error its fault calls for; none may hang; no task, slot or memory may be left over.
The short version runs in CI; ``pytest --soak`` runs the full one (5,000 requests, 200 in flight).
"""

from __future__ import annotations

import asyncio
import gc
import random
import tracemalloc
from collections import Counter
from dataclasses import dataclass

import pytest

from aisa_core import AsyncAISAClient, RateLimiter, RetryPolicy
from aisa_core import errors as E
from aisa_core.standin import Fault, StandIn


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault | None
    times: int | None  # how many attempts the fault hits (None: every attempt of the model)
    ok: bool | None  # True: must answer; False: must raise one of `errors`; None: either
    errors: tuple[type[E.AISAError], ...] = ()


SCENARIOS = [
    Scenario("429 Retry-After", Fault(status=429, retry_after=0.01), 1, True),
    Scenario("500", Fault(status=500), 1, True),
    Scenario("502", Fault(status=502), 2, True),
    Scenario("503 no channel", Fault(status=503), None, True),  # unknown model: falls back
    Scenario("in-band error first", Fault(error_after_chunks=0), 1, True),
    Scenario("in-band error late", Fault(error_after_chunks=2), None, False, (E.APIError,)),
    Scenario("drop first", Fault(drop_after_chunks=0), 1, True),
    Scenario("drop late", Fault(drop_after_chunks=3), None, False, (E.StreamInterruptedError,)),
    # Past the read timeout: before any content it is retried and answered by the fallback;
    # after the first token it must end as a StreamInterruptedError. Timing decides which.
    Scenario("slow chunks", Fault(chunk_delay=2.5), None, None, (E.StreamInterruptedError,)),
    Scenario("malformed", Fault(malformed=True), 1, True),
]
LATE = {"in-band error late", "drop late", "slow chunks"}  # always streamed


async def _soak(total: int, concurrency: int, seed: int = 7) -> Counter[str]:
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    unasked: Counter[str] = Counter()  # retries of requests we did not inject a fault into
    with StandIn() as gateway:
        client = AsyncAISAClient(
            api_key=gateway.api_key,
            base_url=gateway.base_url,
            model="gpt-4.1",
            fallback_models=["gpt-4.1-mini"],
            timeout=2.0,
            retry_policy=RetryPolicy(max_retries=2, initial_delay=0.005, max_delay=0.02),
            rate_limiter=RateLimiter(None, concurrency),
        )
        plan: list[tuple[int, Scenario | None, bool]] = []
        for i in range(total):
            scenario = rng.choice(SCENARIOS) if rng.random() < 0.1 else None
            streamed = rng.random() < 0.5 or (scenario is not None and scenario.name in LATE)
            plan.append((i, scenario, streamed))
            if scenario is not None and scenario.fault is not None:
                gateway.fail_model(f"soak-{i}", scenario.fault, times=scenario.times)

        async def one(i: int, scenario: Scenario | None, streamed: bool) -> None:
            model = f"soak-{i}" if scenario else "gpt-4.1"
            question = f"question number {i} with several words in it"
            try:
                if streamed:
                    done = await client.stream(question, model=model).completion()
                else:
                    done = await client.chat(question, model=model)
            except E.AISAError as error:
                assert scenario is not None and scenario.ok is not True, (scenario, error)
                assert isinstance(error, scenario.errors), (scenario, error)
                outcomes[f"typed error ({scenario.name})"] += 1
                return
            assert scenario is None or scenario.ok is not False, scenario
            assert done.text.endswith(question), done.text  # the right answer, not another's
            if done.model == "gpt-4.1-mini":
                outcomes["answered on fallback"] += 1
            elif done.meta.attempts:
                outcomes["answered after retry"] += 1
                if scenario is None:  # a fault we did not inject: load made it time out
                    kinds = {type(a.error).__name__ for a in done.meta.attempts}
                    unasked[", ".join(sorted(kinds))] += 1
            else:
                outcomes["answered directly"] += 1

        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        await asyncio.wait_for(asyncio.gather(*(one(*p) for p in plan)), timeout=600)
        sessions = getattr(client._http, "sessions", None)
        await client.aclose()
        if sessions is not None:  # every pooled connection was closed with the client
            assert sessions and all(s.closed for s in sessions)
            assert not client._http.sessions
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert client.settings.rate_limiter is not None
        assert client.settings.rate_limiter.in_flight == 0
    for _ in range(5):  # let finalisers of abandoned async generators run (they end at once)
        await asyncio.sleep(0)
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current] == []
    assert after - before < 8 * 1024 * 1024, f"memory grew by {after - before} bytes"
    assert sum(outcomes.values()) == total
    print("\nsoak outcomes:", dict(sorted(outcomes.items())), "unasked retries:", dict(unasked))
    return outcomes


async def test_soak_short() -> None:
    outcomes = await _soak(total=600, concurrency=100)
    assert outcomes["answered directly"] > 450


@pytest.mark.soak
async def test_soak_full() -> None:
    outcomes = await _soak(total=5000, concurrency=200)
    assert outcomes["answered directly"] > 4000
