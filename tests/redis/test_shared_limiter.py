"""``RateLimiter(..., store=RedisStore(...))``: two limiter objects on one store behave as one
limiter, as two worker processes would (the real processes are in ``test_fleet.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from aisa_core import AISAClient, AsyncAISAClient, RateLimiter
from aisa_core.shared_limits import SharedLimits
from aisa_core.standin import Fault, StandIn
from aisa_core.stores import MemoryStore, RedisStore


@pytest.fixture
def second(redis_url: str) -> Iterator[RedisStore]:
    """Another store object on the same server: another worker's view."""
    made = RedisStore(redis_url)
    yield made
    made.close()


def _acquired_within(limiter: RateLimiter, seconds: float) -> tuple[bool, threading.Thread]:
    """Start ``acquire`` in a thread; whether it got a slot within ``seconds`` (the thread
    keeps waiting otherwise and releases what it gets)."""
    got = threading.Event()

    def take() -> None:
        lease = limiter.acquire()
        got.set()
        limiter.release(lease)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return got.wait(seconds), thread


def test_two_limiters_on_one_store_share_the_slots(store: RedisStore, second: RedisStore) -> None:
    one, other = (
        RateLimiter(max_concurrent=2, store=store),
        RateLimiter(max_concurrent=2, store=second),
    )
    leases = [one.acquire(), one.acquire()]
    assert all(leases) and other.in_flight == 2
    got, waiter = _acquired_within(other, 0.3)
    assert not got  # both slots are the other worker's
    one.release(leases[0])
    waiter.join(5)
    assert not waiter.is_alive()
    one.release(leases[1])
    time.sleep(0.05)  # slots given back reach the store within a few milliseconds
    assert one.in_flight == 0 == other.in_flight


def test_two_limiters_on_one_store_share_the_rate(store: RedisStore, second: RedisStore) -> None:
    one, other = RateLimiter(60, store=store), RateLimiter(60, store=second)
    assert one.take() == 0.0
    wait = other.take()  # no burst: the next is a second after the first, whoever sends it
    assert 0.9 < wait <= 1.0
    burst = RateLimiter(60, burst=3, store=store, namespace="bursty")
    assert [burst.take() for _ in range(4)][:3] == [0.0, 0.0, 0.0]


def test_namespaces_are_separate_budgets(store: RedisStore) -> None:
    a, b = RateLimiter(60, store=store, namespace="a"), RateLimiter(60, store=store, namespace="b")
    assert a.take() == 0.0 and b.take() == 0.0 and a.take() > 0


def test_acquire_waits_for_its_turn_on_the_servers_clock(store: RedisStore) -> None:
    limiter = RateLimiter(120, store=store)  # one every 0.5 s
    started = time.monotonic()
    for _ in range(3):
        limiter.release(limiter.acquire())
    assert 0.95 < time.monotonic() - started < 3.0


def test_a_slot_nobody_renews_comes_free_within_the_lease(
    store: RedisStore, second: RedisStore
) -> None:
    dead = SharedLimits(store, "default", None, 1, 1, lease=0.5)
    assert store.rate_admit(dead.key, "held-by-a-dead-worker", dead.rule) == 0.0
    alive = RateLimiter(max_concurrent=1, store=second, lease=0.5)
    started = time.monotonic()
    alive.release(alive.acquire())
    assert 0.3 < time.monotonic() - started < 3.0


def test_a_held_slot_is_renewed_past_its_lease(store: RedisStore, second: RedisStore) -> None:
    holder = RateLimiter(max_concurrent=1, store=store, lease=0.6)
    lease = holder.acquire()
    time.sleep(1.5)  # two and a half leases: only the renewals keep it
    other = RateLimiter(max_concurrent=1, store=second, lease=0.6)
    got, waiter = _acquired_within(other, 0.5)
    assert not got and holder.in_flight == 1
    holder.release(lease)
    waiter.join(5)
    assert not waiter.is_alive()
    keeper = holder._shared._keeper  # type: ignore[union-attr]
    deadline = time.monotonic() + 3
    while keeper._thread is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert keeper._thread is None  # nothing held: the background thread has ended


def test_the_client_holds_a_lease_per_request(redis_url: str, aisa_standin: StandIn) -> None:
    limiter = RateLimiter(max_concurrent=3, store=RedisStore(redis_url))
    seen: list[int] = []
    aisa_standin.fail_model("gpt-4.1", Fault(delay=0.3), times=1)
    with AISAClient(
        api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, rate_limiter=limiter
    ) as client:
        done = threading.Thread(target=client.chat, args=("hi",), kwargs={"model": "gpt-4.1"})
        done.start()
        time.sleep(0.15)
        seen.append(limiter.in_flight)  # during the call
        done.join()
        with client.stream("hi", model="gpt-4.1") as stream:
            next(stream)
            seen.append(limiter.in_flight)  # while the stream is open
        seen.append(limiter.in_flight)  # closed
    assert seen == [1, 1, 0]


async def test_the_async_client_awaits_the_store(astore: RedisStore, aisa_standin: StandIn) -> None:
    limiter = RateLimiter(600, 2, store=astore)
    async with AsyncAISAClient(
        api_key=aisa_standin.api_key, base_url=aisa_standin.base_url, rate_limiter=limiter
    ) as client:
        answers = await asyncio.gather(*(client.chat(f"q{i}", model="gpt-4.1") for i in range(4)))
        stream = client.stream("hi", model="gpt-4.1")
        async for _ in stream:
            assert await astore.arate_in_flight(limiter._shared.key) == 1  # type: ignore[union-attr]
            break
        await stream.aclose()
    assert len(answers) == 4 and limiter.in_flight == 0


