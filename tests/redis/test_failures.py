"""Redis going away in the middle of a run: under the default policy calls go on with
in-process state and one warning, and none hangs (a stopped server refuses connections, a hung
one never answers); with ``on_store_error="raise"`` they fail fast with a typed error, before
anything is sent. Each test has its own ``redis-server``, stopped or frozen halfway."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aisa_core import AISAClient, Budget, ModelHealth, RateLimiter
from aisa_core.errors import AISAError, StoreUnavailableError
from aisa_core.standin import Fault, StandIn
from aisa_core.stores import RedisStore
from tests.redis.server import RedisServer

TIMEOUT = 0.3  # the store's socket timeout: the most one Redis command may wait


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    caplog.set_level(logging.WARNING, logger="aisa_core")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "aisa_core.stores"]


def _client(gateway: StandIn, store: RedisStore) -> AISAClient:
    """Every kind of shared state on the store: a limiter, health, a budget."""
    return AISAClient(
        api_key=gateway.api_key,
        base_url=gateway.base_url,
        model="gpt-4.1",
        max_retries=0,
        rate_limiter=RateLimiter(6000, 4, store=store),
        health=ModelHealth(store=store),
        budget=Budget(100.0, store=store),
    )


def _run(client: AISAClient, seconds: float, halfway: Callable[[], None]) -> list[dict[str, Any]]:
    """Four threads calling for ``seconds``; ``halfway`` runs at half time. Each call's start
    (relative to ``halfway``), duration and outcome."""
    calls: list[dict[str, Any]] = []
    started = time.monotonic()
    stop = started + seconds
    broken = [started + seconds / 2]

    def thread() -> None:
        while time.monotonic() < stop:
            began = time.monotonic()
            try:
                client.chat("hi")
                outcome = "ok"
            except AISAError as error:
                outcome = type(error).__name__
            calls.append(
                {"at": began - broken[0], "took": time.monotonic() - began, "outcome": outcome}
            )

    threads = [threading.Thread(target=thread) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(seconds / 2)
    broken[0] = time.monotonic()
    halfway()
    for t in threads:
        t.join()
    return calls


@pytest.mark.parametrize("how", ["stopped", "hung"])
def test_calls_go_on_with_local_state_and_one_warning(
    private_redis: RedisServer,
    aisa_standin: StandIn,
    warnings: Callable[[], list[str]],
    how: str,
) -> None:
    store = RedisStore(private_redis.url, socket_timeout=TIMEOUT)
    with _client(aisa_standin, store) as client:
        breaks = private_redis.stop if how == "stopped" else private_redis.pause
        calls = _run(client, 3.0, breaks)
    after = [c for c in calls if c["at"] > 0.1]
    assert {c["outcome"] for c in calls} == {"ok"}
    assert len(after) >= 20  # calls went on...
    assert max(c["took"] for c in calls) < 2 * TIMEOUT + 1.0  # ...and none hung
    assert len(warnings()) == 1 and "in-process state" in warnings()[0]
    if how == "hung":
        private_redis.resume()


def test_state_goes_back_to_redis_when_it_answers_again(
    private_redis: RedisServer, warnings: Callable[[], list[str]]
) -> None:
    store = RedisStore(private_redis.url, socket_timeout=TIMEOUT, retry_interval=0.2)
    assert store.incr("n") == 1
    private_redis.stop()
    assert store.incr("n") == 1  # Redis is away: a local count starts
    assert store.incr("n") == 2
    private_redis.start()
    time.sleep(0.3)  # past retry_interval: Redis is tried again
    assert store.incr("n") == 1  # a fresh server (it kept nothing): counting there again
    assert len(warnings()) == 1
    store.close()


@pytest.mark.parametrize("how", ["stopped", "hung"])
def test_raise_fails_fast_with_a_typed_error(
    private_redis: RedisServer, aisa_standin: StandIn, how: str
) -> None:
    store = RedisStore(private_redis.url, socket_timeout=TIMEOUT, on_store_error="raise")
    with _client(aisa_standin, store) as client:
        breaks = private_redis.stop if how == "stopped" else private_redis.pause
        calls = _run(client, 3.0, breaks)
        sent = len(aisa_standin.requests)
        with pytest.raises(StoreUnavailableError) as info:
            client.chat("hi")
    assert len(aisa_standin.requests) == sent  # refused before anything was sent
    assert not info.value.retryable and private_redis.url in str(info.value)
    after = [c for c in calls if c["at"] > 2 * TIMEOUT + 0.2]  # calls in flight have ended
    assert after and {c["outcome"] for c in after} == {"StoreUnavailableError"}
    assert max(c["took"] for c in after) < TIMEOUT + 0.5
    assert "ok" in {c["outcome"] for c in calls if c["at"] < 0}  # it worked before
    if how == "hung":
        private_redis.resume()


def test_raise_never_throws_away_an_answer_that_came(
    private_redis: RedisServer, aisa_standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis goes away while a call is out: the call was admitted (the budget reserved, health
    asked), its answer arrives, and the caller gets it, though its outcome cannot be recorded."""
    store = RedisStore(private_redis.url, socket_timeout=TIMEOUT, on_store_error="raise")
    aisa_standin.fail_model("gpt-4.1", Fault(delay=0.5), times=1)
    with _client(aisa_standin, store) as client:
        stopper = threading.Timer(0.2, private_redis.stop)
        stopper.start()
        answer = client.chat("hi")
        stopper.join()
        with pytest.raises(StoreUnavailableError):
            client.chat("hi")  # the next one is refused before sending
    assert answer.text and len(aisa_standin.requests) == 1
    assert "not recorded" in caplog.text
