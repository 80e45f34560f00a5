"""A client-side rate limiter: requests per minute and requests in flight, shared by every
model, thread and event loop that uses one limiter.

AIsa's tiers (free 60 RPM / 5 concurrent, starter 600 / 20, growth 3000 / 50) are presets:
``RateLimiter.tier("starter")``. Staying under them avoids 429s, which a retried chat call
may turn into double billing. The bucket arithmetic is pure (``reserve``), the waiting is in
two thin shells, and waiters are woken in arrival order.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Literal

from .errors import ConfigurationError

if TYPE_CHECKING:
    import asyncio

__all__ = ["TIERS", "RateLimiter"]

TIERS: dict[str, tuple[float, int]] = {
    "free": (60, 5),
    "starter": (600, 20),
    "growth": (3000, 50),
}


class RateLimiter:
    """``requests_per_minute`` (a token bucket that allows a burst of ``burst`` requests) and
    ``max_concurrent`` (requests in flight, streams included until they close). Either may be
    ``None`` for no limit of that kind."""

    def __init__(
        self,
        requests_per_minute: float | None = None,
        max_concurrent: int | None = None,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ConfigurationError("requests_per_minute must be positive")
        if max_concurrent is not None and max_concurrent < 1:
            raise ConfigurationError("max_concurrent must be at least 1")
        self.requests_per_minute = requests_per_minute
        self.max_concurrent = max_concurrent
        self._rate = (requests_per_minute or 0) / 60.0
        self._capacity = float(burst if burst is not None else max(1, int(self._rate * 5) or 1))
        self._tokens = self._capacity
        self._clock = clock
        self._stamp = clock()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiters: deque[
            threading.Event | tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]
        ]
        self._waiters = deque()

    @classmethod
    def tier(cls, name: Literal["free", "starter", "growth"]) -> RateLimiter:
        rpm, concurrent = TIERS[name]
        return cls(rpm, concurrent)

    def __repr__(self) -> str:
        return (
            f"RateLimiter(requests_per_minute={self.requests_per_minute}, "
            f"max_concurrent={self.max_concurrent})"
        )

    def __reduce__(self) -> tuple[type[RateLimiter], tuple[float | None, int | None, int]]:
        # A pickled limiter (e.g. sent to a worker process) starts fresh in that process.
        return (RateLimiter, (self.requests_per_minute, self.max_concurrent, int(self._capacity)))

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def reserve(self) -> float:
        """Take one request from the bucket; return how long to wait before sending it."""
        if not self._rate:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def _try_enter(self) -> bool:
        if self.max_concurrent is None:
            return True
        if self._in_flight < self.max_concurrent:
            self._in_flight += 1
            return True
        return False

    def _leave(self) -> None:
        if self.max_concurrent is None:
            return
        with self._lock:
            self._in_flight -= 1
            self._wake_next()

    def _wake_next(self) -> None:
        """Wake the first live waiter (call with the lock held)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if isinstance(waiter, threading.Event):
                waiter.set()
                return
            loop, future = waiter
            if not future.done() and not loop.is_closed():
                loop.call_soon_threadsafe(_wake, future)
                return

    def acquire(self) -> None:
        """Take one request slot, waiting as long as needed (sync); give it back with
        ``release``."""
        wait = self.reserve()
        if wait:
            time.sleep(wait)
        while True:
            with self._lock:
                if self._try_enter():
                    return
                event = threading.Event()
                self._waiters.append(event)
            event.wait()

    async def aacquire(self) -> None:
        """Take one request slot (async); cancellation while waiting gives the turn on."""
        import asyncio

        wait = self.reserve()
        if wait:
            await asyncio.sleep(wait)
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if self._try_enter():
                    return
                future: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, future))
            try:
                await future
            except asyncio.CancelledError:
                with self._lock:
                    if future.done() and not future.cancelled():
                        self._wake_next()  # we were woken but leave: give the turn on
                    with contextlib.suppress(ValueError):
                        self._waiters.remove((loop, future))
                raise

    def release(self) -> None:
        """Give back a slot taken with ``acquire`` or ``aacquire``."""
        self._leave()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request slot (sync)."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    @contextlib.asynccontextmanager
    async def aslot(self) -> AsyncIterator[None]:
        """Hold one request slot (async)."""
        await self.aacquire()
        try:
            yield
        finally:
            self.release()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
