"""The stand-in enforces per-key limits when asked (429 with ``Retry-After`` and
``X-RateLimit-*``), and counts what it saw, so a test can prove a fleet stays under them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from aisa_core import AISAClient, RateLimiter
from aisa_core.errors import RateLimitError
from aisa_core.standin import StandIn
from aisa_core.standin._limits import Limits

CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}


def post(client: httpx.Client, **headers: str) -> httpx.Response:
    return client.post("/chat/completions", json=CHAT, headers=headers)


def test_over_the_rate_is_a_429_with_retry_after(standin: StandIn, client: httpx.Client) -> None:
    standin.enforce_limits(requests_per_minute=60, burst=2)
    first, second, third = (post(client) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first.headers["x-ratelimit-limit-requests"] == "60"
    assert [
        first.headers["x-ratelimit-remaining-requests"],
        second.headers["x-ratelimit-remaining-requests"],
    ] == ["1", "0"]
    assert int(first.headers["x-ratelimit-reset-requests"]) >= time.time()
    assert third.json()["error"]["code"] == "rate_limit_exceeded"
    assert 0.9 < float(third.headers["retry-after"]) <= 1.0  # a token a second
    assert third.headers["x-ratelimit-remaining-requests"] == "0"
    stats = standin.limit_stats()
    assert (stats.admitted, stats.refused_rate, stats.refused_concurrency) == (2, 1, 0)


def test_the_client_sees_a_rate_limit_error(standin: StandIn) -> None:
    standin.enforce_limits(requests_per_minute=6)
    with AISAClient(api_key=standin.api_key, base_url=standin.base_url, max_retries=0) as c:
        c.chat("hi", model="gpt-4.1")
        with pytest.raises(RateLimitError) as info:
            c.chat("hi", model="gpt-4.1")
    assert info.value.retry_after is not None and 9 < info.value.retry_after <= 10


def test_each_key_has_its_own_budget(standin: StandIn, client: httpx.Client) -> None:
    standin.enforce_limits(requests_per_minute=60)
    assert post(client).status_code == 200
    assert post(client).status_code == 429
    assert post(client, Authorization="Bearer sk-aisa-other").status_code == 200
    assert standin.limit_stats("sk-aisa-other").admitted == 1


def test_over_the_concurrency_is_a_429(standin: StandIn, client: httpx.Client) -> None:
    standin.enforce_limits(max_concurrent=2)
    slow = {"x-standin-fault": "delay=0.6"}
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(post, client, **slow) for _ in range(2)]
        deadline = time.monotonic() + 5
        while standin.limit_stats().admitted < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        refused = post(client)
        assert [f.result().status_code for f in held] == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "concurrency_limit_exceeded"
    assert "retry-after" in refused.headers
    assert post(client).status_code == 200  # both answered: in flight again 0
    stats = standin.limit_stats()
    assert (stats.peak_in_flight, stats.refused_concurrency, stats.admitted) == (2, 1, 3)


def test_a_stream_is_in_flight_until_its_last_byte(standin: StandIn, client: httpx.Client) -> None:
    standin.enforce_limits(max_concurrent=1)
    body = {**CHAT, "stream": True}
    slow = {"x-standin-fault": "chunk_delay=0.05"}
    with client.stream("POST", "/chat/completions", json=body, headers=slow) as stream:
        assert stream.status_code == 200
        assert post(client).status_code == 429
        stream.read()
    assert post(client).status_code == 200


def test_reset_and_none_stop_enforcing(standin: StandIn, client: httpx.Client) -> None:
    standin.enforce_limits(requests_per_minute=60)
    post(client)
    standin.reset()
    assert [post(client).status_code for _ in range(3)] == [200] * 3
    assert "x-ratelimit-limit-requests" not in post(client).headers
    standin.enforce_limits(requests_per_minute=60)
    standin.enforce_limits()
    assert post(client).status_code == 200 and standin.limit_stats().admitted == 0


def test_stats_measure_the_rate_and_the_busiest_window() -> None:
    now = [0.0]
    limits = Limits(480, None, burst=1, clock=lambda: now[0])  # one every 0.125 s
    for t in (0.0, 0.125, 0.25, 0.3125, 0.375, 1.375):
        now[0] = t
        if limits.enter("k") is None:
            limits.leave("k")
    stats = limits.stats("k")
    assert stats.refused_rate == 1  # 0.3125 came too soon after 0.25
    assert stats.times == [0.0, 0.125, 0.25, 0.375, 1.375]
    assert stats.rate_per_minute() == pytest.approx(4 * 60 / 1.375)
    assert stats.max_in_window(0.4) == 4 and stats.max_in_window(0.1) == 1


def test_bad_limits_are_refused(standin: StandIn) -> None:
    for kwargs in ({"requests_per_minute": 0}, {"max_concurrent": 0}, {"burst": 0}):
        with pytest.raises(ValueError):
            standin.enforce_limits(**{"requests_per_minute": 60, **kwargs})  # type: ignore[arg-type]


def _hammer(standin: StandIn, limiters: list[RateLimiter], seconds: float) -> list[Any]:
    """One client per limiter (as separate workers would have), calling for ``seconds``."""
    outcomes: list[Any] = []
    stop = time.monotonic() + seconds

    def worker(limiter: RateLimiter) -> None:
        with AISAClient(
            api_key=standin.api_key, base_url=standin.base_url, max_retries=0, rate_limiter=limiter
        ) as c:
            while time.monotonic() < stop:
                try:
                    outcomes.append(c.chat("hi", model="gpt-4.1").text)
                except RateLimitError as error:
                    outcomes.append(error)

    threads = [threading.Thread(target=worker, args=(lim,)) for lim in limiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_workers_each_with_their_own_limiter_go_over(standin: StandIn) -> None:
    """Why limits must be shared: two workers at "600 a minute" each send 1,200 a minute."""
    standin.enforce_limits(requests_per_minute=600, burst=3)
    _hammer(standin, [RateLimiter(600), RateLimiter(600)], 1.5)
    assert standin.limit_stats().refused_rate > 0


def test_workers_sharing_one_limiter_stay_under(standin: StandIn) -> None:
    standin.enforce_limits(requests_per_minute=600, burst=3)
    shared = RateLimiter(600)
    outcomes = _hammer(standin, [shared, shared], 1.5)
    assert standin.limit_stats().refused == 0 and len(outcomes) >= 10
