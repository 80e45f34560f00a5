"""Connection pools per event loop and per process.

An asyncio connection belongs to the loop that opened it, and a socket to the process that
opened it: a client used from a second ``asyncio.run`` or in a forked child needs a pool of its
own, and a pool can only be closed properly on its own loop. ``LoopPools`` keeps one pool per
running loop and closes each, awaited, on its own loop:

- when that loop shuts down: each pool is watched by an async generator, which ``asyncio.run``
  and ``asyncio.Runner`` finalise as they end (``loop.shutdown_asyncgens``);
- when the owner closes (``aclose``);
- soon after the owner is let go of: its watchers are finalised, and asyncio's own finaliser
  hook schedules their close on their loop (safe from the garbage collector: no lock).

A pool whose loop was closed without shutting down cannot be closed on it any more: ``abandon``
frees what it can at once. In a forked child the parent's pools are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from .graveyard import keep, let_go

__all__ = ["LoopPools"]

P = TypeVar("P")

_FORSAKEN: list[Any] = []
"""A forked child's copies of its parent's pools: kept, so they are never closed (nor
finalised) in the child, where closing could write to a socket the parent still uses."""


class LoopPools(Generic[P]):
    """``get()`` is the running loop's pool, made on first use; ``aclose()`` closes them.
    ``make`` and the others must not hold the owner (a cycle would delay its finalisation)."""

    __slots__ = ("_abandon", "_close", "_make", "_pid", "_pools")

    def __init__(
        self,
        make: Callable[[], P],
        close: Callable[[P], Awaitable[Any]],
        abandon: Callable[[P], None] = lambda pool: None,
    ) -> None:
        self._make = make
        self._close = close
        self._abandon = abandon
        self._pools: dict[asyncio.AbstractEventLoop, tuple[P, AsyncGenerator[None, None]]] = {}
        self._pid = os.getpid()

    def get(self) -> P:
        loop = asyncio.get_running_loop()
        if self._pid != os.getpid():
            _FORSAKEN.append(self._pools)
            self._pools, self._pid = {}, os.getpid()
        entry = self._pools.get(loop)
        if entry is not None:
            return entry[0]
        for closed in [other for other in self._pools if other.is_closed()]:
            del self._pools[closed]  # closed at its shutdown, or abandoned now (the watcher)
        pool = self._make()
        keep(pool)  # until closed, never finalised by the collector: see ``graveyard``
        self._pools[loop] = (pool, _watch(loop, pool, self._close, self._abandon))
        return pool

    def all(self) -> list[P]:
        return [pool for pool, _ in self._pools.values()]

    async def aclose(self) -> None:
        """Close the running loop's pool here; the others on their own loops (or at once, if
        their loop is closed)."""
        pools, self._pools = self._pools, {}
        current = asyncio.get_running_loop()
        for loop, (_, watcher) in pools.items():
            if loop is current:
                await watcher.aclose()  # its ``finally`` closes the pool
        # the others' watchers are let go of here: see ``_watch``


async def _closes(pool: P, close: Callable[[P], Awaitable[Any]]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        try:
            with contextlib.suppress(Exception):  # a close that fails has nobody left to tell
                await close(pool)
        finally:
            let_go(pool)


def _watch(
    loop: asyncio.AbstractEventLoop,
    pool: P,
    close: Callable[[P], Awaitable[Any]],
    abandon: Callable[[P], None],
) -> AsyncGenerator[None, None]:
    """An async generator, started on ``loop``, whose end closes ``pool``: the loop ends it at
    shutdown; let go of unfinished, it is ended on the loop (asyncio's finaliser hook), or the
    pool abandoned if the loop is closed."""
    watcher = _closes(pool, close)
    firstiter, finalizer = sys.get_asyncgen_hooks()  # the running loop's

    def finalise(agen: AsyncGenerator[None, None]) -> None:
        if loop.is_closed():
            abandon(pool)
            let_go(pool)
        elif finalizer is not None:
            finalizer(agen)  # schedules ``agen.aclose()`` on the loop, thread-safely

    sys.set_asyncgen_hooks(firstiter, finalise)
    try:
        watcher.asend(None).send(None)  # to its ``yield``: now the loop knows it
    except StopIteration:
        pass
    finally:
        sys.set_asyncgen_hooks(firstiter, finalizer)
    return watcher
