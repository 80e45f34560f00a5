"""The client-side rate limiter: bucket arithmetic, concurrency across threads and tasks."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import pickle
import random
import threading
import time

import httpx
import pytest

from aisa_core import AISAClient, AsyncAISAClient, ConfigurationError, RateLimiter
from tests.core.helpers import KEY, Recorder, completion_body


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_asked_for_goes_back_to_back_then_requests_are_spaced() -> None:
    # Issue 10 item 15 changed this: nothing is booked ahead, a wait charges nothing.
    clock = Clock()
    limiter = RateLimiter(60, burst=2, clock=clock)  # one a second
    waits = [limiter.take() for _ in range(4)]
    assert waits[:2] == [0.0, 0.0] and waits[2:] == [pytest.approx(1.0)] * 2
    clock.now += waits[2]
    assert limiter.take() == 0.0
    clock.now = 10.0  # idle: the burst is back, and no more than it
    assert [limiter.take() for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


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
    assert (again.requests_per_minute, again.max_concurrent, again.burst) == (600, 20, 3)


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


# --- issue 10 item 15: "N per minute" over any 60-second window, charged when sent ----------


def greedy_sends(
    limiter: RateLimiter, clock: Clock, count: int, jitter: float = 0.0
) -> list[float]:
    """Send ``count`` requests as fast as the limiter allows (pure arithmetic: the clock only
    moves by the waits it asks for, plus ``jitter`` between attempts)."""
    rng = random.Random(7)
    sent: list[float] = []
    while len(sent) < count:
        wait = limiter.take()
        if wait:
            clock.now += wait
        else:
            sent.append(clock.now)
            clock.now += rng.uniform(0, jitter)
    return sent


def most_in_a_window(sent: list[float], window: float = 60.0) -> int:
    return max(bisect.bisect_left(sent, t + window) - i for i, t in enumerate(sent))


@pytest.mark.parametrize("rpm", [1, 7, 60, 600, 3000])
@pytest.mark.parametrize("jitter", [0.0, 0.37])
def test_n_per_minute_holds_over_any_window_by_default(rpm: int, jitter: float) -> None:
    clock = Clock()
    clock.now = 1234.5
    limiter = RateLimiter(rpm, clock=clock)
    sent = greedy_sends(limiter, clock, rpm * 3 + 1, jitter)
    assert most_in_a_window(sent) <= rpm
    # the n+1th request comes a full minute (or more) after the first, and so on
    assert all(later - first >= 60.0 for first, later in zip(sent, sent[rpm:], strict=False))


def test_the_old_burst_no_longer_lets_more_through_in_the_first_minute() -> None:
    clock = Clock()
    sent = greedy_sends(RateLimiter(60, clock=clock), clock, 70)
    assert sum(t < 60.0 for t in sent) == 60  # a token bucket of 5 let 64 through


@pytest.mark.parametrize(("rpm", "burst"), [(60, 5), (600, 20), (1, 3)])
def test_a_burst_only_when_asked_for(rpm: int, burst: int) -> None:
    clock = Clock()
    sent = greedy_sends(RateLimiter(rpm, burst=burst, clock=clock), clock, rpm * 3 + burst)
    assert sent[:burst] == [0.0] * burst and sent[burst] > 0.0
    assert most_in_a_window(sent) <= rpm + burst - 1
    clock.now = 0.0
    default = greedy_sends(RateLimiter(rpm, clock=clock), clock, 2)
    assert default[1] - default[0] == pytest.approx(60 / rpm)  # no burst by default


def test_a_wait_charges_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    assert limiter.take() == 0.0
    waits = [limiter.take() for _ in range(5)]  # asking again and again books nothing ahead
    assert waits == [pytest.approx(1.0)] * 5 and len(set(waits)) == 1
    clock.now += waits[0]
    assert limiter.take() == 0.0


@pytest.mark.parametrize(
    "args",
    [
        {"burst": 0},
        {"burst": -1},
        {"burst": 1.5},
        {"burst": True},
        {"requests_per_minute": "60"},
        {"requests_per_minute": float("nan")},
        {"requests_per_minute": float("inf")},
        {"max_concurrent": 1.5},
        {"max_concurrent": "3"},
    ],
)
def test_limits_of_the_wrong_kind_are_refused(args: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RateLimiter(**{"requests_per_minute": 60, **args})  # type: ignore[arg-type]


class Logged(RateLimiter):
    """Records the moment each request is charged, read from the limiter's own clock."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.sent: list[float] = []
        self._last = 0.0
        super().__init__(*args, clock=self._read, **kwargs)  # type: ignore[arg-type]

    def _read(self) -> float:
        self._last = time.monotonic()
        return self._last

    def take(self) -> float:
        wait = super().take()
        if not wait:
            self.sent.append(self._last)
        return wait