async def test_a_cancelled_wait_keeps_no_slot(astore: RedisStore) -> None:
    limiter = RateLimiter(max_concurrent=1, store=astore)
    lease = await limiter.aacquire()
    waiting = asyncio.ensure_future(limiter.aacquire())
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await limiter.arelease(lease)
    assert limiter.in_flight == 0
    await limiter.arelease(await limiter.aacquire())


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling() is 3.11+")
async def test_a_cancellation_the_store_client_drops_still_cancels(redis_url: str) -> None:
    """On Python 3.11, redis-py's asyncio client sends with ``asyncio.wait_for``, which returns
    the answer and drops a cancellation landing as the command completes. The wait for a slot
    must end anyway, or the cancelled task waits on (here, for ever: the slot it waits for is
    held by the task awaiting it)."""
    answered = asyncio.Event()

    class DropsCancellation(RedisStore):
        async def arate_admit(self, *args: Any) -> float:
            answer: float = await super().arate_admit(*args)
            answered.set()
            with contextlib.suppress(asyncio.CancelledError):  # dropped, as wait_for does
                await asyncio.sleep(0.05)  # the moment the cancellation lands in
            return answer

    store = DropsCancellation(redis_url)
    limiter = RateLimiter(max_concurrent=1, store=store)
    lease = await limiter.aacquire()
    answered.clear()
    waiting = asyncio.ensure_future(limiter.aacquire())
    await answered.wait()
    waiting.cancel()
    try:
        await asyncio.wait({waiting}, timeout=5)
        assert waiting.cancelled()
    finally:
        if not waiting.done():  # the defect: stop it, so that the failure does not hang
            waiting.cancel()
            await asyncio.wait({waiting}, timeout=5)
        await limiter.arelease(lease)
    assert limiter.in_flight == 0
    await store.aclose()
    store.close()


def test_in_flight_counts_no_slot_on_its_way_back(redis_url: str) -> None:
    """A slot given back is handed to the store by the background thread; ``in_flight`` read
    while that is under way waits for it rather than counting the slot as held."""
    handing_over = threading.Event()

    class SlowRelease(RedisStore):
        def rate_release(self, key: str, tokens: Any) -> None:
            handing_over.set()
            time.sleep(0.2)
            super().rate_release(key, tokens)

    store = SlowRelease(redis_url)
    limiter = RateLimiter(max_concurrent=2, store=store)
    limiter.release(limiter.acquire())
    assert handing_over.wait(2)  # the thread has taken the slot and is handing it over
    assert limiter.in_flight == 0
    store.close()


def test_a_pickled_limiter_goes_on_sharing(store: RedisStore) -> None:
    limiter = RateLimiter(600, 4, burst=2, store=store, namespace="team", lease=12.0)
    copy = pickle.loads(pickle.dumps(limiter))
    assert (copy.requests_per_minute, copy.max_concurrent, copy.burst) == (600, 4, 2)
    assert (copy.namespace, copy.lease) == ("team", 12.0)
    assert isinstance(copy.store, RedisStore) and copy.store.url == store.url
    lease = copy.acquire()
    assert limiter.in_flight == 1
    copy.release(lease)
    copy.store.close()
    local = pickle.loads(pickle.dumps(RateLimiter(600, 4)))
    assert isinstance(local.store, MemoryStore) and local._shared is None


def test_one_round_trip_a_request(store: RedisStore, second: RedisStore) -> None:
    """A slot given back rides on the process's next ask; with none coming, the background
    thread hands it over within a few milliseconds."""
    calls: list[str] = []
    for name in ("rate_admit", "rate_release"):
        method = getattr(store, name)
        setattr(store, name, lambda *a, _m=method, _n=name: calls.append(_n) or _m(*a))
    limiter = RateLimiter(1e9, 1, store=store)  # one slot: each request needs the last one's
    started = time.monotonic()
    for _ in range(20):
        with limiter.slot():
            pass
    assert time.monotonic() - started < 1.0  # never waited for its own slot to come back
    assert calls.count("rate_admit") == 20 and calls.count("rate_release") <= 1
    deadline = time.monotonic() + 2
    while (
        RateLimiter(max_concurrent=1, store=second)._shared.store.rate_in_flight(  # type: ignore[union-attr]
            "ratelimit:default"
        )
        and time.monotonic() < deadline
    ):
        time.sleep(0.001)
    assert time.monotonic() < deadline and calls.count("rate_release") <= 2


def test_release_never_raises(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(max_concurrent=1, store=RedisStore(redis_url, on_store_error="raise"))
    lease = limiter.acquire()
    limiter.store = limiter._shared.store = RedisStore(  # type: ignore[union-attr]
        "redis://127.0.0.1:1/0", on_store_error="raise"
    )
    limiter.release(lease)
    limiter.release()  # nothing held: nothing to do
    limiter._shared.flush()  # type: ignore[union-attr]  # the store is away: a warning, no error
    assert "they expire" in caplog.text


def test_without_a_store_the_limiter_is_this_processs(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AISA_REDIS_URL", raising=False)
    local = RateLimiter(600, 20)
    assert isinstance(local.store, MemoryStore) and local._shared is None
    assert RateLimiter(600, 20, store=MemoryStore())._shared is None
    monkeypatch.setenv("AISA_REDIS_URL", redis_url)
    shared = RateLimiter.tier("starter")
    assert isinstance(shared.store, RedisStore) and shared._shared is not None
    assert RateLimiter()._shared is None  # no limits: nothing to share
