"""The client-side rate limiter: bucket arithmetic, concurrency across threads and tasks."""

from __future__ import annotations

import asyncio
import pickle
import threading
import time

import httpx
import pytest

from aisa_core import AISAClient, AsyncAISAClient, ConfigurationError, RateLimiter
from tests.core.helpers import KEY, Recorder


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_spaces_requests() -> None:
    clock = Clock()
    limiter = RateLimiter(60, burst=2, clock=clock)  # one a second
    assert [limiter.reserve() for _ in range(4)] == [0.0, 0.0, 1.0, 2.0]
    clock.now = 10.0  # refills, capped at the burst
    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 1.0]


def test_tiers_match_aisa_docs() -> None:
    assert (
        RateLimiter.tier("free").requests_per_minute,
        RateLimiter.tier("free").max_concurrent,
    ) == (60, 5)
    assert RateLimiter.tier("growth").max_concurrent == 50


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        RateLimiter(0)
    with pytest.raises(ConfigurationError):
        RateLimiter(None, 0)


def test_pickled_limiter_keeps_its_settings() -> None:
    again = pickle.loads(pickle.dumps(RateLimiter(600, 20, burst=3)))
    assert (again.requests_per_minute, again.max_concurrent, again._capacity) == (600, 20, 3)


def test_concurrency_cap_across_threads() -> None:
    limiter = RateLimiter(None, 3)
    peak, lock = [0], threading.Lock()

    def work() -> None:
        with limiter.slot():
            with lock:
                peak[0] = max(peak[0], limiter.in_flight)
            time.sleep(0.01)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert peak[0] == 3 and limiter.in_flight == 0


async def test_concurrency_cap_across_tasks_and_cancellation() -> None:
    limiter = RateLimiter(None, 2)
    peak = [0]

    async def work() -> None:
        async with limiter.aslot():
            peak[0] = max(peak[0], limiter.in_flight)
            await asyncio.sleep(0.01)

    waiting = asyncio.ensure_future(work())
    tasks = [asyncio.ensure_future(work()) for _ in range(8)]
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert peak[0] == 2 and limiter.in_flight == 0


def test_client_holds_a_slot_per_request_and_per_stream(recorder: Recorder) -> None:
    limiter = RateLimiter(None, 1)
    seen: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(limiter.in_flight)
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\ndata: [DONE]\n\n',
        )

    recorder.script += [answer, answer]
    client = AISAClient(
        api_key=KEY, model="m", rate_limiter=limiter, transport=httpx.MockTransport(recorder)
    )
    stream = client.stream("hi")
    next(stream)
    assert limiter.in_flight == 1  # held while the stream is open
    stream.close()
    assert limiter.in_flight == 0
    client.stream("again").completion()
    assert seen == [1, 1] and limiter.in_flight == 0


async def test_async_client_releases_slots(recorder: Recorder) -> None:
    limiter = RateLimiter(None, 2)
    client = AsyncAISAClient(
        api_key=KEY, model="m", rate_limiter=limiter, transport=httpx.MockTransport(recorder)
    )
    await asyncio.gather(*(client.chat("hi") for _ in range(6)))
    assert limiter.in_flight == 0 and len(recorder.requests) == 6
    await client.aclose()
