"""The one seam for what happened: every attempt of every call, reported once, as plain data.

The core reports each attempt (the model tried, when it started, its time to first chunk, how
long it took, how it ended, the status, usage, cost and request id) and, once per call, the call
as a whole, to the observers registered on a client (``observers=[...]``). Model health, budgets,
the frameworks' cost trackers and tracing all read this seam instead of each working it out again.

An observer is any object with ``on_attempt(report)`` and/or ``on_call(report)``; both are called
in the caller's thread (sync) or task (async), so the caller's context (e.g. the current trace
span) applies. They must be quick and must not raise (an observer's exception is logged and
dropped: it never fails the call). In an async client, a method that returns an awaitable is
awaited, and an observer's ``aon_attempt`` / ``aon_call`` (``async def``), when it has them, is
awaited instead of the plain method (e.g. ``aisa_core.ledger.CostLedger``, whose store is
awaited there).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .errors import AISAError
from .types import Usage

__all__ = [
    "EVERYWHERE",
    "AttemptInfo",
    "AttemptObserver",
    "AttemptReport",
    "CallReport",
    "Everywhere",
    "Outcome",
    "SkippedModel",
    "notify_observers",
]

logger = logging.getLogger("aisa_core.attempts")

Outcome = Literal["ok", "error", "skipped", "cancelled"]


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """What an attempt is about to do, for the checks made before it is sent (health, budget).

    ``prompt_tokens`` is an estimate; ``max_output_tokens`` the most the answer may take
    (``max_tokens`` when given, else ``None``); ``force`` means every model of the chain is
    cooling down and this one, whose cooldown ends first, is tried anyway."""

    operation: str
    model: str
    stream: bool = False
    prompt_tokens: int = 0
    max_output_tokens: int | None = None
    quoted_usd: float | None = None
    force: bool = False


@dataclass(frozen=True, slots=True)
class SkippedModel:
    """A model the fallback plan did not try, and why (``until``: when its cooldown ends)."""

    model: str
    reason: str
    until: float | None = None


@dataclass(slots=True)
class AttemptReport:
    """One attempt. Times are seconds; ``started`` is epoch time, ``first_chunk_s`` and
    ``duration_s`` are measured from the start of the attempt. Read-only by convention (not
    frozen: one is made for every attempt, and a frozen dataclass is three times slower to build).
    """

    operation: str
    model: str
    outcome: Outcome
    started: float
    duration_s: float
    index: int = 0
    stream: bool = False
    first_chunk_s: float | None = None
    served_model: str | None = None
    status: int | None = None
    error: AISAError | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    request_id: str | None = None
    finish_reasons: tuple[str, ...] = ()
    response_id: str | None = None
    probe: bool = False
    """This attempt was the half-open probe of a model that had been cooling down."""

    @property
    def error_type(self) -> str | None:
        return None if self.error is None else type(self.error).__name__


@dataclass(slots=True)
class CallReport:
    """A whole call: its attempts in order, and how it ended (``error`` is what the caller got).
    Read-only by convention, like ``AttemptReport``."""

    operation: str
    models: tuple[str, ...]
    started: float
    duration_s: float
    outcome: Outcome
    attempts: tuple[AttemptReport, ...] = ()
    skipped: tuple[SkippedModel, ...] = ()
    error: AISAError | None = None
    stream: bool = False
    server_address: str | None = None
    server_port: int | None = None
    request: Mapping[str, Any] = field(default_factory=dict)
    """The request parameters (``temperature``, ``max_tokens``, ...; for chat also ``messages``
    and ``tools``): observers that export message content must ask the user first."""
    result: Any = None

    @property
    def final(self) -> AttemptReport | None:
        return self.attempts[-1] if self.attempts else None


class AttemptObserver(Protocol):
    """Anything with either method (or both); see the module docstring. An observer may also
    have ``listening() -> bool``, asked before each call: while no observer listens (and no
    health or budget checks), the call makes no report at all, so an idle observer (tracing
    with no SDK configured) costs next to nothing."""

    def on_attempt(self, report: AttemptReport) -> Any: ...

    def on_call(self, report: CallReport) -> Any: ...


def notify_observers(
    observers: Sequence[Any],
    method: str,
    report: AttemptReport | CallReport,
    *,
    awaited: bool = False,
) -> list[Any]:
    """Call ``method`` on every observer that has it (``awaited``: its ``a<method>`` twin
    first); returns what they returned (awaitables for the async client to await). An
    observer that raises is logged, never fatal."""
    results = []
    for observer in observers:
        fn = (awaited and getattr(observer, "a" + method, None)) or getattr(observer, method, None)
        if fn is None:
            continue
        try:
            results.append(fn(report))
        except Exception:
            logger.exception("observer %r failed on %s", observer, method)
    return results


class Everywhere:
    """Observers every client in the process notifies besides its own (``observe``), e.g.
    ``aisa_core.telemetry.instrument()``: clients made before or after, and the clients inside
    ChatAISA, AISA, the router and the CLI, all pick them up at their next call.

    ``version`` changes with every change, so a client rechecks the list only when it moved."""

    __slots__ = ("observers", "version")

    def __init__(self) -> None:
        self.observers: tuple[Any, ...] = ()
        self.version = 0

    def observe(self, observer: Any) -> None:
        if observer not in self.observers:
            self._set((*self.observers, observer))

    def unobserve(self, observer: Any) -> None:
        self._set(tuple(o for o in self.observers if o is not observer))

    def _set(self, observers: tuple[Any, ...]) -> None:
        # The list first, then the version: a client that sees the new version sees the list.
        self.observers = observers
        self.version += 1


EVERYWHERE = Everywhere()
"""The process's observers of every client (see ``Everywhere``)."""
