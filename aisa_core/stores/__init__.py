"""Where shared state lives: the rate limiter's, model health's and budgets' counters.

A store is a handful of atomic operations on keys with expiry (read some keys, set, set if
absent, add to a number, an exponential average, add within a limit, delete) and a clock. Every
read-modify-write is one atomic step, so any number of threads (and, with a shared store, of
processes) can use one store without locks of their own. ``MemoryStore`` (the default) keeps
state in this process.

The objects built on stores (``ModelHealth``, ``Budget``) write their logic once, as a
generator of ``StoreOp``s, run by ``run_ops`` (sync) or ``arun_ops`` (async): a store with
async methods (``a`` + the name) is awaited there, any other is called directly.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from .memory import MemoryStore

__all__ = ["MemoryStore", "Store", "StoreOp", "StoreOps", "arun_ops", "run_ops"]

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


class StoreOp:
    """One call of ``store``'s method ``name`` with ``args``."""

    __slots__ = ("args", "name", "store")

    def __init__(self, store: Any, name: str, *args: Any) -> None:
        self.store = store
        self.name = name
        self.args = args

    def __repr__(self) -> str:
        return f"StoreOp({self.name!r}, {', '.join(map(repr, self.args))})"


StoreOps = Generator[StoreOp, Any, T]
"""Logic over stores, written once: yields operations, gets their results back."""


def run_ops(gen: StoreOps[T]) -> T:
    """Run store logic, blocking on each operation."""
    result: Any = None
    try:
        while True:
            op = gen.send(result)
            result = getattr(op.store, op.name)(*op.args)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def arun_ops(gen: StoreOps[T]) -> T:
    """The same, awaiting a store's ``a<name>`` method where it has one."""
    result: Any = None
    try:
        while True:
            op = gen.send(result)
            method = getattr(op.store, "a" + op.name, None)
            if method is None:
                result = getattr(op.store, op.name)(*op.args)
            else:
                result = method(*op.args)
                if inspect.isawaitable(result):
                    result = await result
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
