"""A client-side rate limiter: requests per minute and requests in flight, shared by every
model, thread and event loop that uses one limiter.

AIsa's tiers (free 60 RPM / 5 concurrent, starter 600 / 20, growth 3000 / 50) are presets:
``RateLimiter.tier("starter")``. Staying under them avoids 429s, which a retried chat call
may turn into double billing.

What "N per minute" means here: in *any* 60-second window at most N requests are sent, so
by default they go out evenly, one every 60/N seconds (a generic cell rate algorithm, GCRA,
whose whole state is one timestamp). ``burst=B`` lets B go back to back before the spacing
starts, at the price of up to N + B - 1 in one window. A request is charged when it is
*sent*: it first waits for a concurrency slot, then for its turn, so requests held behind
a stalled slot leave spaced out, never all at once.

The arithmetic is pure (``gcra``, ``RateLimiter.take``, on an injectable clock); the waiting is
in two thin shells (``acquire`` and ``aacquire``), and waiters are served in arrival order.

With a shared ``store`` (a ``RedisStore``; or no ``store`` and ``AISA_REDIS_URL`` set) the same
limits hold for every process that uses that store and ``namespace``: see ``shared_limits``
(the rate on the store's clock, slots as leases that a dead process loses within ``lease``
seconds, waiting by asking again). Without one (or with a ``MemoryStore``) the limits are this
process's, as described above.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigurationError
from .shared_limits import SharedLimits
from .stores import MemoryStore, Store, default_store
from .stores.memory import gcra

if TYPE_CHECKING:
    import asyncio

    _Waiter = threading.Event | tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]

__all__ = ["TIERS", "RateLimiter", "gcra"]

TIERS: dict[str, tuple[float, int]] = {
    "free": (60, 5),
    "starter": (600, 20),
    "growth": (3000, 50),
}

NS = 1_000_000_000


def _check_count(value: object, name: str, note: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigurationError(f"{name} must be a whole number >= 1{note}, got {value!r}")


class RateLimiter:
    """``requests_per_minute`` (at most that many in any 60 s, evenly spaced unless ``burst``
    allows more back to back) and ``max_concurrent`` (requests in flight, streams included
    until they close). Either may be ``None`` for no limit of that kind. ``clock`` is for
    tests of the arithmetic (``take``); waits always sleep in real time.

    ``store`` shares the limits between processes (see the module docstring): every limiter
    with the same store and ``namespace`` takes from one budget, and a slot is a lease of
    ``lease`` seconds, renewed while it is held."""

    def __init__(
        self,
        requests_per_minute: float | None = None,
        max_concurrent: int | None = None,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        store: Store | None = None,
        namespace: str = "default",
        lease: float = 30.0,
    ) -> None:
        rate = requests_per_minute
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < math.inf
        ):
            raise ConfigurationError(f"requests_per_minute must be positive, got {rate!r}")
        _check_count(max_concurrent, "max_concurrent", "")
        _check_count(burst, "burst", " (1: no burst)")
        self.requests_per_minute = requests_per_minute
        self.max_concurrent = max_concurrent
        self.burst = burst or 1
        # In nanoseconds, one more than 60/N: N intervals always cover a full minute.
        self._interval = math.ceil(60 * NS / requests_per_minute) + 1 if requests_per_minute else 0
        self._clock = clock
        self._lock = threading.Lock()
        self._tat = self._now()
        self._slots = _Gate(max_concurrent)
        self._turn = _Gate(1)  # one request at a time waits for its moment, in arrival order
        self.store: Store = store if store is not None else default_store()
        self.namespace = namespace
        self.lease = lease
        self._shared: SharedLimits | None = None
        if not isinstance(self.store, MemoryStore) and (requests_per_minute or max_concurrent):
            self._shared = SharedLimits(
                self.store, namespace, requests_per_minute, max_concurrent, self.burst, lease
            )

    @classmethod
    def tier(cls, name: Literal["free", "starter", "growth"], **options: Any) -> RateLimiter:
        """A tier's limits; ``options`` as for the constructor (``store=``, ``namespace=``)."""
        rpm, concurrent = TIERS[name]
        return cls(rpm, concurrent, **options)

    def __repr__(self) -> str:
        burst = f", burst={self.burst}" if self.burst > 1 else ""
        shared = "" if self._shared is None else f", store={self.store!r}"
        return (
            f"RateLimiter(requests_per_minute={self.requests_per_minute}, "
            f"max_concurrent={self.max_concurrent}{burst}{shared})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled limiter (e.g. sent to a worker process) keeps its store: an in-process one
        # starts fresh there, a shared one goes on sharing.
        settings = (self.requests_per_minute, self.max_concurrent, self.burst)
        return (_rebuild, (settings, self.store, self.namespace, self.lease))

    @property
    def in_flight(self) -> int:
        """Requests holding a slot now (shared: in every process, read from the store)."""
        return self._slots.count if self._shared is None else self._shared.in_flight

    def _now(self) -> int:
        return round(self._clock() * NS)

    def take(self) -> float:
        """Charge one request now if the rate allows it (``0.0``), else return the seconds
        until it would, charging nothing."""
        if not self._interval:
            return 0.0
        if self._shared is not None:
            return self._shared.take()
        with self._lock:
            wait, self._tat = gcra(self._tat, self._now(), self._interval, self.burst)
        return wait / NS

    def acquire(self) -> str | None:
        """Take a slot and wait for the moment to send (sync); give the slot back with
        ``release``, passing what this returned (a shared limiter's lease, else ``None``)."""
        if self._shared is not None:
            self._turn.enter()
            with self._turn.left_after():
                return self._shared.acquire()
        self._slots.enter()
        with self._slots.given_back_on_error():
            if self._interval:
                self._turn.enter()
                with self._turn.left_after():
                    for wait in self._waits():
                        time.sleep(wait)
        return None

    async def aacquire(self) -> str | None:
        """Take a slot and wait for the moment to send (async); cancellation gives the slot
        and the turn on."""
        import asyncio

        if self._shared is not None:
            await self._turn.aenter()
            with self._turn.left_after():
                return await self._shared.aacquire()
        await self._slots.aenter()
        with self._slots.given_back_on_error():
            if self._interval:
                await self._turn.aenter()
                with self._turn.left_after():
                    for wait in self._waits():
                        await asyncio.sleep(wait)
        return None

    def _waits(self) -> Iterator[float]:
        """The sleeps before this request (holding the turn) is charged: each time it wakes,
        it asks again, so it is charged at its moment and nothing is booked ahead."""
        wait = self.take()
        while wait:
            yield wait
            wait = self.take()

    def release(self, lease: str | None = None) -> None:
        """Give back a slot taken with ``acquire`` or ``aacquire`` (``lease``: what it
        returned). Never raises: a shared slot that cannot be given back expires."""
        if self._shared is not None:
            self._shared.release(lease)
        else:
            self._slots.leave()

    async def arelease(self, lease: str | None = None) -> None:
        """``release``, for async code."""
        self.release(lease)  # nothing to await: a shared slot is handed back in the background

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request slot (sync)."""
        lease = self.acquire()
        try:
            yield
        finally:
            self.release(lease)

    @contextlib.asynccontextmanager
    async def aslot(self) -> AsyncIterator[None]:
        """Hold one request slot (async)."""
        lease = await self.aacquire()
        try:
            yield
        finally:
            await self.arelease(lease)


def _rebuild(
    settings: tuple[float | None, int | None, int], store: Store, namespace: str, lease: float
) -> RateLimiter:
    rpm, concurrent, burst = settings
    return RateLimiter(rpm, concurrent, burst, store=store, namespace=namespace, lease=lease)


class _Gate:
    """At most ``capacity`` holders (``None``: no limit); the rest wait in arrival order,
    threads and event loops alike. A leaving holder hands its place straight to the first
    waiter, so a newcomer never overtakes one that is waiting."""

    __slots__ = ("_lock", "_waiters", "capacity", "count")

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.count = 0
        self._lock = threading.Lock()
        self._waiters: deque[_Waiter] = deque()

    def _free(self) -> bool:
        """Take a place if one is free and nobody waits for it (call with the lock held)."""
        assert self.capacity is not None
        if self.count < self.capacity and not self._waiters:
            self.count += 1
            return True
        return False

    def enter(self) -> None:
        if self.capacity is None:
            return
        with self._lock:
            if self._free():
                return
            event = threading.Event()
            self._waiters.append(event)
        try:
            event.wait()
        except BaseException:  # e.g. KeyboardInterrupt: never keep a place nobody holds
            self._abandon(event)
            raise

    async def aenter(self) -> None:
        if self.capacity is None:
            return
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free():
                return
            future: asyncio.Future[None] = loop.create_future()
            waiter = (loop, future)
            self._waiters.append(waiter)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.leave()  # we were handed the place but leave: pass it on
            else:
                self._abandon(waiter)
            raise

    @contextlib.contextmanager
    def given_back_on_error(self) -> Iterator[None]:
        """A place just entered is given back if what follows fails (or is cancelled)."""
        try:
            yield
        except BaseException:
            self.leave()
            raise

    @contextlib.contextmanager
    def left_after(self) -> Iterator[None]:
        """A place just entered is given back when what follows ends, however it ends."""
        try:
            yield
        finally:
            self.leave()

    def _abandon(self, waiter: _Waiter) -> None:
        with self._lock:
            try:
                self._waiters.remove(waiter)
                return
            except ValueError:
                pass  # already handed the place
        if isinstance(waiter, threading.Event):
            self.leave()
        # an async waiter handed the place is woken by ``_wake``, which passes it on

    def leave(self) -> None:
        if self.capacity is None:
            return
        with self._lock:
            while self._waiters:
                if self._hand(self._waiters.popleft()):
                    return  # the place passes on: ``count`` is unchanged
            self.count -= 1

    def _hand(self, waiter: _Waiter) -> bool:
        if isinstance(waiter, threading.Event):
            waiter.set()
            return True
        loop, future = waiter
        if future.done() or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(_wake, self, future)
        except RuntimeError:  # the loop closed meanwhile
            return False
        return True


def _wake(gate: _Gate, future: asyncio.Future[None]) -> None:
    if future.done():  # cancelled after it was handed the place: pass it on
        gate.leave()
    else:
        future.set_result(None)
