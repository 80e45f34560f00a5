"""Per-key limits the stand-in enforces when asked (``enforce_limits``): requests per minute
and requests in flight, as a gateway does, and what it saw, so a test can prove that a fleet of
clients stays under them.

The rate is a token bucket per key: ``burst`` tokens (1: no two requests closer than 60/N
seconds), refilled at N a minute; a request that finds less than a whole token is refused with
429 ``rate_limit_exceeded`` and ``Retry-After`` (the seconds until it would pass). A request
arriving while ``max_concurrent`` of the same key's are in flight (from the moment the stand-in
reads it until the last byte of its answer is written) is refused with 429
``concurrency_limit_exceeded``. Refused requests use up nothing.

This is the stand-in's own arithmetic, written apart from the client's limiter
(``aisa_core.ratelimit``): a bug in one cannot hide behind the same bug in the other.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["KeyLimits", "LimitStats", "Limits", "Refusal"]


@dataclass
class LimitStats:
    """What the stand-in saw of one key since the limits were set: requests let through
    (``times``: when each arrived, ``time.monotonic``), refused by rate and by concurrency,
    the most in flight at once, and how many are in flight now."""

    admitted: int = 0
    refused_rate: int = 0
    refused_concurrency: int = 0
    peak_in_flight: int = 0
    times: list[float] = field(default_factory=list)
    in_flight: int = 0

    @property
    def refused(self) -> int:
        return self.refused_rate + self.refused_concurrency

    def rate_per_minute(self) -> float | None:
        """Requests let through per minute, from the first to the last (``None``: fewer
        than two)."""
        if len(self.times) < 2 or self.times[-1] == self.times[0]:
            return None
        return (len(self.times) - 1) * 60 / (self.times[-1] - self.times[0])

    def max_in_window(self, seconds: float) -> int:
        """The most requests let through within any ``seconds``-long window."""
        times = self.times
        return max(
            (bisect.bisect_left(times, t + seconds) - i for i, t in enumerate(times)), default=0
        )


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused, and when it may try again (seconds)."""

    code: str
    message: str
    retry_after: float


@dataclass
class KeyLimits:
    """One key's bucket, requests in flight and statistics."""

    tokens: float
    updated: float
    in_flight: int = 0
    stats: LimitStats = field(default_factory=LimitStats)


class Limits:
    """The limits of every key (see the module docstring); thread safe."""

    def __init__(
        self,
        requests_per_minute: float | None,
        max_concurrent: int | None,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if requests_per_minute is not None and not 0 < requests_per_minute < math.inf:
            raise ValueError("requests_per_minute must be a positive number or None")
        if max_concurrent is not None and max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1 or None")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.requests_per_minute = requests_per_minute
        self.max_concurrent = max_concurrent
        self.burst = burst
        self._per_second = (requests_per_minute or 0) / 60
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, KeyLimits] = {}

    def _key(self, key: str, now: float) -> KeyLimits:
        limits = self._keys.get(key)
        if limits is None:
            limits = self._keys[key] = KeyLimits(float(self.burst), now)
        elif self._per_second:
            elapsed = now - limits.updated
            limits.tokens = min(self.burst, limits.tokens + elapsed * self._per_second)
            limits.updated = now
        return limits

    def enter(self, key: str) -> Refusal | None:
        """Let a request of ``key`` in (``None``), counting it in flight, or refuse it."""
        with self._lock:
            now = self._clock()
            limits = self._key(key, now)
            if self.max_concurrent is not None and limits.in_flight >= self.max_concurrent:
                limits.stats.refused_concurrency += 1
                message = f"Too many requests in flight (at most {self.max_concurrent})."
                return Refusal("concurrency_limit_exceeded", message, 1.0)
            if self._per_second and limits.tokens < 1:
                limits.stats.refused_rate += 1
                wait = (1 - limits.tokens) / self._per_second
                message = f"Rate limit of {self.requests_per_minute:g} requests per minute."
                return Refusal("rate_limit_exceeded", message, wait)
            if self._per_second:
                limits.tokens -= 1
            limits.in_flight += 1
            stats = limits.stats
            stats.admitted += 1
            stats.times.append(now)
            stats.peak_in_flight = max(stats.peak_in_flight, limits.in_flight)
            return None

    def leave(self, key: str) -> None:
        """A request let in by ``enter`` has been answered."""
        with self._lock:
            self._keys[key].in_flight -= 1

    def remaining(self, key: str) -> tuple[int, float]:
        """``(requests that may go now, UNIX time the bucket is full again)``."""
        with self._lock:
            now = self._clock()
            limits = self._key(key, now)
            if not self._per_second:
                return self.burst, time.time()
            full_in = (self.burst - limits.tokens) / self._per_second
            return math.floor(limits.tokens), time.time() + full_in

    def stats(self, key: str) -> LimitStats:
        """A copy of what was seen of ``key``."""
        with self._lock:
            limits = self._keys.get(key)
            if limits is None:
                return LimitStats()
            s = limits.stats
            return LimitStats(
                s.admitted,
                s.refused_rate,
                s.refused_concurrency,
                s.peak_in_flight,
                list(s.times),
                limits.in_flight,
            )
