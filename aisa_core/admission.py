"""The checks made before every attempt and told how it went: model health and the budget,
plus the observers of the attempt seam. The clients hold one ``Gates`` and run it around each
attempt (the rate limiter, which holds a slot for as long as the HTTP exchange, is the
transport-level check and stays with the send). A shared store that fails before an attempt
(``StoreUnavailableError``) stops it before anything is sent; one that fails after it only
costs the record, never the answer."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .attempts import AttemptInfo, AttemptReport, CallReport, SkippedModel, notify_observers
from .errors import StoreUnavailableError
from .stores import StoreOps, arun_ops, run_ops

if TYPE_CHECKING:
    from .budget import Budget, BudgetTicket
    from .health import HealthTicket, ModelHealth

logger = logging.getLogger("aisa_core.attempts")

__all__ = ["PASS", "Gates", "Ticket"]


@dataclass(frozen=True, slots=True)
class Ticket:
    """What the checks decided for one attempt."""

    health: HealthTicket | None = None
    budget: BudgetTicket | None = None

    @property
    def skipped(self) -> SkippedModel | None:
        return None if self.health is None else self.health.skipped

    @property
    def probe(self) -> bool:
        return self.health is not None and self.health.probe


PASS = Ticket()
"""No checks: go ahead."""


class Gates:
    """``health``, ``budget`` and ``observers`` of one client (any may be absent)."""

    __slots__ = ("budget", "checks", "health", "observers", "watched")

    def __init__(
        self,
        health: ModelHealth | None = None,
        budget: Budget | None = None,
        observers: Sequence[Any] = (),
    ) -> None:
        self.health = health
        self.budget = budget
        self.observers = tuple(observers)
        self.checks = health is not None or budget is not None
        """Whether anything is consulted before an attempt."""
        self.watched = self.checks or bool(self.observers)
        """Whether anyone hears about attempts at all (else no report is even made)."""

    def admit_ops(self, info: AttemptInfo) -> StoreOps[Ticket]:
        health = None
        if self.health is not None:
            health = yield from self.health.admit_ops(info)
            if health.skipped is not None:
                return Ticket(health)
        budget = None
        if self.budget is not None:
            try:
                budget = yield from self.budget.reserve_ops(info)
            except BaseException:
                if health is not None and health.probe:  # give the probe to someone else
                    yield from self.health.record_ops(health, _cancelled(info))  # type: ignore[union-attr]
                raise
        return Ticket(health, budget)

    def leave_ops(self, ticket: Ticket, report: AttemptReport) -> StoreOps[None]:
        if ticket.health is not None and self.health is not None:
            yield from self.health.record_ops(ticket.health, report)
        if ticket.budget is not None and self.budget is not None:
            yield from self.budget.settle_ops(ticket.budget, report)

    def admit(self, info: AttemptInfo) -> Ticket:
        return run_ops(self.admit_ops(info)) if self.checks else PASS

    async def aadmit(self, info: AttemptInfo) -> Ticket:
        return await arun_ops(self.admit_ops(info)) if self.checks else PASS

    def leave(self, ticket: Ticket, report: AttemptReport) -> None:
        if ticket is not PASS:
            try:
                run_ops(self.leave_ops(ticket, report))
            except StoreUnavailableError as error:
                _not_recorded(error)
        notify_observers(self.observers, "on_attempt", report)

    async def aleave(self, ticket: Ticket, report: AttemptReport) -> None:
        if ticket is not PASS:
            try:
                await arun_ops(self.leave_ops(ticket, report))
            except StoreUnavailableError as error:
                _not_recorded(error)
        await _await_all(notify_observers(self.observers, "on_attempt", report, awaited=True))

    def done(self, report: CallReport) -> None:
        notify_observers(self.observers, "on_call", report)

    async def adone(self, report: CallReport) -> None:
        await _await_all(notify_observers(self.observers, "on_call", report, awaited=True))


def _not_recorded(error: StoreUnavailableError) -> None:
    """The shared store went away during the attempt (``on_store_error="raise"``): what was
    sent is done (and may be billed), so its outcome is not thrown away for want of recording
    it. The budget keeps the attempt's reservation (never less than it cost, unless the answer
    cost more than its estimate)."""
    logger.warning("an attempt's outcome was not recorded in the shared store: %s", error)


def _cancelled(info: AttemptInfo) -> AttemptReport:
    return AttemptReport(info.operation, info.model, "cancelled", 0.0, 0.0)


async def _await_all(results: list[Any]) -> None:
    for result in results:
        if inspect.isawaitable(result):
            try:
                await result
            except Exception:
                logger.exception("an observer failed")