def test_threads_and_event_loops_sharing_a_limiter_are_spaced() -> None:
    limiter = Logged(1200, 3)  # one every 50 ms, at most 3 in flight

    def work() -> None:
        for _ in range(2):
            with limiter.slot():
                time.sleep(0.01)

    async def awork() -> None:
        for _ in range(2):
            async with limiter.aslot():
                await asyncio.sleep(0.01)

    def loop() -> None:
        async def both() -> None:
            await asyncio.gather(awork(), awork())

        asyncio.run(both())

    threads = [threading.Thread(target=work) for _ in range(3)]
    threads += [threading.Thread(target=loop) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    sent = sorted(limiter.sent)
    assert len(sent) == 14 and limiter.in_flight == 0
    assert all(b - a >= 0.05 for a, b in itertools.pairwise(sent))


def test_requests_held_behind_a_stalled_slot_leave_spaced_out(recorder: Recorder) -> None:
    interval = 0.25  # 240 per minute
    limiter = RateLimiter(240, max_concurrent=1)
    arrived: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        arrived.append(time.monotonic())
        if b'"stream":true' in request.content:
            return httpx.Response(
                200,
                headers={"content-type": "text/event-stream"},
                content=b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n',
            )
        return httpx.Response(200, json=completion_body())

    client = AISAClient(
        api_key=KEY, model="m", rate_limiter=limiter, transport=httpx.MockTransport(answer)
    )
    stream = client.stream("hold the only slot")
    next(stream)  # the slot is held until the stream closes
    queued = [threading.Thread(target=client.chat, args=("queued",)) for _ in range(3)]
    for t in queued:
        t.start()
    time.sleep(3 * interval)  # long enough for every queued request's charge to come due
    stream.close()
    for t in queued:
        t.join(30)
    sends = arrived[1:]
    assert len(sends) == 3
    # Charged at send time: after the stall they go out one interval apart, not together.
    assert all(b - a >= interval / 2 for a, b in itertools.pairwise(sends))
    client.close()


async def test_cancelling_a_request_waiting_for_its_moment_gives_everything_back() -> None:
    limiter = RateLimiter(60, max_concurrent=2)  # one a second
    await limiter.aacquire()  # the first goes at once
    waiting = asyncio.ensure_future(limiter.aacquire())  # holds a slot, waits ~1 s for its turn
    await asyncio.sleep(0.05)
    assert limiter.in_flight == 2
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert limiter.in_flight == 1 and limiter._turn.count == 0
    limiter.release()
    assert limiter.in_flight == 0


async def test_a_slot_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    limiter = RateLimiter(None, 1)
    await limiter.aacquire()
    first = asyncio.ensure_future(limiter.aacquire())
    second = asyncio.ensure_future(limiter.aacquire())
    await asyncio.sleep(0)
    limiter.release()  # hands the slot to ``first``...
    first.cancel()  # ...which is cancelled before it runs: ``second`` must get it
    await asyncio.wait_for(second, 5)
    assert limiter.in_flight == 1
    limiter.release()
    assert limiter.in_flight == 0
