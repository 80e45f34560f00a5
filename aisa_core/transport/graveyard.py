"""Closing safely when a finaliser may be running.

The cyclic garbage collector runs finalisers (``__del__``, the ``finally`` of a dropped
generator, a ``weakref.finalize``) on whichever thread happened to allocate when it started, in
the middle of whatever that thread was doing: possibly inside httpcore, holding its pool lock.
A close that takes the same lock then waits for itself forever. So every close path in the
package asks ``collecting()`` first: while the collector runs on this thread, the thing is
handed to ``GRAVEYARD`` (an append: no lock, no I/O) and ordinary code closes it later
(``close_buried``: before every request, in ``close()`` and at exit). Outside a collection (a
stream let go of by reference counting, at the line where the caller dropped it) closing at
once is safe, and frees the connection and the rate-limit slot straight away.

What must be closed is also ``keep``-ed until it is, so the collector never finalises it itself
(its own finalisers would run before anyone could bury it).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["GRAVEYARD", "KEPT", "bury", "close_buried", "collecting", "keep", "later", "let_go"]


class Closable(Protocol):
    def close(self) -> Any: ...


GRAVEYARD: deque[tuple[Closable, ...]] = deque()
"""What was let go of during a garbage collection, waiting to be closed by ordinary code."""

KEPT: set[Any] = set()
"""Pools and open stream bodies, held from here until closed: the collector never finalises
one inside a reference cycle of its owner's (sockets warn, and httpcore's iterators close
under the pool lock, when finalised). Their owner's finaliser buries them instead."""

_state = threading.local()


def _watch(phase: str, info: dict[str, int]) -> None:
    _state.collecting = phase == "start"


gc.callbacks.append(_watch)
if hasattr(os, "register_at_fork"):  # a forked child never closes its parent's connections
    os.register_at_fork(after_in_child=GRAVEYARD.clear)


def collecting() -> bool:
    """Whether the cyclic garbage collector is running on this thread (so the caller is a
    finaliser, and may not take a lock or do I/O)."""
    return bool(getattr(_state, "collecting", False))


def keep(thing: Any) -> None:
    KEPT.add(thing)


def let_go(thing: Any) -> None:
    KEPT.discard(thing)


def bury(*things: Closable) -> None:
    """Close ``things`` later, from ordinary code (only an append: safe in a finaliser)."""
    GRAVEYARD.append(things)


class later:  # noqa: N801 - reads as what it does: ``bury(later(limiter.release))``
    """A call to make later, from ordinary code, as something to close."""

    __slots__ = ("_call",)

    def __init__(self, call: Callable[[], Any]) -> None:
        self._call = call

    def close(self) -> None:
        self._call()


def close_buried() -> None:
    """Close what finalisers left behind (never while a collection runs on this thread)."""
    if collecting():
        return
    while GRAVEYARD:
        try:
            things = GRAVEYARD.popleft()
        except IndexError:  # another thread took the last one
            return
        for thing in things:
            with contextlib.suppress(Exception):
                thing.close()
            KEPT.discard(thing)


atexit.register(close_buried)  # what was buried last is closed properly, not by the collector
