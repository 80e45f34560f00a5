"""Where shared state lives: the rate limiter's, model health's, budgets' and the cost ledger's.

A store is a handful of atomic operations on keys with expiry (read some keys, set, set if
absent, add to a number, an exponential average, add within a limit, delete; counters in a map;
the rate limiter's timestamp and leases) and a clock. Every read-modify-write is one atomic step,
so any number of threads (and, with a shared store, of processes) can use one store without
locks of their own. ``MemoryStore`` keeps state in this process; ``RedisStore`` (extra
``redis``) on a Redis server, shared by every process that points at it.

``default_store()`` is what an object given no ``store=`` uses: a ``RedisStore`` for
``AISA_REDIS_URL`` when that variable is set (one per URL and process), else a new
``MemoryStore``. So setting the variable is all a fleet of workers needs to share their
``RateLimiter``, ``ModelHealth``, ``Budget`` and ``CostLedger`` objects, the ones the framework
adapters make included.

The objects built on stores write their logic once, as a generator of ``StoreOp``s (and
``Pause``s, for logic that waits), run by ``run_ops`` (sync) or ``arun_ops`` (async): a store
with async methods (``a`` + the name) is awaited there, any other is called directly.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from aisa_core.errors import ConfigurationError

from .memory import MemoryStore, RateRule

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = [
    "REDIS_URL_ENV",
    "MemoryStore",
    "Pause",
    "RateRule",
    "RedisStore",
    "Store",
    "StoreOp",
    "StoreOps",
    "arun_ops",
    "default_store",
    "run_ops",
]

REDIS_URL_ENV = "AISA_REDIS_URL"

T = TypeVar("T")


@runtime_checkable
class Store(Protocol):
    """The store seam. Keys are strings; values numbers or strings; ``ttl`` in seconds."""

    def now(self) -> float:
        """Seconds since the epoch, from the store's own clock (one clock for every user)."""
        ...

    def get_many(self, keys: Sequence[str]) -> list[Any]:
        """The values of ``keys`` (``None`` for absent or expired ones)."""
        ...

    def set(self, key: str, value: Any, ttl: float | None = None) -> None: ...

    def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Set ``key`` only if it is absent; whether it was set."""
        ...

    def incr(self, key: str, amount: float = 1, ttl: float | None = None) -> float:
        """Add ``amount`` (the key starts at 0); the new value. ``ttl`` is set when the key is
        made, not extended by later increments."""
        ...

    def incr_within(self, key: str, amount: float, limit: float, ttl: float | None = None) -> float:
        """Add ``amount`` only if the result stays ``<= limit``; the new value, or ``-1 -
        current`` (a negative number) when it would have gone over."""
        ...

    def ewma(self, key: str, value: float, alpha: float, ttl: float | None = None) -> float:
        """Move the exponential average at ``key`` towards ``value`` by ``alpha`` (the first
        value is taken as is); the new average."""
        ...

    def delete(self, keys: Sequence[str]) -> None: ...

    def incr_field(self, key: str, field: str, amount: float, ttl: float | None = None) -> float:
        """Add ``amount`` to ``field`` of the map at ``key`` (a field starts at 0); the new value.
        ``ttl`` is set when the map is made."""
        ...

    def get_fields(self, key: str) -> dict[str, float]:
        """Every field of the map at ``key`` (empty when there is none)."""
        ...

    def rate_admit(
        self, key: str, token: str, rule: RateRule, released: Sequence[str] = ()
    ) -> float:
        """One request of rate limiter ``key`` asks to go now, after the leases ``released``
        are given back. With ``rule.max_concurrent`` it needs a free slot, taken as a lease
        named ``token`` that expires ``rule.lease`` seconds from now unless renewed; with
        ``rule.interval_us`` its turn by ``gcra`` on the store's clock, in microseconds. Both
        are taken, or neither: ``0.0``. Else nothing else changes and the answer says why: a
        positive number is the seconds until its turn, a negative one that every slot is held
        (minus the seconds until the first lease expires)."""
        ...

    def rate_renew(self, key: str, tokens: Sequence[str], lease: float) -> int:
        """Push the expiry of the leases ``tokens`` still held to ``lease`` seconds from now;
        how many were still held."""
        ...

    def rate_release(self, key: str, tokens: Sequence[str]) -> None:
        """Give the leases ``tokens`` back (nothing for those that expired)."""
        ...

    def rate_in_flight(self, key: str) -> int:
        """How many leases of limiter ``key`` are live."""
        ...


class StoreOp:
    """One call of ``store``'s method ``name`` with ``args``."""

    __slots__ = ("args", "name", "store")

    def __init__(self, store: Any, name: str, *args: Any) -> None:
        self.store = store
        self.name = name
        self.args = args

    def __repr__(self) -> str:
        return f"StoreOp({self.name!r}, {', '.join(map(repr, self.args))})"


class Pause:
    """Wait ``seconds`` before the next step (``time.sleep`` or ``asyncio.sleep``)."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"Pause({self.seconds!r})"


StoreOps = Generator["StoreOp | Pause", Any, T]
"""Logic over stores, written once: yields operations (or pauses), gets their results back."""


def run_ops(gen: StoreOps[T]) -> T:
    """Run store logic, blocking on each operation."""
    result: Any = None
    try:
        while True:
            op = gen.send(result)
            if isinstance(op, Pause):
                time.sleep(op.seconds)
                result = None
            else:
                result = getattr(op.store, op.name)(*op.args)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def arun_ops(gen: StoreOps[T]) -> T:
    """The same, awaiting a store's ``a<name>`` method where it has one.

    A cancellation that arrives while a store operation is awaited is never lost: on Python
    3.11, ``asyncio.wait_for`` (which redis-py's asyncio client uses to send) returns the
    result and drops a cancellation that lands as the operation completes, and a loop that
    waits for a rate-limit slot would then wait on, holding its task, after it was cancelled.
    The task's ``cancelling()`` count shows such a cancellation, which is raised here."""
    import asyncio

    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    result: Any = None
    try:
        while True:
            op = gen.send(result)
            if isinstance(op, Pause):
                await asyncio.sleep(op.seconds)
                result = None
                continue
            method = getattr(op.store, "a" + op.name, None)
            if method is None:
                result = getattr(op.store, op.name)(*op.args)
            else:
                before = cancelling() if cancelling else 0
                result = method(*op.args)
                if inspect.isawaitable(result):
                    result = await result
                if cancelling and cancelling() > before:
                    raise asyncio.CancelledError()
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


_SHARED: dict[str, RedisStore] = {}
_SHARED_LOCK = threading.Lock()


def default_store() -> Store:
    """The store of an object given none: a ``RedisStore`` for ``AISA_REDIS_URL`` when the
    variable is set (the same object for the same URL, so its connections are shared), else a
    new ``MemoryStore`` (state in this process, as if no store had been asked for)."""
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if not url:
        return MemoryStore()
    with _SHARED_LOCK:
        store = _SHARED.get(url)
        if store is None:
            from .redis import RedisStore

            try:
                store = _SHARED[url] = RedisStore.from_url(url)
            except ConfigurationError as error:
                raise ConfigurationError(f"{REDIS_URL_ENV}: {error.message}") from error
        return store


def __getattr__(name: str) -> Any:
    if name == "RedisStore":  # loaded on first use: most processes never talk to Redis
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
